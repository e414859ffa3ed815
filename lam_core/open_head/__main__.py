"""``python -m lam_core.open_head --info [--sheet out.png]``: describe the open head, draw a contact sheet."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from .. import __version__
from ..errors import LamError
from ..subdivision import subdivide
from .head_mesh import REGIONS, SKIN
from .mesh_ops import boundary_loops
from .model import load_open_head_parts
from .render import VIEWS, contact_sheet, write_png

REGION_COLOURS = {"face": (0.87, 0.72, 0.62), "cranium": (0.80, 0.66, 0.57), "socket_r": (0.45, 0.22, 0.2),
                  "socket_l": (0.45, 0.22, 0.2), "mouth": (0.3, 0.07, 0.07), "eyeball_l": (0.95, 0.95, 0.95),
                  "eyeball_r": (0.95, 0.95, 0.95), "teeth_upper": (0.97, 0.95, 0.85),
                  "teeth_lower": (0.97, 0.95, 0.85)}


def face_colours(head) -> np.ndarray:
    reg = head.vertex_region[head.model.faces]
    r = np.where((reg == 0).any(1), 0, reg[:, 0])
    return np.array([REGION_COLOURS[n] for n in REGIONS])[r]


def describe(head, seconds: float) -> list[str]:
    m = head.model
    skin = np.isin(head.vertex_region[m.faces[:, 0]], [REGIONS.index(r) for r in SKIN])
    holes = boundary_loops(m.faces[skin])
    n_lmk = sum(1 for n in m.expr_names if n.startswith("lmk_"))
    basis_mb = (m.shapedirs.shape[2] + m.exprdirs.shape[2] - 3 * 468) * m.n_vertices * 3 * 4 / 2 ** 20
    once = subdivide(m.faces, m.n_vertices, 1).n_fine
    twice = subdivide(m.faces, m.n_vertices, 2).n_fine
    parts = ", ".join(f"{r} {int((head.vertex_region == i).sum())}" for i, r in enumerate(REGIONS))
    return [
        f"{m.name}: {m.n_vertices} vertices, {len(m.faces)} triangles (metres, y up, z forward)",
        f"  parts (vertices): {parts}",
        f"  skin openings: {len(holes)} (neck base, {', '.join(str(len(h)) for h in holes)} edges); "
        f"eyeballs and teeth: 4 closed meshes",
        f"  joints: {m.n_joints} ({', '.join(m.joint_names)}), parents {m.parents}",
        f"  expression channels: {m.n_expr} ({n_lmk} landmark channels lmk_000_x..lmk_467_z, "
        f"{m.n_expr - n_lmk} ARKit: {', '.join(m.expr_names[n_lmk:])})",
        f"  shape components: {m.n_shape} ({', '.join(m.shape_names[:5])}, then the landmark displacements)",
        f"  pose correctives: {m.posedirs.shape[2]} (all zero)",
        f"  landmarks: {len(m.landmarks.ids)} (0..467 on their own vertices, 468..477 on the eyeballs)",
        f"  subdivided points: {once} once, {twice} twice",
        f"  bases in memory: {basis_mb:.0f} MiB (shape and expression share the landmark field)",
        f"  cache: {head.cache_file} ({seconds:.2f} s to load)",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lam_core.open_head", description=__doc__.splitlines()[0])
    ap.add_argument("--info", action="store_true", help="print vertex, face, joint and channel counts")
    ap.add_argument("--sheet", metavar="PNG", help="write a turntable contact sheet (front, 3/4, side, back, top)")
    ap.add_argument("--size", type=int, default=320, help="pixels per view (default 320)")
    ap.add_argument("--rebuild", action="store_true", help="build anew even if the cache has it")
    ap.add_argument("--cache-dir", metavar="DIR", help="cache folder (default $LAM_CACHE_DIR or ~/.cache/lam-avatar)")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = ap.parse_args(argv)
    if not (args.info or args.sheet):
        ap.error("nothing to do: give --info and/or --sheet PNG")
    if not 32 <= args.size <= 2048:
        raise LamError(f"--size {args.size}: expected 32..2048 pixels")
    t = time.perf_counter()
    head = load_open_head_parts(args.cache_dir, rebuild=args.rebuild)
    seconds = time.perf_counter() - t
    if args.info:
        print("\n".join(describe(head, seconds)))
    if args.sheet:
        m = head.model
        image = contact_sheet(m.v_template, m.faces, face_colours(head), size=args.size)
        write_png(args.sheet, image, tuple(name for name, _, _ in VIEWS))
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
