"""lam-serve: the Flask app serves only what it was given (no traversal), limits uploads, converts motions;
the CLI binds 127.0.0.1 by default, warns for other addresses, and turns mistakes into one-line errors."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import numpy as np
import pytest

from exporter.cli import run
from exporter.cli import serve as serve_cli
from exporter.server import add_static_mount, create_app
from lam_core import load_motion
from lam_core.example_motions import write_example_motions

from .conftest import NO_BUNDLE, ROOT, VIEWER_BUNDLE


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve")
    (d / "avatars").mkdir()
    (d / "avatars" / "a.lam").write_bytes(b"\x89LAM fake avatar bytes")
    (d / "other").mkdir()
    (d / "other" / "b.lam").write_bytes(b"second")
    (d / "secret.txt").write_text("do not serve")
    write_example_motions(d / "motions")
    (d / "motions" / "broken.npz").write_bytes(b"not a zip")
    bundle = d / "bundle"
    bundle.mkdir()
    (bundle / "index.html").write_text("<!doctype html><title>viewer</title>")
    (bundle / "app.js").write_text("console.log('app')")
    (d / "mount").mkdir()
    (d / "mount" / "model.bin").write_bytes(b"wasm")
    return d


@pytest.fixture(scope="module")
def client(files):
    app = create_app([files / "avatars" / "a.lam", files / "other" / "b.lam"], files / "motions",
                     bundle_dir=files / "bundle", max_upload_bytes=200_000, static_mounts={"mediapipe": files / "mount"})
    return app.test_client()


def test_serves_the_page_the_bundle_and_the_avatars(client):
    assert b"viewer" in client.get("/").data
    assert client.get("/app.js").status_code == 200
    listing = client.get("/api/avatars").get_json()["avatars"]
    assert [a["name"] for a in listing] == ["a.lam", "b.lam"]
    r = client.get("/avatars/a.lam")
    assert r.status_code == 200 and r.data == b"\x89LAM fake avatar bytes"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/mediapipe/model.bin").data == b"wasm"


@pytest.mark.parametrize("url", [
    "/avatars/../secret.txt", "/avatars/..%2fsecret.txt", "/avatars/%2e%2e%2fsecret.txt", "/avatars/secret.txt",
    "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/avatars/%2fetc%2fpasswd",
    "/mediapipe/../secret.txt", "/mediapipe/..%2f..%2fsecret.txt", "/mediapipe/%2fetc%2fpasswd",
    "/motions/..%2fsecret.json", "/motions/../avatars/a.json", "/avatars/b.lam/../../secret.txt",
])
def test_no_traversal(client, url):
    r = client.get(url, follow_redirects=True)  # Flask merges '//' with a redirect; where it leads matters
    assert r.status_code in (400, 404), (url, r.status_code)
    assert b"do not serve" not in r.data


def test_static_mount_refuses_a_missing_folder(files):
    app = create_app([], None, bundle_dir=files / "bundle")
    with pytest.raises(Exception, match="not a folder"):
        add_static_mount(app, "x", files / "nope")


def test_motions_are_listed_and_converted(client, files):
    names = [m["name"] for m in client.get("/api/motions").get_json()["motions"]]
    assert {"talk", "blink", "head_turns"} <= set(names)
    d = client.get("/motions/talk.json").get_json()
    assert d["format"] == "lam-motion" and d["version"] == 1
    want = load_motion(files / "motions" / "talk.npz")
    assert d["frames"] == want.n_frames and d["fps"] == want.fps
    pose = np.frombuffer(base64.b64decode(d["pose"]), "<f4").reshape(-1, 5, 3)
    np.testing.assert_array_equal(pose, want.pose)
    assert "eyeBlinkLeft" in d["channel_names"] and "expr_00" not in d["channel_names"]  # all-zero channels dropped
    bad = client.get("/motions/broken.json")
    assert bad.status_code == 422 and "npz" in bad.get_json()["error"] and str(files) not in bad.get_json()["error"]
    assert client.get("/motions/nope.json").status_code == 404


def test_upload_converts_and_is_size_limited(client, files):
    data = (files / "motions" / "blink.npz").read_bytes()
    r = client.post("/api/motion", data={"file": (io.BytesIO(data), "blink.npz")})
    assert r.status_code == 200 and r.get_json()["source"] == "blink.npz"
    r = client.post("/api/motion", data={"file": (io.BytesIO(b"garbage"), "x.npz")})
    assert r.status_code == 422 and "x.npz" in r.get_json()["error"]
    r = client.post("/api/motion", data={"file": (io.BytesIO(b"{}"), "x.exe")})
    assert r.status_code == 400
    r = client.post("/api/motion", data={"file": (io.BytesIO(b"0" * 300_000), "big.npz")})
    assert r.status_code == 413 and "limit" in r.get_json()["error"]


def test_cli_defaults_to_loopback():
    args = serve_cli.build_parser().parse_args(["x.lam"])
    assert args.host == "127.0.0.1" and args.port == 8000


def test_cli_mistakes_are_one_line(files, capsys, monkeypatch):
    assert run(serve_cli.main, [str(files / "nope.lam")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: avatar file not found") and err.count("\n") == 1
    assert run(serve_cli.main, [str(files / "secret.txt")]) == 2
    assert "expected a .lam" in capsys.readouterr().err
    monkeypatch.setattr("exporter.cli.serve.DEFAULT_BUNDLE", files / "missing-bundle")
    assert run(serve_cli.main, [str(files / "avatars" / "a.lam")]) == 2
    assert "npm run build" in capsys.readouterr().err


def test_cli_warns_off_loopback_without_binding_it(files, capsys, no_listen):
    no_listen.setattr("exporter.cli.serve.DEFAULT_BUNDLE", files / "bundle")
    assert run(serve_cli.main, [str(files / "avatars" / "a.lam"), "--host", "0.0.0.0"]) == 0
    out = capsys.readouterr()
    assert "warning: listening on 0.0.0.0" in out.err
    assert "http://127.0.0.1:8123/" in out.out
    assert run(serve_cli.main, [str(files / "avatars" / "a.lam")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_lam_serve_process_prints_its_url_and_serves(files):
    """The real command: port 0, prints the URL, answers on 127.0.0.1, and a busy port is a one-line error."""
    import urllib.request

    if not VIEWER_BUNDLE.is_file():
        pytest.skip(NO_BUNDLE)
    proc = subprocess.Popen([sys.executable, "-m", "exporter.cli.serve", str(files / "avatars" / "a.lam"), "--port", "0",
                             "--motions", str(files / "motions")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving 1 avatar at http://127.0.0.1:"), line
        url = line.split()[4]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with urllib.request.urlopen(url + "api/avatars", timeout=10) as r:
            assert b"a.lam" in r.read()
        busy = subprocess.run([sys.executable, "-m", "exporter.cli.serve", str(files / "avatars" / "a.lam"), "--port",
                               str(port)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert busy.returncode == 2 and busy.stderr.startswith("error: cannot listen on 127.0.0.1:")
        assert "Traceback" not in busy.stderr
    finally:
        proc.terminate()
        proc.wait(10)
