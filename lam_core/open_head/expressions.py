"""The open head's expression (and face-shape) space: landmark channels and ARKit-named patterns.

A landmark field ``W`` (V, 468) says how each vertex follows each landmark: a face vertex is its fixed
combination of landmark vertices (landmark i's own vertex: exactly 1 on column i); the rest of the skin (the
cranium near the face, the eye sockets, the mouth cavity) takes the harmonic extension of the face's columns,
faded to nothing ``FALLOFF`` away from the face and ``LOCAL_REACH`` away from each landmark; eyeballs follow their eye corners and the teeth the nose
base (upper) and the chin (lower) rigidly; everything far from the face does not move.

Channels (``expr_names``): ``lmk_{i:03d}_{x|y|z}`` for the 468 face landmarks (coefficient = the landmark's
displacement in metres along that axis), then the ARKit names of ``ARKIT_CHANNELS``, each a fixed landmark
displacement pattern carried through the same field. Iris landmarks 468..477 move with the eye joints.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from . import landmarks as L
from .cranium import CM
from .head_mesh import SKIN, HeadMesh
from .mesh_ops import adjacency, harmonic
from .parts import EYE_GAP, EYE_RADIUS

FALLOFF = 3.5 * CM                        # non-face skin follows the face up to this far from it
LOCAL_REACH = 6.0 * CM                    # ... and each landmark up to this far from the landmark
JAW_OPEN_ANGLE = 0.35                     # radians of jaw rotation that jawOpen = 1 shows on the landmarks
EYEBALL_FOLLOW = {"eyeball_r": (33, 133), "eyeball_l": (263, 362)}
TEETH_FOLLOW = {"teeth_upper": (2,), "teeth_lower": (152, 175, 199, 200)}
AXES = "xyz"


def landmark_channel_names() -> tuple[str, ...]:
    return tuple(f"lmk_{i:03d}_{a}" for i in range(L.N_FACE) for a in AXES)


def landmark_field(mesh: HeadMesh) -> np.ndarray:
    """(V, 468) float64: vertex displacement per unit landmark displacement (the same for each axis)."""
    v = mesh.vertices
    nv, nf = len(v), mesh.n_face
    w = np.zeros((nv, L.N_FACE))
    w[:nf] = mesh.from_landmarks.toarray()
    skin = np.concatenate([mesh.regions[r] for r in SKIN])
    rest = skin[skin >= nf]
    dist, _ = cKDTree(v[:nf]).query(v[rest])
    near = dist < FALLOFF + 1.0 * CM  # the harmonic extension is only needed where the falloff is not 0
    rest, dist = rest[near], dist[near]
    adj = adjacency(mesh.faces, nv, v)
    ext = harmonic(adj, np.arange(nf), w[:nf], rest)
    t = np.clip(1.0 - dist / FALLOFF, 0.0, 1.0)
    # keep each landmark's influence local (harmonic weights reach everywhere, if faintly), then restore
    # the partition of unity the harmonic extension had
    ext = ext[rest]
    r = np.linalg.norm(v[rest][:, None, :] - v[None, : L.N_FACE, :], axis=2)
    u = np.clip(1.0 - r / LOCAL_REACH, 0.0, 1.0)
    cut = ext * (u * u * (3 - 2 * u))
    cut *= (ext.sum(1) / np.maximum(cut.sum(1), 1e-12))[:, None]
    w[rest] = cut * (t * t * (3 - 2 * t))[:, None]
    for name, ids in {**EYEBALL_FOLLOW, **TEETH_FOLLOW}.items():
        w[mesh.regions[name]] = 0.0
        w[np.ix_(mesh.regions[name], ids)] = 1.0 / len(ids)
    return w


# ------------------------------------------------------------------------------------------ ARKit patterns

def _spread(x: np.ndarray, drivers: dict[int, np.ndarray], sigma: float, stay: float = 0.3) -> np.ndarray:
    """A smooth landmark displacement (468, 3): drivers move by their given displacement (zero vectors pin
    a landmark); every other landmark takes a Gaussian-weighted mean of the drivers', with a weight ``stay``
    for not moving, so the pattern dies out away from its drivers."""
    ids = np.array(list(drivers), dtype=np.int64)
    d = np.array([drivers[i] for i in ids], dtype=np.float64).reshape(-1, 3)
    r2 = ((x[:, None, :] - x[ids][None, :, :]) ** 2).sum(-1)
    k = np.exp(-0.5 * r2 / sigma ** 2)
    out = (k @ d) / (k.sum(1, keepdims=True) + stay)
    out[ids] = d
    return out


def _blink(x: np.ndarray, upper, lower, centre: np.ndarray) -> np.ndarray:
    drivers = {}
    need = EYE_RADIUS + EYE_GAP + 0.06 * CM
    for u, lo in zip(upper[1:-1], lower[1:-1]):
        m = x[u] + 0.72 * (x[lo] - x[u])
        # the closed lid lies on the eye's front: push the meeting point out of the eyeball
        r = np.linalg.norm(m - centre)
        if r < need:
            m = centre + (m - centre) * (need / r)
        drivers[u] = m - x[u]
        drivers[lo] = m - x[lo]
    drivers[upper[0]] = np.zeros(3)
    drivers[upper[-1]] = np.zeros(3)
    return _spread(x, drivers, 0.45 * CM, stay=0.25)


def _lid_raise(x, upper, lower, amount: float) -> np.ndarray:
    drivers = {u: np.array([0.0, amount, -0.3 * amount]) for u in upper[1:-1]}
    drivers.update({i: np.zeros(3) for i in (upper[0], upper[-1]) + tuple(lower)})
    return _spread(x, drivers, 0.5 * CM)


def _smile(x, corner_out: int, corner_in: int, other: tuple[int, int], side: float) -> np.ndarray:
    d = np.array([0.45 * side, 0.5, -0.3]) * CM
    drivers = {corner_out: d, corner_in: d * 0.9}
    drivers.update({i: np.zeros(3) for i in other + (0, 17)})
    return _spread(x, drivers, 1.0 * CM, stay=0.15)


def _cheek_squint(x, lower_lid, side: float) -> np.ndarray:
    centre = x[lower_lid[4]] + np.array([0.4 * side, -1.4, 0.0]) * CM
    near = np.flatnonzero(np.linalg.norm(x - centre, axis=1) < 0.9 * CM)
    drivers = {int(i): np.array([0.0, 0.3, 0.08]) * CM for i in near}
    drivers.update({i: np.array([0.0, 0.12, 0.0]) * CM for i in lower_lid[1:-1]})
    return _spread(x, drivers, 0.8 * CM)


def _brow(x, ids, d: np.ndarray, pins) -> np.ndarray:
    drivers = {i: d for i in ids}
    drivers.update({i: np.zeros(3) for i in pins})
    return _spread(x, drivers, 0.9 * CM, stay=0.2)


def _lips(x, fx: float, dz: float, open_y: float) -> np.ndarray:
    """Lips drawn towards the mouth's middle (x scaled by 1 - fx), pushed forward by dz, the inner lips
    parted by open_y (each)."""
    lips = set(L.LIPS_OUTER_UPPER + L.LIPS_OUTER_LOWER + L.LIPS_INNER_UPPER + L.LIPS_INNER_LOWER)
    drivers = {}
    for i in lips:
        d = np.array([-fx * x[i, 0], 0.0, dz])
        if i in L.LIPS_INNER_UPPER[1:-1]:
            d[1] += open_y
        if i in L.LIPS_INNER_LOWER[1:-1]:
            d[1] -= open_y
        drivers[i] = d
    return _spread(x, drivers, 0.7 * CM, stay=0.2)


def _lip_side(x, chains, side: float, d: np.ndarray) -> np.ndarray:
    ids = [i for c in chains for i in c[1:-1] if x[i, 0] * side > 0.2 * CM]
    drivers = {i: d for i in ids}
    drivers.update({i: np.zeros(3) for i in (0, 13, 14, 17)})
    return _spread(x, drivers, 0.6 * CM, stay=0.2)


def jaw_open_pattern(x: np.ndarray, jaw_weight: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """The landmarks' displacement when the jaw turns by JAW_OPEN_ANGLE about ``joint`` (x axis), weighted."""
    c, s = np.cos(JAW_OPEN_ANGLE), np.sin(JAW_OPEN_ANGLE)
    rot = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    rel = x - joint
    return ((rel @ rot.T) - rel) * jaw_weight[:, None]


def arkit_patterns(x: np.ndarray, eye_centres: np.ndarray, jaw_weight: np.ndarray,
                   jaw_joint: np.ndarray) -> dict[str, np.ndarray]:
    """Landmark displacements (468, 3) of each ARKit channel at coefficient 1, from the template landmarks x."""
    cl, cr = eye_centres
    up = np.array([0.0, 1.0, 0.0])
    return {
        "eyeBlinkLeft": _blink(x, L.EYE_L_UPPER, L.EYE_L_LOWER, cl),
        "eyeBlinkRight": _blink(x, L.EYE_R_UPPER, L.EYE_R_LOWER, cr),
        "eyeWideLeft": _lid_raise(x, L.EYE_L_UPPER, L.EYE_L_LOWER, 0.22 * CM),
        "eyeWideRight": _lid_raise(x, L.EYE_R_UPPER, L.EYE_R_LOWER, 0.22 * CM),
        "browInnerUp": _brow(x, L.BROW_R[0][-2:] + L.BROW_R[1][-2:] + L.BROW_L[0][-2:] + L.BROW_L[1][-2:],
                             0.55 * CM * up, L.EYE_R_UPPER + L.EYE_L_UPPER),
        "browDownLeft": _brow(x, L.BROW_L[0] + L.BROW_L[1], np.array([-0.12, -0.35, 0.0]) * CM, L.EYE_L_UPPER),
        "browDownRight": _brow(x, L.BROW_R[0] + L.BROW_R[1], np.array([0.12, -0.35, 0.0]) * CM, L.EYE_R_UPPER),
        "browOuterUpLeft": _brow(x, L.BROW_L[0][:2] + L.BROW_L[1][:2], 0.5 * CM * up, L.EYE_L_UPPER),
        "browOuterUpRight": _brow(x, L.BROW_R[0][:2] + L.BROW_R[1][:2], 0.5 * CM * up, L.EYE_R_UPPER),
        "cheekSquintLeft": _cheek_squint(x, L.EYE_L_LOWER, 1.0),
        "cheekSquintRight": _cheek_squint(x, L.EYE_R_LOWER, -1.0),
        "mouthSmileLeft": _smile(x, L.MOUTH_CORNER_L, 308, (L.MOUTH_CORNER_R, 78), 1.0),
        "mouthSmileRight": _smile(x, L.MOUTH_CORNER_R, 78, (L.MOUTH_CORNER_L, 308), -1.0),
        "mouthFunnel": _lips(x, 0.25, 0.45 * CM, 0.25 * CM),
        "mouthPucker": _lips(x, 0.4, 0.6 * CM, -0.1 * CM),
        "mouthLowerDownLeft": _lip_side(x, (L.LIPS_OUTER_LOWER, L.LIPS_INNER_LOWER), 1.0, -0.3 * CM * up),
        "mouthLowerDownRight": _lip_side(x, (L.LIPS_OUTER_LOWER, L.LIPS_INNER_LOWER), -1.0, -0.3 * CM * up),
        "mouthUpperUpLeft": _lip_side(x, (L.LIPS_OUTER_UPPER, L.LIPS_INNER_UPPER), 1.0, 0.25 * CM * up),
        "mouthUpperUpRight": _lip_side(x, (L.LIPS_OUTER_UPPER, L.LIPS_INNER_UPPER), -1.0, 0.25 * CM * up),
        "jawOpen": jaw_open_pattern(x, jaw_weight, jaw_joint),
    }
