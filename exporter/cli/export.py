"""``lam-export``: turn a photo into a ``.lam`` avatar, or inspect one.

    lam-export photo.jpg -o avatar.lam [--flame-model FLAME.pkl [--landmark-embedding EMB.npz]]
               [--weights model.safetensors [--device cpu|cuda] | --onnx lam.onnx]
               [--points 20k|80k] [--ply avatar.ply] [--preview sheet.png] [--quiet] [-v]
    lam-export --inspect avatar.lam           # header and per-chunk sizes (raw and stored); checks the file
    lam-export --inspect avatar.lam --json    # the same as JSON

Exit codes: 0 written, 2 bad input (not an image, no face, unreadable model, unwritable output), 130
interrupted. No partial output is ever left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Sequence

from exporter.cli import EXIT_OK, add_version, entry_point
from exporter.photo_export import POINTS, export_photo
from lam_core.flame import FLAME_ENV

# torch and the .lam reader are imported where they are used: lam-export reads the photo while they import


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lam-export", description="Export a photo to a .lam avatar, or inspect one.")
    p.add_argument("input", nargs="?", metavar="PHOTO", help="photo to export (JPEG, PNG, WebP, ...)")
    p.add_argument("-o", "--output", metavar="FILE.lam", help="where to write the avatar (.lam; or .zip: the official "
                                                             "LAM web avatar, for the official renderer)")
    p.add_argument("--flame-model", metavar="PATH", default=os.environ.get(FLAME_ENV) or None,
                   help=f"build a FLAME head from this FLAME file (default: ${FLAME_ENV} if set, else the "
                        "embedded open head)")
    p.add_argument("--landmark-embedding", metavar="NPZ",
                   help="MediaPipe landmark embedding for the FLAME model (mediapipe_landmark_embedding.npz); "
                        "computed from MediaPipe's canonical face when omitted")
    p.add_argument("--weights", metavar="model.safetensors",
                   help="reconstruct with LAM's network from this checkpoint (LAM-20K, the user's file; "
                        "FLAME from the checkpoint unless --flame-model is given)")
    p.add_argument("--onnx", metavar="FILE.onnx", help="reconstruct with LAM's network exported by lam-onnx "
                                                       "(onnxruntime; needs --flame-model)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="with --weights: run the network on the CPU (float32) or a GPU (bfloat16)")
    p.add_argument("--points", choices=sorted(POINTS), default="20k",
                   help="Gaussians: one (20k) or two (80k) subdivisions of the head mesh")
    p.add_argument("--ply", metavar="FILE.ply", help="also write a standard 3DGS PLY (neutral pose)")
    p.add_argument("--preview", metavar="FILE.png", help="also write a labelled contact sheet: photo, front, "
                                                         "+-45 degrees of yaw, 20 above and below, behind, jaw open")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("-v", "--verbose", action="store_true", help="print each stage's time")
    p.add_argument("--inspect", metavar="FILE.lam", help="print a .lam file's header and chunk sizes, and check it")
    p.add_argument("--json", action="store_true", help="with --inspect: print JSON")
    add_version(p)
    return p


def inspect(path: str, as_json: bool) -> int:
    from exporter.lamfile import read_lam
    from exporter.lamfile.reader import inspect_lam
    from exporter.lamfile.summary import format_summary, summary

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
    if args.output is None:
        parser.error("give the output file: -o FILE.lam")
    if args.device != "cpu" and not args.weights:
        parser.error("--device goes with --weights")
    return export(args)


def export(args: argparse.Namespace) -> int:
    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    report = export_photo(args.input, args.output, flame_model=args.flame_model,
                          landmark_embedding=args.landmark_embedding, points=args.points, ply=args.ply,
                          preview=args.preview, log=say if args.verbose else None, weights=args.weights,
                          onnx=args.onnx, device=args.device, say=None if args.quiet else say)
    total = time.perf_counter() - t0
    for note in report.notes:
        say(f"note: {note}")
    if args.verbose:
        for stage, seconds in report.timings.items():
            say(f"  {stage:<16} {seconds:6.2f} s")
    say(f"wrote {report.output} ({report.size_bytes / 1e6:.2f} MB, {report.n_gaussians:,} Gaussians, "
        f"{report.head}) in {total:.1f} s")
    for extra in (args.ply, args.preview):
        if extra:
            say(f"wrote {extra}")
    return EXIT_OK


entry = entry_point(main, skip_teardown=True)  # every output is renamed into place before main returns

if __name__ == "__main__":
    entry()
