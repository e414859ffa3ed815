"""``lam-track``: a video of a face -> a motion the viewer, ``<lam-avatar motion=...>`` and ``lam-render`` play.

    lam-track VIDEO -o motion.json|motion.npz [--avatar avatar.lam] [--neutral START-END] [--max-side PX]
              [--quiet]

The face is tracked by MediaPipe (video mode) and solved by the page's webcam solver (run by Node), relative
to a neutral-face window found automatically or given in seconds (exporter/video_track.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from lam_core.atomic import check_writable
from lam_core.motion import MAX_JSON_BYTES, save_motion

from ..video_track import MAX_TRACK_SIDE, parse_window, track
from . import ToolParser, UsageError, add_version, entry_point, output_path

OUTPUTS = (".json", ".npz")


def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(prog="lam-track",
                description="Track the face in a video and solve it into avatar parameters: a lam-motion JSON "
                            "(or a FLAME-layout .npz) that the viewer page and lam-render --motion play.")
    p.add_argument("video", help="a video ffmpeg reads (mp4, webm, mov, ...)")
    p.add_argument("-o", "--output", required=True, help="output motion: .json (lam-motion) or .npz (stacked FLAME "
                                                         "layout; named channels beside expr)")
    p.add_argument("--avatar", help=".lam avatar to solve for (its channels: FLAME expr_NN, ARKit names, the open "
                                    "head's landmark channels); default: the open head")
    p.add_argument("--neutral", metavar="START-END",
                   help="seconds of the video showing a neutral face to calibrate on (default: found "
                        "automatically, the steadiest frontal closed-mouth second)")
    p.add_argument("--max-side", type=int, default=MAX_TRACK_SIDE,
                   help=f"frames longer than this (pixels) are downscaled before tracking (default {MAX_TRACK_SIDE})")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_version(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = output_path(args.output, OUTPUTS)
    check_writable(out)
    if not 64 <= args.max_side <= 8192:
        raise UsageError(f"--max-side {args.max_side}: expected 64..8192 pixels")
    neutral = parse_window(args.neutral) if args.neutral else None
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    report = track(args.video, args.avatar, neutral, args.max_side, progress=not args.quiet, log=log)
    save_motion(report.motion, out)
    if log and out.suffix.lower() == ".json" and out.stat().st_size > MAX_JSON_BYTES:
        log(f"note: {out} is {out.stat().st_size / 2**20:.0f} MiB, over the {MAX_JSON_BYTES >> 20} MiB of JSON that "
            "lam_core.load_motion (lam-render) reads: write .npz for a video this long")
    if log:
        for line in report.lines():
            log(line)
        log(f"wrote {out} ({report.motion.n_frames} frames at {report.motion.fps:g} fps)")
    return 0


entry = entry_point(main)

if __name__ == "__main__":
    entry()
