"""The upload service under load (issue 15), on loopback only, bounded in count and time: 20 concurrent
uploads of 20 different photos (the example photo, each tinted its own way) to a real `lam-serve` process,
once with the in-process pool and once with the Redis queue (a throw-away redis-server and `lam-serve --worker`
processes). Clients honour 429 + Retry-After until the run's deadline. Printed: throughput, p50/p95 latency
(upload to avatar downloaded), refusals, peak memory of the server and workers, and the checks that every
request ended in an avatar or a clear refusal, none lost, and that each avatar matches its own photo (its
colours carry its photo's tint).

    .venv/bin/python benchmarks/bench_service.py [--uploads 20] [--workers 1] [--deadline 600]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from common import header, report

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.processes import stop_process  # noqa: E402
from exporter.service.client import fetch, upload, wait  # noqa: E402


def tints(n: int) -> list[tuple[float, float]]:
    """n distinct (red, blue) channel factors, green kept."""
    rs, bs = np.linspace(0.5, 1.0, 4), np.linspace(0.5, 1.0, max(1, -(-n // 4)))
    return [(float(r), float(b)) for r in rs for b in bs][:n]


def photo(rgb: np.ndarray, tint: tuple[float, float]) -> bytes:
    from PIL import Image

    t = rgb.astype(np.float32) * np.array([tint[0], 1.0, tint[1]], np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(t, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def colour_signature(lam_bytes: bytes) -> np.ndarray:
    """log(mean red / mean green), log(mean blue / mean green) of the avatar's Gaussians."""
    from exporter.lamfile import decode_lam

    c = np.asarray(decode_lam(lam_bytes).avatar.gaussians.colors, np.float64).mean(0)
    return np.log(c[[0, 2]] / c[1])


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start(cmd: list[str], stack: ExitStack) -> tuple[subprocess.Popen, str]:
    """Start a process; returns it and its first line of output (the rest is drained in a thread)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    stack.callback(stop_process, proc, 10)
    first = proc.stdout.readline()
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, first


def serve(extra: list[str], stack: ExitStack, data: Path) -> tuple[str, subprocess.Popen]:
    proc, line = start([sys.executable, "-m", "exporter.cli.serve", "--port", "0", "--data-dir", str(data),
                        "--max-queue", "8", "--job-seconds", "120", *extra], stack)
    if not line.startswith("serving"):
        raise SystemExit(f"lam-serve did not start: {line!r}")
    return line.split()[4], proc


def load(url: str, photos: list[bytes], deadline_s: float) -> list[dict]:
    """One thread per photo: upload (again after Retry-After on 429, until the deadline), wait, download."""
    results: list[dict] = [{} for _ in photos]
    t_end = time.monotonic() + deadline_s

    def client(i: int) -> None:
        r = results[i]
        t0 = time.monotonic()
        r.update(refusals=0, outcome="lost")
        while True:
            rep = upload(url, photos[i], f"tint{i:02d}.jpg", timeout=120)
            if rep.status != 429:
                break
            r["refusals"] += 1
            wait_s = float(rep.headers.get("Retry-After", "2"))
            if time.monotonic() + wait_s > t_end:
                r.update(outcome="refused", error=rep.body.get("error"))
                return
            time.sleep(wait_s)
        if rep.status != 202:
            r.update(outcome="refused", error=rep.body.get("error", f"HTTP {rep.status}"))
            return
        final = wait(url, rep.body["id"], timeout=max(1.0, t_end - time.monotonic()), poll=0.25)
        if final.get("state") != "done":
            r.update(outcome="failed" if final.get("state") == "failed" else "lost", error=final.get("error"))
            return
        lam = fetch(url, rep.body["id"], "lam")
        if lam.status != 200:
            r.update(outcome="lost", error=f"download HTTP {lam.status}")
            return
        r.update(outcome="avatar", latency=time.monotonic() - t0, lam=lam.data)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(photos))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, t_end - time.monotonic()) + 5)
    return results


def summarise(name: str, results: list[dict], wall: float, tint_list, base_sig: np.ndarray, rss: dict) -> None:
    header(f"upload service under load: {name}")
    done = [r for r in results if r.get("outcome") == "avatar"]
    lat = np.array([r["latency"] for r in done]) if done else np.array([np.nan])
    report("uploads", len(results), "")
    report("avatars", len(done), "")
    report("clear refusals at the end (429 past the deadline, 4xx)", sum(r.get("outcome") == "refused" for r in results), "")
    report("failed with a message", sum(r.get("outcome") == "failed" for r in results), "")
    report("lost (no answer, no avatar)", sum(r.get("outcome") == "lost" for r in results), "", "0")
    report("429 answers along the way (retried after Retry-After)", sum(r.get("refusals", 0) for r in results), "")
    report("throughput", len(done) / wall * 60, "avatars/min")
    report("latency p50 (upload -> .lam downloaded)", float(np.percentile(lat, 50)), "s")
    report("latency p95", float(np.percentile(lat, 95)), "s")
    # each avatar matches its own photo: the nearest tint to its colours is its own
    expect = np.array([np.log(np.array(t)) for t in tint_list]) + base_sig
    ok = 0
    for i, r in enumerate(results):
        if r.get("outcome") == "avatar":
            sig = colour_signature(r["lam"])
            ok += int(np.argmin(np.linalg.norm(expect - sig, axis=1)) == i)
    report("avatars matching their own photo's tint", ok, f"of {len(done)}", "all")
    for proc_name, mb in rss.items():
        report(f"peak memory: {proc_name}", mb, "MB")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--workers", type=int, default=1, help="pool size / worker processes")
    ap.add_argument("--deadline", type=float, default=600.0, help="seconds per backend, at most")
    ap.add_argument("--only", choices=("local", "redis"))
    args = ap.parse_args()
    from skimage import data

    rgb = data.astronaut()
    tint_list = tints(args.uploads)
    photos = [photo(rgb, t) for t in tint_list]
    from lam_core.reconstruct.analytic import reconstruct  # noqa: F401  (warm imports here, not in the timing)

    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        tmp = Path(tmp)
        # the untinted photo's colour signature, and a warm cache for the open head
        with ExitStack() as stack:
            url, server = serve(["--workers", "1"], stack, tmp / "warm")
            rep = upload(url, photo(rgb, (1.0, 1.0)), "base.jpg")
            wait(url, rep.body["id"], timeout=300)
            base_sig = colour_signature(fetch(url, rep.body["id"], "lam").data)

        if args.only in (None, "local"):
            with ExitStack() as stack:
                url, server = serve(["--workers", str(args.workers)], stack, tmp / "local")
                t0 = time.monotonic()
                results = load(url, photos, args.deadline)
                wall = time.monotonic() - t0
                rss = {"server (exports in-process)": peak_rss_mb(server.pid)}
            summarise(f"in-process pool of {args.workers}", results, wall, tint_list, base_sig, rss)

        if args.only in (None, "redis"):
            import shutil

            if shutil.which("redis-server") is None:
                print("\n(redis-server is not installed: the Redis-backed figures are skipped)")
                return 0
            from exporter.service.redis_local import local_redis

            with ExitStack() as stack:
                redis_url = stack.enter_context(local_redis())
                url, server = serve(["--queue", "redis", "--redis-url", redis_url], stack, tmp / "redis")
                workers = [start([sys.executable, "-m", "exporter.cli.serve", "--worker", "--redis-url", redis_url],
                                 stack)[0] for _ in range(args.workers)]
                t0 = time.monotonic()
                results = load(url, photos, args.deadline)
                wall = time.monotonic() - t0
                rss = {"server (Redis queue)": peak_rss_mb(server.pid)}
                rss.update({f"worker {i + 1}": peak_rss_mb(w.pid) for i, w in enumerate(workers)})
            summarise(f"Redis queue (RQ), {args.workers} worker process(es)", results, wall, tint_list, base_sig, rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
