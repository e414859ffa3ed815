"""lam-serve for the page's webcam: MediaPipe's files served from the installed npm package at /mediapipe/
(nothing else of node_modules, no traversal), and https with a given certificate (browsers allow cameras only
on https pages or on localhost), with one-line errors for certificate mistakes."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import urllib.request

import pytest

from exporter.cli import run
from exporter.cli import serve as serve_cli
from exporter.server import face_mesh_dir

from .conftest import NO_BUNDLE, ROOT, VIEWER_BUNDLE

HAVE_BUNDLE = VIEWER_BUNDLE.is_file()


@pytest.fixture(scope="module")
def avatar(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve_webcam")
    (d / "a.lam").write_bytes(b"\x89LAM fake")
    return d / "a.lam"


@pytest.mark.skipif(not HAVE_BUNDLE, reason=NO_BUNDLE)
@pytest.mark.skipif(face_mesh_dir() is None, reason="the npm package @mediapipe/face_mesh is not installed")
def test_lam_serve_mounts_the_face_mesh_package(avatar):
    args = serve_cli.build_parser().parse_args([str(avatar), "--port", "0"])
    server, app = serve_cli.make_server(args)
    try:
        client = app.test_client()
        r = client.get("/mediapipe/package.json")
        assert r.status_code == 200 and b"@mediapipe/face_mesh" in r.data
        assert client.get("/mediapipe/face_mesh_solution_simd_wasm_bin.wasm").mimetype == "application/wasm"
        for bad in ("/mediapipe/../esbuild/package.json", "/mediapipe/%2e%2e/esbuild/package.json",
                    "/mediapipe//etc/passwd", "/mediapipe/missing.js"):
            assert client.get(bad, follow_redirects=True).status_code == 404, bad
    finally:
        server.server_close()


def test_lam_serve_without_the_package_warns(avatar, capsys, monkeypatch):
    if not HAVE_BUNDLE:
        pytest.skip("the viewer bundle is not built (npm run build)")
    monkeypatch.setenv("LAM_NODE_MODULES", str(avatar.parent / "no-node-modules"))
    args = serve_cli.build_parser().parse_args([str(avatar), "--port", "0"])
    server, app = serve_cli.make_server(args)
    server.server_close()
    assert "@mediapipe/face_mesh is not installed" in capsys.readouterr().err
    assert app.test_client().get("/mediapipe/package.json").status_code == 404


@pytest.mark.parametrize("argv,match", [
    (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
    (["--tls-cert", "missing.pem", "--tls-key", "missing.pem"], "TLS certificate not found"),
    (["--tls-cert", "junk.pem", "--tls-key", "junk.pem"], "cannot use the TLS certificate"),
])
def test_tls_mistakes_are_one_line(avatar, capsys, argv, match):
    (avatar.parent / "junk.pem").write_text("not a certificate")
    argv = [str(avatar.parent / a) if a.endswith(".pem") else a for a in argv]
    assert run(serve_cli.main, [str(avatar), "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err and err.count("\n") == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.skipif(not HAVE_BUNDLE, reason=NO_BUNDLE)
def test_lam_serve_over_https(avatar, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "exporter.cli.serve", str(avatar), "--port", "0", "--tls-cert",
                             str(cert), "--tls-key", str(key)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving 1 avatar at https://127.0.0.1:"), line
        url = line.split()[4]
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        with urllib.request.urlopen(url + "api/avatars", timeout=10, context=ctx) as r:
            assert b"a.lam" in r.read()
    finally:
        proc.terminate()
        proc.wait(10)
