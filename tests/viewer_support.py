"""Helpers shared by the viewer tests: a GaussianAvatar in the browser viewer's own typed-array structure
(viewer_web/src/README.md), written as a raw fixture (``avatar.json`` + ``avatar.bin``) that the Node tests
read, and Python's deformation of the same avatar for comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lam_core import FrameParams, GaussianAvatar

ROOT = Path(__file__).resolve().parent.parent


def sparse_basis(dirs: np.ndarray) -> dict[str, np.ndarray]:
    """(V, 3, K) dense basis -> channel-major CSR (ptr (K+1), index (nnz), delta (nnz, 3))."""
    v, _, k = dirs.shape
    ptr, index, delta = [0], [], []
    for c in range(k):
        d = dirs[:, :, c]
        nz = np.flatnonzero(np.any(d != 0, axis=1))
        index.append(nz)
        delta.append(d[nz])
        ptr.append(ptr[-1] + len(nz))
    return {"ptr": np.asarray(ptr, np.uint32), "index": np.concatenate(index).astype(np.uint32),
            "delta": np.concatenate(delta).astype(np.float32).reshape(-1)}


def viewer_arrays(avatar: GaussianAvatar) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, arrays) of the viewer's avatar structure."""
    rig, pts, g = avatar.rig, avatar.points, avatar.gaussians
    interp = pts.interp.tocsr()
    counts = np.diff(interp.indptr)
    bk = int(counts.max())
    bind_index = np.zeros((pts.n_points, bk), np.uint32)
    bind_weight = np.zeros((pts.n_points, bk), np.float32)
    for r in range(pts.n_points):
        s, e = interp.indptr[r], interp.indptr[r + 1]
        bind_index[r, : e - s] = interp.indices[s:e]
        bind_weight[r, : e - s] = interp.data[s:e]
    nj = rig.n_joints
    arrays = {
        "vertices": rig.vertices.astype(np.float32).reshape(-1),
        "jointRest": rig.joints.astype(np.float32).reshape(-1),
        "jointExpr": np.ascontiguousarray(rig.joint_exprdirs.transpose(2, 0, 1), np.float32).reshape(-1),
        "parents": np.asarray(rig.parents, np.int32),
        "skinIndex": np.tile(np.arange(nj, dtype=np.uint8), rig.n_vertices),
        "skinWeight": rig.lbs_weights.astype(np.float32).reshape(-1),
        "bindIndex": bind_index.reshape(-1),
        "bindWeight": bind_weight.reshape(-1),
        "offsets": g.offsets.reshape(-1), "colors": g.colors.reshape(-1), "opacities": g.opacities,
        "scales": g.scales.reshape(-1), "rotations": g.rotations.reshape(-1),
    }
    for name, dirs in (("expr", rig.exprdirs), ("pose", rig.posedirs)):
        for key, a in sparse_basis(dirs).items():
            arrays[f"{name}.{key}"] = a
    meta = {"n": avatar.n, "nVertices": rig.n_vertices, "exprNames": list(rig.expr_names),
            "jointNames": list(rig.joint_names), "skinK": nj, "bindK": bk}
    return meta, arrays


def write_raw_avatar(avatar: GaussianAvatar, folder: Path) -> Path:
    """Write the raw fixture: avatar.json (metadata + array table) and avatar.bin."""
    meta, arrays = viewer_arrays(avatar)
    folder.mkdir(parents=True, exist_ok=True)
    table, offset = {}, 0
    with open(folder / "avatar.bin", "wb") as f:
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            table[name] = {"dtype": a.dtype.name, "offset": offset, "length": int(a.size)}
            f.write(a.tobytes())
            offset += a.nbytes
            pad = (-offset) % 8
            f.write(b"\0" * pad)
            offset += pad
    (folder / "avatar.json").write_text(json.dumps({**meta, "arrays": table}))
    return folder


def test_sequence(n_expr: int, frames: int = 30, seed: int = 1) -> FrameParams:
    """The verification sequence (exporter.verify.builtin_sequence) for a rig with n_expr channels."""
    from exporter.verify import builtin_sequence

    return builtin_sequence(n_expr, frames)
