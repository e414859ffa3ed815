"""Driving the system's Chromium (Debian's ``chromium``; never a downloaded browser) with Playwright, with
WebGL2 on one of two software GL stacks:

* ``swiftshader``: headless, ANGLE on SwiftShader (Vulkan); works anywhere Chromium runs;
* ``llvmpipe``: headful Chromium on Mesa llvmpipe through ANGLE's GL backend, on a private Xvfb display
  started here (about 3x faster than SwiftShader on a CPU).

Used by ``lam-verify``, the browser tests and the viewer benchmark; :func:`serve_in_thread` runs the viewer's
Flask app on a free loopback port for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from exporter.processes import stop_process
from lam_core.errors import LamError

GL_MODES = ("swiftshader", "llvmpipe")
COMMON_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-default-apps", "--mute-audio", "--disable-gpu-driver-bug-workarounds"]
GL_FLAGS = {
    "swiftshader": ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
    "llvmpipe": ["--use-gl=angle", "--use-angle=gl", "--ignore-gpu-blocklist"],
}


class BrowserError(LamError):
    """The browser needed for a check cannot be started."""


def chromium_path() -> str:
    for cand in (os.environ.get("LAM_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).is_file():
            return cand
    raise BrowserError("Chromium was not found (install Debian's 'chromium' package, as make setup does, or set "
                       "LAM_CHROMIUM to its path)")


@contextmanager
def xvfb_display() -> Iterator[str]:
    """A private X display (Xvfb, display number chosen by the server itself); yields ':N'."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise BrowserError("Xvfb is needed for --gl llvmpipe (install Debian's 'xvfb' package, as make setup does)")
    r, w = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(w), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        with os.fdopen(r) as f:
            num = f.readline().strip()
        if not num.isdigit():
            raise BrowserError("Xvfb did not start")
        yield f":{num}"
    finally:
        stop_process(proc)


@contextmanager
def chromium(gl: str = "swiftshader", extra_args: list[str] | None = None, playwright=None) -> Iterator[object]:
    """A Playwright Browser on the system Chromium with the given GL (a fresh profile each time); closed on
    exit. ``browser.new_page()`` or ``browser.new_context(viewport=..., has_touch=True)`` from it.
    ``playwright``: a running ``sync_playwright()`` to launch from (one process may run only one)."""
    if gl not in GL_MODES:
        raise BrowserError(f"unknown GL '{gl}' (expected {' or '.join(GL_MODES)})")
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError:
        raise BrowserError("the Python package 'playwright' is missing (make setup installs it)") from None
    exe = chromium_path()
    with (xvfb_display() if gl == "llvmpipe" else _no_display()) as display:
        env = dict(os.environ)
        if display:
            env["DISPLAY"] = display
        args = COMMON_FLAGS + GL_FLAGS[gl] + list(extra_args or [])
        with (nullcontext(playwright) if playwright is not None else sync_playwright()) as p:
            try:
                browser = p.chromium.launch(executable_path=exe, headless=(gl == "swiftshader"), args=args, env=env,
                                            timeout=60_000)
            except PlaywrightError as exc:
                raise BrowserError(f"Chromium did not start: {str(exc).splitlines()[0]}") from None
            try:
                yield browser
            finally:
                browser.close()


@contextmanager
def _no_display() -> Iterator[None]:
    yield None


@contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """Run a WSGI app on 127.0.0.1 on a free port in a daemon thread; yields its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
