"""The .lam target: the quantised .lam of the 20,018-Gaussian FLAME-layout avatar (synthetic stand-in:
FLAME's counts, 100 expressions, 36 pose correctives) is <= 1.5 MB and, rendered by the reference renderer
over 30 frames that move every parameter, matches the unquantised avatar at >= 40 dB PSNR in every frame."""

from __future__ import annotations

import pytest

from exporter.lamfile import decode_lam, encode_lam
from exporter.lamfile.fidelity import render_psnr
from lam_core.exercise import exercise_sequence
from lam_core.synthetic import synthetic_avatar


@pytest.mark.slow
def test_decoded_file_renders_like_the_float_avatar():
    avatar = synthetic_avatar(1)
    data = encode_lam(avatar)
    assert len(data) <= 1_500_000
    psnr = render_psnr(avatar, decode_lam(data).avatar, exercise_sequence(avatar.rig.expr_names, frames=30), size=512)
    assert len(psnr) == 30
    assert psnr.min() >= 40.0, f"per-frame PSNR {psnr.round(1).tolist()}"
    print(f"\n.lam {len(data):,} bytes; PSNR vs float over 30 frames: min {psnr.min():.2f} dB, mean {psnr.mean():.2f} dB")
