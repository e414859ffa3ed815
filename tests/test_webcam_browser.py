"""Live webcam driving in the page, with Chromium's fake camera (no real camera, no network):

* acceptance: the open-head avatar exported from the example photo performs a known motion (jaw open/close,
  head yaw +-20 degrees, blinks), rendered by the reference renderer into a y4m clip that the page takes as its
  camera; MediaPipe tracks it in the page, the JS solver solves it, and the solved parameters match the truth:
  correlation >= 0.9 for jaw and yaw, every blink detected and none invented, no drift on the neutral frames.
  The page's recording of that session is a motion file lam_core.load_motion reads and the viewer plays.
* no camera, permission denied, no face in view: one clear message in the page, the avatar keeps idling.

Figures are printed (pytest -s); timings are never asserted (benchmarks/bench_webcam.py reports them).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from exporter.browser import chromium, serve_in_thread
from exporter.server import create_app, face_mesh_dir
from exporter.webcam_check import FAKE_CAMERA_FLAGS, analyse, open_webcam_page, track_clip
from exporter.webcam_clip import blank_clip, make_clip

from .conftest import BROWSER_MARKS

FACE_MESH = face_mesh_dir()


def _face_mesh_version() -> str | None:
    try:
        return json.loads((FACE_MESH / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.skipif(FACE_MESH is None, reason="the npm package @mediapipe/face_mesh is not installed (npm ci)"),
]

GL = "llvmpipe" if shutil.which("Xvfb") else "swiftshader"
# long enough for the page to see every blink of the clip at least twice at ~4 tracked frames/s (llvmpipe on
# 2 cores with a ~28K-Gaussian bust drawn beside MediaPipe); 12 s sufficed for the ~20K head-only avatar at ~10/s
TRACK_SECONDS = 24.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photo_lam):
    d = tmp_path_factory.mktemp("webcam")
    shutil.copyfile(photo_lam, d / "astronaut.lam")
    blank_clip(d / "blank.y4m")
    return d


@pytest.fixture(scope="module")
def server(folder):
    app = create_app([folder / "astronaut.lam"], None, static_mounts={"mediapipe": FACE_MESH})
    with serve_in_thread(app) as url:
        yield url


def test_fake_camera_performance_is_tracked_and_solved(folder, server, playwright_instance):
    if _face_mesh_version() == "0.4.1657299874":
        pytest.fail("@mediapipe/face_mesh 0.4.1657299874 cannot track (its face detector aborts): run npm ci "
                    "(package-lock.json pins 0.4.1633559619)")
    clip = make_clip(folder / "astronaut.lam", folder / "clip.y4m", 320, 240, 24.0)
    args = FAKE_CAMERA_FLAGS + [f"--use-file-for-fake-video-capture={clip.path}"]
    with chromium(GL, extra_args=args, playwright=playwright_instance) as browser:
        page, errors = open_webcam_page(browser, server, "astronaut.lam")
        tracked = track_clip(page, clip, TRACK_SECONDS, record=True)
        # the recording plays in the page (the viewer parses its own file)
        page.evaluate("m => window.lamViewer.viewer.loadMotion(m)", tracked.recording)
        assert page.evaluate("window.lamViewer.viewer.playing") is True
        assert "webcam" in page.locator("#notice").inner_text()
        page.context.close()
    assert not errors, errors
    fig = analyse(tracked.entries, clip.motion, tracked.seconds, tracked.mode, tracked.renderer, clip.joint_names)
    (folder / "figures.json").write_text(json.dumps(fig.extra))
    print("\nwebcam, fake camera (" + GL + "):\n  " + "\n  ".join(fig.lines()))
    assert fig.frames >= 40 and fig.passes >= 1.5, f"too few tracked frames: {fig.frames}"
    assert fig.jaw_correlation >= 0.9
    assert fig.yaw_correlation >= 0.9
    assert 0.7 <= fig.yaw_gain <= 1.3, "yaw in degrees, not only in shape"
    assert fig.blinks_expected >= 2 and fig.blinks_detected == fig.blinks_expected
    assert fig.blink_false_positives == 0
    assert fig.drift_yaw_deg < 1.5 and fig.drift_jaw < 0.03 and fig.drift_blink < 0.15, "drift on neutral frames"

    # the recording: a lam-motion file that lam_core reads (lam-render plays it: tests/test_lam_motion_json.py)
    from lam_core import load_motion

    rec = folder / "recording.json"
    rec.write_text(json.dumps(tracked.recording))
    m = load_motion(rec)
    assert m.fps == 30 and abs(m.duration - TRACK_SECONDS) < 2.0
    assert "eyeBlinkLeft" in m.channel_names and any(n.startswith("lmk_") for n in m.channel_names)
    assert np.abs(m.pose[:, 0, 1]).max() > 0.2, "the head turns are in the recording"
    assert m.pose[:, 2, 0].max() > 0.15, "the jaw is in the recording"


def _camera_page(browser, server, permissions=None):
    ctx = browser.new_context(permissions=permissions) if permissions is not None else browser.new_context()
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}?test=1&idle=1&avatar=astronaut.lam")
    page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
    page.click("#camera")
    page.wait_for_function("['error', 'noface', 'tracking'].includes(window.lamViewer.webcam.state)", timeout=120_000)
    return page, errors


def _assert_idling(page):
    """The avatar is not driven by the camera and its idle animation moves it."""
    assert page.evaluate("window.lamViewer.viewer.live") is None
    assert page.evaluate("window.lamViewer.viewer.animating") is True
    pose = "Array.from(window.lamViewer.viewer.currentParams().pose)"
    a = page.evaluate(pose)
    page.wait_for_timeout(400)
    assert page.evaluate(pose) != a, "the idle animation does not move"
    assert not page.locator(".lam-message").is_visible(), "the avatar is still drawn"


def test_no_camera_says_so_and_keeps_idling(browser, server):
    page, errors = _camera_page(browser, server)   # the shared browser has no fake camera
    assert page.evaluate("window.lamViewer.webcam.state") == "error"
    status = page.locator("#camstatus")
    assert status.is_visible() and status.inner_text().startswith("No camera found")
    assert page.locator("#camera").inner_text() == "Use camera"
    _assert_idling(page)
    assert not errors, errors
    page.close()


def test_permission_denied_and_no_face_in_view(folder, server, playwright_instance):
    args = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={folder / 'blank.y4m'}"]
    with chromium("swiftshader", extra_args=args, playwright=playwright_instance) as browser:
        # no --use-fake-ui-for-media-stream and no granted permission: the browser refuses the camera
        page, errors = _camera_page(browser, server)
        assert page.evaluate("window.lamViewer.webcam.state") == "error"
        assert page.locator("#camstatus").inner_text().startswith("Camera permission was denied")
        _assert_idling(page)
        assert not errors, errors
        page.context.close()
        # permission granted, the camera films an empty scene: "no face", the avatar idles
        page, errors = _camera_page(browser, server, permissions=["camera"])
        if page.evaluate("window.lamViewer.webcam.state") == "error":
            pytest.fail(page.evaluate("window.lamViewer.webcam.message"))
        page.wait_for_function("window.lamViewer.webcam.state === 'noface'", timeout=60_000)
        assert page.locator("#camstatus").inner_text().startswith("No face in view")
        assert page.locator("#webcam video").count() == 1, "the camera preview is shown"
        _assert_idling(page)
        assert page.evaluate("window.lamViewer.webcam.stats.frames") > 0
        page.click("#camera")   # stop
        assert page.evaluate("window.lamViewer.webcam.state") == "off"
        assert not errors, errors
        page.context.close()
