"""The page's Use video: the known performance (tests/conftest.py performance_video) as a VP8 webm picked in
the page's video file input, tracked by MediaPipe in the page (a Worker), solved by the page's solver, against
lam-track's motion of the same file (the same solver in Node, MediaPipe's Python build), frame by frame by
the frames' tags; Record saves a lam-motion file when the video ends.

The tolerance: the two sides share the solver and the calibration window (the video's first second) but not
the landmarks: the page runs @mediapipe/face_mesh (wasm, WebGL), lam-track the mediapipe wheel (TFLite CPU);
and the page tracks only the frames it keeps up with (here at quarter speed), so its One Euro smoothing sees
other gaps between frames. So they agree to a fraction of the motion's range, not to float precision: RMS
differences under 10% of the jaw's peak (0.03 of 0.3 rad) and 1.5 degrees of yaw (the webcam test's drift
bound; 7.5% of the 20-degree peak), and the blink curves agree on which frames are closed. Measured here
(llvmpipe, 2 busy cores, 31 and 47 frames): jaw RMS 0.011 and 0.008 rad, yaw RMS 0.29 degrees, jaw
correlation 0.993 and 0.996. The
figures are printed (pytest -s).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from exporter.browser import chromium, serve_in_thread
from exporter.cli import run
from exporter.cli.track import main as track_main
from exporter.server import create_app, face_mesh_dir
from exporter.webcam_check import open_webcam_page, yaw_of
from exporter.webcam_clip import JAW_PEAK, SEGMENTS, YAW_PEAK
from lam_core import load_motion

from .conftest import BROWSER_MARKS

FACE_MESH = face_mesh_dir()
GL = "llvmpipe" if shutil.which("Xvfb") else "swiftshader"
pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.skipif(FACE_MESH is None, reason="the npm package @mediapipe/face_mesh is not installed (npm ci)"),
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.timeout(1800),   # the clip's rendering (conftest performance_video) when this runs alone
]
RATE = 0.25  # the page plays the clip at quarter speed: it tracks more of its frames on a busy 2-core machine


def test_use_video_follows_like_lam_track(performance_video, playwright_instance, tmp_path):
    d, lam, clip = performance_video
    webm = d / "clip.webm"
    cli = tmp_path / "cli.json"
    assert run(track_main, [str(webm), "-o", str(cli), "--avatar", str(lam), "--neutral", "0-1", "--quiet"]) == 0
    ref = load_motion(cli)

    app = create_app([lam], None, static_mounts={"mediapipe": FACE_MESH})
    with serve_in_thread(app) as url, chromium(GL, playwright=playwright_instance) as browser:
        page, errors = open_webcam_page(browser, url, lam.name, extra_query=f"&videorate={RATE}")
        h264 = page.evaluate("document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.42E01E\"')")
        page.evaluate("names => { window.lamViewer.webcam.log = { names, entries: [] }; }",
                      ["eyeBlinkLeft", "eyeBlinkRight"])
        assert page.locator("#video").inner_text() == "Use video"
        page.set_input_files("#videofile", str(webm))
        page.wait_for_function("['tracking', 'error'].includes(window.lamViewer.webcam.state)", timeout=120_000)
        assert page.evaluate("window.lamViewer.webcam.state") == "tracking", page.evaluate("window.lamViewer.webcam.message")
        assert page.locator("#video").inner_text() == "Stop video"
        assert page.locator("#webcam video.lam-video-file").count() == 1, "the video plays in the corner"
        with page.expect_download(timeout=120_000):
            page.click("#record")
            page.wait_for_function("window.lamViewer.webcam.state === 'off'", timeout=120_000)
        assert page.locator("#camstatus").inner_text().startswith("The video ended")
        recording = page.evaluate("window.lamViewer.lastRecording()")
        entries = page.evaluate("window.lamViewer.webcam.log.entries")
        page.context.close()
    assert not errors, errors
    print(f"\nChromium plays H.264 mp4: {h264 or 'no'}")

    rows = [e for e in entries if e.get("face") and e.get("calibrated") and e.get("tag") is not None
            and e["tag"] < ref.n_frames]
    tags = np.array([e["tag"] for e in rows])
    t = tags / ref.fps
    for part in ("jaw", "yaw"):
        a, b = SEGMENTS[part]
        assert np.sum((t >= a) & (t < b)) >= 4, f"the page tracked too few frames of the {part} part: {t.tolist()}"
    pose = np.array([e["pose"] for e in rows], np.float64).reshape(len(rows), -1, 3)
    blink = np.array([np.mean(e["expr"]) for e in rows])
    ref_pose = ref.pose[tags].astype(np.float64)
    ref_blink = ref.channels[tags][:, [ref.channel_names.index(n) for n in ("eyeBlinkLeft", "eyeBlinkRight")]].mean(1)
    jaw_rms = float(np.sqrt(np.mean((pose[:, 2, 0] - ref_pose[:, 2, 0]) ** 2)))
    yaw_rms = float(np.degrees(np.sqrt(np.mean((yaw_of(pose[:, 0]) - yaw_of(ref_pose[:, 0])) ** 2))))
    closed = ref_blink > 0.5
    print(f"page vs lam-track over {len(rows)} frames ({len(set(tags))} distinct of {ref.n_frames}, {GL}): "
          f"jaw RMS {jaw_rms:.4f} rad, yaw RMS {yaw_rms:.2f} deg, "
          f"jaw correlation {np.corrcoef(pose[:, 2, 0], ref_pose[:, 2, 0])[0, 1]:.3f}, "
          f"blink max |diff| {np.abs(blink - ref_blink).max():.3f}")
    assert jaw_rms < 0.1 * JAW_PEAK
    assert yaw_rms < 1.5 < 0.1 * np.degrees(YAW_PEAK)
    assert np.array_equal(blink[closed] > 0.25, np.ones(closed.sum(), bool)), "the page sees lam-track's blinks"
    assert not np.any(blink[ref_blink < 0.05] > 0.5), "and no others"

    # the recording (saved when the video ended) is a motion lam_core reads
    rec = tmp_path / "recording.json"
    rec.write_text(json.dumps(recording))
    m = load_motion(rec)
    assert recording["source"] == "video" and m.pose[:, 2, 0].max() > 0.15 and np.abs(m.pose[:, 0, 1]).max() > 0.2
