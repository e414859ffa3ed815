"""Reading an official LAM web avatar (the OpenAvatarChat zip) into an :class:`OfficialAvatar`.

    av = read_official_zip("p2-1.zip")
    av.means                      # (N, 3) Gaussians at the skin's rest positions (vertex + offset)
    avatar = av.to_avatar()       # lam_core.GaussianAvatar: what write_lam / the renderer / the viewer take

``offset.ply`` row i belongs to skin vertex i: x, y, z = offset from that vertex (metres), f_dc = RGB in 0..1
(not spherical harmonics), opacity = logit, scale = log standard deviations, rot = quaternion wxyz.
``vertex_order.json`` (the vertices sorted by height, which the official renderer uses as a fixed draw order)
is checked to be a permutation and kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lam_core.gaussians import GaussianAvatar, Gaussians
from lam_core.head_model import FLAME_PARENTS, JOINT_NAMES, N_POSE_CORRECTIVES
from lam_core.motion import Motion
from lam_core.rig import Rig

from ..ply import read_ply_columns
from .archive import read_members
from .errors import OfficialZipError
from .glb import parse_glb
from .skin import Skin, read_skin


@dataclass(frozen=True, eq=False)
class OfficialAvatar:
    """An official LAM web avatar: its skin, its Gaussians (activated values), its rig mapping and motions."""

    name: str                     # the zip's folder name (or file stem)
    skin: Skin
    offsets: np.ndarray           # (N, 3) metres, from skin vertex i
    colors: np.ndarray            # (N, 3) RGB 0..1
    opacities: np.ndarray         # (N,) 0..1
    scales: np.ndarray            # (N, 3) metres
    rotations: np.ndarray         # (N, 4) unit wxyz
    vertex_order: np.ndarray | None = None   # (N,) permutation, if the zip has vertex_order.json
    motions: dict[str, Motion] = field(default_factory=dict)  # from animation.glb / bsData.json

    @property
    def n(self) -> int:
        return len(self.offsets)

    @property
    def expr_names(self) -> tuple[str, ...]:
        return self.skin.morph_names

    @property
    def means(self) -> np.ndarray:
        """(N, 3) the Gaussians' centres at the skin's rest pose."""
        return self.skin.vertices + self.offsets

    def gaussians(self) -> Gaussians:
        return Gaussians(offsets=self.offsets, colors=self.colors, opacities=self.opacities, scales=self.scales,
                         rotations=self.rotations)

    def rig(self) -> Rig:
        """The skin as a 5-joint rig whose expression channels are the ARKit morph targets."""
        s, k = self.skin, len(self.skin.morph_names)
        v = len(s.vertices)
        return Rig(
            vertices=s.vertices, faces=s.faces, joints=s.rig_joint_positions(JOINT_NAMES),
            joint_exprdirs=np.zeros((len(JOINT_NAMES), 3, k), np.float32), parents=FLAME_PARENTS,
            joint_names=JOINT_NAMES, lbs_weights=s.rig_weights(JOINT_NAMES), exprdirs=s.morph_deltas,
            posedirs=np.zeros((v, 3, N_POSE_CORRECTIVES), np.float32), expr_names=s.morph_names,
            source=f"official LAM zip {self.name}",
        )

    def to_avatar(self) -> GaussianAvatar:
        """The project's avatar: one Gaussian on each skin vertex (identity binding), ARKit channels."""
        return GaussianAvatar(self.rig().points(), self.gaussians())


def _gaussians_from_ply(data: bytes, where: str, n: int) -> dict[str, np.ndarray]:
    cols = read_ply_columns(data, where)
    count = len(cols["x"])
    if count != n:
        raise OfficialZipError(f"{where} has {count} rows but skin.glb has {n} vertices")
    stack = lambda keys: np.stack([cols[k] for k in keys], 1)  # noqa: E731
    log_scales = stack(("scale_0", "scale_1", "scale_2"))
    if (log_scales > 20).any():
        raise OfficialZipError(f"{where}: a log scale is above 20")
    quats = stack(("rot_0", "rot_1", "rot_2", "rot_3"))
    norms = np.linalg.norm(quats, axis=1)
    if (norms < 1e-12).any():
        raise OfficialZipError(f"{where}: rotation in row {int(np.argmin(norms))} is a zero quaternion")
    opacity = 1.0 / (1.0 + np.exp(-np.clip(cols["opacity"], -60, 60)))
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return {"offsets": f32(stack(("x", "y", "z"))), "colors": f32(np.clip(stack(("f_dc_0", "f_dc_1", "f_dc_2")), 0, 1)),
            "opacities": f32(opacity), "scales": f32(np.exp(log_scales)), "rotations": f32(quats / norms[:, None])}


def _vertex_order(data: bytes, where: str, n: int) -> np.ndarray:
    try:
        order = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise OfficialZipError(f"{where} is not valid JSON") from None
    if not isinstance(order, list) or len(order) != n or not all(type(i) is int for i in order):
        raise OfficialZipError(f"{where} must list {n} vertex indices")
    a = np.asarray(order, dtype=np.int64)
    if a.min() < 0 or a.max() >= n or len(np.unique(a)) != n:
        raise OfficialZipError(f"{where} is not a permutation of the {n} vertices")
    return a


def read_official_zip(path: str | os.PathLike, motions: bool = True) -> OfficialAvatar:
    """Read and check an official LAM avatar zip (``skin.glb``, ``offset.ply``, optional ``animation.glb``,
    ``vertex_order.json``, ``bsData.json``). ``motions``: also parse the zip's motions (where they parse)."""
    p = Path(path).expanduser()
    members, folder = read_members(p)
    skin = read_skin(parse_glb(members["skin.glb"], f"{p}:skin.glb"))
    g = _gaussians_from_ply(members["offset.ply"], f"{p}:offset.ply", len(skin.vertices))
    order = None
    if "vertex_order.json" in members:
        order = _vertex_order(members["vertex_order.json"], f"{p}:vertex_order.json", len(skin.vertices))
    found: dict[str, Motion] = {}
    if motions:
        from .motions import zip_motions

        found = zip_motions(members, skin, str(p))
    return OfficialAvatar(name=folder or p.stem, skin=skin, vertex_order=order, motions=found, **g)
