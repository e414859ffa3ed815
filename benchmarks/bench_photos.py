"""The default reconstructor on your own photos (issue: the bust): per photo and as medians, the figures
bench_export prints for the example photo, so they can be taken on photos this project does not ship. The
front view is compared with the photo at its own size; the view from behind and the turned views are
rendered at the size of the copy the avatar was fitted to (the face WORK_FACE_PX tall).

    LAM_BENCH_PHOTOS=~/my-photos python benchmarks/bench_photos.py      (or: python bench_photos.py DIR)

Without a folder it says so and does nothing (`make bench` runs it that way). Every .jpg, .jpeg and .png in
the folder is read; a photo lam-export refuses (no face, too small) is listed as refused."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from common import header, report

SUFFIXES = {".jpg", ".jpeg", ".png"}
VIEWS = ((-30, 0), (0, 0), (30, 0), (0, 15), (0, -15))   # where MediaPipe must find the avatar's face


def figures(path: Path) -> dict:
    """The figures of ``path`` exported as lam-export does (bench_export prints the example photo's): numbers,
    and under "missed" the (yaw, pitch) views where MediaPipe found no face."""
    from scipy import ndimage

    from lam_core.errors import LamError
    from lam_core.metrics import psnr
    from lam_core.photo import detect_face, load_photo
    from lam_core.reconstruct.quality import front_quality, head_centre, masked_photo, orbit_about_head
    from lam_core.reconstruct.seam import GeometricReconstructor, read_photo_input
    from lam_core.photo.reading import WORK_FACE_PX
    from lam_core.render import render_posed

    rgb = load_photo(path)
    t0 = time.perf_counter()
    photo = read_photo_input(rgb, path.name, max_face_px=WORK_FACE_PX)   # as lam-export does
    rec = GeometricReconstructor()(photo)
    seconds = time.perf_counter() - t0
    posed = rec.avatar.animate(rec.photo_params)
    # compared with the photo at its own size (the avatar was fitted to a copy scaled so the face is
    # WORK_FACE_PX tall): the photo's camera, the mask and the landmarks taken back to its pixels
    camera = photo.camera_in_photo(rec.camera)
    h, w = rgb.shape[:2]
    mask = photo.mask
    if photo.photo_shape is not None:
        from PIL import Image

        mask = np.asarray(Image.fromarray(photo.mask).resize((w, h), Image.Resampling.BILINEAR))
    sx, sy = photo.scale
    k = np.array([1 / sx, 1 / sy, 1 / sx])
    points = photo.face.points * k
    front = render_posed(posed, camera).rgb_uint8()
    try:
        again = detect_face(front, "front render").points
    except LamError:
        again = None
    q = front_quality(front, rgb, mask, points, again, photo.face.interocular_px * k[0])
    whole = psnr(front.astype(np.float64) / 255.0, masked_photo(rgb, mask), mask > 0.5)
    centre = head_centre(rec.avatar)
    back = render_posed(posed, orbit_about_head(rec.camera, centre, 180, 0)).alpha.numpy().squeeze()
    # inside the silhouette seen from behind: 3 px in from its outline, and (the outline's soft ramp grows with
    # the photo's size) a tenth of the face's height in
    edge3 = ndimage.binary_erosion(back > 0.5, iterations=3)
    deep = ndimage.binary_erosion(back > 0.5, iterations=max(3, int(0.1 * photo.face.height_px)))   # (copy's)
    missed = []
    for yaw, pitch in VIEWS:
        try:
            detect_face(render_posed(posed, orbit_about_head(rec.camera, centre, yaw, pitch)).rgb_uint8(),
                        "turned render")
        except LamError:
            missed.append((yaw, pitch))
    body = rec.avatar.points.in_region("bust")
    return {
        "Gaussians": rec.avatar.n,
        "Gaussians on the head": int((~body).sum()),
        "Gaussians on the body": int(body.sum()),
        "reconstruct s": seconds,
        "face PSNR dB": q.psnr,
        "face SSIM": q.ssim,
        "whole person PSNR dB": whole,
        "landmarks re-detected at yaw 0, error % inter-ocular": (
            100 * q.landmark_error if q.landmark_error is not None else float("nan")),
        "behind alpha >= 0.99, 3 px in %": 100.0 * float((back[edge3] >= 0.99).mean()),
        "behind alpha >= 0.99, face/10 in %": 100.0 * float((back[deep] >= 0.99).mean()) if deep.any() else 100.0,
        "faces found at yaw 0, +-30, pitch +-15": len(VIEWS) - len(missed),
        "missed": missed,
    }


def main() -> int:
    folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LAM_BENCH_PHOTOS")
    header("the default reconstructor on your photos (LAM_BENCH_PHOTOS=DIR)")
    if not folder:
        print("  no folder given (LAM_BENCH_PHOTOS=DIR or an argument): nothing to measure")
        return 0
    photos = sorted(p for p in Path(folder).expanduser().iterdir() if p.suffix.lower() in SUFFIXES)
    if not photos:
        print(f"  no .jpg, .jpeg or .png in {folder}")
        return 0
    from lam_core.errors import LamError

    rows = []
    for path in photos:
        try:
            row = figures(path)
        except LamError as e:
            print(f"  {path.name}: refused: {e}")
            continue
        missed = row.pop("missed")
        rows.append(row)
        print(f"  {path.name}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in row.items())
              + (f"; no face at (yaw, pitch) {missed}" if missed else ""), flush=True)
    if rows:
        print(f"  median over {len(rows)} photos:")
        for key in rows[0]:
            report(f"  {key}", statistics.median(r[key] for r in rows), "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
