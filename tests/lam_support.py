"""Test helpers for the .lam format: small rigs of every kind the format must hold, and tools to take a file
apart and put it back together with valid checksums (so crafted damage reaches the deeper checks)."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import scipy.sparse as sp
import trimesh

from exporter.lamfile import spec
from exporter.lamfile.container import parse
from lam_core.gaussians import GaussianAvatar, Gaussians
from lam_core.head_model import FLAME_PARENTS, JOINT_NAMES, LandmarkEmbedding
from lam_core.rig import Rig

ARKIT = ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft", "mouthSmileRight", "browInnerUp")
PNG_1x1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f6d5d10000000049454e44ae426082")


def _gaussians(points: np.ndarray, rng: np.random.Generator) -> Gaussians:
    n = len(points)
    q = rng.normal(size=(n, 4))
    return Gaussians(
        offsets=rng.normal(scale=5e-4, size=(n, 3)).astype(np.float32),
        colors=rng.uniform(size=(n, 3)).astype(np.float32),
        opacities=rng.uniform(0.2, 1.0, size=n).astype(np.float32),
        scales=np.exp(rng.uniform(np.log(2e-4), np.log(8e-3), size=(n, 3))).astype(np.float32),
        rotations=(q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32),
    )


def _skin(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = np.zeros((len(v), 5))
    w[:, 0] = np.clip(-v[:, 1] * 10 - 0.5, 0, 1)
    w[:, 2] = np.clip(-v[:, 1] * 10, 0, 1) * (v[:, 2] > 0)
    w[:, 3] = (v[:, 0] > 0.05) * 0.3
    w[:, 4] = (v[:, 0] < -0.05) * 0.3
    w[:, 1] = 1.0
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def sphere_rig(subdivisions: int, expr_names: tuple[str, ...], per_channel: int | None, seed: int = 0,
               landmarks: int = 0) -> Rig:
    """A rig on an icosphere of radius 0.1 m with FLAME's joints. ``per_channel`` None: dense smooth bases;
    a number: each expression channel moves only that many vertices (like the open head's landmarks)."""
    rng = np.random.default_rng(seed)
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.1)
    v = np.asarray(mesh.vertices, dtype=np.float32)
    f = np.asarray(mesh.faces, dtype=np.int64)
    nv, k = len(v), len(expr_names)
    exprdirs = np.zeros((nv, 3, k), np.float32)
    if per_channel is None:
        exprdirs[:] = rng.normal(scale=2e-3, size=(nv, 3, k)) * (v[:, 2:3, None] > 0)
    else:
        for c in range(k):
            idx = rng.choice(nv, size=per_channel, replace=False)
            exprdirs[idx, :, c] = rng.normal(scale=3e-3, size=(per_channel, 3))
    posedirs = (rng.normal(scale=1e-3, size=(nv, 3, 36)) * (v[:, 1:2, None] < 0)).astype(np.float32)
    joints = np.array([[0, -0.1, 0], [0, -0.06, 0], [0, -0.02, 0.02], [0.03, 0.03, 0.07], [-0.03, 0.03, 0.07]],
                      np.float32)
    jed = np.zeros((5, 3, k), np.float32)
    jed[2] = rng.normal(scale=1e-4, size=(3, k))
    lm = None
    if landmarks:
        bary = rng.dirichlet(np.ones(3), size=landmarks).astype(np.float32)
        lm = LandmarkEmbedding(ids=np.arange(landmarks), faces=rng.choice(len(f), landmarks), bary=bary)
    return Rig(vertices=v, faces=f, joints=joints, joint_exprdirs=jed, parents=FLAME_PARENTS,
               joint_names=JOINT_NAMES, lbs_weights=_skin(v, rng), exprdirs=exprdirs, posedirs=posedirs,
               expr_names=expr_names, landmarks=lm, source=f"test icosphere {subdivisions}")


def tiny_avatar(seed: int = 0, levels: int = 1) -> GaussianAvatar:
    """42 base vertices, 7 dense expression channels, landmarks, points subdivided ``levels`` times."""
    rig = sphere_rig(1, tuple(f"expr_{i:02d}" for i in range(7)), None, seed, landmarks=12)
    points = rig.subdivide(levels)
    return GaussianAvatar(points, _gaussians(points.vertices, np.random.default_rng(seed + 1)))


def adaptive_avatar(seed: int = 0, levels: int = 1) -> GaussianAvatar:
    """:func:`tiny_avatar` with its lower half left coarse at the first subdivision (the open head's back)."""
    rig = sphere_rig(1, tuple(f"expr_{i:02d}" for i in range(7)), None, seed, landmarks=12)
    points = rig.subdivide(levels, coarse=rig.vertices[:, 1] < 0)
    return GaussianAvatar(points, _gaussians(points.vertices, np.random.default_rng(seed + 1)))


def sparse_channel_avatar(seed: int = 0, n_landmark_channels: int = 1400) -> GaussianAvatar:
    """Open-head-like: 2,562 base vertices, ~1,400 landmark channels (lmk_000_x ...) plus ARKit-named ones,
    each moving 4 vertices; Gaussians on the vertices themselves (identity binding)."""
    names = tuple(f"lmk_{i // 3:03d}_{'xyz'[i % 3]}" for i in range(n_landmark_channels)) + ARKIT
    rig = sphere_rig(4, names, 4, seed, landmarks=478)
    points = rig.points()
    return GaussianAvatar(points, _gaussians(points.vertices, np.random.default_rng(seed + 1)))


def general_interp_avatar(seed: int = 0) -> GaussianAvatar:
    """Points that are arbitrary convex combinations of 1..5 base vertices (no subdivision, no faces)."""
    rig = sphere_rig(1, ("a", "b", "c"), 3, seed)
    rng = np.random.default_rng(seed)
    n, v = 300, rig.n_vertices
    rows, cols, vals = [], [], []
    for i in range(n):
        k = rng.integers(1, 6)
        c = rng.choice(v, size=k, replace=False)
        w = rng.dirichlet(np.ones(k))
        rows += [i] * k
        cols += list(c)
        vals += list(w)
    interp = sp.csr_matrix((vals, (rows, cols)), shape=(n, v))
    from lam_core.rig import RigPoints
    points = RigPoints(rig, interp, None)
    return GaussianAvatar(points, _gaussians(points.vertices, rng))


# ---------------------------------------------------------------------------------------------- crafting
def split(data: bytes) -> tuple[dict, list[list]]:
    """A valid file -> (header, [[tag, flags, raw payload], ...])."""
    c = parse(data)
    return c.header, [[ch.tag, ch.flags, bytes(ch.raw())] for ch in c.chunks]


def frame(header: dict | bytes, chunks: list, version: tuple[int, int] = (1, 0), n_chunks: int | None = None,
          header_len: int | None = None) -> bytes:
    """Put a file together with valid checksums. ``chunks``: [tag, flags, raw] (stored deflated when flags
    says so) or [tag, flags, stored, raw_len] to give the stored bytes and raw length as they are."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    hl = len(text) if header_len is None else header_len
    nc = len(chunks) if n_chunks is None else n_chunks
    pre = struct.pack("<8sHHII", spec.MAGIC, version[0], version[1], hl, nc)
    out = [pre + struct.pack("<I", zlib.crc32(text, zlib.crc32(pre))), text]
    for ch in chunks:
        tag, flags = ch[0], ch[1]
        if len(ch) == 4:
            stored, raw_len = ch[2], ch[3]
        else:
            raw_len = len(ch[2])
            stored = zlib.compress(ch[2], 9) if flags & spec.FLAG_DEFLATE else ch[2]
        head = struct.pack("<4sIII", tag.encode("latin-1"), flags, len(stored), raw_len)
        out += [head + struct.pack("<II", zlib.crc32(stored, zlib.crc32(head)), 0), stored, b"\0" * (-len(stored) % 8)]
    return b"".join(out)


def chunk_boundaries(data: bytes) -> list[int]:
    """Offsets where the preamble, the header and each chunk header and payload begin and end."""
    c = parse(data)
    cuts = {0, 8, 12, 16, 20, 24, 24 + c.header_len, len(data)}
    for ch in c.chunks:
        start = ch.offset + spec.CHUNK_HEADER.size
        cuts |= {ch.offset, ch.offset + 4, ch.offset + 8, ch.offset + 16, start, start + ch.stored_len}
    return sorted(cuts)
