"""Shared fixtures. FLAME cannot be shipped, so FLAME-layout tests use the synthetic model
(:mod:`lam_core.synthetic`), written here in FLAME's own pickle layout (chumpy objects, sparse regressor)."""

from __future__ import annotations

import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from lam_core.synthetic import synthetic_flame_arrays, synthetic_flame_model

ROOT = Path(__file__).resolve().parent.parent
VIEWER_BUNDLE = ROOT / "viewer_web" / "dist" / "index.html"
NO_BUNDLE = "the viewer bundle is not built (npm run build)"


def have_chromium() -> bool:
    from exporter.browser import BrowserError, chromium_path

    try:
        return bool(chromium_path())
    except BrowserError:
        return False


# the marks of every test module that drives the viewer page in Chromium
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not have_chromium(), reason="Chromium is not installed"),
    pytest.mark.skipif(not VIEWER_BUNDLE.is_file(), reason=NO_BUNDLE),
]


def shared_data_dir() -> Path | None:
    """../shared/data beside the checkout (sample data that must not be copied into the repo)."""
    env = os.environ.get("LAM_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data", ROOT / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("sample data ../shared/data is not present beside this checkout")
    return d


@pytest.fixture(scope="session")
def flame_arrays() -> dict[str, np.ndarray]:
    return synthetic_flame_arrays(seed=0)


@pytest.fixture(scope="session")
def flame_model():
    return synthetic_flame_model(seed=0)


def _fake_chumpy() -> tuple[type, dict[str, types.ModuleType]]:
    """A class importable as chumpy.ch.Ch, pickled with the state chumpy itself writes (a dict with 'x')."""
    ch_mod = types.ModuleType("chumpy.ch")

    class Ch:  # noqa: D401 - mimics chumpy.ch.Ch
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set(), "_itr": None, "_depends_on_deps": {}}

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    ch_mod.Ch = Ch
    pkg = types.ModuleType("chumpy")
    pkg.ch = ch_mod
    return Ch, {"chumpy": pkg, "chumpy.ch": ch_mod}


def write_flame_pickle(arrays: dict[str, np.ndarray], path: Path, protocol: int = 2) -> None:
    """Write FLAME arrays the way the official pickles hold them: shapedirs as a chumpy Ch, J_regressor as a
    scipy csc_matrix, kintree_table with 2**32-1 as the root's parent, protocol 2."""
    Ch, mods = _fake_chumpy()
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        d = dict(arrays)
        d["shapedirs"] = Ch(arrays["shapedirs"])
        d["posedirs"] = Ch(arrays["posedirs"])
        d["J_regressor"] = sp.csc_matrix(arrays["J_regressor"])
        d["J"] = np.zeros((5, 3))  # FLAME stores template joints too; the loader regresses its own
        d["bs_style"] = "lbs"
        d["bs_type"] = "lrotmin"
        with open(path, "wb") as f:
            pickle.dump(d, f, protocol=protocol)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@pytest.fixture(scope="session")
def flame_pickle(tmp_path_factory, flame_arrays) -> Path:
    path = tmp_path_factory.mktemp("flame") / "generic_model.pkl"
    write_flame_pickle(flame_arrays, path)
    return path


@pytest.fixture
def no_listen(monkeypatch):
    """lam-serve's command line without a socket: its server says it is on 0.0.0.0:8123 and returns at once."""

    class FakeServer:
        socket = type("Sock", (), {"getsockname": lambda self: ("0.0.0.0", 8123)})()

        def serve_forever(self):
            pass

        def server_close(self):
            pass

    monkeypatch.setattr("werkzeug.serving.make_server", lambda host, port, app, **kw: FakeServer())
    monkeypatch.setattr("exporter.cli.serve.listen", lambda host, port: type("S", (), {"fileno": lambda self: -1})())
    return monkeypatch


@pytest.fixture(scope="session")
def playwright_instance():
    """One Playwright driver for the whole session (its sync API cannot be started twice in a process)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """The system Chromium, headless on SwiftShader WebGL2, shared by the browser tests."""
    from exporter.browser import BrowserError, chromium

    try:
        with chromium("swiftshader", playwright=playwright_instance) as b:
            yield b
    except BrowserError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def photo_lam(tmp_path_factory) -> Path:
    """The example photo (skimage's astronaut) exported by ``lam-export``'s pipeline: an open-head avatar."""
    from PIL import Image
    from skimage import data

    from exporter.photo_export import export_photo

    d = tmp_path_factory.mktemp("photo")
    Image.fromarray(data.astronaut()).save(d / "astronaut.png")
    return export_photo(d / "astronaut.png", d / "astronaut.lam").output


@pytest.fixture(scope="session")
def performance_video(tmp_path_factory, photo_lam):
    """The webcam test's known performance of the photo's avatar (exporter.webcam_clip: jaw, yaw +-20 degrees,
    blinks) as an H.264 mp4 and a VP8 webm of the same frames, 320x240 at 24 fps: (folder, avatar, Clip)."""
    import shutil

    from exporter.webcam_clip import make_clip

    d = tmp_path_factory.mktemp("video")
    lam = d / "astronaut.lam"
    shutil.copyfile(photo_lam, lam)
    return d, lam, make_clip(lam, d / "clip.mp4", 320, 240, 24.0, also=[d / "clip.webm"])
