"""``lam-render``: stills, turntables and motion videos of an avatar with the reference renderer.

    lam-render AVATAR [--motion MOTION] -o out.mp4|out.png [--size 512] [--orbit DEG] [--frames N] [--fps F]
               [--yaw DEG] [--pitch DEG] [--frame K] [--backend auto|cpu|gsplat]
               [--background white|black|R,G,B] [--beside VIDEO] [--quiet]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Sequence

from lam_core.motion import load_motion
from lam_core.render import BACKENDS

from ..avatar_io import load_avatar
from ..render_avatar import render_still, render_video
from . import ToolParser, UsageError, add_version, entry_point, output_path

OUTPUTS = (".png", ".mp4")


def parse_background(text: str) -> tuple[float, float, float]:
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
    if text.lower() in named:
        return named[text.lower()]
    try:
        rgb = tuple(float(x) for x in text.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in rgb):
        raise UsageError(f"--background {text!r}: expected white, black or R,G,B with values in [0, 1]")
    return rgb  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(
        prog="lam-render",
        description="Render an avatar (.lam: animatable; .ply: static) to a PNG still or an MP4 video (a motion, a "
                    "turntable, or both) with the reference renderer (gsplat on CUDA, the same maths on the CPU).")
    p.add_argument("avatar", help="avatar file (.ply: static 3D Gaussian Splatting; .lam: animatable)")
    p.add_argument("-o", "--output", required=True, help="output .png (a still) or .mp4 (a video)")
    p.add_argument("--motion", help="motion to play: FLAME .npz, VHAP flame_param/ folder or transforms.json, "
                                    "ARKit .json, lam-motion .json (lam-track, the page's recordings)")
    p.add_argument("--size", type=int, default=512, help="image width and height in pixels (default 512)")
    p.add_argument("--orbit", type=float, help="degrees of yaw the camera sweeps over the video (default 360 "
                                               "without a motion, 0 with one)")
    p.add_argument("--frames", type=int, help="frames of the video (default: the whole motion, or 120 for a "
                                              "turntable)")
    p.add_argument("--fps", type=float, help="frame rate of the video (default: the motion's, or 30)")
    p.add_argument("--yaw", type=float, default=0.0, help="camera yaw in degrees (0: facing the avatar; positive "
                                                          "turns towards the avatar's left)")
    p.add_argument("--pitch", type=float, default=0.0, help="camera pitch in degrees (positive: from above)")
    p.add_argument("--view", choices=("orbit", "photo"), default="orbit",
                   help="orbit: a camera framed on the head (default); photo: the camera of the photo a .lam was "
                        "exported from (--yaw/--pitch turn it about the head, --size is its longer side), the "
                        "avatar in the photo's pose unless --motion is given")
    p.add_argument("--frame", type=int, default=0, help="for a still with --motion: which frame (default 0)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto (gsplat where CUDA is present, else cpu), cpu or gsplat")
    p.add_argument("--background", default="white", help="white, black or R,G,B in [0, 1] (default white)")
    p.add_argument("--beside", metavar="VIDEO",
                   help="with --motion and an .mp4: show this video (e.g. the one lam-track tracked) to the left "
                        "of the avatar, frame for frame")
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes")
    add_version(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = output_path(args.output, OUTPUTS)
    kind = out.suffix.lower()
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: directory {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise UsageError(f"cannot write {out}: directory {out.parent} is not writable")
    if kind == ".png":
        for flag in ("orbit", "frames", "fps", "beside"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag} makes a video; write .mp4, or drop it for a .png still")
    if args.beside and not args.motion:
        raise UsageError("--beside shows the video a motion was tracked from: give --motion too")
    background = parse_background(args.background)
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    avatar = load_avatar(args.avatar)
    motion = load_motion(args.motion) if args.motion else None
    common = dict(motion=motion, size=args.size, yaw=args.yaw, pitch=args.pitch, background=background,
                  backend=args.backend, log=log)
    photo = None
    if args.view == "photo":
        if kind != ".png" or not str(args.avatar).lower().endswith(".lam"):
            raise UsageError("--view photo renders a .png still of a .lam avatar")
        from exporter.lamfile import read_lam

        photo = read_lam(args.avatar).photo
        if photo is None:
            raise UsageError(f"{args.avatar} records no photo camera (it was not exported from a photo)")
    if kind == ".png":
        report = render_still(avatar, out, frame=args.frame, photo=photo, **common)
    else:
        if args.frame != 0:
            raise UsageError("--frame picks the frame of a still; a video plays them all (use --frames to shorten)")
        report = render_video(avatar, out, orbit=args.orbit, frames=args.frames, fps=args.fps,
                              progress=not args.quiet, beside=args.beside, **common)
    if log:
        what = "1 image" if report.fps is None else f"{report.frames} frames at {report.fps:g} fps"
        log(f"wrote {report.path} ({what})")
    return 0


entry = entry_point(main)

if __name__ == "__main__":
    entry()
