"""The official renderer (npm gaussian-splat-renderer-for-lam 0.0.8, in the system Chromium) loads and plays
the zips this project writes: a synthetic ARKit avatar, and the sample avatar after zip -> .lam -> zip."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from exporter.browser import chromium, serve_in_thread
from exporter.cli import run
from exporter.cli.convert import main as convert_main
from exporter.official_zip.official_renderer import official_app, open_official, package_build, screenshot
from exporter.official_zip.writer import write_official_zip
from lam_core.metrics import psnr

from .conftest import BROWSER_MARKS
from .official_zip_support import arkit_avatar

pytestmark = BROWSER_MARKS + [
    pytest.mark.slow,
    pytest.mark.skipif(package_build() is None, reason="npm package gaussian-splat-renderer-for-lam is not installed"),
]
GL = "llvmpipe" if shutil.which("Xvfb") else "swiftshader"


def _foreground(img: np.ndarray) -> float:
    return float((img.min(2) < 0.8).mean())


def _draw(playwright, zip_path, seq_path=None, query="freeze=1", later_s=()):
    """Screenshots of the official renderer drawing ``zip_path``: once ready, and then each of ``later_s``
    seconds after that (``playwright``: the session's driver; its sync API cannot be started twice in one
    process)."""
    import time

    app = official_app(zip_path, seq_path)
    with serve_in_thread(app) as url, chromium(GL, playwright=playwright) as browser:
        page = open_official(browser, url, zip_path.name, query)
        start = time.monotonic()
        first = screenshot(page)
        later = []
        for t in later_s:
            time.sleep(max(start + t - time.monotonic(), 0.0))
            later.append(screenshot(page))
        return first, later


def test_official_renderer_plays_a_written_synthetic_avatar(tmp_path, playwright_instance):
    av = arkit_avatar(levels=1)
    path = tmp_path / "synth.zip"
    write_official_zip(path, av, name="synth")
    jaw = av.rig.expr_names.index("jawOpen")
    names = list(av.rig.expr_names)
    frames = [{"weights": [float(abs(np.sin(i / 6.0))) * 3.0 if k == jaw else 0.0 for k in range(len(names))],
               "time": i / 30} for i in range(120)]
    seq = tmp_path / "seq.json"
    seq.write_text(json.dumps({"names": names, "frames": frames}))
    # the jaw opens and closes every 0.63 s (|sin(5 t)|) and the curve loops every 4 s: screenshots a third of
    # that period apart, not one loop on (that one showed the first frame's pose again, give or take the
    # screenshots' latency), so at least one shows the jaw elsewhere whatever the phase
    first, later = _draw(playwright_instance, path, seq, query="seq=1", later_s=(1.0, 1.21, 1.42))
    assert _foreground(first) > 0.02, "the written avatar is not drawn where the official camera looks"
    moved = [float(np.abs(first - shot).max()) for shot in later]
    assert max(moved) > 0.1, f"the ARKit curve does not move the written avatar: {moved}"


def test_sample_round_trip_plays_in_the_official_renderer(shared_data, tmp_path, playwright_instance):
    src = shared_data / "lam_official" / "p2-1.zip"
    if not src.is_file():
        pytest.skip(f"sample {src} is not present")
    lam, back = tmp_path / "p2-1.lam", tmp_path / "back.zip"
    assert run(convert_main, [str(src), "-o", str(lam), "--quiet"]) == 0
    assert run(convert_main, [str(lam), "-o", str(back), "--quiet"]) == 0
    original, _ = _draw(playwright_instance, src)
    written, _ = _draw(playwright_instance, back)
    assert _foreground(written) > 0.05
    # the same renderer, camera and neutral pose: only the .lam's quantisation differs
    assert psnr(original, written) >= 30


def test_converted_sample_passes_lam_verify_playing_arkit(shared_data, tmp_path, playwright_instance):
    """Acceptance: this viewer draws the converted avatar as the reference renderer does (>= 35 dB) while it
    plays the ARKit speech sequence (a few frames here; lam-verify --motion plays any number)."""
    from exporter.verify import verify_avatar
    from lam_core.motion import load_motion
    from lam_core.params import FrameParams
    from exporter.lamfile import read_lam

    src, seq = shared_data / "lam_official" / "p2-1.zip", shared_data / "lam_official" / "arkit_speech_973f.json"
    if not src.is_file() or not seq.is_file():
        pytest.skip("sample official avatar or ARKit sequence not present")
    lam = tmp_path / "p2-1.lam"
    assert run(convert_main, [str(src), "-o", str(lam), "--quiet"]) == 0
    rig = read_lam(lam).avatar.rig
    params, _ = load_motion(seq).params_for(rig.expr_names, rig.joint_names)
    pick = [150, 480, 800]
    with chromium(GL, playwright=playwright_instance) as browser:
        result = verify_avatar(lam, FrameParams(params.expr[pick], params.pose[pick], params.translation[pick]),
                               size=256, gl=GL, reference_backend="cpu", ctx=browser)
    assert len(result.frames) == 3 and result.min_psnr >= 35
