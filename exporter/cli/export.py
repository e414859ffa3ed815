"""``lam-export``: turn a photo into a ``.lam`` avatar, or inspect one.

    lam-export --inspect avatar.lam           # header and per-chunk sizes (raw and stored); checks the file
    lam-export --inspect avatar.lam --json    # the same as JSON

Exporting a photo (``lam-export photo.jpg -o avatar.lam``) is added by the photo pipeline; the positional
INPUT and ``-o`` are reserved for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from exporter.cli import EXIT_OK, entry_point
from exporter.lamfile import read_lam
from exporter.lamfile.summary import format_summary, summary
from exporter.lamfile.reader import inspect_lam


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lam-export", description="Export a photo to a .lam avatar, or inspect one.")
    p.add_argument("input", nargs="?", metavar="INPUT", help="photo to export (not available yet)")
    p.add_argument("-o", "--output", metavar="FILE.lam", help="where to write the avatar")
    p.add_argument("--inspect", metavar="FILE.lam", help="print a .lam file's header and chunk sizes, and check it")
    p.add_argument("--json", action="store_true", help="with --inspect: print JSON")
    return p


def inspect(path: str, as_json: bool) -> int:
    container = inspect_lam(path)
    if as_json:
        print(json.dumps(summary(container), indent=1, ensure_ascii=False))
    else:
        print(format_summary(container, path))
    sys.stdout.flush()
    f = read_lam(path)  # decodes every chunk: a file that prints but does not decode still fails here
    if not as_json:
        print(f"  decoded: {f.avatar.n:,} Gaussians on {f.avatar.rig.n_vertices:,} base vertices, "
              f"{f.avatar.rig.n_expr} expression channels; the file is valid")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.inspect is not None:
        if args.input is not None or args.output is not None:
            parser.error("--inspect takes no INPUT or -o")
        return inspect(args.inspect, args.json)
    if args.json:
        parser.error("--json goes with --inspect")
    if args.input is None:
        parser.error("give a photo to export, or --inspect FILE.lam")
    parser.error("exporting a photo is not available yet in this build; --inspect FILE.lam reads .lam files")
    return 2


entry = entry_point(main)

if __name__ == "__main__":
    entry()
