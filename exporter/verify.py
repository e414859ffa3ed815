"""Verification of the browser viewer against the reference renderer (``lam-verify``, the tests, the
benchmark): serve the avatar, drive the page's test hook (``?test=1``) through frames with a fixed camera,
read the canvas back and compare it with :func:`lam_core.render.render_posed` of the same frames.

Without a motion it plays :func:`lam_core.exercise.exercise_sequence` (every joint, the translation and every
expression channel, each at an amplitude of its kind). The headline figure is the PSNR over the pixels the
head covers (the background is easy to get right and would flatter the whole-image figure); the camera frames
the head as it moves.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lam_core import FrameParams
from lam_core.errors import LamError
from lam_core.exercise import exercise_sequence


# ------------------------------------------------------------------------------------------------ the check

PAGE_TIMEOUT_MS = 120_000


class VerifyError(LamError):
    """The browser could not be driven through the check (the page failed, the avatar did not load)."""


@dataclass
class FrameResult:
    frame: int           # the motion's frame number
    psnr_head: float     # the headline: pixels the reference's head covers (alpha > 1/255), dB
    psnr: float          # whole image (mostly background), dB
    browser_ms: float    # renderNow in the page (deform + sort + upload + draw), seen from Python
    reference_ms: float = 0.0  # the reference renderer's frame


@dataclass
class VerifyResult:
    frames: list[FrameResult] = field(default_factory=list)
    renderer: str = ""
    n_gaussians: int = 0

    @property
    def min_psnr(self) -> float:
        """The lowest head-region PSNR of any frame (dB): the figure the check is judged by."""
        return min(f.psnr_head for f in self.frames)

    @property
    def mean_psnr(self) -> float:
        return float(np.mean([f.psnr_head for f in self.frames]))

    @property
    def min_psnr_image(self) -> float:
        return min(f.psnr for f in self.frames)


def page_params(params: FrameParams, i: int) -> dict:
    """Frame ``i`` of ``params`` as the page's test hook (``window.lamViewer.setParams``) takes it."""
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
                  reference_backend: str = "auto", save_dir: Path | None = None,
                  frame_numbers=None) -> VerifyResult:
    """Draw ``params`` (default: the exercise sequence) in the browser and with the reference renderer and
    compare. ``ctx``: an open Playwright context to reuse (tests share one browser). ``frame_numbers``: the
    motion's frame number of each of ``params``' frames (results and saved images are named by them)."""
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
        params = exercise_sequence(avatar.rig.expr_names, avatar.rig.joint_names, 30)
    numbers = list(range(params.batch)) if frame_numbers is None else [int(k) for k in frame_numbers]
    if len(numbers) != params.batch:
        raise ValueError(f"{len(numbers)} frame numbers for {params.batch} frames")
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
                              page_params(params, i))
                browser_ms = 1000 * (time.perf_counter() - t0)
                got = read_canvas(page)[..., :3].astype(np.float32) / 255.0
                t0 = time.perf_counter()
                ref = render_posed(posed, camera, frame=i, background=(1.0, 1.0, 1.0), backend=reference_backend)
                reference_ms = 1000 * (time.perf_counter() - t0)
                ref_rgb = ref.rgb.clamp(0, 1).numpy()
                fg = ref.alpha.numpy() > 1 / 255
                fr = FrameResult(numbers[i], psnr(got, ref_rgb, mask=fg) if fg.any() else float("inf"),
                                 psnr(got, ref_rgb), browser_ms, reference_ms)
                if save_dir is not None:
                    _save_pair(save_dir, numbers[i], got, ref_rgb)
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
    Image.fromarray((both * 255 + 0.5).astype(np.uint8)).save(folder / f"frame_{i:04d}.png")
