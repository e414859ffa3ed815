"""The measurements behind the .lam quantisation defaults (docs/lam-format.md, "Quantisation").

For each variant (the defaults with one choice changed) on two 20,018-Gaussian FLAME-layout avatars it prints
the file size, the per-chunk sizes of what changed, the posed-centre error over the 30 probe frames, and the
PSNR of the decoded avatar rendered by the reference renderer against the unquantised one (30 frames, 512 px):

* ``synthetic``: lam_core.synthetic.synthetic_avatar(1), the FLAME-layout stand-in (FLAME cannot be shipped);
* ``synthetic+LAM``: the same rig carrying the real per-Gaussian attributes (offsets, colours, opacities,
  scales, rotations) of the official LAM sample avatar (../shared/data/lam_official/p2-1.zip, offset.ply),
  row for row. The rows do not correspond to our vertices, so it looks like a cloud, but every attribute has
  the distribution LAM produces: log-scales from -29.6 to -4.6, offsets up to 15 cm, opacities 0.001..0.999.

Run: .venv/bin/python benchmarks/study_lam_quantisation.py [--frames 30] [--size 512] [--only NAME ...]
     [--avatar synthetic synthetic+LAM]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from exporter.lamfile import Quantisation, decode_lam, encode_lam
from exporter.lamfile.fidelity import posed_errors, probe_yaws
from lam_core.exercise import exercise_sequence
from lam_core.gaussians import GaussianAvatar, Gaussians
from lam_core.synthetic import synthetic_avatar

ROOT = Path(__file__).resolve().parent.parent
LAM_ZIP = next((p for p in (d / "shared" / "data" / "lam_official" / "p2-1.zip" for d in (ROOT.parent, ROOT.parent.parent))
                if p.is_file()), ROOT.parent / "shared" / "data" / "lam_official" / "p2-1.zip")

VARIANTS: dict[str, Quantisation] = {
    "default": Quantisation(),
    "all 16-bit, f32 rotations": Quantisation(offset_bits=16, vertex_bits=16, color_bits=16, opacity_bits=16,
                                              scale_bits=16, basis_bits=16, rotation="f32"),
    "bases 6-bit": Quantisation(basis_bits=6),
    "bases 7-bit": Quantisation(basis_bits=7),
    "bases 10-bit": Quantisation(basis_bits=10),
    "bases 12-bit": Quantisation(basis_bits=12),
    "bases one step 40 um (i16)": Quantisation(basis_bits=16, basis_step=40e-6),
    "bases one step 20 um (i16)": Quantisation(basis_bits=16, basis_step=20e-6),
    "colour 6-bit": Quantisation(color_bits=6),
    "opacity 6-bit": Quantisation(opacity_bits=6),
    "scales 8-bit log-uniform": Quantisation(scale_table="log_uniform"),
    "scales 6-bit log-uniform": Quantisation(scale_bits=6, scale_table="log_uniform"),
    "scales 6-bit Lloyd-Max": Quantisation(scale_bits=6),
    "rotations f32": Quantisation(rotation="f32"),
    "offsets 12-bit": Quantisation(offset_bits=12),
    "vertices 12-bit": Quantisation(vertex_bits=12),
    "skin top-2": Quantisation(skin_k=2),
}


def lam_official_gaussians(zip_path: Path = LAM_ZIP) -> Gaussians | None:
    """The official sample avatar's per-Gaussian attributes (activated), or None when the zip is absent."""
    if not zip_path.is_file():
        return None
    from plyfile import PlyData

    with zipfile.ZipFile(zip_path) as z:
        name = next(n for n in z.namelist() if n.endswith("offset.ply") and "__MACOSX" not in n)
        d = PlyData.read(io.BytesIO(z.read(name))).elements[0].data
    col = lambda *k: np.stack([np.asarray(d[x], np.float64) for x in k], 1)  # noqa: E731
    q = col("rot_0", "rot_1", "rot_2", "rot_3")
    return Gaussians(
        offsets=col("x", "y", "z").astype(np.float32),
        colors=np.clip(col("f_dc_0", "f_dc_1", "f_dc_2"), 0, 1).astype(np.float32),
        opacities=(1 / (1 + np.exp(-np.asarray(d["opacity"], np.float64)))).astype(np.float32),
        scales=np.exp(col("scale_0", "scale_1", "scale_2")).astype(np.float32),
        rotations=(q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32),
    )


def avatars() -> dict[str, GaussianAvatar]:
    base = synthetic_avatar(1)
    out = {"synthetic": base}
    g = lam_official_gaussians()
    if g is not None and g.n == base.n:
        out["synthetic+LAM"] = GaussianAvatar(base.points, g)
    return out


class Renders:
    """Reference renders of one avatar over the probe, kept to compare many decoded variants with."""

    def __init__(self, avatar: GaussianAvatar, params, size: int):
        from lam_core.camera import avatar_camera

        self.params, self.size = params, size
        posed = avatar.animate(params)
        framing = posed.means.reshape(-1, 3).numpy()
        self.cameras = [avatar_camera(framing, yaw_deg=y, size=size) for y in probe_yaws(params.batch)]
        self.reference = self.render(posed)

    def render(self, posed) -> list:
        from lam_core.render import render_posed

        return [render_posed(posed, cam, frame=i).rgb for i, cam in enumerate(self.cameras)]

    def psnr(self, avatar: GaussianAvatar) -> np.ndarray:
        from lam_core.metrics import psnr

        imgs = self.render(avatar.animate(self.params))
        return np.array([psnr(a, b) for a, b in zip(self.reference, imgs)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    ap.add_argument("--avatar", nargs="*", help="avatars to run: synthetic, synthetic+LAM (default: both)")
    args = ap.parse_args(argv)
    variants = {k: v for k, v in VARIANTS.items() if not args.only or k in args.only}
    for label, avatar in avatars().items():
        if args.avatar and label not in args.avatar:
            continue
        params = exercise_sequence(avatar.rig.expr_names, frames=args.frames)
        t0 = time.perf_counter()
        renders = Renders(avatar, params, args.size)
        print(f"\n== {label}: {avatar.n:,} Gaussians, {args.frames} frames at {args.size} px "
              f"(reference renders {time.perf_counter() - t0:.0f} s)", flush=True)
        print(f"  {'variant':<30} {'bytes':>10} {'GAUS':>8} {'EXPR':>8} {'POSE':>8} {'centre rms/max um':>18} "
              f"{'PSNR min/mean dB':>17}")
        for name, q in variants.items():
            data = encode_lam(avatar, quantisation=q)
            f = decode_lam(data)
            sizes = {c.tag: c.stored_len for c in f.chunks}
            e = posed_errors(avatar, f.avatar, params)
            p = renders.psnr(f.avatar)
            print(f"  {name:<30} {len(data):>10,} {sizes['GAUS']:>8,} {sizes['EXPR']:>8,} {sizes['POSE']:>8,} "
                  f"{e['centre_rms_m'].max() * 1e6:>8.1f}/{e['centre_max_m'].max() * 1e6:<8.1f} "
                  f"{p.min():>8.2f}/{p.mean():<8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
