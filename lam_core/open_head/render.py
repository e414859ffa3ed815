"""A small deterministic software renderer for contact sheets: shaded meshes, no GPU, no display.

Triangles are covered by barycentric sample points dense enough to leave no pixel of a triangle empty; each
pixel keeps its nearest sample (a z-buffer), coloured by the triangle's colour times a Lambert + ambient
term of its normal. Orthographic views; five of them make the turntable sheet.
"""

from __future__ import annotations

import numpy as np

from ..atomic import atomic_path
from .mesh_ops import face_normals

VIEWS = (("front", 0.0, 0.0), ("3/4", 40.0, 0.0), ("side", 90.0, 0.0), ("back", 180.0, 0.0), ("top", 0.0, 90.0))


def view_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """World -> camera rotation: the camera turns ``yaw`` about y (positive: towards the subject's left),
    then looks down by ``-pitch``; camera axes x right, y up, z towards the viewer."""
    y, p = np.deg2rad(yaw_deg), np.deg2rad(pitch_deg)
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rx @ ry


def _lattice(level: int) -> np.ndarray:
    """Barycentric points of a triangle lattice with ``level`` steps per side."""
    i, j = np.meshgrid(np.arange(level + 1), np.arange(level + 1), indexing="ij")
    keep = i + j <= level
    a, b = i[keep] / level, j[keep] / level
    return np.stack([a, b, 1 - a - b], 1)


def render(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray, rotation: np.ndarray, size: int,
           centre: np.ndarray, half_extent: float, background=(1.0, 1.0, 1.0)) -> np.ndarray:
    """(size, size, 3) float image of the mesh seen through ``rotation`` (orthographic), ``colors`` per face."""
    cam = (vertices - centre) @ rotation.T
    px = (cam[:, :2] / half_extent * 0.5 + 0.5) * size
    px[:, 1] = size - px[:, 1]
    normals = face_normals(cam, faces)
    light = np.array([0.35, 0.45, 0.82])
    light /= np.linalg.norm(light)
    shade = 0.28 + 0.72 * np.clip(normals @ light, 0, 1)
    back = normals[:, 2] < 0
    shade[back] *= 0.35  # back faces (inside of an opening) darker
    tri_px = px[faces]
    span = np.max(np.linalg.norm(tri_px - np.roll(tri_px, 1, axis=1), axis=2), axis=1)
    level = np.clip(np.ceil(span * 1.5).astype(int), 1, 64)
    img = np.empty((size * size, 3))
    img[:] = background
    depth = np.full(size * size, -np.inf)
    xs, ds, fs = [], [], []
    for lv in np.unique(level):
        sel = np.flatnonzero(level == lv)
        bary = _lattice(int(lv))  # (S, 3)
        pts = np.einsum("sk,fkd->fsd", bary, cam[faces[sel]])  # (f, S, 3)
        p2 = np.einsum("sk,fkd->fsd", bary, tri_px[sel])
        ix = np.floor(p2[..., 0]).astype(np.int64)
        iy = np.floor(p2[..., 1]).astype(np.int64)
        ok = (ix >= 0) & (ix < size) & (iy >= 0) & (iy < size)
        xs.append((iy * size + ix)[ok])
        ds.append(pts[..., 2][ok])
        fs.append(np.broadcast_to(sel[:, None], ok.shape)[ok])
    pix, dep, fac = np.concatenate(xs), np.concatenate(ds), np.concatenate(fs)
    order = np.lexsort((fac, -dep, pix))  # per pixel the nearest sample first (ties broken by face index)
    pix, fac = pix[order], fac[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    img[pix[first]] = colors[fac[first]] * shade[fac[first], None]
    depth[pix[first]] = 0
    return np.clip(img.reshape(size, size, 3), 0, 1)


def contact_sheet(vertices: np.ndarray, faces: np.ndarray, face_colors: np.ndarray, size: int = 320,
                  title: str = "") -> np.ndarray:
    """Front, 3/4, side, back and top views side by side, uint8 (size + label strip, 5 * size, 3)."""
    lo, hi = vertices.min(0), vertices.max(0)
    centre = (lo + hi) / 2
    half = float(np.max(hi - lo)) * 0.55
    tiles = [render(vertices, faces, face_colors, view_rotation(yaw, pitch), size, centre, half)
             for _, yaw, pitch in VIEWS]
    sheet = np.concatenate(tiles, axis=1)
    return (sheet * 255).round().astype(np.uint8)


def write_png(path, image: np.ndarray, labels: tuple[str, ...] = ()) -> None:
    from PIL import Image, ImageDraw

    im = Image.fromarray(image)
    if labels:
        draw = ImageDraw.Draw(im)
        w = image.shape[1] // len(labels)
        for i, text in enumerate(labels):
            draw.text((i * w + 6, 4), text, fill=(40, 40, 40))
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")
