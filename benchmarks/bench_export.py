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
    from lam_core.photo import detect_face, load_photo
    from lam_core.reconstruct.seam import GeometricReconstructor, read_photo_input
    from lam_core.photo.reading import WORK_FACE_PX
    from lam_core.metrics import psnr
    from lam_core.reconstruct.quality import front_quality, head_centre, masked_photo, orbit_about_head
    from lam_core.render import render_posed
    from lam_core.errors import LamError

    rgb = load_photo(PHOTO)
    photo = read_photo_input(rgb, PHOTO.name, max_face_px=WORK_FACE_PX)   # as lam-export does
    rgb = photo.rgb   # its working copy, when the photo is larger than that
    face, mask = photo.face, photo.mask
    rec = GeometricReconstructor()(photo)
    posed = rec.avatar.animate(rec.photo_params)
    front = render_posed(posed, rec.camera).rgb_uint8()
    try:
        again = detect_face(front, "front render").points
    except LamError:
        again = None
    q = front_quality(front, rgb, mask, face.points, again, face.interocular_px)
    report("front render vs masked photo, face region: PSNR", q.psnr, "dB", ">= 24")
    report("front render vs masked photo, face region: SSIM", q.ssim, "", ">= 0.85")
    whole = psnr(front.astype(np.float64) / 255.0, masked_photo(rgb, mask), mask > 0.5)
    report("front render vs masked photo, whole person mask: PSNR", whole, "dB", ">= 24")
    body = rec.avatar.points.in_region("bust")
    report("Gaussians on the head", int((~body).sum()), "")
    report("Gaussians on the body", int(body.sum()), "")
    if q.landmark_error is not None:
        report("re-detected landmarks at yaw 0, mean error / inter-ocular", 100 * q.landmark_error, "%", "<= 3")
    centre = head_centre(rec.avatar)
    found = 0
    for yaw, pitch in ((-30, 0), (0, 0), (30, 0), (0, 15), (0, -15)):
        try:
            detect_face(render_posed(posed, orbit_about_head(rec.camera, centre, yaw, pitch)).rgb_uint8())
            found += 1
        except LamError:
            print(f"  (no face found at yaw {yaw}, pitch {pitch})")
    report("MediaPipe finds the face at yaw -30/0/+30, pitch +-15", found, "of 5", "5 of 5")


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
