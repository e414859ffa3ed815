"""lam-motion JSON in lam_core.load_motion (what the page records from the webcam and what lam-serve sends it):
round trip with its writer (lam_core.motion.lam_motion_json), and bad files refused with one line naming the key, before decoding."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest

from lam_core import JOINT_NAMES, MotionFileError, load_motion
from lam_core.motion import motion_to_json
from lam_core.example_motions import example_motions

from .conftest import ROOT


def _b64(a) -> str:
    return base64.b64encode(np.asarray(a, "<f4").tobytes()).decode("ascii")


def _good(frames: int = 3, names=("jawOpen", "eyeBlinkLeft")) -> dict:
    c = len(names)
    return {"format": "lam-motion", "version": 1, "fps": 30.0, "frames": frames, "channel_names": list(names),
            "joint_names": ["global", "neck", "jaw", "eye_l", "eye_r"],
            "channels": _b64(np.arange(frames * c) / 10), "pose": _b64(np.zeros(frames * 15)),
            "translation": _b64(np.zeros(frames * 3)), "source": "webcam"}


def _write(tmp_path, d, name="rec.json"):
    p = tmp_path / name
    p.write_text(json.dumps(d) if not isinstance(d, str) else d)
    return p


def test_round_trip_with_the_server_writer(tmp_path):
    m = example_motions()["talk"]
    m2 = load_motion(_write(tmp_path, motion_to_json(m, "talk.npz")))
    assert m2.n_frames == m.n_frames and m2.fps == m.fps
    np.testing.assert_array_equal(m2.pose, m.pose)
    keep = [m.channel_names.index(n) for n in m2.channel_names]
    np.testing.assert_array_equal(m2.channels, m.channels[:, keep])
    assert load_motion(_write(tmp_path, motion_to_json(m)), fps=10).fps == 10


def test_a_recording_loads_and_maps_by_name(tmp_path):
    m = load_motion(_write(tmp_path, _good()))
    params, unmapped = m.params_for(("eyeBlinkLeft", "other"), JOINT_NAMES)
    assert unmapped == ["jawOpen"]
    np.testing.assert_allclose(params.expr[:, 0].numpy(), [0.1, 0.3, 0.5], atol=1e-6)


BAD = [
    ({"format": "lam-motion", "version": 2}, "version 2 is not supported"),
    ({"version": True}, "version True is not supported"),
    ({"frames": 0}, "'frames' must be a frame count"),
    ({"frames": True}, "'frames' must be a frame count"),
    ({"frames": 10 ** 9}, "'frames' must be a frame count"),
    ({"fps": -1}, "'fps' must be a frame rate"),
    ({"fps": "30"}, "'fps' must be a frame rate"),
    ({"channel_names": "jawOpen"}, "'channel_names' must be a list"),
    ({"channel_names": ["a", "a"]}, "repeats a name"),
    ({"channel_names": [1, 2]}, "'channel_names' must be a list"),
    ({"joint_names": ["root"]}, "'joint_names' must be"),
    ({"channels": "AAAA"}, "'channels' holds 4 base64 characters, expected 32"),
    ({"channels": 12}, "'channels' must be a base64 string"),
    ({"pose": "!" * 240}, "'pose' is not valid base64"),
    ({"translation": _b64([np.nan] * 9)}, "'translation' contains NaN or infinity"),
    ({"source": 5}, "'source' must be a string"),
    ({"frames": 20000, "channel_names": [f"c{i}" for i in range(4096)]}, "more than"),
]


@pytest.mark.parametrize("change,expect", BAD)
def test_bad_files_are_refused_with_one_line(tmp_path, change, expect):
    d = {**_good(), **change}
    with pytest.raises(MotionFileError, match=expect) as exc:
        load_motion(_write(tmp_path, d))
    assert "\n" not in str(exc.value)


def test_not_lam_motion(tmp_path):
    with pytest.raises(MotionFileError, match="neither lam-motion"):
        load_motion(_write(tmp_path, {"format": "other"}))
    with pytest.raises(MotionFileError, match="not valid JSON"):
        load_motion(_write(tmp_path, '{"format": "lam-motion", '))


def test_lam_render_plays_a_recording(tmp_path):
    """lam-render takes a recorded lam-motion file like any other motion (a still of one of its frames)."""
    from exporter.lamfile import write_lam
    from lam_core.synthetic import synthetic_avatar

    lam = tmp_path / "a.lam"
    write_lam(lam, synthetic_avatar(1))
    d = _good(frames=4, names=("expr_00",))
    pose = np.zeros((4, 5, 3), np.float32)
    pose[:, 2, 0] = 0.3
    d["pose"] = _b64(pose.reshape(-1))
    rec = _write(tmp_path, d)
    out = tmp_path / "still.png"
    r = subprocess.run([sys.executable, "-m", "exporter.cli.render", str(lam), "--motion", str(rec), "--frame", "2",
                        "--size", "64", "-o", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and out.stat().st_size > 100
    d["channels"] = "xx"
    bad = _write(tmp_path, d, "bad.json")
    r = subprocess.run([sys.executable, "-m", "exporter.cli.render", str(lam), "--motion", str(bad), "-o",
                        str(tmp_path / "x.png"), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_motion_caps_and_joint_names_agree_with_the_viewers():
    """A motion lam_core accepts is one the page accepts: the caps are twins (viewer_web/src/motion.js), and
    so is the one table of FLAME's joint names (viewer_web/src/joints.js), the joint order of a motion's pose."""
    import shutil

    from lam_core import motion

    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    script = ("Promise.all([import('./viewer_web/src/motion.js'), import('./viewer_web/src/joints.js')])"
              ".then(([m, j]) => console.log(JSON.stringify({MAX_FRAMES: m.MAX_FRAMES, MAX_CHANNELS: m.MAX_CHANNELS, "
              "MAX_VALUES: m.MAX_VALUES, joints: m.MOTION_JOINTS, names: j.FLAME_JOINTS})))")
    r = subprocess.run(["node", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    js = json.loads(r.stdout)
    assert (js["MAX_FRAMES"], js["MAX_CHANNELS"], js["MAX_VALUES"]) == (motion.MAX_FRAMES, motion.MAX_CHANNELS,
                                                                        motion.MAX_VALUES)
    assert js["names"] == list(JOINT_NAMES) == list(motion.LAM_MOTION_JOINTS) and js["joints"] == len(JOINT_NAMES)
