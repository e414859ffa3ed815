"""Webcam driving: the JS solver's time per frame in Node, and the whole pipeline in headless Chromium
with a fake camera playing a known performance of the photo's avatar (exporter.webcam_check): tracking rate,
MediaPipe's time per frame, the solver's time in the page, and the accuracy figures (jaw and yaw correlation,
blinks, drift) on llvmpipe with MediaPipe in a Worker and on the main thread, and on SwiftShader.

    python benchmarks/run_all.py webcam            # or: python benchmarks/bench_webcam.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import header, report  # noqa: E402


def write_avatars(folder: Path) -> list[Path]:
    from PIL import Image
    from skimage import data

    from exporter.lamfile import read_lam, write_lam
    from exporter.photo_export import export_photo
    from lam_core.synthetic import synthetic_avatar

    flame = folder / "synthetic-flame-landmarks.lam"
    write_lam(flame, synthetic_avatar(1, landmarks=True))
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    photo = export_photo(folder / "astronaut.png", folder / "astronaut.lam").output
    avatar = read_lam(photo).avatar
    rig = avatar.rig
    keep = [i for i, n in enumerate(rig.expr_names) if not n.startswith("lmk_")]
    arkit_rig = replace(rig, exprdirs=rig.exprdirs[:, :, keep], joint_exprdirs=rig.joint_exprdirs[:, :, keep],
                        expr_names=tuple(rig.expr_names[i] for i in keep))
    arkit = folder / "astronaut-arkit-only.lam"
    write_lam(arkit, replace(avatar, points=replace(avatar.points, rig=arkit_rig)))
    return [flame, photo, arkit]


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory(prefix="lam-bench-webcam-") as tmp:
        folder = Path(tmp)
        lams = write_avatars(folder)
        node = subprocess.check_output(["node", "--version"], text=True).strip()
        header(f"webcam: JS solver per frame in Node {node} ({os.cpu_count()} cores; 300 frames, median)")
        out = json.loads(subprocess.run(["node", str(ROOT / "benchmarks" / "webcam_node_bench.mjs"), *map(str, lams)],
                                        check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        for name, f in out.items():
            what = f"{name} ({f['kind']}: {f['solve']} solved" + (f" + {f['copy']} copied" if f["copy"] else "") \
                + (" + jaw" if f["jaw"] else "") + ")"
            report(what, f["median_ms"], "ms/frame", "<= 2 ms")
            report("  90th percentile", f["p90_ms"], "ms/frame")

        from exporter.webcam_check import run_check

        runs = [("llvmpipe", "worker")] if quick else [("llvmpipe", "worker"), ("llvmpipe", "main"), ("swiftshader", "worker")]
        photo = lams[1]
        for gl, tracker in runs:
            header(f"webcam: fake camera in headless Chromium, {gl}, MediaPipe in the {tracker if tracker == 'main' else 'Worker'}"
                   " (320x240 clip at 24 fps of the photo's avatar; 12 s of tracking)")
            if gl == "llvmpipe" and shutil.which("Xvfb") is None:
                print("  skipped: Xvfb is not installed")
                continue
            try:
                fig = run_check(photo, gl=gl, tracker=tracker, seconds=12.0)
            except Exception as exc:  # one failing configuration must not hide the others
                print(f"  failed: {str(exc).splitlines()[0]}")
                continue
            report("tracking rate", fig.tracking_fps, "frames/s")
            report("MediaPipe per frame (median)", fig.mediapipe_ms_median, "ms")
            report("JS solve per frame in the page (median)", fig.solve_ms_median, "ms", "<= 2 ms")
            report("JS solve per frame in the page (max)", fig.solve_ms_max, "ms")
            report("page's animation-frame gap, 95th percentile (main thread busy)", fig.extra["frame_gap_p95_ms"], "ms")
            report("jaw correlation", fig.jaw_correlation, "", ">= 0.9")
            report("yaw correlation", fig.yaw_correlation, "", ">= 0.9")
            report("blinks detected / seen", fig.blinks_detected, f"of {fig.blinks_expected}")
            report("blink false positives", fig.blink_false_positives, "frames")
            report("drift on neutral frames: |yaw|", fig.drift_yaw_deg, "deg")
            report("drift on neutral frames: |jaw|", fig.drift_jaw, "rad")
            print(f"    tracker: {fig.tracker_mode}; GL: {fig.renderer}", flush=True)


if __name__ == "__main__":
    main()
