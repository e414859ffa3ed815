"""lam-track: a video -> a motion, with real parts: ffmpeg (imageio-ffmpeg) decoding, MediaPipe's face mesh in
video mode, the page's JS solver in Node, real files.

* acceptance: the photo's open-head avatar performs the webcam test's known performance (jaw open/close, yaw
  +-20 degrees, two blinks), rendered into an H.264 mp4; lam-track's motion matches the truth (jaw and yaw
  correlation >= 0.9, yaw in degrees, both blinks found, none invented, no drift on the neutral frames), the
  neutral window it finds lies in the clip's neutral second, and lam-render plays the motion beside the video
  (H.264, yuv420p).
* bad input, one line each and nothing partial left: not a video, a truncated file, a video with no face, a
  huge resolution (downscaled before tracking: tracked, not refused), an unwritable output, a neutral window
  past the end.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from exporter.cli import run
from exporter.cli.render import main as render_main
from exporter.cli.track import main as track_main
from exporter.webcam_check import analyse
from exporter.webcam_clip import SEGMENTS, blank_clip, write_clip
from lam_core import load_motion

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    # the first test renders the clip (conftest performance_video): minutes on a 2-core machine, more when busy
    pytest.mark.timeout(1800),
]

LOG_NAMES = ("eyeBlinkLeft", "eyeBlinkRight")


@pytest.fixture(scope="module")
def clip(performance_video):
    return performance_video


def motion_entries(motion, solve_ms=0.0):
    """A motion's frames as the page's log entries (exporter.webcam_check.analyse): frame k is tag k."""
    idx = [motion.channel_names.index(n) for n in LOG_NAMES]
    return [{"tag": k, "t": 1000.0 * k / motion.fps, "face": True, "calibrated": True, "trackMs": 0.0,
             "solveMs": solve_ms, "pose": motion.pose[k].reshape(-1).tolist(),
             "expr": [float(motion.channels[k, i]) for i in idx]} for k in range(motion.n_frames)]


def _no_leftovers(folder, name):
    left = [p.name for p in folder.iterdir() if p.name.startswith(name) or p.name.startswith("." + name)]
    assert not left, f"partial output left: {left}"


def test_known_performance_is_tracked_and_solved(clip, tmp_path, capsys):
    d, lam, c = clip
    out = tmp_path / "motion.json"
    assert run(track_main, [str(c.path), "-o", str(out), "--avatar", str(lam)]) == 0
    summary = capsys.readouterr().err
    print(summary)
    assert "neutral window" in summary and "face found in 139 frames" in summary
    motion = load_motion(out)
    assert motion.fps == 24.0 and motion.n_frames == c.frames == 139, "the motion's rate follows the video's"
    assert "eyeBlinkLeft" in motion.channel_names and any(n.startswith("lmk_") for n in motion.channel_names)
    fig = analyse(motion_entries(motion), c.motion, motion.duration)
    print("\nlam-track, known performance (mp4):\n  " + "\n  ".join(fig.lines()[:5]))
    assert fig.jaw_correlation >= 0.9 and fig.yaw_correlation >= 0.9
    assert 0.7 <= fig.yaw_gain <= 1.3, "yaw in degrees, not only in shape"
    assert fig.blinks_expected == 2 and fig.blinks_detected == 2 and fig.blink_false_positives == 0
    assert fig.drift_yaw_deg < 1.5 and fig.drift_jaw < 0.03 and fig.drift_blink < 0.15, "drift on neutral frames"
    # the automatic neutral window lies in the clip's neutral opening
    start, end = (float(x) for x in summary.split("neutral window: ")[1].split(" s")[0].split("-"))
    assert SEGMENTS["neutral"][0] <= start < end <= SEGMENTS["neutral"][1] + 2 / motion.fps   # the jaw starts at 0
    (tmp_path / "series.json").write_text(json.dumps(fig.extra))

    # the same as a FLAME-layout npz (named channels beside expr), and a given neutral window
    npz = tmp_path / "motion.npz"
    assert run(track_main, [str(c.path), "-o", str(npz), "--avatar", str(lam), "--neutral", "0.2-1.2", "--quiet"]) == 0
    m2 = load_motion(npz)
    assert m2.n_frames == motion.n_frames and m2.fps == motion.fps
    jaw_a, jaw_b = motion.pose[:, 2, 0], m2.pose[:, 2, 0]
    assert np.corrcoef(jaw_a, jaw_b)[0, 1] > 0.99, "two neutral windows of the same neutral face agree"

    # lam-render plays it beside the video: H.264, yuv420p, video | avatar
    side = tmp_path / "side.mp4"
    assert run(render_main, [str(lam), "--motion", str(out), "--beside", str(c.path), "-o", str(side),
                             "--size", "96", "--frames", "6", "--quiet"]) == 0
    probe = _probe(side)
    assert probe["codec"] == "h264" and probe["pix_fmt"] == "yuv420p", probe
    assert probe["size"] == (128 + 96, 96), probe   # 320x240 scaled to 96 rows is 128 wide


def _probe(path):
    import subprocess

    import imageio_ffmpeg

    err = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True).stderr
    line = next(s for s in err.splitlines() if "Video:" in s)
    fields = line.split("Video:")[1].split(",")
    size = next(f for f in fields if "x" in f and f.strip().split(" ")[0].replace("x", "").isdigit())
    w, h = (int(v) for v in size.strip().split(" ")[0].split("x"))
    return {"codec": fields[0].split()[0], "pix_fmt": fields[1].split("(")[0].strip(), "size": (w, h)}


def test_webm_gives_the_same_motion(clip, tmp_path):
    """The same frames as VP8 WebM (what the page test plays) track like the mp4."""
    d, lam, c = clip
    a, b = tmp_path / "mp4.json", tmp_path / "webm.json"
    for video, out in ((c.path, a), (d / "clip.webm", b)):
        assert run(track_main, [str(video), "-o", str(out), "--avatar", str(lam), "--quiet",
                                "--neutral", "0.2-1.2"]) == 0
    ma, mb = load_motion(a), load_motion(b)
    assert ma.n_frames == mb.n_frames
    diff = np.degrees(np.abs(ma.pose - mb.pose)).max()
    print(f"\nmp4 vs webm: largest joint difference {diff:.2f} deg")
    assert diff < 3.0


def _fails(argv, capsys, *needles):
    assert run(track_main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def test_bad_inputs_say_one_line_and_leave_nothing(clip, tmp_path, capsys):
    d, lam, c = clip
    out = tmp_path / "m.json"
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 100)
    _fails([str(text), "-o", str(out)], capsys, "not a video")
    truncated = tmp_path / "cut.mp4"
    data = c.path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    _fails([str(truncated), "-o", str(out), "--avatar", str(lam)], capsys, str(truncated))
    blank = blank_clip(tmp_path / "blank.mp4", frames=12)
    _fails([str(blank), "-o", str(out), "--avatar", str(lam), "--quiet"], capsys, "no face found")
    _fails([str(c.path), "-o", str(tmp_path / "missing" / "m.json")], capsys, "does not exist")
    _fails([str(c.path), "-o", str(tmp_path / "m.txt")], capsys, ".json or .npz")
    _fails([str(c.path), "-o", str(out), "--avatar", str(lam), "--neutral", "30-31", "--quiet"], capsys,
           "outside the video")
    _fails([str(c.path), "-o", str(out), "--neutral", "2-1"], capsys, "START < END")
    _no_leftovers(tmp_path, "m.")
    assert not out.exists()


def test_huge_frames_are_downscaled_before_tracking(clip, tmp_path, capsys):
    """A 3200x2400 video (the clip's frames x10): tracked at 1280x960, the face found."""
    import imageio.v2 as imageio

    d, lam, c = clip
    reader = imageio.get_reader(c.path, format="FFMPEG")
    frames = [np.kron(reader.get_data(i), np.ones((10, 10, 1), np.uint8)) for i in range(6)]
    reader.close()
    big = tmp_path / "big.mp4"
    write_clip(big, frames, 3200, 2400, 24.0)
    out = tmp_path / "big.json"
    assert run(track_main, [str(big), "-o", str(out), "--avatar", str(lam)]) == 0
    err = capsys.readouterr().err
    assert "3200x2400 (tracked at 1280x960)" in err and "face found in 6 frames" in err, err
    assert load_motion(out).n_frames == 6
