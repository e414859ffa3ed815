"""A synthetic head model in FLAME's exact layout, for tests, benchmarks and demos without FLAME.

FLAME cannot be shipped, so everything that must be checked on a FLAME-layout rig uses this stand-in: the
same counts (5,023 vertices, 9,976 faces, two separate eyeballs of 546 vertices at indices 3,931..5,022,
two boundary loops of 62 edges in all, so one subdivision gives 20,018 points and two give 79,936), the same
5 joints and parents, 300 shape / 100 expression components, 36 pose correctives, and bases that behave
like FLAME's: smooth, decaying in magnitude, expressions concentrated on the face, correctives around neck
and jaw. It is a deterministic function of its seed. It is not a human face; nothing is learnt.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import ConvexHull

from .head_model import FLAME_PARENTS, HeadModel, flame_expr_names

N_HEAD = 3931
N_EYE = 546
EYE_RADIUS = 0.0121
EYE_CENTRES = np.array([[0.0315, 0.032, 0.052], [-0.0315, 0.032, 0.052]])  # eye_l at +x (subject's left)


def _fibonacci_sphere(n: int, rng: np.random.Generator) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5 ** 0.5) * i
    p = np.stack([np.sin(phi) * np.cos(theta), np.cos(phi), np.sin(phi) * np.sin(theta)], 1)
    p += rng.normal(scale=0.15 / np.sqrt(n), size=p.shape)  # break the lattice's symmetry a little
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def _sphere_mesh(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points on the unit sphere and their hull triangulation (2n - 4 faces), normals outward."""
    p = _fibonacci_sphere(n, rng)
    faces = ConvexHull(p).simplices.astype(np.int64)
    centre = p[faces].mean(1)
    normal = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    flip = (normal * centre).sum(1) < 0
    faces[flip] = faces[flip][:, ::-1]
    return p, faces


def _strip(faces: np.ndarray, pts: np.ndarray, start: np.ndarray, direction: np.ndarray, n: int,
           taken: set[int]) -> list[int]:
    """A strip of ``n`` triangles (each adds one new vertex, so removing it opens a hole of n + 2 edges),
    grown from the face nearest ``start`` towards ``direction``."""
    centres = pts[faces].mean(1)
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for fi, f in enumerate(faces):
        for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            edge_faces.setdefault((min(a, b), max(a, b)), []).append(fi)
    first = int(np.argmin(np.linalg.norm(centres - start, axis=1)))
    strip, verts = [first], set(faces[first].tolist())
    while len(strip) < n:
        best, best_score = None, -np.inf
        for fi in strip[-1:]:
            f = faces[fi]
            for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
                for g in edge_faces[(min(a, b), max(a, b))]:
                    if g in strip or g in taken:
                        continue
                    new = set(faces[g].tolist()) - verts
                    if len(new) != 1:
                        continue
                    score = float(centres[g] @ direction)
                    if score > best_score:
                        best, best_score = g, score
        if best is None:
            raise RuntimeError("could not grow the hole strip")
        strip.append(best)
        verts |= set(faces[best].tolist())
    return strip


def _smooth_fields(points: np.ndarray, n_fields: int, n_features: int, freq: float,
                   rng: np.random.Generator) -> np.ndarray:
    """n_fields smooth random vector fields on the points, unit RMS each: (P, 3, n_fields)."""
    w = rng.normal(scale=freq, size=(3, n_features))
    b = rng.uniform(0, 2 * np.pi, size=n_features)
    feats = np.cos(points @ w + b)  # (P, F) random Fourier features
    coeffs = rng.normal(size=(n_features, 3 * n_fields))
    f = (feats @ coeffs).reshape(len(points), 3, n_fields)
    return f / np.sqrt((f ** 2).mean(axis=(0, 1), keepdims=True))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """A logistic step whose tails are cut to exact 0 and 1 (FLAME's weights and bases are exactly zero
    away from where they act)."""
    s = 1.0 / (1.0 + np.exp(-x))
    return np.clip((s - 1e-2) / (1 - 2e-2), 0.0, 1.0)


def synthetic_flame_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """The synthetic model as the key -> array dict of a FLAME file (``shapedirs`` holds 300 shape then
    100 expression components; ``J_regressor`` dense; ``kintree_table`` with FLAME's root marker)."""
    rng = np.random.default_rng(seed)
    unit, faces = _sphere_mesh(N_HEAD, rng)
    # two holes like FLAME's (neck opening, mouth slit): strips of 29 triangles, 62 boundary edges in all
    taken: set[int] = set()
    mouth = _strip(faces, unit, np.array([0.0, -0.35, 0.94]), np.array([1.0, 0.0, 0.0]), 29, taken)
    taken |= set(mouth)
    neck = _strip(faces, unit, np.array([0.0, -1.0, 0.0]), np.array([1.0, 0.0, 0.3]), 29, taken)
    taken |= set(neck)
    faces = np.delete(faces, sorted(taken), axis=0)
    # head shape: an ellipsoid with a neck, a chin, a nose and a flatter back
    x, y, z = unit.T
    head = np.stack([0.078 * x, 0.105 * y, 0.092 * z], 1)
    neck_t = _sigmoid((-0.55 - y) / 0.08)
    head[:, 0] *= 1 - 0.35 * neck_t
    head[:, 2] *= 1 - 0.35 * neck_t
    head[:, 1] -= 0.06 * neck_t
    nose = np.exp(-((x / 0.12) ** 2 + ((y + 0.05) / 0.15) ** 2)) * (z > 0)
    head[:, 2] += 0.022 * nose
    head[:, 2] -= 0.01 * np.clip(-z, 0, 1) ** 2
    # eyeballs: separate closed spheres behind the eye openings
    eyes_v, eyes_f = [], []
    for k, centre in enumerate(EYE_CENTRES):
        ep, ef = _sphere_mesh(N_EYE, rng)
        eyes_v.append(centre + EYE_RADIUS * ep)
        eyes_f.append(ef + N_HEAD + k * N_EYE)
    v = np.concatenate([head, *eyes_v]).astype(np.float64)
    f = np.concatenate([faces, *eyes_f])
    nv = len(v)
    is_eye = np.arange(nv) >= N_HEAD
    hx, hy, hz = v.T

    # joint regressor: eyes = mean of their eyeball, the others = centroids of slices of the head surface
    jreg = np.zeros((5, nv))
    for k in range(2):
        jreg[3 + k, N_HEAD + k * N_EYE: N_HEAD + (k + 1) * N_EYE] = 1.0 / N_EYE
    slices = [
        (~is_eye) & (np.abs(hy + 0.135) < 0.006),                          # global: base of the neck
        (~is_eye) & (np.abs(hy + 0.075) < 0.006),                          # neck: top of the neck
        (~is_eye) & (np.abs(hy + 0.012) < 0.008) & (np.abs(hz + 0.005) < 0.02),  # jaw: hinge below the ears
    ]
    for j, sel in enumerate(slices):
        jreg[j, sel] = 1.0 / sel.sum()

    # LBS weights: global at the base of the neck, jaw on the chin and lower face, eyes on the eyeballs
    w = np.zeros((nv, 5))
    w_global = _sigmoid((-0.125 - hy) / 0.006)
    w_jaw = _sigmoid((-0.038 - hy) / 0.0025) * _sigmoid((hz - 0.03) / 0.004) * _sigmoid((hy + 0.105) / 0.0025)
    w[:, 0] = w_global
    w[:, 2] = (1 - w_global) * w_jaw
    w[:, 1] = (1 - w_global) * (1 - w_jaw)
    w[is_eye] = 0.0
    w[N_HEAD:N_HEAD + N_EYE, 3] = 1.0
    w[N_HEAD + N_EYE:, 4] = 1.0

    # bases: smooth fields, eyeballs move rigidly (their centre's displacement) or not at all
    def rigid_eyes(fields: np.ndarray) -> np.ndarray:
        for k in range(2):
            sl = slice(N_HEAD + k * N_EYE, N_HEAD + (k + 1) * N_EYE)
            fields[sl] = fields[sl].mean(0, keepdims=True)
        return fields

    decay = lambda n, top: top / np.sqrt(1.0 + np.arange(n))  # noqa: E731
    shape = rigid_eyes(_smooth_fields(v, 300, 48, 8.0, rng)) * decay(300, 0.012)
    face = _sigmoid((hz - 0.02) / 0.015) * _sigmoid((hy + 0.11) / 0.01) * _sigmoid((0.07 - hy) / 0.01)
    face[is_eye] = 0.0
    expr = _smooth_fields(v, 100, 64, 25.0, rng) * face[:, None, None] * decay(100, 0.006)
    near = np.maximum(_sigmoid((-0.05 - hy) / 0.015), w[:, 2])
    near[is_eye] = 0.0
    posedirs = _smooth_fields(v, 36, 32, 12.0, rng) * near[:, None, None] * 0.004

    kintree = np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64)
    return {
        "v_template": v.astype(np.float64),
        "f": f.astype(np.uint32),
        "shapedirs": np.concatenate([shape, expr], 2),
        "posedirs": posedirs,
        "J_regressor": jreg,
        "weights": w,
        "kintree_table": kintree,
    }


def synthetic_flame_model(seed: int = 0) -> HeadModel:
    """The synthetic FLAME-layout head as a HeadModel (float32)."""
    a = synthetic_flame_arrays(seed)
    f32 = np.float32
    return HeadModel(
        name="synthetic FLAME-layout head",
        v_template=a["v_template"].astype(f32),
        faces=a["f"].astype(np.int64),
        j_regressor=a["J_regressor"].astype(f32),
        parents=FLAME_PARENTS,
        lbs_weights=a["weights"].astype(f32),
        shapedirs=np.ascontiguousarray(a["shapedirs"][:, :, :300], dtype=f32),
        exprdirs=np.ascontiguousarray(a["shapedirs"][:, :, 300:], dtype=f32),
        posedirs=a["posedirs"].astype(f32),
        expr_names=flame_expr_names(100),
        regions={"eyeball_l": np.arange(N_HEAD, N_HEAD + N_EYE), "eyeball_r": np.arange(N_HEAD + N_EYE, N_HEAD + 2 * N_EYE)},
    )


def synthetic_avatar(levels: int = 1, seed: int = 0, landmarks: bool = False):
    """Canonical Gaussians on the synthetic FLAME-layout head: flat discs along the surface sized by the
    local point spacing, a smooth colour pattern with dark eyes, high opacity. For tests and benchmarks.
    ``landmarks``: embed MediaPipe's 478 landmarks (computed, :mod:`lam_core.landmark_embedding`; needs the
    open head's npm package), so that a webcam can drive it."""
    from .gaussians import GaussianAvatar, Gaussians
    from .reconstruct.surface import surface_discs
    from .rig import Rig

    rng = np.random.default_rng(seed)
    model = synthetic_flame_model(seed)
    if landmarks:
        from .landmark_embedding import compute_landmark_embedding

        model = model.with_landmarks(compute_landmark_embedding(model))
    points = Rig.from_head_model(model, rng.normal(scale=0.5, size=300)).subdivide(levels)
    v = points.vertices.astype(np.float64)
    scales, rotations, normals = surface_discs(v, points.faces)
    x, y, z = v.T
    skin = np.array([0.86, 0.66, 0.55])
    pattern = 0.5 + 0.5 * np.sin(90 * x) * np.cos(70 * y + 20 * z)
    colors = skin * (0.75 + 0.25 * pattern[:, None]) + 0.15 * np.stack([np.sin(40 * y), 0 * y, np.cos(40 * x)], 1)
    is_eye = points.in_region("eyeball_l") | points.in_region("eyeball_r")
    colors[is_eye] = [0.12, 0.1, 0.09]
    hair = (y > 0.03) & (z < 0.05)
    colors[hair] = colors[hair] * 0.35
    g = Gaussians(
        offsets=(normals * rng.normal(scale=2e-4, size=(len(v), 1))).astype(np.float32),
        colors=np.clip(colors, 0, 1).astype(np.float32),
        opacities=np.full(len(v), 0.95, np.float32),
        scales=scales.astype(np.float32),
        rotations=rotations.astype(np.float32),
    )
    return GaussianAvatar(points, g)
