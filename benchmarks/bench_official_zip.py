"""The official LAM web avatar (issue 13): reading the sample zip, converting it to .lam (size), and how
faithfully the quantised .lam plays the ARKit speech sequence against the unquantised conversion (reference
renderer, 512x512, 30 frames spread over the sequence, front and three-quarter views). Then, side by side in
one run on each software GL (Mesa llvmpipe on Xvfb, SwiftShader): the official renderer (npm
gaussian-splat-renderer-for-lam 0.0.8) playing the zip and this viewer playing the .lam, same 512x512
viewport, same camera, same ARKit sequence, frame time each (every frame waited for with a 1-pixel read);
and the neutral avatar from the reference renderer beside the official renderer's own picture (idle motion
frozen, white background): PSNR, and with --picture PATH the side-by-side PNG (docs/images/ holds one).

    python benchmarks/run_all.py official_zip      # or: python benchmarks/bench_official_zip.py [--frames N]

Needs the sample ../shared/data/lam_official/ (p2-1.zip, arkit_speech_973f.json); says so and exits 0 without it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import header, median_time, report  # noqa: E402


def sample_dir() -> Path | None:
    import os

    env = os.environ.get("LAM_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data", ROOT / "shared" / "data"]:
        if (cand / "lam_official" / "p2-1.zip").is_file():
            return cand / "lam_official"
    return None


def sequence_frames(avatar, motion, frames: int):
    from lam_core.params import FrameParams

    params, _ = motion.params_for(avatar.rig.expr_names, avatar.rig.joint_names)
    idx = np.linspace(0, motion.n_frames - 1, frames).round().astype(int)
    return FrameParams(params.expr[idx], params.pose[idx], params.translation[idx])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--browser-frames", type=int, default=40)
    ap.add_argument("--picture", help="write reference | official | difference x4 here (PNG)")
    ap.add_argument("--skip-fidelity", action="store_true", help="no reference-renderer PSNR over the sequence")
    ap.add_argument("--skip-browser", action="store_true", help="no browser figures")
    args = ap.parse_args()
    header("official LAM zip -> .lam (issue 13)")
    data = sample_dir()
    if data is None:
        print("  sample ../shared/data/lam_official/p2-1.zip not present: skipped")
        return 0
    from exporter.lamfile import decode_lam, encode_lam
    from exporter.lamfile.fidelity import posed_errors, render_psnr
    from exporter.official_zip import read_official_zip
    from exporter.official_zip.convert import OFFICIAL_QUANTISATION
    from exporter.official_zip.writer import official_members
    from lam_core.motion import load_motion

    zpath = data / "p2-1.zip"
    report("read p2-1.zip (skin.glb, offset.ply, checks)", median_time(
        lambda: read_official_zip(zpath, motions=False), repeat=3), "s")
    official = read_official_zip(zpath, motions=False)
    avatar = official.to_avatar()
    blob = encode_lam(avatar, quantisation=OFFICIAL_QUANTISATION)
    report("official zip size", zpath.stat().st_size / 1e6, "MB")
    report(".lam size (converted, 7-bit morphs)", len(blob) / 1e6, "MB", "<= 1.0")
    report("size ratio zip / .lam", zpath.stat().st_size / len(blob), "x")
    members, _ = official_members(avatar)
    with tempfile.TemporaryDirectory() as tmp:
        from lam_core.atomic import write_bytes_atomic
        from exporter.official_zip.archive import pack_members

        write_bytes_atomic(Path(tmp) / "rt.zip", pack_members(members, "rt"))
        report("zip written back from the avatar", (Path(tmp) / "rt.zip").stat().st_size / 1e6, "MB")
    decoded = decode_lam(blob).avatar
    motion = load_motion(data / "arkit_speech_973f.json")
    if not args.skip_browser:
        browser_figures(data, avatar, blob, motion, args)
    if args.skip_fidelity:
        return 0
    params = sequence_frames(avatar, motion, args.frames)
    err = posed_errors(avatar, decoded, params)
    report("posed centre error, max over frames", float(err["centre_max_m"].max()) * 1e3, "mm")
    t0 = time.perf_counter()
    ps = render_psnr(avatar, decoded, params, size=args.size, backend="cpu")
    report(f"PSNR .lam vs unquantised, {args.frames} ARKit frames, min", float(ps.min()), "dB", ">= 40")
    report(f"PSNR .lam vs unquantised, {args.frames} ARKit frames, mean", float(ps.mean()), "dB")
    report("reference renders (2 per frame), seconds", time.perf_counter() - t0, "s")
    return 0


def viewer_frame_ms(ctx_browser, lam_path: Path, motion, camera, frames: int) -> float:
    from exporter.lamfile import read_lam
    from exporter.server import create_app
    from exporter.browser import serve_in_thread
    from exporter.verify import page_params, camera_json, open_viewer

    av = read_lam(lam_path).avatar
    params, _ = motion.params_for(av.rig.expr_names, av.rig.joint_names)
    spec = [page_params(params, i) for i in range(frames)]
    with serve_in_thread(create_app([lam_path], None)) as url:
        page, _ = open_viewer(ctx_browser, url, lam_path.name)
        page.evaluate("c => window.lamViewer.setCamera(c)", camera_json(camera))
        r = page.evaluate("p => window.lamViewer.benchmark(p, {pipelined: true})", spec)
        page.close()
    return float(r["frameMs"])


def browser_figures(data: Path, avatar, blob: bytes, motion, args) -> None:
    from exporter.browser import chromium, serve_in_thread
    from exporter.official_zip.official_renderer import (official_app, official_camera, open_official,
                                                         package_build, screenshot, frame_ms)
    from lam_core.metrics import psnr
    from lam_core.params import FrameParams
    from lam_core.render import render_posed

    if package_build() is None:
        print("  official renderer not installed (npm ci): browser figures skipped")
        return
    zpath, seq = data / "p2-1.zip", data / "arkit_speech_973f.json"
    camera = official_camera()
    with tempfile.TemporaryDirectory(prefix="lam-bench-official-") as tmp:
        lam_path = Path(tmp) / "p2-1.lam"
        lam_path.write_bytes(blob)
        for gl in ("llvmpipe", "swiftshader"):
            header(f"official renderer (zip) vs this viewer (.lam), {gl}, 512x512, ARKit speech sequence")
            try:
                with serve_in_thread(official_app(zpath, seq)) as url, chromium(gl) as browser:
                    page = open_official(browser, url, zpath.name, "seq=1")
                    official_ms = frame_ms(page, args.browser_frames)
                    page.close()
                    if gl == "llvmpipe":
                        page = open_official(browser, url, zpath.name, "freeze=1")
                        official_img = screenshot(page)
                        page.close()
                with chromium(gl) as browser:
                    ours_ms = viewer_frame_ms(browser, lam_path, motion, camera, args.browser_frames)
            except Exception as exc:  # a missing Xvfb etc. must not hide the other figures
                print(f"  skipped: {str(exc).splitlines()[0]}")
                continue
            report("official renderer, frame", official_ms, "ms")
            report("official renderer, frames per second", 1000.0 / official_ms, "fps")
            report("this viewer, frame", ours_ms, "ms")
            report("this viewer, frames per second", 1000.0 / ours_ms, "fps")
            report("ratio (this viewer's frame rate / the official's)", official_ms / ours_ms, "x", ">= 4")
    header("neutral avatar: reference renderer vs the official renderer's own picture (llvmpipe, same camera)")
    if "official_img" not in locals():
        print("  skipped: no official picture")
        return
    posed = avatar.animate(FrameParams.zeros(1, avatar.rig.n_expr))
    ref = np.asarray(render_posed(posed, camera, backend="cpu").rgb, dtype=np.float32)
    report("PSNR reference vs official renderer, whole 512x512 frame", float(psnr(ref, official_img)), "dB")
    fg = (ref.min(2) < 0.98) | (official_img.min(2) < 0.98)
    report("PSNR over the union of foregrounds", float(psnr(ref, official_img, mask=fg)), "dB")
    if args.picture:
        from exporter.media import write_png

        diff = np.clip(1.0 - 4.0 * np.abs(ref - official_img), 0, 1)
        sheet = np.concatenate([ref, official_img, diff], 1)
        write_png(args.picture, (np.clip(sheet, 0, 1) * 255 + 0.5).astype(np.uint8))
        print(f"  wrote {args.picture} (reference | official | 1 - 4 x difference)")


if __name__ == "__main__":
    sys.exit(main())
