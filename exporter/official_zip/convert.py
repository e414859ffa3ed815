"""What ``lam-convert`` does: load either kind of avatar, write the kind the output's extension names."""

from __future__ import annotations

from pathlib import Path

from lam_core.gaussians import GaussianAvatar

from ..lamfile import Quantisation

# .lam quantisation for converted official avatars: 7-bit morph deltas (per channel over its range) keep the
# file under 1.0 MB (965 KB for the 20K sample against 1.03 MB at the default 8 bits) at a posed-centre error
# of 0.2 mm; benchmarks/bench_official_zip.py prints the PSNR over the ARKit sequence
OFFICIAL_QUANTISATION = Quantisation(basis_bits=7)


def load_rigged(path: Path) -> tuple[GaussianAvatar, bool]:
    """A .zip (official) or .lam avatar as a GaussianAvatar, and whether it came from an official zip."""
    if path.suffix.lower() == ".zip":
        from .reader import read_official_zip

        return read_official_zip(path, motions=False).to_avatar(), True
    from ..avatar_io import load_avatar

    return load_avatar(path), False


def convert(src: Path, out: Path, lossless: bool = False) -> str:
    """Convert ``src`` to ``out`` (by extension); returns a one-line report."""
    avatar, official = load_rigged(src)
    kind = out.suffix.lower()
    notes: list[str] = []
    if kind == ".lam":
        from ..lamfile import write_lam

        q = OFFICIAL_QUANTISATION if official else None
        size = write_lam(out, avatar, lossless=lossless, quantisation=q, meta={"converted_from": src.name})
    elif kind == ".ply":
        from ..ply import write_ply

        g = avatar.gaussians
        write_ply(out, avatar.canonical_means(), g.rotations, g.scales, g.colors, g.opacities)
        size = out.stat().st_size
    else:
        from .writer import write_official_zip

        size, notes = write_official_zip(out, avatar, name=out.stem)
    extra = f"; {'; '.join(notes)}" if notes else ""
    return (f"wrote {out} ({size / 1e6:.2f} MB, {avatar.n:,} Gaussians, {avatar.rig.n_expr} expression channels; "
            f"{src.name} is {src.stat().st_size / 1e6:.2f} MB){extra}")
