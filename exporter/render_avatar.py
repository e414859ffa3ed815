"""Stills and videos of an avatar: what ``lam-render`` does, as a Python API that also takes in-memory avatars.

* :func:`render_still`: one PNG (rest pose, or one frame of a motion) from a yaw/pitch around the head.
* :func:`render_video`: an MP4: a motion played from a fixed camera, a turntable (the camera sweeps ``orbit``
  degrees of yaw over the frames), or both at once. A video without a motion is a turntable (360 degrees).

The camera is :func:`lam_core.camera.avatar_camera` framed on the head (over several frames of the motion, so a
moving head stays in view) and keeps its distance while it orbits. Motions map onto the rig by channel name
(:meth:`lam_core.motion.Motion.params_for`); the joints always apply.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from lam_core.camera import DEFAULT_FOV_DEG, Camera, avatar_camera
from lam_core.errors import LamError
from lam_core.gaussians import GaussianAvatar, PosedGaussians
from lam_core.motion import Motion
from lam_core.params import FrameParams
from lam_core.render import render_frames
from lam_core.render.frames import framing_points

from .lamfile.photo_record import PhotoRecord
from .media import write_mp4, write_png

DEFAULT_TURNTABLE_FRAMES = 120
DEFAULT_FPS = 30.0


class RenderRequestError(LamError):
    """A render request that does not make sense (a motion for a static avatar, too many frames, ...)."""


@dataclass
class RenderReport:
    path: str
    frames: int
    fps: float | None
    unmapped: list[str] = field(default_factory=list)  # motion channels and joints the avatar's rig lacks


def motion_params(avatar, motion: Motion) -> tuple[FrameParams, list[str]]:
    """The motion's frames as the avatar's rig parameters, and the motion channels and joints the rig lacks."""
    if not isinstance(avatar, GaussianAvatar):
        raise RenderRequestError("this avatar is a static set of Gaussians (e.g. a .ply) with no rig: "
                                 "it cannot play a motion")
    return motion.params_for(avatar.rig.expr_names, avatar.rig.joint_names)


def _check_view(size: int, yaw: float, pitch: float) -> None:
    if not 16 <= size <= 4096:
        raise RenderRequestError(f"image size {size} is not in [16, 4096]")
    if not math.isfinite(yaw):
        raise RenderRequestError(f"yaw {yaw} is not a finite number of degrees")
    if not (math.isfinite(pitch) and -89.0 <= pitch <= 89.0):
        raise RenderRequestError(f"pitch {pitch} is not in [-89, 89] degrees")


def render_still(avatar: GaussianAvatar | PosedGaussians, out: str | os.PathLike, *, motion: Motion | None = None,
                 frame: int = 0, size: int = 512, yaw: float = 0.0, pitch: float = 0.0,
                 fov_deg: float = DEFAULT_FOV_DEG, background=(1.0, 1.0, 1.0), backend: str = "auto",
                 log: Callable[[str], None] | None = None, photo: PhotoRecord | None = None) -> RenderReport:
    """Write one PNG: the rest pose, or frame ``frame`` of ``motion``. With ``photo`` (a .lam's photo record)
    the camera is the photo's, turned by ``yaw``/``pitch`` about the head, and without a motion the avatar
    takes the photo's pose and expression."""
    _check_view(size, yaw, pitch)
    params, unmapped = None, []
    if photo is not None and motion is None:
        params = photo.params
    if motion is not None:
        all_params, unmapped = motion_params(avatar, motion)
        if not 0 <= frame < all_params.batch:
            raise RenderRequestError(f"frame {frame} is not in the motion's 0..{all_params.batch - 1}")
        params = all_params[frame]
        _note_unmapped(unmapped, log)
    elif frame != 0:
        raise RenderRequestError("a frame number needs a motion")
    if photo is not None:
        camera = photo_view_camera(avatar, photo, yaw, pitch, size)
    else:
        camera = avatar_camera(framing_points(avatar, params), yaw, pitch, size, fov_deg)
    image = next(render_frames(avatar, camera, params, background, backend))
    write_png(out, image.rgb_uint8())
    return RenderReport(str(out), 1, None, unmapped)


def photo_view_camera(avatar: GaussianAvatar, photo: PhotoRecord, yaw: float = 0.0, pitch: float = 0.0,
                      size: int | None = None) -> Camera:
    """The photo's camera (its longer side scaled to ``size`` pixels), turned about the head."""
    from lam_core.reconstruct.quality import head_centre, orbit_about_head

    cam = photo.camera
    if size is not None and size != max(cam.width, cam.height):
        k = size / max(cam.width, cam.height)
        cam = Camera(max(round(cam.width * k), 1), max(round(cam.height * k), 1), cam.fx * k, cam.fy * k,
                     cam.cx * k, cam.cy * k, world_to_camera=cam.world_to_camera)
    return orbit_about_head(cam, head_centre(avatar), yaw, pitch)


def render_video(avatar: GaussianAvatar | PosedGaussians, out: str | os.PathLike, *, motion: Motion | None = None,
                 orbit: float | None = None, frames: int | None = None, fps: float | None = None, size: int = 512,
                 yaw: float = 0.0, pitch: float = 0.0, fov_deg: float = DEFAULT_FOV_DEG,
                 background=(1.0, 1.0, 1.0), backend: str = "auto", progress: bool = True,
                 log: Callable[[str], None] | None = None, beside: str | os.PathLike | None = None) -> RenderReport:
    """Write an MP4 of ``motion`` (its first ``frames`` frames, at its own rate unless ``fps``), optionally
    orbiting; without a motion, a turntable of ``frames`` (default 120) frames sweeping ``orbit`` (default 360)
    degrees. ``beside``: a video (e.g. the one lam-track tracked) shown to the left of the avatar, scaled to
    the same height, frame for frame by time."""
    _check_view(size, yaw, pitch)
    if size % 2:
        raise RenderRequestError(f"a video needs an even image size (yuv420p), got {size}")
    if orbit is not None and not math.isfinite(orbit):
        raise RenderRequestError(f"orbit {orbit} is not a finite number of degrees")
    if frames is not None and not 1 <= frames <= 1_000_000:
        raise RenderRequestError(f"frame count {frames} is not in [1, 1000000]")
    if fps is not None and not (math.isfinite(fps) and 0 < fps <= 240):
        raise RenderRequestError(f"frame rate {fps} is not in (0, 240]")
    params, unmapped = None, []
    if motion is not None:
        params, unmapped = motion_params(avatar, motion)
        if frames is not None:
            if frames > params.batch:
                raise RenderRequestError(f"{frames} frames asked for, the motion has {params.batch}")
            params = params[:frames]
        n = params.batch
        fps = fps or motion.fps
        _note_unmapped(unmapped, log)
    else:
        n = frames or DEFAULT_TURNTABLE_FRAMES
        fps = fps or DEFAULT_FPS
        orbit = 360.0 if orbit is None else orbit
    sweep = orbit or 0.0
    points = framing_points(avatar, params)
    cameras = [avatar_camera(points, yaw + sweep * i / n, pitch, size, fov_deg) for i in range(n)]
    images = (r.rgb_uint8() for r in render_frames(avatar, cameras, params, background, backend))
    if beside is not None:
        from .video_track import probe_video

        video = _video_frames(probe_video(beside), n, fps, size)
        images = (np.concatenate([v, a], 1) for v, a in zip(video, images))
    written = write_mp4(out, images, fps, total=n, progress=progress)
    return RenderReport(str(out), written, fps, unmapped)


def _video_frames(info, n: int, fps: float, height: int) -> Iterator[np.ndarray]:
    """``n`` frames of a probed video (:class:`~exporter.video_track.VideoInfo`) sampled at ``fps`` (by time;
    its last frame held past its end), scaled to ``height`` rows and an even width."""
    from dataclasses import replace

    from .video_track import read_frames

    width = max(2, int(round(info.width * height / info.height / 2)) * 2)
    frames = read_frames(replace(info, track_width=width, track_height=height))
    try:
        current, index = next(frames), 0
        for i in range(n):
            want = int(math.floor(i * info.fps / fps + 1e-6))
            while index < want:
                nxt = next(frames, None)
                if nxt is None:
                    break
                current, index = nxt, index + 1
            yield current
    finally:
        frames.close()


def _note_unmapped(unmapped: list[str], log: Callable[[str], None] | None) -> None:
    if unmapped and log is not None:
        shown = ", ".join(unmapped[:12]) + (f" (+{len(unmapped) - 12} more)" if len(unmapped) > 12 else "")
        log(f"note: {len(unmapped)} motion channel(s) or joint(s) are not in the avatar's rig and are ignored: {shown}")
