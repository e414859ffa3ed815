"""The cranium fitted to the person's silhouette.

Growing (``grow_to_silhouette``): where the photo shows the person's hair beyond the cranium's outline (a bun,
a mass of hair), the cranium's outline is pushed out to the silhouette's edge: in the photo, around the head's
projected centre, each direction above the ears has the silhouette's first edge and the cranium's outline; the
cranium's vertices in that direction move outward, in proportion to how near its outline they project (the
crown moves most, the forehead and the back, which project well inside, hardly at all), and only behind the
head's middle (a bun sits on the crown or the back, not on the forehead the photo sees). So hair beyond the
skull becomes a volume with depth, not a colour on the skull's shell. Hair covers the whole scalp, so the back
of the head is then as much deeper as the hair is thick above the ears (the median over those directions of
the silhouette's reach past the head's outline), moved along its rays from the photo's camera.

Carving (``carve_to_silhouette``): where the head model's guess at the hair's volume projects
outside the photo's silhouette, it is pulled in (parallel to the image plane, towards the head's axis) until
it projects onto the silhouette's edge; depth is kept. Seen from the photo's camera the head then never
bulges past the person, and from the sides its outline follows the silhouette's.

Keeping the discs inside (``inside_offsets``): carving puts the cranium's *points* inside the silhouette, but
the discs on them spread round them, and those the photo does not see (the back of the head, left coarse,
with wider discs) are several pixels wide: seen from the photo's camera they blurred the hair's outline into
a halo past the person. Each such disc is moved inwards, parallel to the image plane, until its footprint,
out to INSIDE_SIGMAS of its spread across the outline, ends at the silhouette's edge.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from ..camera import Camera
from ..lbs import blended_rotations
from ..params import FrameParams
from ..rig import Rig
from .colour import bilinear


ANGLE_BINS = 180          # directions around the head's projected centre
GROW_MAX = 1.8            # the outline grows at most this factor in any direction
BACK_RAMP = 0.25          # growth ramps in over this share of the head's depth behind its middle
GROW_SHARPNESS = 6.0      # the share of the growth a vertex takes: (its radius / the outline's) ** this
# a disc's footprint stops this many of its standard deviations inside the silhouette's edge: past it, a disc
# adds at most opacity * exp(-2) = 13% alpha. (At 1.18, where one disc's alpha is 0.5, the outline's halo did
# not change: the back's discs pile up along the outline, and their tails add up; at 3 the outline's own alpha
# fell below 0.5.)
INSIDE_SIGMAS = 2.0


def _polar_bins(rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image offsets (N, 2) from the head's projected centre: their lengths and their direction bins."""
    ang = np.arctan2(rel[:, 1], rel[:, 0])
    return np.linalg.norm(rel, axis=1), ((ang + np.pi) / (2 * np.pi) * ANGLE_BINS).astype(int) % ANGLE_BINS


def _first_exit(sil: np.ndarray, centre: np.ndarray, angles: np.ndarray, r_max: float) -> np.ndarray:
    """For each direction, the distance (px) from ``centre`` along it to the silhouette's first edge."""
    steps = np.arange(0.0, r_max, 0.5)
    u = centre[0] + np.cos(angles)[:, None] * steps
    v = centre[1] + np.sin(angles)[:, None] * steps
    h, w = sil.shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    on = np.zeros_like(inside)
    on[inside] = sil[v[inside].astype(int), u[inside].astype(int)]
    off = ~on
    off[:, 0] = False
    first = np.where(off.any(1), off.argmax(1), len(steps) - 1)
    return steps[first]


def grow_to_silhouette(rig: Rig, params: FrameParams, camera: Camera, sil: np.ndarray,
                       region: str = "cranium") -> Rig:
    """``rig`` with the outline of ``region`` pushed out, above the ears, to the photo's silhouette."""
    return _on_region(_grow, rig, params, camera, sil, region)


def carve_to_silhouette(rig: Rig, params: FrameParams, camera: Camera, sil: np.ndarray,
                        region: str = "cranium") -> Rig:
    """``rig`` with the vertices of ``region`` that project outside ``sil`` (H, W bool) moved onto it."""
    return _on_region(_carve, rig, params, camera, sil, region)


def _on_region(step, rig: Rig, params: FrameParams, camera: Camera, sil: np.ndarray, region: str) -> Rig:
    ids = rig.regions.get(region)
    if ids is None or len(ids) == 0 or not sil.any():
        return rig
    with torch.no_grad():
        sk = rig.deform(params)
    return step(rig, sk, ids, sk.vertices[0].numpy().astype(np.float64), camera, sil)


def _grow(rig: Rig, sk, ids: np.ndarray, posed: np.ndarray, camera: Camera, sil: np.ndarray) -> Rig:
    uvz = camera.project(posed[ids])
    # the head's projected centre: the middle of the whole head's projection (face and cranium)
    head = camera.project(posed)
    centre = 0.5 * (head[:, :2].min(0) + head[:, :2].max(0))
    rel = uvz[:, :2] - centre
    r, bins = _polar_bins(rel)
    centres = (np.arange(ANGLE_BINS) + 0.5) / ANGLE_BINS * 2 * np.pi - np.pi
    # hair the photo shows beyond the skull lies behind what it sees of the head (a bun sits on the crown or
    # the back, not on the forehead): the back half of the head grows, to its own outline's reach
    z_front, z_back = head[:, 2].min(), head[:, 2].max()
    back = ((uvz[:, 2] - 0.5 * (z_front + z_back)) / max(BACK_RAMP * (z_back - z_front), 1e-9)).clip(0, 1)
    back = back * back * (3 - 2 * back)
    outline = np.zeros(ANGLE_BINS)
    np.maximum.at(outline, bins, np.where(back > 0.5, r, 0.0))
    reach = _first_exit(sil, centre, centres, GROW_MAX * max(outline.max(), 1.0))
    # above the ears only (image v grows downwards: upward directions have sin < 0); elsewhere the neck,
    # shoulders and the body's own silhouette take over
    upward = np.sin(centres) < -0.2
    ratio = np.where(upward & (outline > 0), reach / np.maximum(outline, 1e-9), 1.0)
    ratio = np.clip(ratio, 1.0, GROW_MAX)
    # smooth across directions (circular), so a vertex between two bins never tears the surface
    k = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    k /= k.sum()
    ratio = np.convolve(np.concatenate([ratio[-6:], ratio, ratio[:6]]), k, mode="same")[6:-6]
    ratio = np.maximum(ratio, 1.0)
    share = back * (r / np.maximum(outline[bins], 1e-9)).clip(0, 1) ** GROW_SHARPNESS
    grow_px = (ratio[bins] - 1.0) * r * share
    if not (grow_px > 0.5).any():
        return rig
    grow = _image_plane_offsets(camera, rel / np.maximum(r, 1e-9)[:, None], grow_px, uvz[:, 2])
    # hair covers the whole scalp: as thick behind the head as the photo shows it past the whole head's
    # outline (the face's included) above the ears (the median over those directions, so a bun does not
    # count), the back half pushed that far along its own rays from the photo's camera (its front view does
    # not change)
    r_all, bins_all = _polar_bins(head[:, :2] - centre)
    whole = np.zeros(ANGLE_BINS)
    np.maximum.at(whole, bins_all, r_all)
    top = upward & (outline > 0)
    if top.any():
        thick_px = min(float(np.median(np.maximum(reach[top] - whole[top], 0.0))),
                       (GROW_MAX - 1.0) * float(np.median(whole[top])))   # no more than the growth allows
        thick_m = thick_px * float(np.median(uvz[:, 2])) / camera.fx
        if thick_m > 1e-4:   # along the rays through where the growth put them: the photo's view is unchanged
            ray = posed[ids] + grow - camera.position
            grow = grow + ray / np.linalg.norm(ray, axis=1, keepdims=True).clip(1e-12) * (thick_m * back)[:, None]
    return _move(rig, sk, ids, grow)


def _carve(rig: Rig, sk, ids: np.ndarray, posed: np.ndarray, camera: Camera, sil: np.ndarray) -> Rig:
    posed = posed[ids]
    uvz = camera.project(posed)
    outside = ndimage.distance_transform_edt(~sil)  # pixels to the silhouette, 0 inside
    d = bilinear(outside[..., None], uvz[:, 0], uvz[:, 1])[:, 0]
    move = d > 0.5
    if not move.any():
        return rig
    centre = camera.project(posed.mean(0, keepdims=True))[0, :2]
    to_c = centre - uvz[:, :2]
    to_c /= np.linalg.norm(to_c, axis=1, keepdims=True).clip(1e-9)
    return _shift(rig, sk, ids, camera, to_c, np.where(move, d + 0.5, 0.0), uvz[:, 2])


def inside_offsets(posed: np.ndarray, normals: np.ndarray, spread: np.ndarray, thickness: np.ndarray,
                   camera: Camera, sil: np.ndarray) -> np.ndarray:
    """(N, 3) moves, parallel to the image plane, that keep flat discs (centres ``posed``, unit ``normals``,
    standard deviations ``spread`` in their plane and ``thickness`` along the normal, metres) inside ``sil`` as
    the camera sees them: a disc whose footprint, out to INSIDE_SIGMAS of its spread across the silhouette's
    edge, passes that edge moves inwards by the excess; the rest stay (zero)."""
    moves = np.zeros_like(posed, dtype=np.float64)
    if len(posed) == 0 or not sil.any() or min(sil.shape) < 2:
        return moves
    uvz = camera.project(posed)
    front = np.flatnonzero(uvz[:, 2] > 0)                   # (points behind the camera: nothing to see)
    uvz, normals, spread, thickness = uvz[front], normals[front], spread[front], thickness[front]
    # signed distance to the silhouette's edge in pixels (negative inside; zero on the pixels' boundary), and
    # the outward direction from it, smoothed
    inner, outer = ndimage.distance_transform_edt(sil), ndimage.distance_transform_edt(~sil)
    signed = np.where(sil, 0.5 - inner, outer - 0.5)
    gy, gx = np.gradient(ndimage.gaussian_filter(signed, 1.0))
    past = bilinear(signed[..., None], uvz[:, 0], uvz[:, 1])[:, 0]
    out = bilinear(np.stack([gx, gy], -1), uvz[:, 0], uvz[:, 1])
    out /= np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)
    r = camera.world_to_camera[:3, :3]
    across = out[:, :1] * r[0] + out[:, 1:] * r[1]          # the outward direction, in the world
    # a flat disc's spread along a direction: its plane's, foreshortened, and its thickness's share
    cos2 = np.einsum("ij,ij->i", normals, across) ** 2
    along = np.sqrt(spread ** 2 * (1.0 - cos2).clip(0.0, 1.0) + thickness ** 2 * cos2)
    reach_px = INSIDE_SIGMAS * along * camera.fx / uvz[:, 2]
    moves[front] = _image_plane_offsets(camera, -out, np.maximum(past + reach_px, 0.0), uvz[:, 2])
    return moves


def to_rest(lbs_weights: np.ndarray, rotations, delta_world: np.ndarray) -> np.ndarray:
    """Moves ``delta_world`` (N, 3) of skinned points in the posed frame, carried back to the rest frame: linear
    blend skinning maps a rest point p to T p + t, with T its joints' ``rotations`` (J, 3, 3) blended by its
    ``lbs_weights`` (N, J), so a rest move d becomes T d posed, and the rest move is T^-1 delta (T^T for one
    joint; a blend of rotations is not quite one)."""
    t = blended_rotations(lbs_weights, rotations)
    return np.linalg.solve(t, np.asarray(delta_world, np.float64)[..., None])[..., 0]


def _image_plane_offsets(camera: Camera, unit: np.ndarray, px: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(N, 3) world offsets of ``px`` pixels along image directions ``unit`` (N, 2), parallel to the image
    plane at each point's ``depth``."""
    r = camera.world_to_camera[:3, :3]
    metres = px * depth / camera.fx
    return (unit[:, :1] * r[0] + unit[:, 1:] * r[1]) * metres[:, None]


def _shift(rig: Rig, sk, ids: np.ndarray, camera: Camera, unit: np.ndarray, px: np.ndarray,
           depth: np.ndarray) -> Rig:
    """``rig`` with vertices ``ids``, posed as ``sk``, moved ``px`` pixels along image directions ``unit``
    (N, 2), parallel to the image plane at their ``depth``."""
    return _move(rig, sk, ids, _image_plane_offsets(camera, unit, px, depth))


def _move(rig: Rig, sk, ids: np.ndarray, delta_world: np.ndarray) -> Rig:
    """``rig`` with vertices ``ids``, posed as ``sk``, moved by ``delta_world`` (N, 3) in the posed frame; the
    move is carried back to the rest frame through each vertex's blended joint rotation."""
    from dataclasses import replace

    delta_rest = to_rest(rig.lbs_weights[ids], sk.rotations[0], delta_world)
    vertices = rig.vertices.astype(np.float64).copy()
    vertices[ids] += delta_rest
    return replace(rig, vertices=vertices.astype(rig.vertices.dtype))
