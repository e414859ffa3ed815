"""The torso's turn from MediaPipe's pose landmarks (lam_core.photo.pose): estimated against true, and its time.

Photos of a turned torso, made by rendering (CPU reference renderer, the photo's camera, 512x512, white):
- the astronaut's exported avatar (built with its body facing the camera) turned whole about its neck by
  -30, -15, 0, 15, 30 degrees (lam_core.reconstruct.quality.turned_about_neck). Its render at 0 already reads
  as turned, because its colours are the photo's, where she stands turned: compare the estimates' change
  from the render at 0 with the turn;
- when ../shared/data/lam_official/p2-1.zip is present, that real LAM avatar (its bust faces the camera),
  rendered with the camera turned about its head the other way, so the body's turn is the true angle.
Each estimate is printed from the world landmarks (what the bust uses) and from the image landmarks' relative
z (the documented "same scale as x" depth), then the time ``shoulders()`` adds to an export: its first call
(the pose graph's start-up and the model's first run; MediaPipe already imported, as the face landmarks
leave it) and warm calls.

    .venv/bin/python benchmarks/bench_torso_yaw.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from common import header, median_time, report

ROOT = Path(__file__).resolve().parent.parent
ZIP = ROOT.parent / "shared" / "data" / "lam_official" / "p2-1.zip"
TURNS = (-30, -15, 0, 15, 30)


def estimates(rgb: np.ndarray) -> tuple[float, float]:
    """Degrees: the shoulders' turn from the world landmarks and from the image landmarks' z (NaN: none)."""
    from lam_core.photo.pose import shoulders

    found = shoulders(rgb)
    if found is None:
        return float("nan"), float("nan")
    d = found.left - found.right
    return float(np.degrees(found.yaw)), float(np.degrees(np.arctan2(d[2], d[0])))


def main() -> int:
    from skimage import data

    from lam_core.photo._mediapipe import solutions
    from lam_core.photo.pose import shoulders
    from lam_core.reconstruct.analytic import reconstruct
    from lam_core.reconstruct.quality import head_centre, orbit_about_head, turned_about_neck
    from lam_core.reconstruct.seam import read_photo_input
    from lam_core.render import render_posed

    img = data.astronaut()
    header("shoulders() time on the astronaut photo (512x512), this machine")
    solutions()  # MediaPipe imported, as the face landmarks stage leaves it
    t0 = time.perf_counter()
    shoulders(img)
    report("first call (pose graph start-up + first run)", time.perf_counter() - t0, "s")
    report("warm call (median of 5)", median_time(lambda: shoulders(img), repeat=5, warmup=0), "s")

    header("torso yaw, estimated against true (degrees; + = the image's right side farther)")
    world, image = estimates(img)
    report("astronaut photo itself: world landmarks / image z", world, f"/ {image:.1f}")
    photo = read_photo_input(img, "astronaut")
    rec = reconstruct(img, photo.face, photo.mask)   # the body faces the camera: the turns below are known
    rows = {deg: estimates(render_posed(turned_about_neck(rec, np.radians(deg)), rec.camera,
                                        backend="cpu").rgb_uint8()) for deg in TURNS}
    w0, i0 = rows[0]
    for deg in TURNS:
        w, i = rows[deg]
        report(f"astronaut avatar turned {deg:+d}: world (change from 0) / image z (change)", w,
               f"({w - w0:+.1f}) / {i:.1f} ({i - i0:+.1f})")
    if not ZIP.is_file():
        print(f"  (LAM avatar skipped: {ZIP} not found)", flush=True)
        return 0
    from exporter.official_zip import read_official_zip
    from lam_core.reconstruct.quality import front_view

    truth = read_official_zip(ZIP, motions=False).to_avatar()
    posed, cam = front_view(truth)
    centre = head_centre(truth)
    errors = []
    for deg in TURNS:
        w, i = estimates(render_posed(posed, orbit_about_head(cam, centre, -deg, 0), backend="cpu").rgb_uint8())
        errors.append((w - deg, i - deg))
        report(f"LAM avatar p2-1 turned {deg:+d}: world / image z", w, f"/ {i:.1f}")
    err = np.abs(np.array(errors))
    report("LAM avatar p2-1: mean |error| world / image z", float(err[:, 0].mean()), f"/ {err[:, 1].mean():.1f} deg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
