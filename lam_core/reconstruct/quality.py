"""How well an avatar reproduces its photo: the front render against the masked photo over the face, and
whether MediaPipe still finds the face (and the same landmarks) in renders from other angles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy.spatial import ConvexHull

from ..camera import Camera
from ..metrics import psnr, ssim


def face_region(landmarks_px: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: inside the convex hull of the 468 face landmarks (the face oval)."""
    pts = landmarks_px[:468, :2]
    hull = pts[ConvexHull(pts).vertices]
    im = Image.new("L", size, 0)
    ImageDraw.Draw(im).polygon([tuple(p) for p in hull], fill=1)
    return np.asarray(im, dtype=bool)


def masked_photo(rgb: np.ndarray, mask: np.ndarray, background=(1.0, 1.0, 1.0)) -> np.ndarray:
    """The photo in [0, 1] with everything outside the person mask replaced by the background."""
    m = mask.astype(np.float64)[..., None]
    return rgb.astype(np.float64) / 255.0 * m + np.asarray(background) * (1 - m)


@dataclass(frozen=True)
class FrontQuality:
    psnr: float
    ssim: float
    landmark_error: float | None  # mean re-detected landmark distance / inter-ocular distance (None: no face)


HEAD_JOINTS = ("jaw", "eye_l", "eye_r")


def head_centre(avatar) -> np.ndarray:
    """The point the views of an avatar turn about, inside the head: the mean of its jaw and eye joints at
    rest when the rig names them (FLAME layout, the open head, converted LAM avatars), else the centroid of its
    face landmarks, else the centre of the canonical Gaussians' bounding box."""
    rig = avatar.rig
    names = list(rig.joint_names)
    if all(n in names for n in HEAD_JOINTS):
        return rig.joints[[names.index(n) for n in HEAD_JOINTS]].astype(np.float64).mean(0)
    if rig.landmarks is not None and len(rig.landmarks.ids):
        return rig.landmarks.points(rig.vertices.astype(np.float64), rig.faces).mean(0)
    means = np.asarray(avatar.canonical_means(), dtype=np.float64)
    return 0.5 * (means.min(0) + means.max(0))


def orbit_about_head(camera: Camera, centre: np.ndarray, yaw_deg: float, pitch_deg: float) -> Camera:
    """The photo camera turned around the head centre, as :meth:`Camera.orbit` and ``lam-render --yaw/--pitch``
    turn theirs: positive yaw moves it towards its own right, positive pitch raises it; both turns are about
    the camera's own axes (its up, then its right), so a photo taken at an angle turns from where it stood."""
    r = camera.world_to_camera[:3, :3]
    up, right = -r[1], r[0]
    turn_r = _axis_angle(up, np.radians(yaw_deg)) @ _axis_angle(right, -np.radians(pitch_deg))
    centre = np.asarray(centre, dtype=np.float64).reshape(3)
    turn = np.eye(4)
    turn[:3, :3] = turn_r
    turn[:3, 3] = centre - turn_r @ centre  # the camera moves rigidly about the head centre
    return Camera(camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy,
                  world_to_camera=camera.world_to_camera @ np.linalg.inv(turn))


def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix by ``angle`` radians about the unit ``axis`` (right-handed)."""
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def front_quality(render_rgb: np.ndarray, photo: np.ndarray, mask: np.ndarray, landmarks_px: np.ndarray,
                  redetected_px: np.ndarray | None, interocular_px: float) -> FrontQuality:
    region = face_region(landmarks_px, (photo.shape[1], photo.shape[0]))
    target = masked_photo(photo, mask)
    render = render_rgb.astype(np.float64) / 255.0 if render_rgb.dtype == np.uint8 else render_rgb
    err = None
    if redetected_px is not None:
        err = float(np.linalg.norm(redetected_px[:, :2] - landmarks_px[:, :2], axis=1).mean() / interocular_px)
    return FrontQuality(psnr(render, target, region), ssim(render, target, region), err)


def turned_about_neck(rec, yaw_rad: float):
    """The avatar posed as in its photo and turned whole by ``yaw_rad`` about the photo camera's vertical
    through its neck joint (positive: the side on the image's right goes away from the camera, the sign
    :attr:`lam_core.photo.pose.Shoulders.yaw` measures): rendered with ``rec.camera``, a photo of the person
    with the torso turned by a known angle."""
    import torch

    from ..gaussians import PosedGaussians
    from ..rotations import matrix_to_quaternion, quaternion_multiply

    posed = rec.avatar.animate(rec.photo_params)
    rig = rec.avatar.rig
    with torch.no_grad():
        neck = rig.deform(rec.photo_params).joints[0, list(rig.joint_names).index("neck")].numpy()
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    turn_cam = np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])  # camera x -> (cos, 0, sin)
    w2c = rec.camera.world_to_camera[:3, :3]
    turn = w2c.T @ turn_cam @ w2c
    means = posed.means[0].numpy().astype(np.float64)
    turned = (means - neck) @ turn.T + neck
    q = quaternion_multiply(matrix_to_quaternion(torch.from_numpy(turn).float())[None], posed.quats[0])
    return PosedGaussians(torch.from_numpy(turned).float()[None], q[None], posed.scales, posed.colors,
                          posed.opacities)


def front_view(avatar, size: int = 512):
    """An avatar at rest and the square camera that frames it from the front: the view the novel-view protocol
    renders as the "photo" of a LAM avatar. Returns (posed Gaussians, camera)."""
    from ..camera import avatar_camera
    from ..render.frames import rest_params

    posed = avatar.animate(rest_params(avatar))
    return posed, avatar_camera(posed.means[0], 0.0, 0.0, size)
