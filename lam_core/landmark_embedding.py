"""Where MediaPipe's face landmarks sit on a head model that does not say so itself (FLAME).

Two sources:

* a user-supplied ``mediapipe_landmark_embedding.npz`` as MICA/metrical-tracker distribute it for FLAME
  (``lmk_face_idx`` (L,), ``lmk_b_coords`` (L, 3), ``landmark_indices`` (L,) MediaPipe ids);
* one computed here: MediaPipe's canonical face mesh (an average face in metres, read from the npm package)
  is placed on the model's template (nose tip to the most forward point near the mid-plane, then scaled
  iterative closest points against the front of the head) and each landmark is projected onto the closest
  triangle. Good enough to fit pose, shape and jaw; a tracker-grade embedding is better where available.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from .errors import ModelFileError
from .head_model import HeadModel, LandmarkEmbedding
from .npz import load_npz
from .reconstruct.pose import similarity_procrustes

NOSE_TIP = 1
ICP_ITERATIONS = 12


def load_landmark_embedding(path: str | os.PathLike, model: HeadModel) -> LandmarkEmbedding:
    """Read a MICA-style MediaPipe landmark embedding for ``model``; every index and shape is checked."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"landmark embedding not found: {p}")
    d = load_npz(p, ModelFileError, max_bytes=64 << 20)
    for key in ("lmk_face_idx", "lmk_b_coords", "landmark_indices"):
        if key not in d:
            raise ModelFileError(f"{p}: missing key '{key}'")
    faces, bary, ids = d["lmk_face_idx"].reshape(-1), d["lmk_b_coords"], d["landmark_indices"].reshape(-1)
    n = len(ids)
    if faces.shape != (n,) or bary.shape != (n, 3) or n == 0:
        raise ModelFileError(f"{p}: lmk_face_idx {faces.shape}, lmk_b_coords {bary.shape} and "
                             f"landmark_indices {ids.shape} disagree")
    if not (np.issubdtype(faces.dtype, np.integer) and np.issubdtype(ids.dtype, np.integer)):
        raise ModelFileError(f"{p}: indices must be integers")
    if faces.min() < 0 or faces.max() >= len(model.faces):
        raise ModelFileError(f"{p}: lmk_face_idx names triangles outside the model's {len(model.faces)}")
    if ids.min() < 0 or ids.max() > 477 or len(set(ids.tolist())) != n:
        raise ModelFileError(f"{p}: landmark_indices must be distinct MediaPipe ids in 0..477")
    if not np.isfinite(bary).all():
        raise ModelFileError(f"{p}: lmk_b_coords contains NaN or infinity")
    return LandmarkEmbedding(ids=ids.astype(np.int64), faces=faces.astype(np.int64), bary=bary.astype(np.float64))


def _closest(mesh: trimesh.Trimesh, points: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on the mesh and their triangles, searched among the triangles around each point's
    k nearest vertices (exact point-triangle distances, no spatial-index dependency)."""
    used = np.unique(mesh.faces)
    _, near = cKDTree(mesh.vertices[used]).query(points, k=min(k, len(used)))
    vf = mesh.vertex_faces  # (V, max valence), -1 padded
    cand = vf[used[near]].reshape(len(points), -1)  # (P, k * valence)
    rows = np.repeat(np.arange(len(points)), cand.shape[1])
    tri = cand.reshape(-1)
    ok = tri >= 0
    rows, tri = rows[ok], tri[ok]
    cp = trimesh.triangles.closest_point(mesh.triangles[tri], points[rows])
    d = np.linalg.norm(cp - points[rows], axis=1)
    order = np.lexsort((d, rows))
    first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
    return cp[first], tri[first]


def compute_landmark_embedding(model: HeadModel, canonical: np.ndarray | None = None) -> LandmarkEmbedding:
    """Embed the 478 MediaPipe landmarks on ``model``'s template (see the module doc).

    ``canonical`` (478, 3): the landmarks of an average face in metres (y up, z forward); by default the
    open head's template landmarks, which are MediaPipe's canonical face mesh plus the iris points.
    """
    if canonical is None:
        from .open_head import load_open_head

        oh = load_open_head()
        canonical = oh.landmarks.points(oh.v_template.astype(np.float64), oh.faces)
    canonical = np.asarray(canonical, np.float64)
    v = model.v_template.astype(np.float64)
    mesh = trimesh.Trimesh(v, model.faces, process=False)
    front_faces = np.flatnonzero(mesh.face_normals[:, 2] > 0.2)
    front = trimesh.Trimesh(v, model.faces[front_faces], process=False)
    # nose tip to the most forward vertex near the mid-plane
    near_mid = np.abs(v[:, 0]) < 0.1 * np.ptp(v[:, 0])
    tip = v[near_mid][np.argmax(v[near_mid, 2])]
    pts = canonical + (tip - canonical[NOSE_TIP])
    face = pts[:468]
    for _ in range(ICP_ITERATIONS):
        target, _ = _closest(front, face)
        sim = similarity_procrustes(face, target)
        pts = sim.apply(pts)
        face = pts[:468]
    closest, tri = _closest(front, pts)
    tri = front_faces[tri]
    corners = v[model.faces[tri]]
    bary = trimesh.triangles.points_to_barycentric(corners, closest)
    return LandmarkEmbedding(ids=np.arange(len(pts)), faces=tri.astype(np.int64), bary=bary)
