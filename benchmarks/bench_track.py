"""lam-track (issue 16): frames per second of a video's tracking and solving at 640x480, split: decoding alone
(imageio-ffmpeg), tracking (decoding + MediaPipe face mesh in video mode, Python), solving (the page's JS solver
in one Node process: its per-frame time, and the process's wall time with Node's start and the .lam's loading).
The video: the photo's avatar performing the webcam test's performance (exporter.webcam_clip), rendered at
320x240 and scaled to 640x480, H.264.

    python benchmarks/run_all.py track            # or: python benchmarks/bench_track.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import header, report  # noqa: E402


def main() -> int:
    import numpy as np
    import torch
    from PIL import Image
    from skimage import data

    from exporter.avatar_io import load_avatar
    from exporter.media import write_mp4
    from exporter.photo_export import export_photo
    from exporter.video_track import neutral_window, probe_video, read_frames, solve_landmarks, track_video
    from exporter.webcam_clip import clip_camera, render_clip, truth_motion

    header("lam-track: a 640x480 video -> motion (2-core CPU figures on the CI machine)")
    with tempfile.TemporaryDirectory(prefix="lam-bench-track-") as tmp:
        d = Path(tmp)
        Image.fromarray(data.astronaut()).save(d / "astronaut.png")
        lam = export_photo(d / "astronaut.png", d / "astronaut.lam").output
        avatar = load_avatar(lam)
        motion = truth_motion(24.0)
        with torch.no_grad():
            frames = [np.kron(f, np.ones((2, 2, 1), np.uint8))
                      for f in render_clip(avatar, motion, clip_camera(avatar, 320, 240))]
        video = d / "clip.mp4"
        write_mp4(video, frames, 24.0, progress=False)
        info = probe_video(video)
        t0 = time.perf_counter()
        n = sum(1 for _ in read_frames(info))
        decode = time.perf_counter() - t0
        lm = track_video(info, progress=False)
        solved = solve_landmarks(lam, lm, neutral_window(lm))
        print(f"  video: {n} frames, {info.width}x{info.height} at {info.fps:g} fps; face in {solved.solved} frames")
        report("decoding (imageio-ffmpeg)", n / decode, "frames/s")
        report("tracking (decoding + MediaPipe face mesh, video mode)", n / lm.seconds, "frames/s",
               "real time: 24")
        report("solving (JS solver in Node, per frame)", n / (solved.solve_ms["total"] / 1000), "frames/s")
        report("solve time per frame, median", solved.solve_ms["median"], "ms")
        report("solver process (Node start, .lam load, all frames)", solved.seconds, "s")
        report("whole (tracking + solver process)", n / (lm.seconds + solved.seconds), "frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
