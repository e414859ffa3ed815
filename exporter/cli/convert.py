"""``lam-convert``: between the official LAM web avatar (OpenAvatarChat ``.zip``), ``.lam`` and ``.ply``.

    lam-convert avatar.zip -o avatar.lam      # ~4x smaller; this viewer plays it with ARKit motions
    lam-convert avatar.zip -o avatar.ply      # the Gaussians at rest, standard 3DGS layout
    lam-convert avatar.lam -o avatar.zip      # for the official renderer / OpenAvatarChat (ARKit rigs)
    lam-convert avatar.lam -o avatar.ply
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from lam_core.atomic import check_writable

from . import ToolParser, UsageError, add_version, entry_point

INPUTS = (".zip", ".lam")
OUTPUTS = (".lam", ".ply", ".zip")


def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(prog="lam-convert",
                description="Convert an avatar between the official LAM web zip (skin.glb + offset.ply + "
                            "animation.glb), the compact .lam and a standard 3DGS .ply. No FBX SDK, no Blender.")
    p.add_argument("input", help="avatar: official LAM .zip or .lam")
    p.add_argument("-o", "--output", required=True, help="output .lam, .ply or .zip (by its extension)")
    p.add_argument("--lossless", action="store_true", help=".lam output: keep every value as float32")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    add_version(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    src, out = Path(args.input).expanduser(), Path(args.output).expanduser()
    if src.suffix.lower() not in INPUTS:
        raise UsageError(f"input {src}: unknown extension {src.suffix or '(none)'!r} (expected .zip or .lam)")
    kind = out.suffix.lower()
    if kind not in OUTPUTS:
        raise UsageError(f"output {out}: unknown extension {out.suffix or '(none)'!r} (expected .lam, .ply or .zip)")
    if kind == src.suffix.lower():
        raise UsageError(f"{src} is already a {kind} file")
    if args.lossless and kind != ".lam":
        raise UsageError("--lossless applies to .lam output only")
    check_writable(out)
    from ..official_zip.convert import convert

    report = convert(src, out, lossless=args.lossless)
    if not args.quiet:
        print(report, file=sys.stderr)
    return 0


entry = entry_point(main)

if __name__ == "__main__":
    entry()
