"""Fitting the open head to a photo: pose and camera from the rigid landmarks, the face straight from the
person's 3D landmarks, the jaw from the lips, the cranium from the person's silhouette.

The open head's face shape space is the landmark displacement field (see :mod:`lam_core.open_head.shape`),
so once the landmarks are in the head frame the face is exact: every face vertex lands on its landmark and
reprojects onto the photo. What the rig can explain as motion is taken out of the rest shape: an open mouth
becomes a jaw rotation of the photo's pose, so the canonical avatar closes its mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..camera import Camera
from ..params import FrameParams
from ..photo.landmarks import FaceLandmarks
from ..rig import Rig
from .pose import Similarity, photo_camera, similarity_procrustes

JAW = "jaw"                        # the joint the fit opens, by name
UPPER_LIP, LOWER_LIP = 13, 14      # inner-lip midpoints
MAX_JAW = 0.45                     # radians
CONTROL_CM = 0.01                  # one unit of a cranium control moves its extreme point 1 cm
CONTROL_RANGE = (-2.0, 4.0)


@dataclass(frozen=True, eq=False)
class HeadFit:
    shape: np.ndarray        # the head model's shape vector
    camera: Camera           # the photo's camera, world = the canonical head frame
    params: FrameParams      # the photo's pose and expression on the canonical rig (one frame)
    landmarks: np.ndarray    # (478, 3) the person's landmarks in the head frame, as in the photo
    similarity: Similarity
    residual_px: float = 0.0  # RMS distance of the fitted rig's landmarks to the photo's, pixels


def _back_project(face: FaceLandmarks, sim: Similarity, camera: Camera) -> np.ndarray:
    """Head-frame points on the camera rays through the landmarks, at the depths the landmark model gives
    (so they reproject exactly under perspective)."""
    q = face.points
    z_cam = camera.world_to_camera[2, 3] + (q[:, 2] - sim.translation[2]) / sim.scale
    rays = np.stack([(q[:, 0] - camera.cx) / camera.fx, (q[:, 1] - camera.cy) / camera.fy, np.ones(len(q))], 1)
    p_cam = rays * z_cam[:, None]
    r, t = camera.world_to_camera[:3, :3], camera.world_to_camera[:3, 3]
    return (p_cam - t) @ r


def _rotate_x(points: np.ndarray, centre: np.ndarray, angles: np.ndarray) -> np.ndarray:
    c, s = np.cos(angles), np.sin(angles)
    d = points - centre
    y = c * d[:, 1] - s * d[:, 2]
    z = s * d[:, 1] + c * d[:, 2]
    return np.stack([d[:, 0], y, z], 1) + centre


def _silhouette(mask: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The connected part of the person mask that holds ``seed`` (x, y)."""
    fg = mask > 0.5
    labels, _ = ndimage.label(fg)
    x, y = int(np.clip(seed[0], 0, mask.shape[1] - 1)), int(np.clip(seed[1], 0, mask.shape[0] - 1))
    lab = labels[y, x]
    return labels == lab if lab else fg


def _cranium_controls(rig: Rig, camera: Camera, mask: np.ndarray, face: FaceLandmarks, names) -> np.ndarray:
    """Head width and height controls so the projected cranium spans the silhouette above the eyes."""
    controls = np.zeros(len(names))
    cranium = rig.regions.get("cranium")
    if cranium is None or len(cranium) == 0:
        return controls
    q = face.points
    eye_y = q[[33, 263], 1].mean()
    face_h = np.ptp(q[:468, 1])
    sil = _silhouette(mask, (q[:468, 0].mean(), q[:468, 1].mean()))
    uv = camera.project(rig.vertices[cranium])[:, :2]
    sim_scale = camera.fx / camera.world_to_camera[2, 3]  # ~ pixels per metre at the head
    cols = np.flatnonzero(sil.any(0))
    if "head_height" in names and len(cols):
        x0, x1 = np.percentile(q[:468, 0], [30, 70]).astype(int)
        tops = [np.argmax(sil[:, x]) for x in range(max(x0, 0), min(x1, sil.shape[1] - 1)) if sil[:, x].any()]
        if tops:
            mask_top = float(np.median(tops))
            rig_top = float(uv[:, 1].min())
            controls[names.index("head_height")] = (rig_top - mask_top) / (sim_scale * CONTROL_CM)
    if "head_width" in names:
        rows = np.linspace(eye_y - 0.35 * face_h, eye_y - 0.15 * face_h, 5).astype(int)
        mask_w, rig_w = [], []
        for r in rows:
            if not (0 <= r < sil.shape[0]) or not sil[r].any():
                continue
            xs = np.flatnonzero(sil[r])
            near = np.abs(uv[:, 1] - r) < 2.0
            if near.sum() < 2:
                continue
            mask_w.append(xs.max() - xs.min())
            rig_w.append(np.ptp(uv[near, 0]))
        if mask_w:
            controls[names.index("head_width")] = (np.median(mask_w) - np.median(rig_w)) / (2 * sim_scale * CONTROL_CM)
            if "head_depth" in names:
                # a front photo cannot see the head's depth: the hair as thick at the back as at the sides (a
                # narrow head is not flattened behind: the template's depth is the least)
                controls[names.index("head_depth")] = max(controls[names.index("head_width")], 0.0)
    return np.clip(controls, *CONTROL_RANGE)


def fit_open_head(head, face: FaceLandmarks, mask: np.ndarray, focal: float | None = None) -> HeadFit:
    """Fit ``head`` (an :class:`lam_core.open_head.OpenHead`) to one photo's landmarks and person mask."""
    model = head.model
    template = model.landmarks.points(model.v_template.astype(np.float64), model.faces)  # (478, 3)
    if not np.array_equal(model.landmarks.ids, np.arange(len(template))):
        raise ValueError("the open head must embed landmarks 0..477 in order")
    ids, weights = head.procrustes_ids, head.procrustes_weights
    sim = similarity_procrustes(template[ids], face.points[ids], weights)
    w, h = face.image_size
    camera = photo_camera(sim, w, h, anchor=template[ids].mean(0), focal=focal)
    seen = _back_project(face, sim, camera)

    # the jaw: lips further apart than the template's are an open jaw, rotated back out of the rest shape
    jaw = model.joint_names.index(JAW)
    jaw_centre = model.j_regressor[jaw].astype(np.float64) @ model.v_template.astype(np.float64)
    gap = (seen[UPPER_LIP, 1] - seen[LOWER_LIP, 1]) - (template[UPPER_LIP, 1] - template[LOWER_LIP, 1])
    lever = np.linalg.norm((template[LOWER_LIP] - jaw_centre)[1:])
    theta = float(np.clip(gap / max(lever, 1e-6), 0.0, MAX_JAW))
    nf = 468
    jaw_w = model.lbs_weights[:nf, jaw].astype(np.float64)
    rest = seen.copy()
    rest[:nf] = _rotate_x(seen[:nf], jaw_centre, -theta * jaw_w)

    names = list(model.shape_names)
    n_controls = len(names) - 3 * nf
    shape = np.zeros(model.n_shape)
    shape[n_controls:] = (rest[:nf] - template[:nf]).reshape(-1)
    params = FrameParams.zeros(1, model.n_expr, model.n_joints)
    params.pose[0, jaw, 0] = theta
    rig = Rig.from_head_model(model, shape)
    shape[:n_controls] = _cranium_controls(rig, camera, mask, face, names[:n_controls])
    rig = Rig.from_head_model(model, shape)

    posed = rig.deform(params).vertices[0].numpy().astype(np.float64)
    lm = model.landmarks.points(posed, model.faces)
    uv = camera.project(lm)[:, :2]
    residual = float(np.sqrt(((uv[:nf] - face.points[:nf, :2]) ** 2).sum(1).mean()))
    return HeadFit(shape=shape, camera=camera, params=params, landmarks=seen, similarity=sim, residual_px=residual)
