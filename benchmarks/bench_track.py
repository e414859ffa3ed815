"""lam-track (issue 16): frames per second of a video's tracking and solving at 640x480, split: decoding alone
(imageio-ffmpeg), tracking (decoding + MediaPipe face mesh in video mode, Python), solving (the page's JS solver
in one Node process: its per-frame time, and the process's wall time with Node's start and the .lam's loading).
The video: 5 s at 24 fps of a real face, the example photo (skimage's astronaut) drifting and zooming slowly
in a 640x480 frame, H.264; the solve targets the default avatar (the open head: 1,424 channels, the most a
solve has).

    python benchmarks/run_all.py track            # or: python benchmarks/bench_track.py
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import header, report  # noqa: E402


def frames(n: int = 120):
    import numpy as np
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut())
    for i in range(n):
        t = i / n
        size = int(420 * (1 + 0.15 * math.sin(2 * math.pi * t)))
        canvas = Image.new("RGB", (640, 480), (128, 128, 128))
        x = 320 - size // 2 + int(60 * math.sin(4 * math.pi * t))
        canvas.paste(photo.resize((size, size), Image.BILINEAR), (x, 240 - size // 2 + 20))
        yield np.asarray(canvas)


def main() -> int:
    from exporter.media import write_mp4
    from exporter.video_track import (default_solver_avatar, neutral_window, probe_video, read_frames,
                                      solve_landmarks, track_video)

    header("lam-track: a 640x480 video -> motion (2-core CPU figures on the CI machine)")
    with tempfile.TemporaryDirectory(prefix="lam-bench-track-") as tmp:
        video = Path(tmp) / "astronaut.mp4"
        write_mp4(video, frames(), 24.0, progress=False)
        lam = default_solver_avatar()
        info = probe_video(video)
        t0 = time.perf_counter()
        n = sum(1 for _ in read_frames(info))
        decode = time.perf_counter() - t0
        lm = track_video(info, progress=False)
        solved = solve_landmarks(lam, lm, neutral_window(lm))
        print(f"  video: {n} frames, {info.width}x{info.height} at {info.fps:g} fps; face in {solved.solved} frames")
        report("decoding (imageio-ffmpeg)", n / decode, "frames/s")
        report("tracking (decoding + MediaPipe face mesh, video mode)", n / lm.seconds, "frames/s", "real time: 24")
        report("solving (JS solver in Node, per frame)", n / (solved.solve_ms["total"] / 1000), "frames/s")
        report("solve time per frame, median", solved.solve_ms["median"], "ms")
        report("solver process (Node start, .lam load, all frames)", solved.seconds, "s")
        report("whole (tracking + solver process)", n / (lm.seconds + solved.seconds), "frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
