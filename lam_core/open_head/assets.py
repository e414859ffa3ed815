"""The MediaPipe canonical face mesh, read from the user's installed npm package ``@mediapipe/face_mesh``.

The package (Apache-2.0) ships an emscripten file bundle: ``face_mesh_solution_packed_assets.data`` is the
concatenation of several files, and ``face_mesh_solution_packed_assets_loader.js`` lists them in a
``loadPackage({"files": [{"filename", "start", "end"}, ...], "remote_package_size": N})`` call. One of them,
``geometry_pipeline_metadata_landmarks.binarypb``, is a ``GeometryPipelineMetadata`` protobuf holding the
canonical face mesh: 468 vertices (x, y, z in centimetres, u, v), 898 triangles and the 33 landmarks (with
weights) MediaPipe uses for its Procrustes fit. Nothing of it is stored in this repository: it is extracted
here, at build time, from the package the user installed (``make setup`` runs ``npm ci``).

The mesh's axes are FLAME's: x to the subject's left, y up, z out of the face; vertex i is landmark i.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

PACKAGE_DIR = Path("@mediapipe") / "face_mesh"
DATA_FILE = "face_mesh_solution_packed_assets.data"
LOADER_FILE = "face_mesh_solution_packed_assets_loader.js"
METADATA_NAME = "geometry_pipeline_metadata_landmarks.binarypb"
NODE_MODULES_ENV = "LAM_NODE_MODULES"
N_VERTICES = 468
N_TRIANGLES = 898
N_PROCRUSTES = 33
MAX_LOADER_BYTES = 1 << 20
MAX_TABLE_FILES = 64


class OpenHeadAssetError(ModelFileError):
    """The npm package the open head is built from is missing or not what it should be."""


@dataclass(frozen=True, eq=False)
class CanonicalFaceMesh:
    vertices: np.ndarray          # (468, 3) float64, metres
    uvs: np.ndarray               # (468, 2) float64
    faces: np.ndarray             # (898, 3) int64, outward (counter-clockwise seen from the front)
    procrustes_ids: np.ndarray    # (33,) int64 landmark ids
    procrustes_weights: np.ndarray  # (33,) float64
    digest: str                   # sha256 of the protobuf bytes it was read from
    source: Path                  # the .data file


def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]


def face_mesh_package_dir() -> Path:
    """``node_modules/@mediapipe/face_mesh``: under ``$LAM_NODE_MODULES`` if set, else beside the repository."""
    env = os.environ.get(NODE_MODULES_ENV)
    node_modules = Path(env).expanduser() if env else repository_root() / "node_modules"
    pkg = node_modules / PACKAGE_DIR
    if not (pkg / DATA_FILE).is_file() or not (pkg / LOADER_FILE).is_file():
        where = f"${NODE_MODULES_ENV}={env}" if env else str(node_modules)
        raise OpenHeadAssetError(f"the open head is built from the npm package @mediapipe/face_mesh, which is not "
                                 f"installed in {where}: run `make setup` (or `npm ci`) first")
    return pkg


def packed_file_table(loader_js: str, where: str) -> list[dict]:
    """The ``files`` list of the emscripten loader's ``loadPackage({...})`` call, validated."""
    m = re.search(r"loadPackage\((\{\s*\"files\".*?\})\)\s*;", loader_js, re.S)
    if m is None:
        raise OpenHeadAssetError(f"{where}: no loadPackage({{\"files\": ...}}) table found")
    try:
        meta = json.loads(m.group(1))
    except json.JSONDecodeError as exc:
        raise OpenHeadAssetError(f"{where}: the loadPackage table is not JSON ({exc.msg})") from None
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_TABLE_FILES:
        raise OpenHeadAssetError(f"{where}: the loadPackage table has no usable 'files' list")
    for f in files:
        if not (isinstance(f, dict) and isinstance(f.get("filename"), str) and isinstance(f.get("start"), int)
                and isinstance(f.get("end"), int)):
            raise OpenHeadAssetError(f"{where}: a file entry lacks filename/start/end")
    size = meta.get("remote_package_size")
    return [dict(f, package_size=size) for f in files]


def read_packed_file(pkg: Path, name: str) -> bytes:
    """The bytes of the packed file whose name ends with ``name``, bounds-checked against the .data file."""
    loader, data = pkg / LOADER_FILE, pkg / DATA_FILE
    if loader.stat().st_size > MAX_LOADER_BYTES:
        raise OpenHeadAssetError(f"{loader}: larger than {MAX_LOADER_BYTES >> 10} KiB, not the expected loader")
    table = packed_file_table(loader.read_text(encoding="utf-8", errors="replace"), str(loader))
    hits = [f for f in table if f["filename"].rsplit("/", 1)[-1] == name]
    if len(hits) != 1:
        raise OpenHeadAssetError(f"{loader}: {len(hits)} entries named {name} in the file table, expected 1")
    entry = hits[0]
    size = data.stat().st_size
    start, end = entry["start"], entry["end"]
    if not 0 <= start < end <= size:
        raise OpenHeadAssetError(f"{data}: {name} is listed at bytes {start}..{end}, outside the file's {size} bytes")
    if entry["package_size"] not in (None, size):
        raise OpenHeadAssetError(f"{data}: {size} bytes, the loader expects {entry['package_size']}")
    with open(data, "rb") as fh:
        fh.seek(start)
        blob = fh.read(end - start)
    if len(blob) != end - start:
        raise OpenHeadAssetError(f"{data}: short read of {name}")
    return blob


def parse_geometry_metadata(blob: bytes, where: str) -> CanonicalFaceMesh:
    """Decode a ``GeometryPipelineMetadata`` protobuf into the canonical face mesh (centimetres -> metres)."""
    from google.protobuf.message import DecodeError
    from mediapipe.modules.face_geometry.protos import geometry_pipeline_metadata_pb2 as pb

    meta = pb.GeometryPipelineMetadata()
    try:
        meta.ParseFromString(blob)
    except DecodeError as exc:
        raise OpenHeadAssetError(f"{where}: {METADATA_NAME} is not a GeometryPipelineMetadata ({exc})") from None
    mesh = meta.canonical_mesh
    vb = np.asarray(mesh.vertex_buffer, dtype=np.float64)
    ib = np.asarray(mesh.index_buffer, dtype=np.int64)
    if vb.size != N_VERTICES * 5:
        raise OpenHeadAssetError(f"{where}: {vb.size} vertex-buffer values, expected {N_VERTICES} x (x, y, z, u, v)")
    if ib.size != N_TRIANGLES * 3:
        raise OpenHeadAssetError(f"{where}: {ib.size} indices, expected {N_TRIANGLES} triangles")
    if ib.min() < 0 or ib.max() >= N_VERTICES:
        raise OpenHeadAssetError(f"{where}: triangle indices outside 0..{N_VERTICES - 1}")
    basis = list(meta.procrustes_landmark_basis)
    if len(basis) != N_PROCRUSTES:
        raise OpenHeadAssetError(f"{where}: {len(basis)} Procrustes landmarks, expected {N_PROCRUSTES}")
    ids = np.array([b.landmark_id for b in basis], dtype=np.int64)
    if ids.min() < 0 or ids.max() >= N_VERTICES:
        raise OpenHeadAssetError(f"{where}: Procrustes landmark ids outside 0..{N_VERTICES - 1}")
    vb = vb.reshape(N_VERTICES, 5)
    if not np.isfinite(vb).all():
        raise OpenHeadAssetError(f"{where}: the vertex buffer holds NaN or infinity")
    return CanonicalFaceMesh(
        vertices=vb[:, :3] * 0.01,
        uvs=vb[:, 3:5].copy(),
        faces=ib.reshape(N_TRIANGLES, 3),
        procrustes_ids=ids,
        procrustes_weights=np.array([b.weight for b in basis], dtype=np.float64),
        digest=hashlib.sha256(blob).hexdigest(),
        source=Path(where),
    )


def metadata_bytes() -> tuple[bytes, Path]:
    pkg = face_mesh_package_dir()
    return read_packed_file(pkg, METADATA_NAME), pkg / DATA_FILE


def load_canonical_face_mesh() -> CanonicalFaceMesh:
    """The canonical face mesh from the installed ``@mediapipe/face_mesh`` (raises OpenHeadAssetError)."""
    blob, where = metadata_bytes()
    return parse_geometry_metadata(blob, str(where))
