"""``load_open_head()``: the open head as a :class:`~lam_core.head_model.HeadModel`, built on first use."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..head_model import FLAME_PARENTS, JOINT_NAMES, HeadModel, LandmarkEmbedding
from .assets import metadata_bytes, parse_geometry_metadata
from .build import N_POSEDIRS, OpenHeadArrays, build_arrays
from .cache import cache_path, load_arrays, save_arrays
from .head_mesh import REGIONS

NAME = "open head"
_memo: dict[Path, "OpenHead"] = {}


@dataclass(frozen=True, eq=False)
class OpenHead:
    """The open head model and what it knows beyond the HeadModel interface."""

    model: HeadModel
    vertex_region: np.ndarray          # (V,) index into REGIONS
    procrustes_ids: np.ndarray         # (33,) MediaPipe's Procrustes landmark ids
    procrustes_weights: np.ndarray     # (33,)
    face_uvs: np.ndarray               # (468, 2) texture coordinates of the landmark vertices
    n_face_vertices: int               # vertices 0..n-1 are the face (0..467 the landmarks)
    cache_file: Path
    regions: tuple[str, ...] = REGIONS

    def region_ids(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.vertex_region == self.regions.index(name))


def _to_model(a: OpenHeadArrays) -> HeadModel:
    nc, n_shape = a.n_controls, len(a.shape_names)
    return HeadModel(
        name=NAME,
        v_template=a.v_template,
        faces=a.faces,
        j_regressor=a.j_regressor,
        parents=FLAME_PARENTS,
        lbs_weights=a.lbs_weights,
        shapedirs=a.basis[:, :, :n_shape],
        exprdirs=a.basis[:, :, nc:],
        posedirs=np.zeros((len(a.v_template), 3, N_POSEDIRS), np.float32),
        expr_names=a.expr_names,
        joint_names=JOINT_NAMES,
        landmarks=LandmarkEmbedding(ids=a.lmk_ids, faces=a.lmk_faces, bary=a.lmk_bary),
        shape_names=a.shape_names,
        regions={name: np.flatnonzero(a.vertex_region == i) for i, name in enumerate(REGIONS)},
    )


def forget_loaded() -> None:
    """Drop the heads this process has loaded, so the next load reads the cache file again."""
    _memo.clear()


def load_open_head_parts(cache_dir: str | Path | None = None, rebuild: bool = False) -> OpenHead:
    """The open head with its extras; builds it into the cache on first use (a few seconds)."""
    blob, where = metadata_bytes()
    path = cache_path(hashlib.sha256(blob).hexdigest(), Path(cache_dir) if cache_dir else None)
    if not rebuild and path in _memo:
        return _memo[path]
    if rebuild or not path.is_file():
        canonical = parse_geometry_metadata(blob, str(where))
        arrays = build_arrays(canonical)
        save_arrays(arrays, path)
    else:
        arrays = load_arrays(path)
    head = OpenHead(model=_to_model(arrays), vertex_region=arrays.vertex_region,
                    procrustes_ids=arrays.procrustes_ids, procrustes_weights=arrays.procrustes_weights,
                    face_uvs=arrays.face_uvs, n_face_vertices=arrays.n_face_vertices, cache_file=path)
    _memo[path] = head
    return head


def load_open_head(cache_dir: str | Path | None = None, rebuild: bool = False) -> HeadModel:
    """The embedded default head (name "open head"), built from the installed ``@mediapipe/face_mesh`` npm
    package into the cache on first use. Raises OpenHeadAssetError (a LamError) if the package is missing."""
    return load_open_head_parts(cache_dir, rebuild).model
