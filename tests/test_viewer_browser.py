"""The viewer in the system's headless Chromium (SwiftShader WebGL2; one browser for the module):

* lam-verify's comparison with the reference renderer, 30 frames of the built-in sequence (global rotation,
  translation, neck, jaw, eyes, expressions, pose correctives): >= 35 dB on every frame; a few frames on Mesa
  llvmpipe too, for each avatar in AVATARS: a synthetic FLAME-layout avatar and one exported from the example
  photo by the default reconstructor (the open head).
* a phone-sized touch viewport: loads without console errors, a one-finger drag orbits, a pinch zooms;
* corrupt avatar and motion files give a readable message in the page;
* example motions play and the page says which channels the avatar lacks.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from exporter.browser import chromium, serve_in_thread
from exporter.lamfile import write_lam
from exporter.server import create_app
from exporter.verify import open_viewer, verify_avatar
from lam_core.example_motions import write_example_motions
from lam_core.synthetic import synthetic_avatar

from .conftest import BROWSER_MARKS, ROOT

pytestmark = BROWSER_MARKS

# name -> function(folder) writing a .lam there and returning its path
def _photo_avatar(d):
    from PIL import Image
    from skimage import data

    from exporter.photo_export import export_photo

    photo = d / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    return export_photo(photo, d / "astronaut.lam").output


AVATARS = {
    "synthetic-flame-20k": lambda d: _write(d / "synthetic.lam", synthetic_avatar(1)),
    "photo-open-head-20k": _photo_avatar,
}


def _write(path, avatar):
    write_lam(path, avatar)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("viewer_browser")
    for make in AVATARS.values():
        make(d)
    data = (d / "synthetic.lam").read_bytes()
    (d / "corrupt.lam").write_bytes(data[:100] + bytes(b ^ 0x5A for b in data[100:400]) + data[400:])
    write_example_motions(d / "motions")
    return d


@pytest.fixture(scope="module")
def server(folder):
    app = create_app([folder / "synthetic.lam", folder / "corrupt.lam"], folder / "motions")
    with serve_in_thread(app) as url:
        yield url


@pytest.mark.parametrize("name", list(AVATARS))
def test_browser_matches_the_reference_30_frames(browser, folder, name):
    path = AVATARS[name](folder)
    result = verify_avatar(path, ctx=browser)
    print(f"\n{name}: head PSNR min {result.min_psnr:.2f} dB, mean {result.mean_psnr:.2f} dB "
          f"(whole image min {result.min_psnr_image:.2f} dB; {result.renderer})")
    assert len(result.frames) == 30
    assert result.min_psnr >= 35.0, [f.psnr_head for f in result.frames]  # the head itself, the headline
    assert result.min_psnr_image >= 35.0


def test_browser_matches_the_reference_on_llvmpipe(folder, playwright_instance):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    from exporter.lamfile import read_lam
    from lam_core.exercise import exercise_sequence

    rig = read_lam(folder / "synthetic.lam").avatar.rig
    params = exercise_sequence(rig.expr_names, rig.joint_names, 30)
    with chromium("llvmpipe", playwright=playwright_instance) as llvmpipe:
        result = verify_avatar(folder / "synthetic.lam", params[::10], gl="llvmpipe", ctx=llvmpipe,
                               frame_numbers=range(0, 30, 10))
    assert "llvmpipe" in result.renderer
    assert [f.frame for f in result.frames] == [0, 10, 20]
    assert result.min_psnr >= 35.0 and result.min_psnr_image >= 35.0


def _canvas_png(page):
    return page.locator("canvas").screenshot()


def _touch(cdp, kind, points):
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})


def _foreground(png: bytes) -> int:
    from io import BytesIO

    from PIL import Image

    a = np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(a - 255).sum(-1) > 30).sum())


def test_phone_viewport_touch_orbit_and_pinch(browser, server):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=3, has_touch=True,
                              is_mobile=True)
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}?test=1&avatar=synthetic.lam")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    assert page.evaluate("window.lamViewer.error") is None
    box = page.locator("canvas").bounding_box()
    assert box["width"] == pytest.approx(375, abs=1)
    # devicePixelRatio 3 is capped at 2
    assert page.evaluate("document.querySelector('canvas').width") <= 2 * 375 + 1
    page.evaluate("window.lamViewer.renderNow()")
    before = _canvas_png(page)
    cdp = ctx.new_cdp_session(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    _touch(cdp, "touchStart", [(cx, cy)])
    for k in range(1, 6):
        _touch(cdp, "touchMove", [(cx + 16 * k, cy + 4 * k)])
    _touch(cdp, "touchEnd", [])
    page.evaluate("window.lamViewer.renderNow()")
    orbited = _canvas_png(page)
    assert orbited != before, "a one-finger drag did not change the view"
    assert page.evaluate("window.lamViewer.viewer.controls.yaw") != 0
    fg_before = _foreground(orbited)
    _touch(cdp, "touchStart", [(cx - 30, cy), (cx + 30, cy)])
    for k in range(1, 6):
        _touch(cdp, "touchMove", [(cx - 30 - 20 * k, cy), (cx + 30 + 20 * k, cy)])
    _touch(cdp, "touchEnd", [])
    page.evaluate("window.lamViewer.renderNow()")
    zoomed = _canvas_png(page)
    assert zoomed != orbited
    assert _foreground(zoomed) > 1.3 * fg_before, "spreading two fingers did not zoom in"
    assert not errors, errors
    ctx.close()


def test_corrupt_avatar_shows_a_readable_error(browser, server):
    page = browser.new_page()
    page.goto(f"{server}?test=1&avatar=corrupt.lam")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=60_000)
    err = page.evaluate("window.lamViewer.error")
    assert err and "corrupt.lam" in err
    message = page.locator(".lam-message")
    assert message.is_visible()
    assert "corrupt.lam is not a usable .lam avatar" in message.inner_text()
    assert "corrupt.lam" in page.locator("#notice").inner_text()
    page.close()


def test_corrupt_motions_show_readable_errors(browser, server, folder):
    page, _ = open_viewer(browser, server, "synthetic.lam")
    page.locator("#file").set_input_files(files=[{"name": "broken.npz", "mimeType": "application/octet-stream",
                                                  "buffer": b"PK\x03\x04 not really a zip"}])
    page.wait_for_function("document.querySelector('#notice').classList.contains('error')", timeout=30_000)
    assert "broken.npz" in page.locator("#notice").inner_text()
    page.evaluate("document.querySelector('#notice').classList.remove('error')")
    page.locator("#file").set_input_files(files=[{"name": "curves.json", "mimeType": "application/json",
                                                  "buffer": b'{"names": ["jawOpen"], "frames": [{"weights": [1, 2]}]}'}])
    page.wait_for_function("document.querySelector('#notice').classList.contains('error')", timeout=30_000)
    assert "curves.json: frames[0].weights must list 1 numbers" in page.locator("#notice").inner_text()
    # the avatar is still shown: a bad motion does not blank the picture
    assert not page.locator(".lam-message").is_visible()
    page.close()


def test_example_motion_plays_pauses_and_names_unmapped_channels(browser, server):
    page = browser.new_page()
    page.goto(f"{server}?test=1&avatar=synthetic.lam&motion=talk")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=60_000)
    notice = page.locator("#notice").inner_text()
    assert "talk.npz: 180 frames at 30 fps" in notice
    assert "eyeBlinkLeft" in notice and "eyeBlinkRight" in notice   # a FLAME rig has no blink channels
    time = "window.lamViewer.viewer.time"
    t0 = page.evaluate(time)
    page.wait_for_timeout(1500)
    t1 = page.evaluate(time)
    assert t1 > t0, "the motion does not play"
    # hidden page: the clock stops, and resumes when shown again
    hide = """h => { Object.defineProperty(document, 'hidden', {value: h, configurable: true});
                     document.dispatchEvent(new Event('visibilitychange')); }"""
    page.evaluate(hide, True)
    assert page.evaluate("window.lamViewer.viewer.playing") is False
    t2 = page.evaluate(time)
    page.wait_for_timeout(800)
    assert page.evaluate(time) == t2
    page.evaluate(hide, False)
    assert page.evaluate("window.lamViewer.viewer.playing") is True
    page.locator("#play").click()   # pause button
    assert page.evaluate("window.lamViewer.viewer.playing") is False
    page.close()


def test_official_arkit_curves_parse_in_the_page(browser, server, shared_data):
    """LAM's official ARKit sequence (973 frames, 52 channels), dropped on the page, parses there; a FLAME rig
    maps none of its expression channels and says so, the head pose still plays."""
    path = shared_data / "lam_official" / "arkit_speech_973f.json"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    page, errors = open_viewer(browser, server, "synthetic.lam")
    page.locator("#file").set_input_files(str(path))
    page.wait_for_function("document.querySelector('#notice').textContent.includes('973 frames')", timeout=30_000)
    notice = page.locator("#notice").inner_text()
    assert "arkit_speech_973f.json: 973 frames" in notice
    assert "The avatar lacks 44 of the motion's channels: browDownLeft" in notice
    assert page.evaluate("window.lamViewer.viewer.playing") is True
    assert not errors, errors
    page.close()


def test_lam_avatar_element_embeds(browser, server):
    """The embeddable bundle: <lam-avatar src> loads and draws; a bad src shows its error inside the element.
    Both viewers have the same fields (LamViewer sets every field in its constructor)."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}?test=1&avatar=synthetic.lam")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=60_000)
    page.evaluate("""async () => {
        await import('/lam-viewer.js');
        for (const [id, src] of [['good', 'avatars/synthetic.lam'], ['bad', 'avatars/missing.lam']]) {
            const el = document.createElement('lam-avatar');
            el.id = id;
            el.style.cssText = 'width:200px;height:240px';
            el.setAttribute('no-idle', '');
            el.setAttribute('src', src);
            el.addEventListener('load', () => { el.dataset.loaded = '1'; });
            el.addEventListener('error', (e) => { el.dataset.error = e.detail.message; });
            document.body.appendChild(el);
        }
    }""")
    page.wait_for_function("document.getElementById('good').dataset.loaded === '1'", timeout=60_000)
    page.wait_for_function("document.getElementById('bad').dataset.error", timeout=60_000)
    assert "missing.lam" in page.locator("#bad .lam-message").inner_text()
    assert "HTTP 404" in page.evaluate("document.getElementById('bad').dataset.error")
    assert page.evaluate("document.getElementById('good').viewer.avatar.n") == 20018
    page.evaluate("document.getElementById('good').setParams({pose: {jaw: [0.3, 0, 0]}})")
    page.evaluate("document.getElementById('good').viewer.renderNow()")
    # every field is set in the constructor: a viewer that never loaded has the fields of one that drew
    fields = """id => { const v = document.getElementById(id).viewer;
                          return [v, v.loop, v.source].map((o) => Object.keys(o).sort()); }"""
    assert page.evaluate(fields, "bad") == page.evaluate(fields, "good")
    assert not errors, errors
    page.close()


def test_lam_verify_command(folder):
    """lam-verify as a user runs it: exit 0 over the threshold, 1 under it, 2 with one line for a bad file."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "exporter.cli.verify", str(folder / "synthetic.lam"), "--frames", "2", "--size", "128"]
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr
    assert "OK: head PSNR min" in ok.stdout and ok.stdout.count(" frame ") == 2
    # with a motion, frames are named by the motion's frame numbers, in the printout and the saved images
    saved = folder / "saved"
    talk = subprocess.run(cmd + ["--frames", "3", "--motion", str(folder / "motions" / "talk.npz"), "--save", str(saved)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert talk.returncode == 0, talk.stderr
    assert "frame  179  head PSNR" in talk.stdout
    assert sorted(p.name for p in saved.iterdir()) == ["frame_0000.png", "frame_0090.png", "frame_0179.png"]
    fail = subprocess.run(cmd + ["--min-psnr", "99"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert fail.returncode == 1 and "FAILED" in fail.stderr
    bad = subprocess.run(cmd[:3] + [str(folder / "corrupt.lam")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
