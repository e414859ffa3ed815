"""Screenshots of the lam-serve page for docs/ (docs/service.md): the example photo's avatar playing a motion,
at 375x812 (phone, menu open too) and 1280x800, and the photo-job card, in headless Chromium (SwiftShader).

    .venv/bin/python tools/page_screenshots.py docs/images
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.browser import chromium, serve_in_thread  # noqa: E402
from exporter.photo_export import export_photo  # noqa: E402
from exporter.server import create_app  # noqa: E402
from exporter.service import Limits  # noqa: E402
from exporter.service.local_queue import LocalQueue  # noqa: E402

SIZES = {"phone": (375, 812, 1), "desktop": (1280, 800, 1)}


def shrink(path: Path) -> None:
    """An optimised RGB PNG for the docs (a 256-colour palette would turn the skin tones sepia)."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    rgb.save(path, optimize=True)


def main(out: str = "docs/images") -> int:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    photo = ROOT / "examples" / "astronaut.png"
    with tempfile.TemporaryDirectory() as tmp:
        lam = export_photo(photo, Path(tmp) / "astronaut.lam").output
        backend = LocalQueue(Path(tmp) / "jobs", Limits())
        app = create_app([lam], ROOT / "examples" / "motions", service=backend)
        with serve_in_thread(app) as url, chromium("swiftshader") as browser:
            for name, (w, h, scale) in SIZES.items():
                ctx = browser.new_context(viewport={"width": w, "height": h}, device_scale_factor=scale,
                                          has_touch=w < 500, is_mobile=w < 500)
                page = ctx.new_page()
                page.goto(f"{url}?test=1&idle=1&avatar=astronaut.lam&motion=talk")
                page.wait_for_function("window.lamViewer && window.lamViewer.ready", timeout=120_000)
                page.wait_for_timeout(500)
                page.evaluate("window.lamViewer.viewer.pause(); window.lamViewer.viewer.seek(1.2)")
                page.evaluate("window.lamViewer.renderNow()")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out_dir / f"page-{name}.png"))
                if name == "phone":
                    page.click("#more")
                    page.screenshot(path=str(out_dir / "page-phone-menu.png"))
                    page.keyboard.press("Escape")
                    gate = threading.Event()
                    backend.pool.submit(gate.wait, 30)      # hold the job at "queued" for a moment, then let it run
                    page.locator("#photofile").set_input_files(str(photo))
                    page.wait_for_function("window.lamViewer.lastJob().state === 'queued'", timeout=30_000)
                    gate.set()
                    page.wait_for_function("['fit', 'gaussians'].includes(window.lamViewer.lastJob().stages.at(-1))",
                                           timeout=60_000, polling=50)
                    page.screenshot(path=str(out_dir / "page-phone-making.png"))
                    page.wait_for_function("window.lamViewer.lastJob().state === 'done'", timeout=120_000)
                ctx.close()
        backend.close()
    for p in sorted(out_dir.glob("page-*.png")):
        shrink(p)
        print(f"{p}  {p.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
