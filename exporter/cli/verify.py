"""``lam-verify``: prove that the browser viewer draws what the reference renderer draws.

    lam-verify avatar.lam [--motion M] [--frames 30] [--min-psnr 35] [--size 512] [--gl swiftshader|llvmpipe]

Serves the avatar on a free loopback port, drives the system's headless Chromium (SwiftShader WebGL2 by
default; ``--gl llvmpipe`` uses Mesa on a private Xvfb display) through the frames with the given parameters
and camera, reads the canvas back, renders the same frames with ``lam_core.render`` and prints the PSNR of
every frame over the pixels the head covers (the headline; the whole image's, mostly background, beside it).
Exits 1 when a frame's head PSNR is under ``--min-psnr``.

Without ``--motion`` it plays :func:`lam_core.exercise.exercise_sequence`: the global rotation, translation,
neck, jaw, eyes and every expression channel (so the pose correctives act), each at an amplitude of its kind. With a motion (any layout ``lam_core``
reads), channels are mapped to the avatar by name (the ones it lacks are listed), joints always apply, and
``--frames`` frames are taken evenly over the whole motion.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Sequence

import numpy as np

from exporter.cli import EXIT_CHECK_FAILED, EXIT_OK, add_version, entry_point
from lam_core.errors import LamError


class VerifyArgumentError(LamError):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lam-verify", description="Check the browser viewer against the reference renderer.")
    p.add_argument("avatar", metavar="AVATAR.lam", help="the avatar to check (.lam)")
    p.add_argument("--motion", metavar="M", help="motion file or folder (FLAME npz layouts, ARKit JSON, lam-motion JSON); default: "
                   "a built-in sequence exercising every joint and expression channel")
    p.add_argument("--frames", type=int, default=30, help="frames to compare (default 30)")
    p.add_argument("--min-psnr", type=float, default=35.0, help="fail when a frame's head-region PSNR is under this, in dB (default 35)")
    p.add_argument("--size", type=int, default=512, help="image width and height in pixels (default 512)")
    p.add_argument("--gl", choices=("swiftshader", "llvmpipe"), default="swiftshader",
                   help="software WebGL2 of the browser (default swiftshader)")
    p.add_argument("--yaw", type=float, default=0.0, help="camera yaw in degrees (default 0: facing the avatar)")
    p.add_argument("--pitch", type=float, default=0.0, help="camera pitch in degrees")
    p.add_argument("--backend", choices=("auto", "cpu", "gsplat"), default="auto", help="reference renderer backend")
    p.add_argument("--save", metavar="DIR", help="write browser | reference | 8x difference images, one per frame, "
                                                    "named by the motion's frame number")
    add_version(p)
    return p


def motion_params(path: str, rig, frames: int):
    from lam_core import load_motion

    motion = load_motion(path)
    params, unmapped = motion.params_for(rig.expr_names, rig.joint_names)
    idx = np.unique(np.linspace(0, motion.n_frames - 1, min(frames, motion.n_frames)).round().astype(int))
    if unmapped:
        shown = ", ".join(unmapped[:10]) + (f" and {len(unmapped) - 10} more" if len(unmapped) > 10 else "")
        print(f"note: the avatar has no channel for {shown} (ignored; joints always apply)")
    from lam_core import FrameParams

    return FrameParams(params.expr[idx], params.pose[idx], params.translation[idx]), idx


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.frames < 1:
        raise VerifyArgumentError("--frames must be at least 1")
    if not 16 <= args.size <= 4096:
        raise VerifyArgumentError("--size must be in 16..4096")
    if not math.isfinite(args.min_psnr):
        raise VerifyArgumentError("--min-psnr must be a number")
    from pathlib import Path

    from exporter.lamfile import read_lam
    from exporter.verify import verify_avatar
    from lam_core.exercise import exercise_sequence

    avatar = read_lam(args.avatar).avatar
    if args.motion:
        params, idx = motion_params(args.motion, avatar.rig, args.frames)
        what = f"{len(idx)} frames of {args.motion}"
    else:
        params = exercise_sequence(avatar.rig.expr_names, avatar.rig.joint_names, args.frames)
        idx = np.arange(args.frames)
        what = f"{args.frames} frames of the built-in sequence"
    print(f"{args.avatar}: {avatar.n:,} Gaussians; {what}; {args.size}x{args.size}; browser GL: {args.gl}", flush=True)

    def show(fr):
        print(f"  frame {fr.frame:4d}  head PSNR {fr.psnr_head:6.2f} dB  (whole image {fr.psnr:6.2f} dB)"
              f"  browser {fr.browser_ms:6.1f} ms  reference {fr.reference_ms / 1000:5.2f} s", flush=True)

    result = verify_avatar(args.avatar, params, size=args.size, gl=args.gl, yaw_deg=args.yaw, pitch_deg=args.pitch,
                           on_frame=show, reference_backend=args.backend,
                           save_dir=Path(args.save) if args.save else None, frame_numbers=idx)
    print(f"browser renderer: {result.renderer}")
    bad = [f.frame for f in result.frames if not f.psnr_head >= args.min_psnr]
    summary = (f"head PSNR min {result.min_psnr:.2f} dB, mean {result.mean_psnr:.2f} dB over {len(result.frames)} "
               f"frames (whole image: min {result.min_psnr_image:.2f} dB)")
    if bad:
        print(f"FAILED: {summary}; {len(bad)} frame(s) under {args.min_psnr:g} dB: {', '.join(map(str, bad[:20]))}",
              file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"OK: {summary}, threshold {args.min_psnr:g} dB")
    return EXIT_OK


entry = entry_point(main)

if __name__ == "__main__":
    entry()
