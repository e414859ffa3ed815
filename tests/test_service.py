"""The photo upload service on a real Flask server on loopback (exporter/service, docs/service.md): a photo
goes in, stages and progress come out, the .lam and .ply come back; every hostile upload is a 4xx with a
message while the server keeps serving; the queue runs in-process and on a real Redis with a real worker."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from exporter.browser import serve_in_thread
from exporter.server import create_app
from exporter.service import Limits
from exporter.service.client import fetch, status, upload, wait
from exporter.service.export_job import STEPS, Progress
from exporter.service.local_queue import LocalQueue
from exporter.service.upload import display_name

from .conftest import ROOT


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> bytes:
    from skimage import data

    return png_bytes(data.astronaut())


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's shape)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A server with a one-worker in-process queue of two and small limits."""
    data = tmp_path_factory.mktemp("service")
    backend = LocalQueue(data / "jobs", Limits(max_upload_bytes=8 << 20, max_pixels=4_000_000, max_queue=2))
    app = create_app([], None, service=backend)
    with serve_in_thread(app) as url:
        yield url, backend, data
    backend.close()


def test_progress_follows_the_pipeline_steps_and_never_goes_back():
    p = Progress()
    seen = [(p.stage, p.progress)]
    for step in ["read photo", "face landmarks", "person mask", "something new", "head model", "fit", "subdivide",
                 "gaussians", "refine", "write .lam", "write .ply"]:
        if p.step(step):
            seen.append((p.stage, p.progress))
    stages = [s for s, _ in seen]
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == \
        ["queued", "photo", "face", "fit", "gaussians", "writing"]
    assert all(b[1] > a[1] for a, b in zip(seen, seen[1:]))
    assert not p.step("read photo") and p.stage == "writing"      # an earlier step does not go back
    assert set(STEPS) >= {"face landmarks", "fit", "gaussians", "write .lam"}


def test_display_name_is_never_a_path():
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("..\\..\\boot.ini") == "boot.ini"
    assert display_name("a/b/<script>.jpg") == "_script_.jpg"
    assert display_name("..") == "photo" and display_name(None) == "photo"
    assert len(display_name("x" * 500 + ".jpg")) <= 80


def test_upload_a_photo_and_download_the_avatar(service, astronaut, tmp_path):
    url, backend, _ = service
    r = upload(url, astronaut, "astronaut.png")
    assert r.status == 202, r.body
    job = r.body["id"]
    assert r.body["status"] == f"/api/avatars/{job}" and r.body["name"] == "astronaut.png"
    seen: list[dict] = []
    final = wait(url, job, timeout=180, poll=0.05, seen=seen)
    assert final["state"] == "done", final
    assert final["progress"] == 1.0 and final["error"] is None
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress), "progress never goes back"
    # every stage the job went through is in its history, in order, however fast each one was
    assert final["stages"] == ["queued", "photo", "face", "fit", "gaussians", "writing", "done"], final
    for s in seen:
        assert s["stages"][-1] == s["stage"] and s["stages"] == final["stages"][:len(s["stages"])], s

    lam = fetch(url, job, "lam")
    assert lam.status == 200 and "astronaut.lam" in lam.headers["Content-Disposition"]
    (tmp_path / "a.lam").write_bytes(lam.data)
    from exporter.lamfile import read_lam

    n = read_lam(tmp_path / "a.lam").avatar.n
    assert n > 10_000
    ply = fetch(url, job, "ply")
    assert ply.status == 200 and "astronaut.ply" in ply.headers["Content-Disposition"]
    assert ply.data.startswith(b"ply\n") and f"element vertex {n}\n".encode() in ply.data[:400]
    out = subprocess.run([sys.executable, "-m", "exporter.cli.export", "--inspect", str(tmp_path / "a.lam")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr


def test_a_photo_without_a_face_fails_in_words(service):
    url, _, _ = service
    blank = np.full((256, 256, 3), 200, np.uint8)
    r = upload(url, png_bytes(blank), "wall.png")
    assert r.status == 202
    final = wait(url, r.body["id"], timeout=120)
    assert final["state"] == "failed" and final["error"] == "no face found in wall.png", final
    got = fetch(url, r.body["id"], "lam")
    assert got.status == 422 and got.body["error"] == "no face found in wall.png"


@pytest.mark.parametrize("case", ["not-an-image", "truncated", "bomb", "big-pixels", "empty", "no-field",
                                  "too-big"])
def test_hostile_uploads_are_refused_with_a_message(service, astronaut, case):
    url, _, _ = service
    if case == "not-an-image":
        r = upload(url, b"#!/bin/sh\necho hello\n" * 100, "photo.jpg")
        want = (415, "photo.jpg: not an image")
    elif case == "truncated":
        r = upload(url, astronaut[: len(astronaut) // 2], "half.png")
        want = (422, "half.png: corrupt or truncated image")
    elif case == "bomb":
        r = upload(url, bomb_png(60_000, 60_000), "bomb.png")
        want = (413, "bomb.png: the image claims far more than the 4,000,000 pixels")
    elif case == "big-pixels":
        r = upload(url, bomb_png(5_000, 5_000), "wide.png")
        want = (413, "wide.png: 5000x5000 pixels is more than the 4,000,000")
    elif case == "empty":
        r = upload(url, b"", "empty.jpg")
        want = (400, "empty.jpg: the file is empty")
    elif case == "no-field":
        r = upload(url, astronaut, "a.png", field_name="file")
        want = (400, "field named 'photo'")
    else:
        r = upload(url, b"\xff" * (50 << 20), "huge.jpg")
        want = (413, "larger than the server's limit of 8 MiB")
    assert r.status == want[0], (r.status, r.body)
    assert want[1] in r.body["error"], r.body
    assert status(url, "A" * 16).status == 404          # and the server keeps answering
    assert status(url, "../../etc").status == 404


def test_a_dot_dot_filename_writes_nothing_outside_the_job(service, astronaut):
    url, backend, data = service
    r = upload(url, astronaut, "../../../../escape.png")
    assert r.status == 202 and r.body["name"] == "escape.png"
    wait(url, r.body["id"], timeout=180)
    assert not list(data.parent.rglob("escape.png")), "the client's name never becomes a path"
    assert sorted(p.name for p in (backend.data_dir / r.body["id"]).iterdir()) == ["avatar.lam", "avatar.ply"]


def test_a_full_queue_says_429_with_retry_after_and_then_serves(service, astronaut):
    url, backend, _ = service
    gate = threading.Event()
    backend.pool.submit(gate.wait, 60)           # the one worker is busy: uploads stay queued
    try:
        first = [upload(url, astronaut, f"q{i}.png") for i in range(2)]
        assert [r.status for r in first] == [202, 202]
        full = upload(url, astronaut, "one-too-many.png")
        assert full.status == 429 and "queue is full" in full.body["error"]
        assert int(full.headers["Retry-After"]) >= 1
        assert status(url, first[0].body["id"]).body["state"] == "queued"
    finally:
        gate.set()
    for r in first:
        assert wait(url, r.body["id"], timeout=240)["state"] == "done"
    assert upload(url, b"not an image", "x.jpg").status == 415     # room again: refused only for what it is


def test_unknown_and_unready_results(service):
    url, _, _ = service
    assert fetch(url, "B" * 16, "lam").status == 404
    assert fetch(url, "B" * 16, "exe").status == 404
    assert status(url, "B" * 16).body["error"].startswith("no avatar job")


def test_the_redis_queue_runs_an_export_on_a_worker_process(astronaut, tmp_path):
    """A real redis-server on loopback, the server on the Redis backend, and `lam-serve --worker --burst` as a
    separate process taking the job."""
    pytest.importorskip("rq")
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make setup installs it)")
    from exporter.service.redis_local import local_redis
    from exporter.service.redis_queue import RedisQueue

    with local_redis() as redis_url:
        backend = RedisQueue(redis_url, Limits(max_queue=3))
        app = create_app([], None, service=backend)
        with serve_in_thread(app) as url:
            ok = upload(url, astronaut, "astronaut.png")
            bad = upload(url, png_bytes(np.full((200, 200, 3), 90, np.uint8)), "grey.png")
            assert ok.status == 202 and bad.status == 202
            assert status(url, ok.body["id"]).body["state"] == "queued"
            worker = subprocess.run([sys.executable, "-m", "exporter.cli.serve", "--worker", "--burst",
                                     "--redis-url", redis_url], cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert worker.returncode == 0, worker.stderr[-2000:]
            final = wait(url, ok.body["id"], timeout=10)
            assert final["state"] == "done" and final["progress"] == 1.0, final
            assert final["stages"] == ["queued", "photo", "face", "fit", "gaussians", "writing", "done"], final
            lam = fetch(url, ok.body["id"], "lam")
            assert lam.status == 200 and lam.data[:4] == b"\x89LAM"
            failed = wait(url, bad.body["id"], timeout=10)
            assert failed == {**failed, "state": "failed", "error": "no face found in grey.png"}
            assert fetch(url, bad.body["id"], "lam").status == 422
        backend.close()


def test_time_limit_and_retention(tmp_path, astronaut):
    """A job past its time limit fails in words; finished jobs beyond the retention count are removed."""
    backend = LocalQueue(tmp_path / "jobs", Limits(job_seconds=1e-6, keep_jobs=1))
    app = create_app([], None, service=backend)
    with serve_in_thread(app) as url:
        ids = []
        for i in range(3):
            r = upload(url, astronaut, f"p{i}.png")
            assert r.status == 202
            ids.append(r.body["id"])
            final = wait(url, r.body["id"], timeout=60)
            assert final["state"] == "failed"
            assert final["error"] == "the export took longer than this service's limit of 1e-06 s"
        assert status(url, ids[0]).status == 404            # pruned when the third came in
        assert "retention" in status(url, ids[0]).body["error"]
        assert not (backend.data_dir / ids[0]).exists()
        assert status(url, ids[2]).status == 200
    backend.close()


def test_lam_serve_prints_the_lan_address_and_serves_with_waitress(no_listen, capsys, tmp_path):
    from exporter.cli import run
    from exporter.cli import serve as serve_cli

    from .conftest import NO_BUNDLE, VIEWER_BUNDLE

    if not VIEWER_BUNDLE.is_file():
        pytest.skip(NO_BUNDLE)

    no_listen.setattr("exporter.cli.serve.lan_address", lambda: "192.168.7.20")
    assert run(serve_cli.main, ["--host", "0.0.0.0"]) == 0
    out = capsys.readouterr()
    assert "serving 0 avatars at http://127.0.0.1:8123/" in out.out
    assert "from a phone on the same network: http://192.168.7.20:8123/" in out.out
    assert "photo uploads: in-process queue" in out.out
    no_listen.undo()

    proc = subprocess.Popen([sys.executable, "-m", "exporter.cli.serve", "--waitress", "--port", "0", "--data-dir",
                             str(tmp_path / "data")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving 0 avatars at http://127.0.0.1:"), line
        url = line.split()[4]
        import json
        import urllib.request

        with urllib.request.urlopen(url + "api/service", timeout=20) as r:
            info = json.loads(r.read())
            assert r.headers["Server"] == "waitress"
        assert info["upload"] is True and info["queue"] == "in-process"
        assert upload(url, b"nope", "x.jpg").status == 415
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_service_flags_are_one_line_errors(capsys):
    from exporter.cli import run
    from exporter.cli import serve as serve_cli

    assert run(serve_cli.main, ["--max-queue", "0", "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: the service limit max_queue must be positive")
    assert run(serve_cli.main, ["--queue", "redis", "--redis-url", "redis://127.0.0.1:1/0", "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot reach Redis at redis://127.0.0.1:1/0")
