import json
import subprocess
import sys

import numpy as np
import pytest

from lam_core import JOINT_NAMES, Motion, MotionFileError, load_motion, save_motion, save_motion_npz
from lam_core.example_motions import example_motions, write_example_motions
from lam_core.motion import motion_to_json

KEYS = {"expr": 100, "rotation": 3, "neck_pose": 3, "jaw_pose": 3, "eyes_pose": 6, "translation": 3}


def frame(i, **over):
    d = {k: np.full((1, n), 0.01 * i, np.float32) for k, n in KEYS.items()}
    d["shape"] = np.zeros((1, 300), np.float32)
    d.update(over)
    return d


def write_frames(folder, n=5):
    folder.mkdir(parents=True)
    for i in range(n):
        np.savez(folder / f"{i:05d}.npz", **frame(i))


def test_per_frame_folder(tmp_path):
    write_frames(tmp_path / "flame_param")
    for path in (tmp_path / "flame_param", tmp_path):
        m = load_motion(path)
        assert m.n_frames == 5 and m.fps == 30.0 and m.channels.shape == (5, 100)
        np.testing.assert_allclose(m.pose[3], 0.03)
        np.testing.assert_allclose(m.translation[4], 0.04)
        assert m.shape is not None and m.shape.shape == (300,)


def test_vhap_transforms_json(tmp_path):
    write_frames(tmp_path / "flame_param", 4)
    frames = [{"flame_param_path": f"flame_param/{i:05d}.npz", "transform_matrix": np.eye(4).tolist()}
              for i in (2, 0, 3, 1)]
    (tmp_path / "transforms.json").write_text(json.dumps({"frames": frames, "fps": 25}))
    for path in (tmp_path / "transforms.json", tmp_path, tmp_path / "flame_param"):
        m = load_motion(path)
        assert m.fps == 25 and m.n_frames == 4
        np.testing.assert_allclose(m.channels[:, 0], [0, 0.01, 0.02, 0.03])  # ordered by path


def test_transforms_json_cannot_escape_its_folder(tmp_path):
    (tmp_path / "transforms.json").write_text(json.dumps({"frames": [{"flame_param_path": "../../etc/x.npz"}]}))
    with pytest.raises(MotionFileError, match="outside"):
        load_motion(tmp_path / "transforms.json")


def test_stacked_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    names = tuple(f"expr_{i:02d}" for i in range(100)) + ("eyeBlinkLeft",)
    m = Motion(names, rng.normal(size=(7, 101)).astype(np.float32), rng.normal(size=(7, 5, 3)).astype(np.float32),
               rng.normal(size=(7, 3)).astype(np.float32), fps=24.0)
    save_motion_npz(m, tmp_path / "m.npz")
    back = load_motion(tmp_path / "m.npz")
    assert back.channel_names == names and back.fps == 24.0
    for key in ("channels", "pose", "translation"):
        np.testing.assert_array_equal(getattr(back, key), getattr(m, key))


def test_save_motion_writes_the_format_its_suffix_names(tmp_path):
    rng = np.random.default_rng(1)
    m = Motion(("expr_00", "jawOpen"), rng.uniform(0.1, 1, size=(4, 2)).astype(np.float32),
               rng.normal(size=(4, 5, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32), fps=12.5)
    for name, head in (("m.json", b"{"), ("m.npz", b"PK")):
        save_motion(m, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:2].startswith(head)
        back = load_motion(tmp_path / name)
        assert back.channel_names == m.channel_names and back.fps == 12.5
        for key in ("channels", "pose", "translation"):
            np.testing.assert_array_equal(getattr(back, key), getattr(m, key))
    with pytest.raises(MotionFileError, match=r"\.json \(lam-motion\) or \.npz"):
        save_motion(m, tmp_path / "m.bvh")
    assert not (tmp_path / "m.bvh").exists()


@pytest.mark.parametrize("fps", [0, -5, 1001, float("nan"), "30", True, [30, 25]])
def test_one_frame_rate_check_for_every_format(tmp_path, fps):
    """Every format's rate goes through the same check, with the same one-line message."""
    write_frames(tmp_path / "flame_param", 2)
    frames = [{"flame_param_path": f"flame_param/{i:05d}.npz"} for i in range(2)]
    (tmp_path / "transforms.json").write_text(json.dumps({"frames": frames, "fps": fps}))
    stacked = {k: np.zeros((2, n), np.float32) for k, n in KEYS.items()}
    np.savez(tmp_path / "s.npz", **stacked, fps=np.asarray(fps))
    m = Motion(("a",), np.ones((2, 1), np.float32), np.zeros((2, 5, 3), np.float32), np.zeros((2, 3), np.float32))
    (tmp_path / "l.json").write_text(json.dumps(motion_to_json(m) | {"fps": fps}))
    for path in (tmp_path / "transforms.json", tmp_path / "s.npz", tmp_path / "l.json"):
        with pytest.raises(MotionFileError, match=r"'fps' must be a frame rate in \(0, 1000\]") as e:
            load_motion(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)
    if not isinstance(fps, (str, list)):
        with pytest.raises(MotionFileError, match=r"must be a frame rate in \(0, 1000\]"):
            load_motion(tmp_path / "s.npz", fps=fps)


def test_arkit_json(shared_data):
    m = load_motion(shared_data / "lam_official" / "arkit_speech_973f.json")
    assert m.n_frames == 973 and len(m.channel_names) == 52 and m.channel_names[24] == "jawOpen"
    assert abs(m.fps - 30.0) < 1e-3
    assert 0.9 < m.channels.max() <= 1.0
    assert np.abs(m.pose[:, 0]).max() > 0.01 and np.abs(m.pose[:, 1:]).max() == 0


def test_params_map_channels_by_name():
    names = ("jawOpen", "eyeBlinkLeft", "tongueOut")
    m = Motion(names, np.array([[0.5, 0.2, 0.0], [0.1, 0.0, 0.0]], np.float32), np.zeros((2, 5, 3), np.float32),
               np.zeros((2, 3), np.float32))
    params, unmapped = m.params_for(("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "smile"), JOINT_NAMES)
    np.testing.assert_allclose(params.expr.numpy(), [[0.2, 0, 0.5, 0], [0, 0, 0.1, 0]])
    assert unmapped == []  # tongueOut is all zero, nothing lost
    _, unmapped = m.params_for(("expr_00",), JOINT_NAMES)
    assert unmapped == ["jawOpen", "eyeBlinkLeft"]


@pytest.mark.parametrize("mutate,expect", [
    (lambda d: d.pop("jaw_pose"), "missing key 'jaw_pose'"),
    (lambda d: d.update(eyes_pose=np.zeros((1, 3))), "'eyes_pose' has shape"),
    (lambda d: d.update(expr=np.full((1, 100), np.nan)), "'expr' contains NaN"),
    (lambda d: d.update(rotation=np.full((1, 3), np.inf)), "'rotation' contains NaN or infinity"),
    (lambda d: d.update(translation=np.zeros((2, 3))), "1 row|needs 1"),
])
def test_bad_frame_files(tmp_path, mutate, expect):
    folder = tmp_path / "flame_param"
    write_frames(folder, 3)
    d = frame(1)
    mutate(d)
    np.savez(folder / "00001.npz", **d)
    with pytest.raises(MotionFileError, match=expect) as e:
        load_motion(folder)
    assert "00001.npz" in str(e.value)


@pytest.mark.parametrize("content,expect", [
    (b"not json", "not valid JSON"),
    (json.dumps({"names": ["a", "b"], "frames": []}).encode(), "non-empty"),
    (json.dumps({"names": ["a", "b"], "frames": [{"weights": [1]}]}).encode(), "must list 2"),
    (json.dumps({"names": ["a"], "frames": [{"weights": ["x"]}]}).encode(), "not all numbers"),
    (json.dumps({"names": ["a"], "frames": [{"weights": [1]}], "head_pose": [[0, 0]]}).encode(), "head_pose"),
    (json.dumps([1, 2]).encode(), "neither"),
])
def test_bad_json(tmp_path, content, expect):
    p = tmp_path / "m.json"
    p.write_bytes(content)
    with pytest.raises(MotionFileError, match=expect):
        load_motion(p)


def test_empty_and_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MotionFileError, match="no per-frame"):
        load_motion(tmp_path / "empty")
    with pytest.raises(MotionFileError, match="not found"):
        load_motion(tmp_path / "nope.npz")
    np.savez(tmp_path / "zero.npz", **{k: np.zeros((0, n)) for k, n in KEYS.items()})
    with pytest.raises(MotionFileError, match="0 frames"):
        load_motion(tmp_path / "zero.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(MotionFileError, match="junk.npz"):
        load_motion(tmp_path / "junk.npz")
    obj = tmp_path / "obj.npz"
    np.savez(obj, expr=np.array([{"a": 1}], dtype=object))
    with pytest.raises(MotionFileError, match="obj.npz"):
        load_motion(obj)


def test_example_motions(tmp_path):
    written = write_example_motions(tmp_path)
    assert {p.stem for p in written} == {"talk", "head_turns", "look_around", "blink", "smile"}
    ms = {p.stem: load_motion(p) for p in written}
    assert ms["talk"].pose[:, 2, 0].max() > 0.15 and ms["talk"].pose[:, 2, 0].min() >= 0  # the jaw talks
    assert np.rad2deg(np.abs(ms["head_turns"].pose[:, 0]).max()) > 25
    assert np.abs(ms["look_around"].pose[:, 3:]).max() > 0.2
    blink = dict(zip(ms["blink"].channel_names, ms["blink"].channels.T))
    assert blink["eyeBlinkLeft"].max() == pytest.approx(1.0, abs=0.05)
    smile = dict(zip(ms["smile"].channel_names, ms["smile"].channels.T))
    assert smile["mouthSmileLeft"].max() > 0.9
    # the writer is deterministic, and the command line writes the same files
    assert set(example_motions()) == set(ms)
    out = tmp_path / "cli"
    subprocess.run([sys.executable, "-m", "lam_core.example_motions", str(out)], check=True, capture_output=True)
    for p in written:
        np.testing.assert_array_equal(load_motion(out / p.name).channels, ms[p.stem].channels)
