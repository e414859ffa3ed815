"""examples/: what a newcomer copies from runs as its README says. The hand-written motion loads; the Python
script turns a photo into an avatar and a rendered frame; the page plays that avatar with that motion in
Chromium through <lam-avatar>."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lam_core import load_motion

from .conftest import BROWSER_MARKS, ROOT, VIEWER_BUNDLE

EXAMPLES = ROOT / "examples"


def test_committed_examples_are_in_git():
    tracked = subprocess.run(["git", "ls-files", "examples"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    for name in ("README.md", "embed.html", "photo_to_avatar.py", "motions/smile_nod.json"):
        assert f"examples/{name}" in tracked


def test_hand_written_motion():
    m = load_motion(EXAMPLES / "motions" / "smile_nod.json")
    assert m.n_frames == 9 and m.fps == pytest.approx(4.0)
    assert "mouthSmileLeft" in m.channel_names and np.abs(m.pose[:, 0]).max() > 0.1  # the head nods and turns


@pytest.fixture(scope="module")
def example_out(tmp_path_factory):
    from skimage import data

    d = tmp_path_factory.mktemp("example")
    Image.fromarray(data.astronaut()).save(d / "photo.png")
    r = subprocess.run([sys.executable, str(EXAMPLES / "photo_to_avatar.py"), str(d / "photo.png"), str(d / "out")],
                       capture_output=True, text=True, timeout=600, cwd=d)
    assert r.returncode == 0, r.stderr[-3000:]
    return d / "out", r.stdout


def test_python_example(example_out):
    out, stdout = example_out
    assert (out / "avatar.lam").stat().st_size > 100_000 and "Gaussians" in stdout
    img = np.asarray(Image.open(out / "smile.png").convert("RGB"))
    assert img.shape == (512, 512, 3)
    head = (img < 240).any(2)
    assert 0.05 < head.mean() < 0.9, "the rendered frame shows a head on a white background"


def test_embed_page(example_out, browser, tmp_path):
    from exporter.browser import serve_in_thread
    from exporter.server import create_app

    site = tmp_path / "site"
    (site / "motions").mkdir(parents=True)
    shutil.copy(EXAMPLES / "embed.html", site)
    shutil.copy(EXAMPLES / "motions" / "smile_nod.json", site / "motions")
    shutil.copy(VIEWER_BUNDLE.parent / "lam-viewer.js", site)
    shutil.copy(example_out[0] / "avatar.lam", site / "avatar.lam")
    app = create_app([], None, static_mounts={"site": site})
    with serve_in_thread(app) as url:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        try:
            page.goto(url + "site/embed.html")
            page.wait_for_function("document.getElementById('status').textContent.startsWith('playing')"
                                   " || document.getElementById('status').textContent.startsWith('error')",
                                   timeout=120_000)
            status = page.evaluate("document.getElementById('status').textContent")
            assert status == "playing", status  # the open head has every ARKit channel the motion names
            page.wait_for_timeout(500)
            shot = np.asarray(Image.open(io.BytesIO(page.locator("lam-avatar").screenshot())))
        finally:
            page.close()
    assert errors == []
    assert (shot[..., :3] < 200).any(2).mean() > 0.05, "the avatar is drawn in the element"


for _mark in BROWSER_MARKS:  # the browser test's marks (Chromium and the viewer bundle present)
    test_embed_page = _mark(test_embed_page)
