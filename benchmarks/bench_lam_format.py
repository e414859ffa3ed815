""".lam file: size, encode/decode time and fidelity of the 20,018-Gaussian FLAME-layout avatar.

FLAME cannot be shipped, so the avatar is the synthetic FLAME-layout stand-in (lam_core.synthetic: FLAME's
exact counts, 100 expression channels, 36 pose correctives). The fidelity is the PSNR of the decoded file
rendered by the reference renderer against the unquantised avatar over 30 probe frames that move every
parameter (512 px).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import header, median_time, report
from exporter.lamfile import decode_lam, encode_lam
from exporter.lamfile.fidelity import posed_errors, render_psnr
from lam_core.exercise import exercise_sequence
from lam_core.synthetic import synthetic_avatar

OFFICIAL_ZIP_BYTES = 4.09e6  # the official LAM web export (OpenAvatarChat zip) of one 20,018-splat avatar
JS_TIMER = """
import { readFileSync } from 'node:fs';
import { readLam } from %s;
const bytes = readFileSync(process.argv[2]);
for (let i = 0; i < 3; i++) await readLam(bytes);
const t = [];
for (let i = 0; i < 10; i++) { const t0 = performance.now(); await readLam(bytes); t.push(performance.now() - t0); }
t.sort((a, b) => a - b);
console.log(JSON.stringify({ median_ms: t[5] }));
"""


def js_decode_ms(data: bytes) -> float | None:
    node = shutil.which("node")
    reader = Path(__file__).resolve().parent.parent / "viewer_web" / "src" / "lam_reader.js"
    if node is None or not reader.is_file():
        return None
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "a.lam").write_bytes(data)
        (Path(d) / "t.mjs").write_text(JS_TIMER % json.dumps(reader.as_uri()))
        r = subprocess.run([node, str(Path(d) / "t.mjs"), str(Path(d) / "a.lam")], capture_output=True, text=True)
        return json.loads(r.stdout)["median_ms"] if r.returncode == 0 else None


def main() -> None:
    header(".lam file of the 20,018-Gaussian FLAME-layout avatar (synthetic stand-in: FLAME's counts, "
           "100 expressions, 36 correctives)")
    avatar = synthetic_avatar(1)
    data = encode_lam(avatar)
    lossless = encode_lam(avatar, lossless=True)
    report(".lam size, quantised (default)", len(data) / 1e6, "MB", "<= 1.5 MB")
    report("ratio to the official web export zip (4.09 MB)", len(data) / OFFICIAL_ZIP_BYTES, "x")
    report(".lam size, lossless (float32 everything)", len(lossless) / 1e6, "MB")
    f = decode_lam(data)
    for c in f.chunks:
        report(f"chunk {c.tag}: stored (raw {c.raw_len:,} bytes)", c.stored_len / 1e3, "kB")
    report("preamble + header JSON", f.chunks[0].offset / 1e3, "kB")
    report("encode (Python)", 1000 * median_time(lambda: encode_lam(avatar), repeat=3), "ms")
    report("decode to a GaussianAvatar (Python)", 1000 * median_time(lambda: decode_lam(data), repeat=5), "ms")
    ms = js_decode_ms(data)
    if ms is not None:
        report("decode to typed arrays (JavaScript, Node)", ms, "ms")

    params = exercise_sequence(avatar.rig.expr_names, frames=30)
    e = posed_errors(avatar, f.avatar, params)
    report("posed centres vs float, RMS (worst frame)", e["centre_rms_m"].max() * 1e6, "um")
    report("posed centres vs float, max", e["centre_max_m"].max() * 1e6, "um")
    t0 = time.perf_counter()
    p = render_psnr(avatar, f.avatar, params, size=512)
    report("PSNR decoded vs float, 30 frames 512 px: min", float(p.min()), "dB", ">= 40 dB")
    report("PSNR decoded vs float, 30 frames 512 px: mean", float(p.mean()), "dB")
    report("(rendering 60 frames took)", time.perf_counter() - t0, "s")


if __name__ == "__main__":
    main()
