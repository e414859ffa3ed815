"""The official LAM web avatar (issue 13): reading the sample zip, converting it to .lam (size), and how
faithfully the quantised .lam plays the ARKit speech sequence against the unquantised conversion (reference
renderer, 512x512, 30 frames spread over the sequence, front and three-quarter views).

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

    params, _ = motion.params_for(avatar.rig.expr_names)
    idx = np.linspace(0, motion.n_frames - 1, frames).round().astype(int)
    return FrameParams(params.expr[idx], params.pose[idx], params.translation[idx])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=512)
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
    params = sequence_frames(avatar, motion, args.frames)
    err = posed_errors(avatar, decoded, params)
    report("posed centre error, max over frames", float(err["centre_max_m"].max()) * 1e3, "mm")
    t0 = time.perf_counter()
    ps = render_psnr(avatar, decoded, params, size=args.size, backend="cpu")
    report(f"PSNR .lam vs unquantised, {args.frames} ARKit frames, min", float(ps.min()), "dB", ">= 40")
    report(f"PSNR .lam vs unquantised, {args.frames} ARKit frames, mean", float(ps.mean()), "dB")
    report("reference renders (2 per frame), seconds", time.perf_counter() - t0, "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
