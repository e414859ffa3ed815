"""Verification of the browser viewer against the reference renderer (``lam-verify``, the tests, the
benchmark): serve the avatar, drive the page's test hook (``?test=1``) through frames with a fixed camera,
read the canvas back and compare it with :func:`lam_core.render.render_posed` of the same frames.

:func:`builtin_sequence` is the parameter sequence used when no motion is given: every frame moves the global
rotation, translation, neck, jaw and eyes (so the pose correctives are active) and the expression channels,
with amplitudes a real performance reaches.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lam_core import FrameParams
from lam_core.errors import LamError


def builtin_sequence(n_expr: int, frames: int = 30, n_joints: int = 5) -> FrameParams:
    """``frames`` frames exercising global rotation, translation, neck, jaw, eyes, expressions and pose
    correctives (deterministic)."""
    t = np.arange(frames, dtype=np.float64) / max(frames, 1)
    w = 2 * math.pi * t
    pose = np.zeros((frames, n_joints, 3))
    pose[:, 0] = np.stack([np.deg2rad(10) * np.sin(2 * w), np.deg2rad(28) * np.sin(w), np.deg2rad(6) * np.sin(3 * w)], 1)
    if n_joints > 1:  # neck
        pose[:, 1] = np.stack([np.deg2rad(12) * np.sin(w + 1), np.deg2rad(15) * np.cos(2 * w), np.deg2rad(8) * np.sin(w)], 1)
    if n_joints > 2:  # jaw: opens and shifts
        pose[:, 2, 0] = 0.15 + 0.15 * np.sin(3 * w)
        pose[:, 2, 1] = 0.03 * np.sin(w)
    for j in range(3, n_joints):  # eyes
        pose[:, j] = np.stack([np.deg2rad(12) * np.sin(2 * w + j), np.deg2rad(18) * np.sin(w + 0.5), 0 * w], 1)
    translation = np.stack([0.01 * np.sin(w), 0.008 * np.cos(2 * w), 0.015 * np.sin(w + 2)], 1)
    rng = np.random.default_rng(7)
    phase = rng.uniform(0, 2 * math.pi, n_expr)
    freq = rng.integers(1, 4, n_expr)
    amp = 2.0 / np.sqrt(1.0 + np.arange(n_expr))
    expr = amp * np.sin(freq[None] * w[:, None] + phase[None])
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return FrameParams(f32(expr), f32(pose), f32(translation))


# ------------------------------------------------------------------------------------------------ the check

PAGE_TIMEOUT_MS = 120_000


class VerifyError(LamError):
    """The browser could not be driven through the check (the page failed, the avatar did not load)."""


@dataclass
class FrameResult:
    frame: int
    psnr: float          # whole image, dB
    psnr_fg: float       # pixels the reference covers (alpha > 1/255), dB
    browser_ms: float    # renderNow in the page (deform + sort + upload + draw), seen from Python
    reference_ms: float = 0.0  # the reference renderer's frame


@dataclass
class VerifyResult:
    frames: list[FrameResult] = field(default_factory=list)
    renderer: str = ""
    n_gaussians: int = 0

    @property
    def min_psnr(self) -> float:
        return min(f.psnr for f in self.frames)

    @property
    def mean_psnr(self) -> float:
        return float(np.mean([f.psnr for f in self.frames]))


def _page_params(params: FrameParams, i: int) -> dict:
    return {"expr": params.expr[i].tolist(), "pose": params.pose[i].reshape(-1).tolist(),
            "translation": params.translation[i].tolist()}


def camera_json(camera) -> dict:
    return {"width": camera.width, "height": camera.height, "fx": camera.fx, "fy": camera.fy, "cx": camera.cx,
            "cy": camera.cy, "world_to_camera": camera.world_to_camera.tolist()}


def open_viewer(ctx, base_url: str, avatar_name: str, timeout_ms: int = PAGE_TIMEOUT_MS, query: str = ""):
    """Open the viewer page in test mode on an avatar and wait until it is loaded; returns (page, console
    errors list). Raises VerifyError with the page's own message when the avatar does not load. ``query``:
    more URL parameters (e.g. ``worker=0``)."""
    from urllib.parse import quote

    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.goto(f"{base_url}?test=1&avatar={quote(avatar_name)}" + (f"&{query}" if query else ""))
        page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=timeout_ms)
    except PlaywrightError as exc:
        page.close()
        detail = f" ({errors[0]})" if errors else ""
        raise VerifyError(f"the viewer page did not get ready: {str(exc).splitlines()[0]}{detail}") from None
    err = page.evaluate("window.lamViewer.error")
    if err:
        raise VerifyError(f"the viewer page could not load the avatar: {err}")
    return page, errors


def read_canvas(page) -> np.ndarray:
    """The page's canvas as (H, W, 4) uint8."""
    px = page.evaluate("window.lamViewer.readPixels()")
    data = np.frombuffer(base64.b64decode(px["rgba"]), np.uint8)
    return data.reshape(px["height"], px["width"], 4)


def renderer_name(page) -> str:
    return page.evaluate("""() => { const c = document.createElement('canvas').getContext('webgl2');
        const e = c && c.getExtension('WEBGL_debug_renderer_info');
        return c ? c.getParameter(e ? e.UNMASKED_RENDERER_WEBGL : c.RENDERER) : 'no WebGL2'; }""")


def verify_avatar(avatar_path: str | Path, params: FrameParams | None = None, size: int = 512,
                  gl: str = "swiftshader", yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                  on_frame: Callable[[FrameResult], None] | None = None, ctx=None,
                  reference_backend: str = "auto", save_dir: Path | None = None) -> VerifyResult:
    """Draw ``params`` (default: the built-in sequence) in the browser and with the reference renderer and
    compare. ``ctx``: an open Playwright context to reuse (tests share one browser)."""
    from contextlib import nullcontext

    from exporter.browser import chromium, serve_in_thread
    from exporter.lamfile import read_lam
    from exporter.server import create_app
    from lam_core.camera import avatar_camera
    from lam_core.metrics import psnr
    from lam_core.render import render_posed

    from exporter.server import DEFAULT_BUNDLE, bundle_missing_message

    if not (DEFAULT_BUNDLE / "index.html").is_file():
        raise VerifyError(bundle_missing_message(DEFAULT_BUNDLE))
    avatar_path = Path(avatar_path)
    avatar = read_lam(avatar_path).avatar
    if params is None:
        params = builtin_sequence(avatar.rig.n_expr, 30, avatar.rig.n_joints)
    posed = avatar.animate(params)
    camera = avatar_camera(posed.means, yaw_deg=yaw_deg, pitch_deg=pitch_deg, size=size)
    result = VerifyResult(n_gaussians=avatar.n)
    app = create_app([avatar_path], None)
    name = next(iter(app.config["LAM_AVATARS"]))
    with serve_in_thread(app) as url, (nullcontext(ctx) if ctx is not None else chromium(gl)) as browser:
        page, console_errors = open_viewer(browser, url, name)
        try:
            result.renderer = renderer_name(page)
            page.evaluate("c => window.lamViewer.setCamera(c)", camera_json(camera))
            for i in range(params.batch):
                t0 = time.perf_counter()
                page.evaluate("p => { window.lamViewer.setParams(p); return window.lamViewer.renderNow(); }",
                              _page_params(params, i))
                browser_ms = 1000 * (time.perf_counter() - t0)
                got = read_canvas(page)[..., :3].astype(np.float32) / 255.0
                t0 = time.perf_counter()
                ref = render_posed(posed, camera, frame=i, background=(1.0, 1.0, 1.0), backend=reference_backend)
                reference_ms = 1000 * (time.perf_counter() - t0)
                ref_rgb = ref.rgb.clamp(0, 1).numpy()
                fg = ref.alpha.numpy() > 1 / 255
                fr = FrameResult(i, psnr(got, ref_rgb), psnr(got, ref_rgb, mask=fg) if fg.any() else float("inf"),
                                 browser_ms, reference_ms)
                if save_dir is not None:
                    _save_pair(save_dir, i, got, ref_rgb)
                result.frames.append(fr)
                if on_frame:
                    on_frame(fr)
            if console_errors:
                raise VerifyError(f"the viewer page logged errors: {console_errors[0]}")
        finally:
            page.close()
    return result


def _save_pair(folder: Path, i: int, got: np.ndarray, ref: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    both = np.concatenate([got, ref, np.clip(np.abs(got - ref) * 8, 0, 1)], 1)
    Image.fromarray((both * 255 + 0.5).astype(np.uint8)).save(folder / f"frame_{i:03d}.png")
