"""The lam-serve page in headless Chromium (SwiftShader) with the upload service on (docs/service.md):

* a photo uploaded through the page goes through its stages, the avatar is drawn (pixels), and the .lam the
  page downloads opens with ``lam-export --inspect``;
* on a 375x812 phone viewport the bar is one row, every control (the menu's too) is at least 44 px tall and
  no two overlap; the same at 1280x800;
* a file that is not a photo is refused in words, once.
"""

from __future__ import annotations

import subprocess
import sys
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from exporter.browser import serve_in_thread
from exporter.server import create_app
from exporter.service import Limits
from exporter.service.local_queue import LocalQueue
from lam_core.example_motions import write_example_motions

from .conftest import BROWSER_MARKS, ROOT

pytestmark = BROWSER_MARKS

CONTROLS = "button, select, input:not([type=file]):not([type=checkbox]), label.check"
LAYOUT = """sel => [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => { const r = e.getBoundingClientRect(); return {id: e.id || e.textContent.trim().slice(0, 20), x: r.x, y: r.y, w: r.width, h: r.height}; })"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, photo_lam):
    d = tmp_path_factory.mktemp("page")
    write_example_motions(d / "motions")
    Image.fromarray(__import__("skimage").data.astronaut()).save(d / "astronaut.png")
    backend = LocalQueue(d / "jobs", Limits(max_queue=4))
    app = create_app([photo_lam], d / "motions", service=backend)
    with serve_in_thread(app) as url:
        yield url, d
    backend.close()


def _overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["x"] + a["w"] > b["x"] + 0.5 and b["x"] + b["w"] > a["x"] + 0.5 and \
               a["y"] + a["h"] > b["y"] + 0.5 and b["y"] + b["h"] > a["y"] + 0.5:
                out.append((a["id"], b["id"]))
    return out


def _check_layout(page, width: int) -> None:
    bar = page.locator("#bar").bounding_box()
    controls = page.evaluate(LAYOUT, CONTROLS)
    assert len(controls) >= 7, controls   # avatar, photo, camera, more, play, scrub, motion
    small = [c for c in controls if c["h"] < 44 - 0.01 or c["w"] < 44 - 0.01]
    assert not small, f"controls under 44 px: {small}"
    assert not _overlaps(controls), _overlaps(controls)
    assert all(c["x"] >= -0.5 and c["x"] + c["w"] <= width + 0.5 for c in controls), "a control is off screen"
    in_bar = page.evaluate(LAYOUT, "#bar > *:not([hidden]), #bar .group > *")
    tops = {round(c["y"]) for c in in_bar if c["h"] >= 44}
    assert max(tops) - min(tops) <= 2, f"the bar wraps: {in_bar}"
    assert bar["height"] <= 60, bar
    # the menu: its items too
    page.click("#more")
    menu = page.evaluate(LAYOUT, "#menu > *:not([hidden])")
    assert len(menu) >= 5 and all(m["h"] >= 44 - 0.01 for m in menu), menu
    assert not _overlaps(menu), _overlaps(menu)
    page.keyboard.press("Escape")
    assert page.locator("#menu").is_hidden()


@pytest.mark.parametrize("width,height", [(375, 812), (1280, 800)])
def test_controls_are_44px_one_row_and_do_not_overlap(browser, site, width, height):
    url, _ = site
    ctx = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 500,
                              is_mobile=width < 500, device_scale_factor=2 if width < 500 else 1)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}?test=1&avatar=astronaut.lam&motion=talk")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    assert page.evaluate("window.lamViewer.error") is None
    assert page.locator("#photo").is_visible()
    assert page.locator("#motion").input_value().endswith("talk.json")
    _check_layout(page, width)
    # the play button keeps its size when it turns into pause (the scrub bar does not jump)
    w0 = page.locator("#play").bounding_box()["width"]
    page.click("#play")
    assert page.locator("#play").bounding_box()["width"] == pytest.approx(w0, abs=0.5)
    assert not errors, errors
    ctx.close()


def test_upload_a_photo_in_the_page_and_download_the_lam(browser, site, tmp_path):
    url, d = site
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}?test=1&avatar=nothing-yet.lam")       # no avatar shown: the welcome card
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    assert page.locator("#welcome").is_visible()
    assert page.evaluate("window.lamViewer.viewer.avatar") is None

    page.locator("#photofile").set_input_files(str(d / "astronaut.png"))
    page.wait_for_selector("#job:not([hidden])", timeout=10_000)
    seen_in_page = set()
    for _ in range(600):
        seen_in_page |= set(page.evaluate("[...document.querySelectorAll('#job-stages li.now')].map(l => l.dataset.stage)"))
        if page.evaluate("window.lamViewer.lastJob().state") in ("done", "failed"):
            break
        page.wait_for_timeout(100)
    job = page.evaluate("window.lamViewer.lastJob()")
    assert job["state"] == "done", job
    # the page learnt every stage from the server's history, however short, and showed the job live
    working = ["photo", "face", "fit", "gaussians", "writing"]
    assert [s for s in job["stages"] if s in working] == working, job
    assert seen_in_page & set(working), seen_in_page
    page.wait_for_function("window.lamViewer.viewer.avatar && document.querySelector('#job').hidden", timeout=60_000)
    assert page.locator("#avatar option:checked").inner_text() == "astronaut.lam"
    assert "ready" in page.locator("#notice").inner_text()

    # the avatar is drawn: a head-sized patch of non-white pixels in the middle of the view
    page.evaluate("window.lamViewer.renderNow()")
    png = page.locator("#stage canvas").screenshot()
    rgb = np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)
    fg = np.abs(rgb - 255).sum(-1) > 40
    h, w = fg.shape
    assert fg.mean() > 0.03, f"only {fg.mean():.3f} of the view is drawn"
    assert fg[h // 4:3 * h // 4, w // 4:3 * w // 4].mean() > 0.1

    page.click("#more")
    with page.expect_download(timeout=30_000) as dl:
        page.click("#dl-lam")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "astronaut.lam"
    out = subprocess.run([sys.executable, "-m", "exporter.cli.export", "--inspect", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "astronaut" in out.stdout
    page.click("#more")
    with page.expect_download(timeout=30_000) as dl:
        page.click("#dl-ply")
    assert dl.value.suggested_filename == "astronaut.ply"
    assert not errors, errors
    ctx.close()


def test_a_file_that_is_not_a_photo_is_refused_in_words(browser, site):
    url, _ = site
    page = browser.new_page()
    page.goto(f"{url}?test=1&avatar=astronaut.lam")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    page.locator("#photofile").set_input_files(files=[{"name": "holiday.jpg", "mimeType": "image/jpeg",
                                                       "buffer": b"this is not a jpeg" * 50}])
    page.wait_for_function("document.querySelector('#notice').classList.contains('error')", timeout=30_000)
    assert page.locator("#notice").inner_text() == "holiday.jpg: not an image (send a JPEG, PNG or WebP photo)"
    assert page.locator("#job").is_hidden()
    assert page.evaluate("window.lamViewer.viewer.avatar") is not None    # the avatar shown before stays
    page.close()


def test_record_a_clip_of_the_view(browser, site, tmp_path):
    url, _ = site
    ctx = browser.new_context(viewport={"width": 640, "height": 640}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{url}?test=1&idle=1&avatar=astronaut.lam&motion=talk")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    page.click("#more")
    page.click("#clip")
    assert page.locator("#notice").inner_text().startswith("Recording a clip")
    page.wait_for_timeout(2000)
    page.click("#more")
    assert page.locator("#clip").inner_text().startswith("Stop clip")
    with page.expect_download(timeout=30_000) as dl:
        page.click("#clip")
    name = dl.value.suggested_filename
    assert name.startswith("astronaut-") and name.endswith((".webm", ".mp4")), name
    path = tmp_path / name
    dl.value.save_as(path)
    data = path.read_bytes()
    assert len(data) > 2000 and data[:4] == b"\x1a\x45\xdf\xa3", "a WebM (EBML) file"
    import imageio.v3 as iio

    frames = list(iio.imiter(path, extension=".webm"))
    assert len(frames) >= 5, len(frames)
    mid = frames[len(frames) // 2]
    assert (np.abs(mid.astype(int) - 255).sum(-1) > 40).mean() > 0.03, "the clip shows the avatar"
    assert page.locator("#notice").inner_text().startswith(f"Saved {name}")
    ctx.close()
