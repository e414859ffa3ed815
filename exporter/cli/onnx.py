"""``lam-onnx``: the LAM network (from the released checkpoint) as an ONNX model for onnxruntime.

    lam-onnx --weights model.safetensors -o lam.onnx [--fp16] [--opset 17]

Writes ``lam.onnx`` and ``lam.onnx.data`` (the weights, external data). ``--fp16`` stores the weights as
float16 (half the size; arithmetic stays float32). Exit codes: 0 written, 2 bad input or output path.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

from exporter.cli import EXIT_OK, add_version, entry_point


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lam-onnx", description="Export the LAM network to ONNX.")
    p.add_argument("--weights", required=True, metavar="model.safetensors", help="the LAM-20K checkpoint")
    p.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="where to write the model")
    p.add_argument("--fp16", action="store_true", help="store the weights as float16")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (17 or newer)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    add_version(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from exporter.onnx_export import export_onnx
    from lam_core.atomic import check_writable
    from lam_core.network import load_lam_weights

    check_writable(args.output)
    t0 = time.perf_counter()
    net, _ = load_lam_weights(args.weights)
    paths = export_onnx(net, args.output, fp16=args.fp16, opset=args.opset)
    if not args.quiet:
        size = sum(p.stat().st_size for p in paths)
        print(f"wrote {paths[0]} and {paths[1].name} ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    return EXIT_OK


entry = entry_point(main)

if __name__ == "__main__":
    entry()
