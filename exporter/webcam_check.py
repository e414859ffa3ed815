"""The webcam pipeline end to end: a known performance (:mod:`exporter.webcam_clip`) played to the viewer page
as its camera (Chromium's fake capture device), tracked by MediaPipe in the page, solved in JS, and the solved
parameters compared with the truth.

Figures (:class:`WebcamFigures`): Pearson correlation of the solved jaw angle and head yaw with the truth over
every tracked frame after calibration, blinks detected (each truth blink the tracker saw closed shows the solved
eyeBlink above :data:`BLINK_THRESHOLD`; none away from the blinks), drift (the solved head rotation, jaw and blinks on the
neutral frames of the last pass of the clip), the JS solve time per frame, the tracking rate and MediaPipe's
time per frame.

    python -m exporter.webcam_check avatar.lam [--gl llvmpipe|swiftshader] [--tracker worker|main] [--seconds 16]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from lam_core.errors import LamError
from lam_core.head_model import JOINT_NAMES
from lam_core.motion import Motion
from lam_core.params import map_joints

from .webcam_clip import BLINK_HALF, BLINK_TIMES, DURATION, SEGMENTS, Clip, blink_within, make_clip

BLINK_THRESHOLD = 0.25
BLINK_SEEN = 0.8   # a blink counts as seen when a tracked frame caught it at least this closed
BLINK_LAG = 0.12   # seconds
FAKE_CAMERA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
LOG_NAMES = ["eyeBlinkLeft", "eyeBlinkRight"]
RAF_SAMPLER = """() => { const g = window.__rafGaps = []; let last = performance.now();
    const tick = (t) => { g.push(t - last); last = t; if (!window.__rafStop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick); }"""


class WebcamCheckError(LamError):
    """The check could not run (no face tracked, no calibration, the page failed)."""


@dataclass
class WebcamFigures:
    frames: int                      # tracked frames after calibration
    passes: float                    # how many times the clip went round while tracking
    jaw_correlation: float
    jaw_gain: float                  # least-squares slope solved / truth
    yaw_correlation: float
    yaw_gain: float                  # least-squares slope solved / truth
    blinks_expected: int
    blinks_detected: int
    blink_false_positives: int
    drift_yaw_deg: float             # mean |solved yaw| on the last pass's neutral frames
    drift_jaw: float                 # mean |solved jaw| (radians) there
    drift_blink: float               # mean solved blink there
    solve_ms_median: float
    solve_ms_max: float
    tracking_fps: float
    mediapipe_ms_median: float
    tracker_mode: str
    renderer: str = ""
    extra: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"tracked frames after calibration: {self.frames} ({self.passes:.1f} passes of the clip)",
            f"jaw correlation: {self.jaw_correlation:.3f} (gain {self.jaw_gain:.2f})",
            f"yaw correlation: {self.yaw_correlation:.3f} (gain {self.yaw_gain:.2f})",
            f"blinks detected: {self.blinks_detected} of {self.blinks_expected}, "
            f"false positives: {self.blink_false_positives}",
            f"drift on neutral frames: yaw {self.drift_yaw_deg:.2f} deg, jaw {self.drift_jaw:.4f} rad, "
            f"blink {self.drift_blink:.3f}",
            f"JS solve per frame: median {self.solve_ms_median:.3f} ms, max {self.solve_ms_max:.3f} ms",
            f"tracking rate: {self.tracking_fps:.1f} frames/s ({self.tracker_mode}); MediaPipe per frame: "
            f"median {self.mediapipe_ms_median:.0f} ms; GL: {self.renderer}",
        ]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def yaw_of(aa: np.ndarray) -> np.ndarray:
    """Yaw (rotation about y) of axis-angle rotations (N, 3): the angle of the rotated forward vector."""
    from lam_core.rotations import axis_angle_to_matrix
    import torch

    m = axis_angle_to_matrix(torch.as_tensor(aa, dtype=torch.float64)).numpy()
    fwd = m[:, :, 2]
    return np.arctan2(fwd[:, 0], fwd[:, 2])


def analyse(entries: list[dict], motion: Motion, tracking_seconds: float, tracker_mode: str = "",
            renderer: str = "", joint_names: Sequence[str] = JOINT_NAMES) -> WebcamFigures:
    """Figures from the page's per-frame log (``window.lamViewer.webcam.log.entries``; its pose in the order
    of the avatar's ``joint_names``)."""
    n = motion.n_frames
    fps = motion.fps
    rows = [e for e in entries if e.get("face") and e.get("calibrated") and e.get("tag") is not None and e["tag"] < n]
    if len(rows) < 10:
        raise WebcamCheckError(f"only {len(rows)} tracked frames after calibration (of {len(entries)} frames seen)")
    tags = np.array([e["tag"] for e in rows])
    times = np.array([e["t"] for e in rows]) / 1000.0
    pose = np.array([e["pose"] for e in rows], np.float64).reshape(len(rows), -1, 3)
    pose = map_joints(pose, joint_names, JOINT_NAMES)[0].astype(np.float64)   # FLAME's order, as the truth's
    blink = np.array([np.mean([v for v in e["expr"] if v is not None] or [0.0]) for e in rows])
    truth_pose = motion.pose[tags].astype(np.float64)
    truth_blink = motion.channels[tags, 0].astype(np.float64)
    jaw_j, head_j = JOINT_NAMES.index("jaw"), JOINT_NAMES.index("global")
    jaw, jaw_t = pose[:, jaw_j, 0], truth_pose[:, jaw_j, 0]
    yaw, yaw_t = yaw_of(pose[:, head_j]), yaw_of(truth_pose[:, head_j])
    gain = float(np.dot(yaw, yaw_t) / max(np.dot(yaw_t, yaw_t), 1e-12))
    jaw_gain = float(np.dot(jaw, jaw_t) / max(np.dot(jaw_t, jaw_t), 1e-12))
    # passes of the clip: the tag wraps around
    pass_id = np.concatenate([[0], np.cumsum(np.diff(tags) < -n // 2)])
    # blinks: each truth blink of each pass that the tracker saw closed (a tracked frame where the truth is over
    # BLINK_SEEN) must show the solved blink over the threshold within the blink (or one tracked frame after it:
    # the smoothing may lag that much)
    t_clip = tags / fps
    expected = detected = 0
    for p in range(int(pass_id.max()) + 1):
        sel = pass_id == p
        for c in BLINK_TIMES:
            seen = sel & (np.abs(t_clip - c) < blink_within(BLINK_SEEN))
            if not seen.any():
                continue
            expected += 1
            window = sel & (t_clip > c - BLINK_HALF) & (t_clip < c + BLINK_HALF + BLINK_LAG)
            detected += int(blink[window].max() > BLINK_THRESHOLD)
    far = np.all([np.abs(t_clip - c) > 2 * BLINK_HALF for c in BLINK_TIMES], axis=0)
    false_pos = int(np.sum(far & (blink > BLINK_THRESHOLD)))
    # drift: neutral frames (the calibration segment and the rest at the end) of the last pass
    neutral = ((t_clip >= SEGMENTS["neutral"][0]) & (t_clip < SEGMENTS["neutral"][1] - 0.1)) | (t_clip >= SEGMENTS["rest"][0] + 0.1)
    last = neutral & (pass_id == pass_id.max())
    if last.sum() < 3:
        last = neutral & (pass_id >= pass_id.max() - 1)
    solve = np.array([e["solveMs"] for e in rows])
    mp = np.array([e["trackMs"] for e in entries if e.get("trackMs") is not None])
    return WebcamFigures(
        frames=len(rows), passes=float(len(entries) and (tracking_seconds / DURATION)),
        jaw_correlation=_corr(jaw, jaw_t), jaw_gain=jaw_gain, yaw_correlation=_corr(yaw, yaw_t), yaw_gain=gain,
        blinks_expected=expected, blinks_detected=detected, blink_false_positives=false_pos,
        drift_yaw_deg=float(np.degrees(np.abs(yaw[last]).mean())) if last.any() else float("nan"),
        drift_jaw=float(np.abs(jaw[last]).mean()) if last.any() else float("nan"),
        drift_blink=float(blink[last].mean()) if last.any() else float("nan"),
        solve_ms_median=float(np.median(solve)), solve_ms_max=float(solve.max()),
        tracking_fps=len(entries) / max(tracking_seconds, 1e-9),
        mediapipe_ms_median=float(np.median(mp)) if len(mp) else float("nan"),
        tracker_mode=tracker_mode, renderer=renderer,
        extra={"series": {"tag": tags.tolist(), "t": times.tolist(), "jaw": jaw.tolist(), "jaw_truth": jaw_t.tolist(),
                          "yaw": yaw.tolist(), "yaw_truth": yaw_t.tolist(), "blink": blink.tolist(),
                          "blink_truth": truth_blink.tolist()}},
    )


def calibration_tags(fps: float) -> tuple[int, int]:
    """Frame tags the page may calibrate on: inside the opening neutral second and a half."""
    a, b = SEGMENTS["neutral"]
    return int(math.ceil(a * fps)) + 1, int(b * fps) - 2


def open_webcam_page(browser, url: str, avatar_name: str, tracker: str = "worker", extra_query: str = "",
                     viewport=(480, 360)):
    """A page of the viewer with the camera wired for logging; returns (page, errors)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    query = f"test=1&avatar={avatar_name}&frametag=1" + ("&tracker=main" if tracker == "main" else "")
    page.goto(f"{url}?{query}{extra_query}")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    if page.evaluate("window.lamViewer.error"):
        raise WebcamCheckError(f"the page did not load the avatar: {page.evaluate('window.lamViewer.error')}")
    return page, errors


@dataclass
class Tracked:
    entries: list            # the page's per-frame log while tracking (after calibration)
    seconds: float
    mode: str                # where MediaPipe ran: 'worker' or 'main thread'
    renderer: str            # the page's WebGL renderer
    recording: dict | None   # the lam-motion object the page recorded meanwhile (record=True)
    frame_gap_p95: float = float("nan")   # ms between the page's animation frames, 95th percentile


def track_clip(page, clip: Clip, seconds: float, record: bool = False) -> Tracked:
    """Start the camera on ``page`` (whose browser plays ``clip``), calibrate on the clip's neutral frames, log
    (and optionally record) ``seconds`` of tracking after calibration, stop the camera."""
    lo, hi = calibration_tags(clip.motion.fps)
    page.evaluate("""([names, lo, hi]) => {
        const cam = window.lamViewer.webcam;
        cam.log = { names, entries: [] };
        cam.calibrationFilter = (tag) => tag !== null && tag >= lo && tag <= hi;
    }""", [LOG_NAMES, lo, hi])
    page.click("#camera")
    deadline = time.monotonic() + 120
    while True:
        state = page.evaluate("[window.lamViewer.webcam.state, window.lamViewer.webcam.message]")
        if state[0] == "error":
            raise WebcamCheckError(f"the camera failed: {state[1]}")
        if state[0] == "tracking" or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    if state[0] != "tracking":
        raise WebcamCheckError(f"no calibration within two minutes (state {state[0]}: {state[1]})")
    if record:
        page.click("#record")
    # main-thread responsiveness meanwhile: the gaps between the page's animation frames
    page.evaluate(RAF_SAMPLER)
    t0 = page.evaluate("performance.now()")
    page.wait_for_timeout(int(seconds * 1000))
    t1 = page.evaluate("performance.now()")
    gaps = page.evaluate("window.__rafStop = true; window.__rafGaps")
    recording = None
    if record:
        with page.expect_download():
            page.click("#record")          # stop and save
        recording = page.evaluate("window.lamViewer.lastRecording()")
    entries = page.evaluate("window.lamViewer.webcam.log.entries")
    mode = page.evaluate("window.lamViewer.webcam.stats.mode")
    renderer = page.evaluate("""() => { const gl = document.createElement('canvas').getContext('webgl2');
        const x = gl && gl.getExtension('WEBGL_debug_renderer_info');
        return x ? gl.getParameter(x.UNMASKED_RENDERER_WEBGL) : ''; }""")
    page.click("#camera")   # stop
    window = [e for e in entries if t0 <= e["t"] <= t1]
    frame_gap = float(np.percentile(gaps, 95)) if gaps else float("nan")
    return Tracked(window, (t1 - t0) / 1000.0, mode, renderer, recording, frame_gap)


def run_check(lam: str | Path, gl: str = "llvmpipe", tracker: str = "worker", seconds: float = 14.0,
              clip_dir: str | Path | None = None, playwright=None, size=(320, 240), fps: float = 24.0) -> WebcamFigures:
    """Render the clip for ``lam``, play it to the page as its camera, track, compare (see the module doc)."""
    from .browser import chromium, serve_in_thread
    from .server import create_app, face_mesh_dir

    pkg = face_mesh_dir()
    if pkg is None:
        raise WebcamCheckError("the npm package @mediapipe/face_mesh is not installed (run `npm ci`)")
    with tempfile.TemporaryDirectory(prefix="lam-webcam-") as tmp:
        folder = Path(clip_dir) if clip_dir else Path(tmp)
        clip = make_clip(lam, folder / "clip.y4m", size[0], size[1], fps)
        app = create_app([lam], None, static_mounts={"mediapipe": pkg})
        args = FAKE_CAMERA_FLAGS + [f"--use-file-for-fake-video-capture={clip.path}"]
        with serve_in_thread(app) as url, chromium(gl, extra_args=args, playwright=playwright) as browser:
            page, errors = open_webcam_page(browser, url, Path(lam).name, tracker)
            tracked = track_clip(page, clip, seconds)
            page.context.close()
        if errors:
            raise WebcamCheckError(f"page errors: {errors[:3]}")
        fig = analyse(tracked.entries, clip.motion, tracked.seconds, tracked.mode, tracked.renderer, clip.joint_names)
        fig.extra["frame_gap_p95_ms"] = tracked.frame_gap_p95
        return fig


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m exporter.webcam_check", description=__doc__.split("\n\n")[0])
    p.add_argument("avatar", help=".lam avatar with a face (e.g. lam-export's output for a photo)")
    p.add_argument("--gl", choices=("llvmpipe", "swiftshader"), default="llvmpipe")
    p.add_argument("--tracker", choices=("worker", "main"), default="worker")
    p.add_argument("--seconds", type=float, default=14.0)
    p.add_argument("--json", help="also write the figures (and the per-frame series) to this file")
    from exporter.cli import add_version

    add_version(p)
    args = p.parse_args(argv)
    figures = run_check(args.avatar, args.gl, args.tracker, args.seconds)
    for line in figures.lines():
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(figures)))
    return 0


if __name__ == "__main__":
    from exporter.cli import entry_point

    entry_point(main)()
