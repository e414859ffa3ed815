"""The photo an avatar was made from, as the ``.lam`` header records it (docs/lam-format.md, "photo"): the
fitted camera (intrinsics, OpenCV world-to-camera with world = the canonical head frame) and the photo's
pose and expression on the avatar's rig, so that a render can be matched to the photo.

Header layout (optional key ``photo``)::

    {"camera": {"width": W, "height": H, "fx": .., "fy": .., "cx": .., "cy": ..,
                "world_to_camera": [[4 numbers] x 4]},
     "pose": [[3 numbers] x joints], "translation": [3 numbers], "expr": {channel name: value, ...}}

``expr`` lists the non-zero channels only (by name, so the record stays small for rigs with thousands of
channels); every name must be one of the rig's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lam_core.camera import Camera
from lam_core.params import FrameParams

from .spec import LamFileError


@dataclass(frozen=True, eq=False)
class PhotoRecord:
    camera: Camera
    params: FrameParams   # one frame on the avatar's rig


def photo_header(camera: Camera, params: FrameParams, expr_names) -> dict:
    """The header's ``photo`` object for ``camera`` and the first frame of ``params``."""
    expr = params.expr[0].detach().cpu().numpy().astype(np.float64)
    if len(expr) != len(expr_names):
        raise LamFileError(f"photo: {len(expr)} expression values for {len(expr_names)} channels")
    values = [camera.fx, camera.fy, camera.cx, camera.cy, *camera.world_to_camera.ravel(),
              *params.pose[0].reshape(-1).tolist(), *params.translation[0].tolist(), *expr]
    if not all(math.isfinite(float(v)) for v in values):
        raise LamFileError("photo: the camera or the photo's parameters are not finite")
    return {
        "camera": {"width": camera.width, "height": camera.height, "fx": camera.fx, "fy": camera.fy,
                   "cx": camera.cx, "cy": camera.cy, "world_to_camera": camera.world_to_camera.tolist()},
        "pose": params.pose[0].detach().cpu().numpy().astype(np.float64).tolist(),
        "translation": params.translation[0].detach().cpu().numpy().astype(np.float64).tolist(),
        "expr": {name: float(v) for name, v in zip(expr_names, expr) if v != 0.0},
    }


def _numbers(v, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A nested list of finite numbers of exactly ``shape`` (checked before anything is allocated)."""
    def check(x, dims):
        if not dims:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise LamFileError(f"header: photo.{what} holds {x!r}, not a finite number")
            return
        if not isinstance(x, list) or len(x) != dims[0]:
            raise LamFileError(f"header: photo.{what} is not a list of shape {list(shape)}")
        for item in x:
            check(item, dims[1:])

    check(v, shape)
    return np.array(v, dtype=np.float64).reshape(shape)


def parse_photo(header: dict, n_joints: int, expr_names) -> PhotoRecord | None:
    """The header's photo record, checked against the rig (None when the file has none)."""
    ph = header.get("photo")
    if ph is None:
        return None
    if not isinstance(ph, dict) or not isinstance(ph.get("camera"), dict):
        raise LamFileError("header: photo is not an object with a camera")
    cam = ph["camera"]
    fields = {k: _numbers(cam.get(k), (), f"camera.{k}") for k in ("width", "height", "fx", "fy", "cx", "cy")}
    w2c = _numbers(cam.get("world_to_camera"), (4, 4), "camera.world_to_camera")
    size = [float(fields[k]) for k in ("width", "height")]
    if not all(s == int(s) for s in size):
        raise LamFileError("header: photo.camera width and height must be integers")
    try:
        camera = Camera(int(size[0]), int(size[1]), *(float(fields[k]) for k in ("fx", "fy", "cx", "cy")),
                        world_to_camera=w2c)
    except ValueError as exc:
        raise LamFileError(f"header: photo.{exc}") from None
    r = w2c[:3, :3]
    if not np.allclose(r @ r.T, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
        raise LamFileError("header: photo.camera.world_to_camera is not a rotation and a translation")
    pose = _numbers(ph.get("pose"), (n_joints, 3), "pose")
    translation = _numbers(ph.get("translation"), (3,), "translation")
    expr_in = ph.get("expr", {})
    if not isinstance(expr_in, dict) or len(expr_in) > len(expr_names):
        raise LamFileError("header: photo.expr is not an object of at most one value per channel")
    index = {name: i for i, name in enumerate(expr_names)}
    expr = np.zeros(len(expr_names))
    for name, value in expr_in.items():
        if name not in index:
            raise LamFileError(f"header: photo.expr names {name!r}, which is not one of the rig's channels")
        expr[index[name]] = _numbers(value, (), f"expr[{name!r}]")
    params = FrameParams(torch.from_numpy(expr[None].astype(np.float32)),
                         torch.from_numpy(pose[None].astype(np.float32)),
                         torch.from_numpy(translation[None].astype(np.float32)))
    return PhotoRecord(camera, params)


__all__ = ["PhotoRecord", "parse_photo", "photo_header"]
