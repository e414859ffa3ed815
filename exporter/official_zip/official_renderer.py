"""Driving the official renderer (npm ``gaussian-splat-renderer-for-lam``, a devDependency) in the system
Chromium: the browser round-trip test and the side-by-side benchmark use it.

:func:`official_app` serves a harness page (``official_page.html``), the package's build, one zip and an ARKit
sequence on loopback; :func:`open_official` loads a zip and waits until the renderer has drawn it. The
package's module imports a debugging script from a web URL: the page's requests to anywhere but loopback are
answered with an empty script or refused, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask, Response, abort, send_file

from lam_core.errors import LamError

ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = Path(__file__).resolve().parent / "official_page.html"
PACKAGE = "gaussian-splat-renderer-for-lam"
SIZE = 512


class OfficialRendererError(LamError):
    """The official renderer is not installed or did not draw the avatar."""


def package_build() -> Path | None:
    env = os.environ.get("LAM_NODE_MODULES")
    root = Path(env).expanduser() if env else ROOT / "node_modules"
    build = root / PACKAGE / "build"
    return build if (build / f"{PACKAGE}.module.js").is_file() else None


def official_app(zip_path: str | os.PathLike, seq_path: str | os.PathLike | None = None) -> Flask:
    build = package_build()
    if build is None:
        raise OfficialRendererError(f"npm package {PACKAGE} is not installed (npm ci installs the devDependencies)")
    zip_path = Path(zip_path)
    app = Flask(__name__)

    @app.get("/")
    def page():
        return Response(PAGE.read_bytes(), mimetype="text/html")

    @app.get("/renderer/<name>")
    def renderer(name: str):
        if name != f"{PACKAGE}.module.js":
            abort(404)
        return send_file(build / name, mimetype="text/javascript")

    @app.get("/avatar/<name>")
    def avatar(name: str):
        if name != zip_path.name:
            abort(404)
        return send_file(zip_path, mimetype="application/zip")

    @app.get("/seq.json")
    def seq():
        if seq_path is None:
            abort(404)
        return send_file(Path(seq_path), mimetype="application/json")

    return app


def _offline(route) -> None:
    url = route.request.url
    if url.startswith("http://127.0.0.1:"):
        route.continue_()
    elif url.endswith(".js"):
        route.fulfill(status=200, content_type="text/javascript", body="")
    else:
        route.abort()


def open_official(browser, base_url: str, zip_name: str, query: str = "", timeout_s: float = 180.0):
    """A page of ``browser`` on which the official renderer has loaded ``zip_name`` and drawn it a few times."""
    page = browser.new_page(viewport={"width": SIZE, "height": SIZE})
    page.route("**/*", _offline)
    page.goto(f"{base_url}?zip={zip_name}" + (f"&{query}" if query else ""))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = page.evaluate("({ready: window.official && window.official.ready, drawn: window.official && "
                           "window.official.drawn, error: window.official && window.official.error})")
        if st["error"]:
            page.close()
            raise OfficialRendererError(f"the official renderer failed on {zip_name}: {st['error']}")
        if st["ready"] and st["drawn"] >= 5:
            return page
        time.sleep(0.5)
    page.close()
    raise OfficialRendererError(f"the official renderer did not draw {zip_name} within {timeout_s:.0f} s")


def screenshot(page) -> "np.ndarray":
    """The page's 512x512 canvas as (H, W, 3) float32 in [0, 1]."""
    import io

    import numpy as np
    from PIL import Image

    png = page.screenshot(clip={"x": 0, "y": 0, "width": SIZE, "height": SIZE})
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255.0


def frame_ms(page, frames: int = 40, timeout_s: float = 300.0) -> float:
    """Mean time between the official renderer's drawn frames (each waited for) over ``frames`` frames."""
    start = page.evaluate("window.official.times.length")
    deadline = time.monotonic() + timeout_s
    while page.evaluate("window.official.times.length") < start + frames + 1:
        if time.monotonic() > deadline:
            raise OfficialRendererError(f"the official renderer drew fewer than {frames} frames in {timeout_s:.0f} s")
        time.sleep(0.25)
    t = page.evaluate(f"window.official.times.slice({start}, {start + frames + 1})")
    return (t[-1] - t[0]) / frames


def official_camera(size: int = SIZE):
    """The official renderer's fixed camera (three.js: position (0, 1.8, 1), rotateX(-10 deg), vertical field
    of view 50 deg) as this project's Camera (OpenCV axes)."""
    import math

    import numpy as np

    from lam_core.camera import Camera

    a = math.radians(-10.0)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    c2w = rx @ np.diag([1.0, -1.0, -1.0])  # three's camera looks along -z with y up; OpenCV along +z, y down
    pos = np.array([0.0, 1.8, 1.0])
    w2c = np.eye(4)
    w2c[:3, :3] = c2w.T
    w2c[:3, 3] = -c2w.T @ pos
    return Camera(size, size, *Camera.intrinsics_for(50.0, size, size), world_to_camera=w2c)
