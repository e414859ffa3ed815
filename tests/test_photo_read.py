"""lam-export reads the photo in a forked child while torch imports (exporter/photo_read.py): the child
must give exactly what reading in this process gives, its mistakes must reach the user as the same one
line, a child that dies must not lose the export, and Ctrl-C or a parent's death must leave no child running.

Every fork happens in a fresh interpreter, as in lam-export: this test process has torch and MediaPipe's
threads, and a fork from it could copy a lock another thread holds (which is why can_fork refuses here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exporter.photo_read import PhotoRead, can_fork

ROOT = Path(__file__).resolve().parent.parent
ASTRONAUT = ROOT / "examples" / "astronaut.png"
# a process started in the background by a non-interactive shell (as a CI runner may start the tests) inherits
# SIGINT ignored, and Python then keeps it ignored: the scripts restore a terminal's Ctrl-C first
SIGINT_AS_IN_A_TERMINAL = "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks and reads /proc (Linux)")


def fresh_python(body: str, timeout: int = 300) -> dict:
    """Run ``body`` in a fresh interpreter (no torch: PhotoRead forks) and return the JSON it prints last."""
    code = ("import json, os, signal, sys, time\n" + SIGINT_AS_IN_A_TERMINAL
            + "from exporter.photo_read import PhotoRead, read_photo\n")
    r = subprocess.run([sys.executable, "-c", code + textwrap.dedent(body)], capture_output=True, text=True,
                       cwd=ROOT, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return {**json.loads(r.stdout.strip().splitlines()[-1]), "stderr": r.stderr}


def test_lam_export_imports_neither_torch_nor_mediapipe_before_it_reads_the_photo():
    """Otherwise nothing runs beside the import: the child could not be forked (torch) or would gain nothing."""
    got = fresh_python("""
        import exporter.cli.export
        from exporter.photo_read import can_fork
        print(json.dumps({"loaded": [m for m in ("torch", "mediapipe", "trimesh") if m in sys.modules],
                          "can_fork": can_fork()}))
    """)
    assert got["loaded"] == [] and got["can_fork"] is True


def test_this_process_reads_the_photo_itself():
    """torch is loaded here: no fork, and the photo is read when asked for."""
    assert "torch" in sys.modules and not can_fork()
    reading = PhotoRead(ASTRONAUT, "astronaut.png", torso=False)
    assert not reading.forked
    assert reading.result().face.n_faces == 1


@LINUX
def test_the_child_reads_what_this_process_reads():
    got = fresh_python(f"""
        import numpy as np
        from exporter.stages import StageTimer
        reading = PhotoRead({str(ASTRONAUT)!r}, "astronaut.png", torso=True)
        child_pid = reading._process.pid
        lines = []
        timer = StageTimer(log=lines.append)  # the caller's log: it must hear of the child's stages here
        child = reading.result(timer)
        here = read_photo({str(ASTRONAUT)!r}, "astronaut.png", torso=True)
        print(json.dumps({{
            "forked": child_pid != os.getpid(), "closed": not reading.forked, "stages": sorted(timer.times),
            "lines": lines, "seconds": timer.times["face landmarks"],
            "rgb": bool(np.array_equal(child.rgb, here.rgb)),
            "points": float(np.abs(child.face.points - here.face.points).max()),
            "mask": float(np.abs(child.mask - here.mask).max()),
            "yaw": abs(child.torso_yaw - here.torso_yaw),
            "n_faces": [child.face.n_faces, here.face.n_faces],
        }}))
    """)
    assert got["forked"] and got["closed"] and got["rgb"] and got["n_faces"] == [1, 1]
    assert got["stages"] == ["face landmarks", "person mask", "pose landmarks", "read photo"]
    assert got["lines"] == ["read photo ...", "face landmarks ...", "person mask ...", "pose landmarks ..."]
    assert got["seconds"] > 0.05  # the child's time for the stage, not the replay's
    assert got["points"] < 1e-3 and got["mask"] < 1e-6 and got["yaw"] < 1e-9


@LINUX
def test_a_mistake_in_the_child_is_the_same_one_line_error(tmp_path):
    (tmp_path / "text.jpg").write_text("this is a text file")
    (tmp_path / "empty.jpg").write_bytes(b"")
    Image.fromarray(np.full((300, 300, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    got = fresh_python(f"""
        from lam_core.errors import LamError
        def error(fork):
            try:
                PhotoRead(path, path.name, torso=True, fork=fork).result()
            except LamError as exc:
                return [type(exc).__name__, str(exc), exc.exit_code]
        from pathlib import Path
        out = {{}}
        for name in ("text.jpg", "empty.jpg", "grey.png", "missing.jpg"):
            path = Path({str(tmp_path)!r}) / name
            out[name] = [error(True), error(False)]
        print(json.dumps(out))
    """)
    for name in ("text.jpg", "empty.jpg", "grey.png", "missing.jpg"):
        child, here = got[name]
        assert child is not None and child == here and child[0] == "PhotoError" and "\n" not in child[1], name
    assert "no face found in grey.png" in got["grey.png"][0][1]
    assert got["stderr"] == ""  # the child printed nothing of its own


@LINUX
def test_a_child_that_dies_does_not_lose_the_export():
    got = fresh_python(f"""
        reading = PhotoRead({str(ASTRONAUT)!r}, "astronaut.png", torso=False)
        os.kill(reading._process.pid, signal.SIGKILL)
        photo = reading.result()  # read here instead
        print(json.dumps({{"shape": list(photo.rgb.shape), "n_faces": photo.face.n_faces}}))
    """)
    assert got["shape"] == [512, 512, 3] and got["n_faces"] == 1


@LINUX
def test_the_child_ignores_ctrl_c():
    """Ctrl-C is the parent's to handle: a child interrupted mid-send would print a traceback of its own."""
    got = fresh_python(f"""
        reading = PhotoRead({str(ASTRONAUT)!r}, "astronaut.png", torso=False)
        for _ in range(5):
            time.sleep(0.15)
            os.kill(reading._process.pid, signal.SIGINT)
        photo = reading.result()
        print(json.dumps({{"n_faces": photo.face.n_faces}}))
    """)
    assert got["n_faces"] == 1 and got["stderr"] == ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _started(body: str) -> tuple[subprocess.Popen, int]:
    """A fresh interpreter that starts reading the astronaut, prints the child's pid, then runs ``body``."""
    code = textwrap.dedent(f"""
        import os, signal, sys, time
        {SIGINT_AS_IN_A_TERMINAL.strip()}
        from exporter.photo_read import PhotoRead
        reading = PhotoRead({str(ASTRONAUT)!r}, "astronaut.png", torso=True)
        assert reading.forked
        print(reading._process.pid, flush=True)
    """) + textwrap.dedent(body)
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    return p, int(p.stdout.readline())


@LINUX
def test_ctrl_c_stops_the_child_and_prints_no_traceback():
    """SIGINT to the whole process group, as a terminal's Ctrl-C: the child ignores it, the parent's
    KeyboardInterrupt stops the child on the way out."""
    p, pid = _started("""
        try:
            time.sleep(30)
        except KeyboardInterrupt:
            reading.close()
            print("closed", flush=True)
    """)
    time.sleep(0.3)
    os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert out.strip() == "closed" and err == "" and not _alive(pid)


@LINUX
def test_a_parent_that_dies_takes_the_child_with_it():
    """A parent killed outright (SIGKILL; or torch aborting on a Ctrl-C in its import) runs no clean-up:
    the child must not live on holding the terminal (the kernel stops it: PR_SET_PDEATHSIG)."""
    p, pid = _started("time.sleep(0.3); os.kill(os.getpid(), 9)")  # the child is well into MediaPipe by then
    p.wait(timeout=60)  # the parent only: the pipes stay open while the child lives
    deadline = time.time() + 0.5  # well before the child would finish reading the photo and find nobody
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.02)
    p.stdout.close()
    p.stderr.close()
    assert not _alive(pid)
