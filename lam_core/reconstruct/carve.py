"""The cranium inside the person's silhouette: where the head model's guess at the hair's volume projects
outside the photo's silhouette, it is pulled in (parallel to the image plane, towards the head's axis) until
it projects onto the silhouette's edge; depth is kept. Seen from the photo's camera the head then never
bulges past the person, and from the sides its outline follows the silhouette's.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from ..camera import Camera
from ..params import FrameParams
from ..rig import Rig
from .colour import bilinear


def carve_to_silhouette(rig: Rig, params: FrameParams, camera: Camera, sil: np.ndarray,
                        region: str = "cranium") -> Rig:
    """``rig`` with the vertices of ``region`` that project outside ``sil`` (H, W bool) moved onto it."""
    from dataclasses import replace

    ids = rig.regions.get(region)
    if ids is None or len(ids) == 0 or not sil.any():
        return rig
    with torch.no_grad():
        sk = rig.deform(params)
    posed = sk.vertices[0].numpy().astype(np.float64)[ids]
    uvz = camera.project(posed)
    outside = ndimage.distance_transform_edt(~sil)  # pixels to the silhouette, 0 inside
    d = bilinear(outside[..., None], uvz[:, 0], uvz[:, 1])[:, 0]
    move = d > 0.5
    if not move.any():
        return rig
    centre = camera.project(posed.mean(0, keepdims=True))[0, :2]
    to_c = centre - uvz[:, :2]
    to_c /= np.linalg.norm(to_c, axis=1, keepdims=True).clip(1e-9)
    r = camera.world_to_camera[:3, :3]
    metres = np.where(move, d + 0.5, 0.0) * uvz[:, 2] / camera.fx
    delta_world = (to_c[:, :1] * r[0] + to_c[:, 1:] * r[1]) * metres[:, None]
    # back into the rest frame through each vertex's blended joint rotation
    w = torch.from_numpy(rig.lbs_weights[ids].astype(np.float32))
    t = (w @ sk.transforms[0, :, :3, :3].reshape(-1, 9)).reshape(-1, 3, 3).numpy().astype(np.float64)
    delta_rest = np.einsum("nji,nj->ni", t, delta_world)  # R^T (rotations: inverse = transpose)
    vertices = rig.vertices.astype(np.float64).copy()
    vertices[ids] += delta_rest
    return replace(rig, vertices=vertices.astype(rig.vertices.dtype))
