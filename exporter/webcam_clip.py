"""A known performance of an avatar as a camera would film it: the test clip for webcam driving.

The avatar plays :func:`truth_motion` (a neutral second for calibration, the jaw opening and closing twice, the
head turning 20 degrees to each side, two blinks, neutral again), rendered by the reference renderer
(:mod:`lam_core.render`) from the front on a grey background, and written as a YUV4MPEG2 (y4m) video, which
Chromium plays as a fake camera (``--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
--use-file-for-fake-video-capture=clip.y4m``; it loops the file at the rate in its header).

Each frame carries its index in a strip of 12 cells at its bottom-left corner (viewer_web/src/webcam/
frame_tag.js reads it): cell c covers x in [16c, 16c + 16), y in [H - 8, H); cell 0 white, cells 1..10 the
index's bits (least significant first, white = 1), cell 11 black. So the page can say which frame of the clip
the tracker saw, whatever the camera's timing.

The same clip as an ``.mp4`` (H.264) or ``.webm`` (VP8, which every Chromium plays) is the test video of
``lam-track`` and of the page's Use video (exporter/video_check.py).

    python -m exporter.webcam_clip avatar.lam -o clip.y4m|clip.mp4|clip.webm [--width 320 --height 240 --fps 24]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from lam_core.atomic import atomic_path
from lam_core.camera import Camera
from lam_core.errors import LamError
from lam_core.head_model import JOINT_NAMES
from lam_core.motion import Motion
from lam_core.params import FrameParams

TAG_CELLS, TAG_CELL_W, TAG_CELL_H, TAG_BITS = 12, 16, 8, 10
BACKGROUND = (0.5, 0.5, 0.5)
JAW_PEAK = 0.3                 # radians
YAW_PEAK = math.radians(20.0)
BLINK_CLOSE = 0.3              # seconds: the lid's travel, closing then opening (0.15 s each way)
BLINK_HOLD = 0.1               # seconds fully closed between them (a real blink's closed phase; a tracker
                               # running at 5 frames/s still sees each blink closed)
BLINK_HALF = BLINK_HOLD / 2 + BLINK_CLOSE / 2   # from a blink's centre to its end

# the performance, in seconds: (start, end) of each part
SEGMENTS = {"neutral": (0.0, 1.5), "jaw": (1.5, 2.9), "yaw": (2.9, 4.4), "blinks": (4.4, 5.4), "rest": (5.4, 5.8)}
BLINK_TIMES = (4.65, 5.15)
DURATION = 5.8


class ClipError(LamError):
    """The clip cannot be made (bad size or rate, an avatar without a face)."""


def blink_curve(dt: np.ndarray) -> np.ndarray:
    """How closed the eyes are at ``dt`` seconds from a blink's centre: 1 for BLINK_HOLD, a cos^2 ramp of
    BLINK_CLOSE / 2 each side, 0 beyond BLINK_HALF."""
    d = np.clip((np.abs(dt) - BLINK_HOLD / 2) / (BLINK_CLOSE / 2), 0.0, 1.0)
    return np.cos(np.pi / 2 * d) ** 2


def blink_within(closed: float) -> float:
    """Seconds from a blink's centre within which the eyes are at least ``closed`` (0..1] closed."""
    return BLINK_HOLD / 2 + BLINK_CLOSE / 2 * math.acos(2 * closed - 1) / math.pi


def truth_motion(fps: float = 24.0) -> Motion:
    """The known performance (see the module doc) as a Motion: global yaw, jaw, eyeBlinkLeft/Right."""
    n = int(round(DURATION * fps))
    t = np.arange(n) / fps
    pose = np.zeros((n, len(JOINT_NAMES), 3), np.float32)
    jaw, head = JOINT_NAMES.index("jaw"), JOINT_NAMES.index("global")
    j0, j1 = SEGMENTS["jaw"]
    inside = (t >= j0) & (t < j1)
    pose[inside, jaw, 0] = JAW_PEAK * np.sin(2 * np.pi * (t[inside] - j0) / (j1 - j0)) ** 2   # two open-close cycles
    y0, y1 = SEGMENTS["yaw"]
    inside = (t >= y0) & (t < y1)
    pose[inside, head, 1] = YAW_PEAK * np.sin(2 * np.pi * (t[inside] - y0) / (y1 - y0))
    blink = np.zeros(n)
    for c in BLINK_TIMES:
        blink = np.maximum(blink, blink_curve(t - c))
    channels = np.stack([blink, blink], 1).astype(np.float32)
    return Motion(("eyeBlinkLeft", "eyeBlinkRight"), channels, pose, np.zeros((n, 3), np.float32), fps=fps,
                  source="webcam test performance")


def face_points(avatar) -> np.ndarray:
    """The avatar's embedded face landmarks (468 or fewer, rest pose), metres."""
    rig = avatar.rig if hasattr(avatar, "rig") else avatar
    lm = getattr(rig, "landmarks", None)
    if lm is None:
        raise ClipError("the avatar has no face-landmark embedding (a webcam test needs a face)")
    pts = lm.points(np.asarray(rig.vertices, np.float64), rig.faces)
    return pts[np.asarray(lm.ids) < 468]


def clip_camera(avatar, width: int = 320, height: int = 240, face_fraction: float = 0.55,
                fov_deg: float = 25.0) -> Camera:
    """A frontal camera on the face: the face's landmarks span ``face_fraction`` of the image height."""
    if not (16 <= width <= 4096 and 16 <= height <= 4096) or width % 2 or height % 2:
        raise ClipError(f"clip size {width}x{height}: expected even sizes in 16..4096")
    pts = face_points(avatar)
    centre = 0.5 * (pts.min(0) + pts.max(0))
    extent = float(np.ptp(pts[:, 1]))
    f = 0.5 * height / math.tan(math.radians(fov_deg) / 2)
    distance = f * extent / (face_fraction * height)
    return Camera.look_at(centre + np.array([0.0, 0.0, distance]), centre, fov_deg=fov_deg,
                          width=width, height=height)


def tag_frame(rgb: np.ndarray, index: int) -> np.ndarray:
    """Write frame ``index``'s tag (see the module doc) into an (H, W, 3) uint8 image, in place."""
    if not 0 <= index < (1 << TAG_BITS):
        raise ClipError(f"frame index {index} does not fit in {TAG_BITS} bits")
    h = rgb.shape[0]
    cells = [1] + [(index >> b) & 1 for b in range(TAG_BITS)] + [0]
    for c, bit in enumerate(cells):
        rgb[h - TAG_CELL_H:h, c * TAG_CELL_W:(c + 1) * TAG_CELL_W] = 255 if bit else 0
    return rgb


def rgb_to_i420(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB -> planar Y, U, V (4:2:0, full-range BT.601 as JPEG/y4m 'C420jpeg' use)."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape
    sub = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean((1, 3))  # noqa: E731
    planes = [y, sub(u), sub(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path: str | os.PathLike, frames: Iterable[np.ndarray], width: int, height: int, fps: float) -> int:
    """Write RGB frames (H, W, 3) uint8 as a y4m video (atomically); returns the number of frames."""
    num, den = (int(round(fps)), 1) if abs(fps - round(fps)) < 1e-9 else (int(round(fps * 1000)), 1000)
    count = 0
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(f"YUV4MPEG2 W{width} H{height} F{num}:{den} Ip A1:1 C420jpeg\n".encode("ascii"))
            for rgb in frames:
                if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
                    raise ClipError(f"frame {count}: expected ({height}, {width}, 3) uint8, got {rgb.shape} {rgb.dtype}")
                f.write(b"FRAME\n")
                f.write(rgb_to_i420(rgb))
                count += 1
    return count


def write_webm(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write RGB frames as a VP8 WebM (atomically; near-lossless, so the frame tags survive)."""
    import imageio.v2 as imageio

    count = 0
    with atomic_path(path) as tmp:
        writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libvpx", pixelformat="yuv420p",
                                    macro_block_size=1, ffmpeg_log_level="error",
                                    output_params=["-crf", "4", "-b:v", "8M", "-auto-alt-ref", "0"])
        try:
            for rgb in frames:
                writer.append_data(rgb)
                count += 1
        finally:
            writer.close()
    return count


def write_clip(path: str | os.PathLike, frames: Sequence[np.ndarray], width: int, height: int, fps: float) -> int:
    """Write frames as y4m, mp4 (H.264, yuv420p) or webm (VP8) by the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".y4m":
        return write_y4m(path, frames, width, height, fps)
    if suffix == ".mp4":
        from .media import write_mp4

        return write_mp4(path, frames, fps, progress=False)
    if suffix == ".webm":
        return write_webm(path, frames, fps)
    raise ClipError(f"{path}: a clip is .y4m, .mp4 or .webm")


def render_clip(avatar, motion: Motion, camera: Camera, background: Sequence[float] = BACKGROUND,
                tags: bool = True) -> Iterator[np.ndarray]:
    """The avatar performing ``motion`` through ``camera`` (reference renderer), tagged frames."""
    from lam_core.render import render_frames

    params, _ = motion.params_for(avatar.rig.expr_names, avatar.rig.joint_names)
    for i, out in enumerate(render_frames(avatar, camera, params, background=background)):
        rgb = out.rgb_uint8()
        yield tag_frame(rgb, i % (1 << TAG_BITS)) if tags else rgb


@dataclass(frozen=True)
class Clip:
    path: Path
    motion: Motion
    camera: Camera
    frames: int
    joint_names: tuple[str, ...] = JOINT_NAMES  # the avatar's joints: the page logs its pose in their order


def make_clip(avatar, out: str | os.PathLike, width: int = 320, height: int = 240, fps: float = 24.0,
              also: Sequence[str | os.PathLike] = ()) -> Clip:
    """Render the test performance of ``avatar`` (a GaussianAvatar or a .lam path) to the video ``out``
    (.y4m, .mp4 or .webm; ``also``: more files of the same frames, e.g. the clip in another format)."""
    if not (1 <= fps <= 60):
        raise ClipError(f"frame rate {fps} is not in 1..60")
    if isinstance(avatar, (str, os.PathLike)):
        from .avatar_io import load_avatar

        avatar = load_avatar(avatar)
    motion = truth_motion(fps)
    camera = clip_camera(avatar, width, height)
    with torch.no_grad():
        frames = list(render_clip(avatar, motion, camera))
    n = 0
    for path in (out, *also):
        n = write_clip(path, frames, width, height, fps)
    return Clip(Path(out), motion, camera, n, avatar.rig.joint_names)


def blank_clip(out: str | os.PathLike, width: int = 320, height: int = 240, fps: float = 24.0,
               frames: int = 24) -> Path:
    """A clip with no face in it (a grey wall with a few shapes), for the 'no face in view' test."""
    yy, xx = np.mgrid[0:height, 0:width]

    def frame(i: int) -> np.ndarray:
        img = np.full((height, width, 3), 128, np.uint8)
        img[(xx - (60 + i) % width) ** 2 + (yy - 80) ** 2 < 30 ** 2] = (200, 60, 60)
        img[(yy > 150) & (yy < 190) & (xx > 180) & (xx < 300)] = (40, 90, 170)
        return tag_frame(img, i)

    write_clip(out, [frame(i) for i in range(frames)], width, height, fps)
    return Path(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m exporter.webcam_clip",
                                description="Render an avatar's webcam test performance as a y4m fake-camera clip.")
    p.add_argument("avatar", help=".lam avatar with a face-landmark embedding")
    p.add_argument("-o", "--output", required=True, help="output .y4m, .mp4 or .webm")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--fps", type=float, default=24.0)
    from exporter.cli import add_version

    add_version(p)
    args = p.parse_args(argv)
    clip = make_clip(args.avatar, args.output, args.width, args.height, args.fps)
    print(f"wrote {clip.path}: {clip.frames} frames, {args.width}x{args.height} at {args.fps:g} fps")
    return 0


if __name__ == "__main__":
    from exporter.cli import entry_point

    entry_point(main)()
