"""The open head's shape space.

Shape vector layout (S = 5 + 3 * 468 = 1409)::

    [head_width, head_depth, head_height, jaw_width, neck,          # cranium controls, 1.0 = 1 cm at the extreme
     lmk_000_x, lmk_000_y, lmk_000_z, ..., lmk_467_z]              # face landmark displacements, metres

A person's face goes in directly: ``shape[5:] = (landmarks - template_landmarks).reshape(-1)`` with the
person's 468 neutral 3D landmarks in the head's frame (metres, y up, z forward), which puts face vertex i
exactly on landmark i (the rest of the face, the cranium near it, the sockets and the mouth follow through the
landmark field, see :mod:`.expressions`). The cranium controls then shape the rest of the head smoothly; they
leave the face and everything near it alone. Everything is linear, so fitting a photo is a least-squares
problem.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .cranium import CM, SKULL_AXES, SKULL_CENTRE, neck_axis_z
from .head_mesh import HeadMesh

CRANIUM_CONTROLS = ("head_width", "head_depth", "head_height", "jaw_width", "neck")
CLEAR_OF_FACE = 4.0 * CM  # the controls reach full strength this far from the face


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def cranium_controls(mesh: HeadMesh) -> np.ndarray:
    """(V, 3, 5) shape directions of the cranium controls (metres per unit)."""
    v = mesh.vertices
    x, y, z = v.T
    nv = len(v)
    on = np.zeros(nv)
    ids = mesh.regions["cranium"]
    dist, _ = cKDTree(v[: mesh.n_face]).query(v[ids])
    on[ids] = _smoothstep(dist / CLEAR_OF_FACE)
    out = np.zeros((nv, 3, 5))
    sc = SKULL_CENTRE
    upper = _smoothstep((y - (-9.0 * CM)) / (5.0 * CM))          # the skull, not the neck
    out[:, 0, 0] = x / SKULL_AXES[0] * CM * upper
    out[:, 2, 1] = np.minimum(z - sc[2], 0.0) / SKULL_AXES[2] * CM * upper
    out[:, 1, 2] = np.maximum(y - sc[1], 0.0) / SKULL_AXES[1] * CM
    jaw_band = _smoothstep((y - (-13.0 * CM)) / (3.0 * CM)) * _smoothstep((-1.0 * CM - y) / (3.0 * CM))
    out[:, 0, 3] = x / (6.0 * CM) * CM * jaw_band
    neck = _smoothstep((-7.0 * CM - y) / (4.0 * CM))
    out[:, 0, 4] = x / (5.6 * CM) * CM * neck
    out[:, 2, 4] = (z - neck_axis_z(y)) / (5.6 * CM) * CM * neck
    return out * on[:, None, None]
