"""Photo -> .lam (issue: Photo to avatar): whole-process time of `lam-export` on the example photo (median of
9, stages broken down) and the quality figures of the result."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import header, report

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "examples" / "astronaut.png"


def timed_runs(n: int = 5) -> tuple[list[float], dict[str, list[float]], int]:
    totals, stages, size = [], {}, 0
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "a.lam"
        cmd = [sys.executable, "-m", "exporter.cli.export", str(PHOTO), "-o", str(out), "-v"]
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)  # warm-up (builds caches)
        for _ in range(n):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
            totals.append(time.perf_counter() - t0)
            for name, sec in re.findall(r"^  (\S.*?)\s+([0-9.]+) s$", r.stderr, re.M):
                stages.setdefault(name, []).append(float(sec))
        size = out.stat().st_size
    return totals, stages, size


def quality() -> None:
    from bench_photos import figures

    f = figures(PHOTO)
    report("front render vs masked photo, face region: PSNR", f["face PSNR dB"], "dB", ">= 24")
    report("front render vs masked photo, face region: SSIM", f["face SSIM"], "", ">= 0.85")
    report("front render vs masked photo, whole person mask: PSNR", f["whole person PSNR dB"], "dB", ">= 24")
    report("Gaussians on the head", f["Gaussians on the head"], "")
    report("Gaussians on the body", f["Gaussians on the body"], "")
    error = f["landmarks re-detected at yaw 0, error % inter-ocular"]
    if not np.isnan(error):
        report("re-detected landmarks at yaw 0, mean error / inter-ocular", error, "%", "<= 3")
    report("from behind: share of the silhouette 3 px in with alpha >= 0.99", f["behind alpha >= 0.99, 3 px in %"],
           "%")
    for yaw, pitch in f["missed"]:
        print(f"  (no face found at yaw {yaw}, pitch {pitch})")
    report("MediaPipe finds the face at yaw -30/0/+30, pitch +-15", f["faces found at yaw 0, +-30, pitch +-15"],
           "of 5", "5 of 5")


def main() -> None:
    from exporter.photo_read import PHOTO_STAGES

    header(f"photo -> .lam: lam-export {PHOTO.name} (open head, 20k points), 2-core CPU, no GPU")
    n = 9
    totals, stages, size = timed_runs(n)
    median = statistics.median(totals)
    report(f"whole process (median of {n}, Python start-up included)", median, "s", "<= 5 s")
    report("  fastest / slowest run", min(totals), f"s / {max(totals):.2f} s")
    print("  the photo, in a child process beside the imports (exporter/photo_read.py):")
    for name in PHOTO_STAGES:
        if name in stages:
            report(f"    stage: {name}", statistics.median(stages[name]), "s")
    print("  then, in the process that imported torch:")
    after = {name: secs for name, secs in stages.items() if name not in PHOTO_STAGES}
    for name, secs in after.items():
        report(f"    stage: {name}", statistics.median(secs), "s")
    report("  start-up, imports and the exit (the rest)",
           median - sum(statistics.median(s) for s in after.values()), "s")
    report(".lam size", size / 1e6, "MB")
    report("ratio to LAM's 1.4 s on an A100", median / 1.4, "x")
    quality()


if __name__ == "__main__":
    main()
