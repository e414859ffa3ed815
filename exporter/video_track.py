"""Driving an avatar from a video file: decode, track the face, solve, as a motion (``lam-track``).

1. Decoding: the installed imageio-ffmpeg; frames larger than :data:`MAX_TRACK_SIDE` on their long side are
   downscaled by ffmpeg before tracking (MediaPipe crops the face to 192x192 anyway). The motion's frame rate
   is the video's.
2. Landmarks: MediaPipe face mesh (the mediapipe wheel, refined: 478 landmarks) in video mode: it tracks the
   face from frame to frame and looks for it again after it left the frame.
3. Calibration: a neutral-face window of :data:`NEUTRAL_SECONDS`, chosen automatically (:func:`neutral_window`:
   the steadiest, most frontal, closed-mouth, open-eyed second) or given in seconds.
4. Solving: the page's webcam solver (``viewer_web/src/webcam/solver.js``) itself, run by Node over the whole
   video in one process (``viewer_web/node/solve_video.mjs``): the same landmarks give the same parameters
   as in the page. Frames without a face hold the last parameters and are counted.

Without an avatar the solve targets the open head (:func:`default_solver_avatar`): landmark channels and
ARKit-named channels, which open-head and ARKit avatars play by name (every avatar plays the joints).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from lam_core.errors import LamError
from lam_core.head_model import JOINT_NAMES
from lam_core.motion import Motion
from lam_core.params import map_joints

ROOT = Path(__file__).resolve().parents[1]
SOLVER_SCRIPT = ROOT / "viewer_web" / "node" / "solve_video.mjs"
N_LANDMARKS = 478
MAX_TRACK_SIDE = 1280          # pixels: longer frames are downscaled before tracking
MAX_SOURCE_PIXELS = 1 << 26    # 67 Mpx: larger frames are refused before decoding
MAX_FRAMES = 200_000           # ~1.9 hours at 30 fps (landmarks: 5.7 kB per frame in memory)
NEUTRAL_SECONDS = 1.0
# MediaPipe landmark pairs (lam_core/open_head/landmarks.py): lid pairs across each eye, inner-lip pairs
_LIDS = ((160, 144), (159, 145), (158, 153), (387, 373), (386, 374), (385, 380))
_LIPS = ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402))
_EYE_R, _EYE_L = (33, 133), (263, 362)


class VideoError(LamError):
    """A video cannot be read, or holds no face to track."""


# ------------------------------------------------------------------------------------------------ decoding

@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int          # source frame size
    height: int
    fps: float
    frames: int         # expected frames (from the container's duration; the decoder has the last word)
    track_width: int    # the size frames are tracked at (downscaled when large)
    track_height: int


def _track_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    s = min(1.0, max_side / max(w, h))
    if s >= 1.0:
        return w, h
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


def probe_video(path: str | os.PathLike, max_side: int = MAX_TRACK_SIDE) -> VideoInfo:
    """Open ``path`` with ffmpeg and read its size and rate; VideoError when it is not a readable video."""
    import imageio_ffmpeg

    p = Path(path).expanduser()
    if not p.is_file():
        raise VideoError(f"video file not found: {p}")
    gen = imageio_ffmpeg.read_frames(str(p))
    try:
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration, ValueError) as exc:
        raise VideoError(f"{p}: not a video ffmpeg can read ({_first_line(exc)})") from None
    finally:
        gen.close()
    size, fps = meta.get("size") or (0, 0), float(meta.get("fps") or 0.0)
    w, h = int(size[0]), int(size[1])
    if w < 16 or h < 16:
        raise VideoError(f"{p}: no video stream (frame size {w}x{h})")
    if w * h > MAX_SOURCE_PIXELS:
        raise VideoError(f"{p}: frames of {w}x{h} are too large (at most {MAX_SOURCE_PIXELS // 1_000_000} Mpx)")
    if not (math.isfinite(fps) and 1.0 <= fps <= 240.0):
        raise VideoError(f"{p}: frame rate {fps:g} is not in 1..240 frames/s")
    duration = float(meta.get("duration") or 0.0)
    frames = int(round(duration * fps)) if math.isfinite(duration) and duration > 0 else 0
    tw, th = _track_size(w, h, max_side)
    return VideoInfo(p, w, h, fps, frames, tw, th)


def _first_line(exc: BaseException) -> str:
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    # ffmpeg's own complaint is the most telling line of imageio-ffmpeg's message
    for s in lines:
        if any(k in s for k in ("Invalid data", "moov atom", "No such file", "invalid", "Error")):
            return s[:160]
    return (lines[0] if lines else type(exc).__name__)[:160]


def read_frames(info: VideoInfo) -> Iterator[np.ndarray]:
    """The frames of a probed video as (track_height, track_width, 3) uint8 RGB, downscaled by ffmpeg.
    VideoError when the stream breaks off (a truncated or corrupt file)."""
    import imageio_ffmpeg

    out = None
    if (info.track_width, info.track_height) != (info.width, info.height):
        out = ["-vf", f"scale={info.track_width}:{info.track_height}:flags=area"]
    gen = imageio_ffmpeg.read_frames(str(info.path), output_params=out)
    n = info.track_width * info.track_height * 3
    count = 0
    try:
        next(gen)
        while True:
            try:
                raw = next(gen)
            except StopIteration:
                break
            if len(raw) != n:
                raise VideoError(f"{info.path}: frame {count} is cut short (truncated or corrupt video)")
            count += 1
            if count > MAX_FRAMES:
                raise VideoError(f"{info.path}: more than {MAX_FRAMES} frames (cut the video first)")
            yield np.frombuffer(raw, np.uint8).reshape(info.track_height, info.track_width, 3)
    except (OSError, RuntimeError) as exc:
        raise VideoError(f"{info.path}: decoding failed after {count} frames ({_first_line(exc)})") from None
    finally:
        gen.close()
    if count == 0:
        raise VideoError(f"{info.path}: no frames could be decoded (truncated or corrupt video)")


# ------------------------------------------------------------------------------------------------ tracking

@dataclass
class Landmarks:
    """MediaPipe's landmarks of every frame: ``points`` (T, 478, 3) float32 normalised as MediaPipe reports
    them (x, y relative to the image, z relative to its width), ``face`` (T,) where a face was found."""

    points: np.ndarray
    face: np.ndarray
    width: int
    height: int
    fps: float
    seconds: float = 0.0   # time spent tracking

    @property
    def n_frames(self) -> int:
        return len(self.face)


def face_mesh_video():
    """A MediaPipe face mesh in video mode (tracks between frames; one face, refined eyes and lips)."""
    from lam_core.photo._mediapipe import quiet_stderr, solutions

    with quiet_stderr():
        return solutions().face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True, max_num_faces=1,
                                              min_detection_confidence=0.5, min_tracking_confidence=0.5)


def track_frames(frames: Iterator[np.ndarray], width: int, height: int, fps: float, total: int | None = None,
                 progress: bool = True) -> Landmarks:
    """Run the face mesh over ``frames`` in order (a progress bar on stderr)."""
    from tqdm import tqdm

    from lam_core.photo._mediapipe import quiet_stderr

    pts: list[np.ndarray] = []
    face: list[bool] = []
    empty = np.zeros((N_LANDMARKS, 3), np.float32)
    t0 = time.perf_counter()
    mesh = face_mesh_video()
    # MediaPipe's threads log to fd 2 whenever they like (TFLite, feedback tensors): the whole loop runs with
    # fd 2 silenced and the progress bar writes to a copy of the real stderr
    sys.stderr.flush()
    err = os.fdopen(os.dup(2), "w", buffering=1)
    with err, quiet_stderr(), mesh, tqdm(total=total or None, desc="tracking", unit="frame", file=err,
                                         disable=not progress, dynamic_ncols=True) as bar:
        for rgb in frames:
            res = mesh.process(np.ascontiguousarray(rgb))
            found = res.multi_face_landmarks
            if found and len(found[0].landmark) == N_LANDMARKS:
                lm = found[0].landmark
                pts.append(np.array([(p.x, p.y, p.z) for p in lm], np.float32))
                face.append(True)
            else:
                pts.append(empty)
                face.append(False)
            bar.update(1)
    return Landmarks(np.stack(pts) if pts else np.zeros((0, N_LANDMARKS, 3), np.float32), np.array(face, bool),
                     width, height, fps, time.perf_counter() - t0)


def track_video(info: VideoInfo, progress: bool = True) -> Landmarks:
    return track_frames(read_frames(info), info.track_width, info.track_height, info.fps, info.frames, progress)


# ------------------------------------------------------------------------------------------ neutral window

def neutrality(lm: Landmarks) -> np.ndarray:
    """Per frame, how far from a neutral, frontal, still face it is (lower is more neutral; inf: no face).
    In units of the interocular distance: the mouth's opening (inner lips), the head's yaw (depth difference
    of the outer eye corners) and roll (slope of the eye line), the motion since the previous frame (x10)
    and how much the eyes are closed compared with the video's median (x0.3, so blinks are avoided)."""
    p = lm.points.astype(np.float64) * np.array([lm.width, lm.height, lm.width])
    eye_r, eye_l = p[:, list(_EYE_R)].mean(1), p[:, list(_EYE_L)].mean(1)
    iod = np.maximum(np.linalg.norm((eye_l - eye_r)[:, :2], axis=1), 1e-6)
    mouth = np.mean([np.linalg.norm(p[:, a] - p[:, b], axis=1) for a, b in _LIPS], 0) / iod
    lids = np.mean([np.linalg.norm(p[:, a] - p[:, b], axis=1) for a, b in _LIDS], 0) / iod
    yaw = np.abs(p[:, _EYE_L[0], 2] - p[:, _EYE_R[0], 2]) / iod
    roll = np.abs(np.arctan2((eye_l - eye_r)[:, 1], (eye_l - eye_r)[:, 0]))
    centred = (p[:, :468, :2] - 0.5 * (eye_l + eye_r)[:, None, :2]) / iod[:, None, None]
    motion = np.zeros(len(p))
    motion[1:] = np.linalg.norm(centred[1:] - centred[:-1], axis=2).mean(1)
    motion[1:][~lm.face[:-1]] = 1.0
    median_lids = np.median(lids[lm.face]) if lm.face.any() else 0.0
    closed = np.maximum(0.0, median_lids - lids) / max(median_lids, 1e-6)
    score = mouth + yaw + roll + 10.0 * motion + 0.3 * closed
    score[~lm.face] = np.inf
    return score


def neutral_window(lm: Landmarks, seconds: float = NEUTRAL_SECONDS) -> tuple[int, int]:
    """The first and last frame (inclusive) of the most neutral ``seconds`` of the video (see
    :func:`neutrality`): every frame of the window has a face; the lowest mean score wins, the earliest on
    a tie. VideoError when no face is found at all."""
    if not lm.face.any():
        raise VideoError(f"no face found in any of the {lm.n_frames} frames")
    n = lm.n_frames
    w = max(1, min(n, int(round(seconds * lm.fps))))
    score = neutrality(lm)
    while w >= 1:
        finite = np.isfinite(score)
        ok = np.convolve(finite.astype(float), np.ones(w), "valid") >= w - 0.5
        if ok.any():
            sums = np.convolve(np.where(finite, score, 0.0), np.ones(w), "valid")
            sums[~ok] = np.inf
            first = int(np.argmin(sums))
            return first, first + w - 1
        w //= 2   # no whole window with a face: a shorter one
    raise VideoError("no face found")  # unreachable: a single face frame is a window


def parse_window(text: str) -> tuple[float, float]:
    """``START-END`` in seconds (``1.5-2.5``)."""
    try:
        a, b = (float(x) for x in text.split("-", 1))
    except ValueError:
        raise VideoError(f"--neutral {text!r}: expected START-END in seconds, e.g. 0.5-1.5") from None
    if not (math.isfinite(a) and math.isfinite(b) and 0 <= a < b):
        raise VideoError(f"--neutral {text!r}: expected 0 <= START < END")
    return a, b


def window_frames(lm: Landmarks, start: float, end: float) -> tuple[int, int]:
    """A window given in seconds as frame indices; VideoError when it holds no face or lies past the end."""
    n = lm.n_frames
    first, last = int(math.ceil(start * lm.fps - 1e-9)), min(n - 1, int(math.ceil(end * lm.fps - 1e-9)) - 1)
    if first >= n or last < first:
        raise VideoError(f"the neutral window {start:g}-{end:g} s lies outside the video ({n / lm.fps:.2f} s)")
    if not lm.face[first:last + 1].any():
        raise VideoError(f"no face in the neutral window {start:g}-{end:g} s")
    return first, last


# ------------------------------------------------------------------------------------------------- solving

@dataclass
class Solved:
    kind: str                      # the avatar's kind for the solver ('landmark channels', 'ARKit', 'FLAME', ...)
    channel_names: tuple[str, ...]
    joint_names: tuple[str, ...]
    expr: np.ndarray               # (T, K)
    pose: np.ndarray               # (T, J, 3)
    solved: int                    # frames with a face, solved
    held: int                      # frames without one (the last parameters held)
    solve_ms: dict = field(default_factory=dict)   # {total, median, max} of the JS solve per frame
    seconds: float = 0.0           # the Node process, start to end


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise VideoError("Node.js (node) is not installed: lam-track runs the viewer's solver with it")
    return node


def solve_landmarks(lam: str | os.PathLike, lm: Landmarks, neutral: tuple[int, int]) -> Solved:
    """Solve every frame with the page's solver (one Node process), calibrated on frames ``neutral``."""
    n = lm.n_frames
    header = {"lam": str(Path(lam).resolve()), "width": lm.width, "height": lm.height, "fps": lm.fps,
              "frames": n, "neutral": [int(neutral[0]), int(neutral[1])]}
    rec = np.empty((n, 1 + N_LANDMARKS * 3), "<f4")
    rec[:, 0] = lm.face
    rec[:, 1:] = lm.points.reshape(n, -1)
    payload = json.dumps(header).encode() + b"\n" + rec.tobytes()
    t0 = time.perf_counter()
    proc = subprocess.run([node_executable(), str(SOLVER_SCRIPT)], input=payload, capture_output=True,
                          cwd=ROOT, timeout=3600)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VideoError(f"the solver failed: {msg[-1] if msg else f'exit {proc.returncode}'}")
    out = proc.stdout
    nl = out.index(b"\n")
    meta = json.loads(out[:nl])
    k, j = len(meta["exprNames"]), len(meta["jointNames"])
    values = np.frombuffer(out[nl + 1:], "<f4")
    if values.size != n * (k + j * 3):
        raise VideoError(f"the solver returned {values.size} values, expected {n * (k + j * 3)}")
    values = values.reshape(n, k + j * 3)
    return Solved(meta["kind"], tuple(meta["exprNames"]), tuple(meta["jointNames"]), values[:, :k].copy(),
                  values[:, k:].reshape(n, j, 3).copy(), meta["solved"], meta["held"], meta["solveMs"], seconds)


def to_motion(s: Solved, fps: float, source: str) -> Motion:
    """The solved parameters as a Motion (joints by name onto [global, neck, jaw, eye_l, eye_r])."""
    n = s.expr.shape[0]
    pose, _ = map_joints(s.pose, s.joint_names, JOINT_NAMES)
    return Motion(s.channel_names, s.expr.astype(np.float32), pose, np.zeros((n, 3), np.float32), fps=fps,
                  source=source)


def default_solver_avatar(log: Callable[[str], None] | None = None) -> Path:
    """A .lam of the open head at rest (grey discs: only its rig and landmarks matter to the solver), built
    once into the open head's cache folder."""
    from lam_core.open_head import load_open_head
    from lam_core.open_head.cache import builder_digest, cache_dir

    path = cache_dir() / f"track-open-head-{builder_digest()[:16]}.lam"
    if path.is_file():
        return path
    if log:
        log("building the open head's solver avatar (once)")
    from lam_core.gaussians import GaussianAvatar, Gaussians
    from lam_core.reconstruct.surface import surface_discs
    from lam_core.rig import Rig

    from .lamfile import write_lam

    points = Rig.from_head_model(load_open_head(), None).subdivide(1)
    v = points.vertices.astype(np.float64)
    scales, rotations, _ = surface_discs(v, points.faces)
    g = Gaussians(offsets=np.zeros_like(v, np.float32), colors=np.full(v.shape, 0.7, np.float32),
                  opacities=np.full(len(v), 0.95, np.float32), scales=scales.astype(np.float32),
                  rotations=rotations.astype(np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_lam(path, GaussianAvatar(points, g))
    return path


# ---------------------------------------------------------------------------------------------- the whole

@dataclass
class TrackReport:
    motion: Motion
    info: VideoInfo
    neutral: tuple[int, int]      # frames
    solved: Solved
    track_seconds: float

    def lines(self) -> list[str]:
        i, s, n = self.info, self.solved, self.motion.n_frames
        size = f"{i.width}x{i.height}" + (f" (tracked at {i.track_width}x{i.track_height})"
                                          if (i.track_width, i.track_height) != (i.width, i.height) else "")
        return [
            f"video: {n} frames, {size}, {i.fps:g} fps",
            f"face found in {s.solved} frames; {s.held} without a face hold the last parameters",
            f"neutral window: {self.neutral[0] / i.fps:.2f}-{(self.neutral[1] + 1) / i.fps:.2f} s",
            f"solved for {s.kind} ({len(s.channel_names)} channels)",
            f"tracking {n / max(self.track_seconds, 1e-9):.1f} frames/s, solving "
            f"{n / max(s.solve_ms.get('total', 0) / 1000, 1e-9):.0f} frames/s "
            f"(median {s.solve_ms.get('median', 0):.3f} ms per frame)",
        ]


def track(video: str | os.PathLike, avatar: str | os.PathLike | None = None, neutral: tuple[float, float] | None = None,
          max_side: int = MAX_TRACK_SIDE, progress: bool = True, log: Callable[[str], None] | None = None) -> TrackReport:
    """Video -> Motion: decode, track, choose the neutral window (or take ``neutral`` seconds), solve."""
    info = probe_video(video, max_side)
    node_executable()
    lam = Path(avatar) if avatar is not None else default_solver_avatar(log)
    if not lam.is_file():
        raise VideoError(f"avatar file not found: {lam}")
    if lam.suffix.lower() != ".lam":
        raise VideoError(f"{lam}: lam-track solves for a .lam avatar (one with a face-landmark embedding)")
    lm = track_video(info, progress)
    if not lm.face.any():
        raise VideoError(f"{info.path}: no face found in any of its {lm.n_frames} frames")
    window = window_frames(lm, *neutral) if neutral else neutral_window(lm)
    solved = solve_landmarks(lam, lm, window)
    motion = to_motion(solved, info.fps, f"lam-track {info.path.name}")
    return TrackReport(motion, info, window, solved, lm.seconds)
