"""LAM's network (issue: The LAM network): one photo on this machine's CPU with torch and with onnxruntime,
seconds and peak resident memory, and ``lam-export --weights`` end to end with full-size random weights;
on a CUDA machine the full-size forward in float32 and bfloat16.

The released checkpoint is the user's (CC BY-NC 4.0): this benchmark writes a stand-in with random weights
in the official layout and the synthetic FLAME-layout head as its ``renderer.flame_model.*`` buffers, under
$LAM_CACHE_DIR (or .cache/) -- never in the repository. Each measurement runs in its own process, so its
peak memory is its own.

    python benchmarks/bench_network.py                 # everything
    python benchmarks/bench_network.py export compare  # only some parts: weights, export, compare (= torch
                                                       # then onnx), gpu

The onnxruntime comparison uses the full widths and token counts (504 px, 20,018 points) with fewer blocks
(``REDUCED``): exporting the full 2.2 GB model to ONNX needs more memory than this 24 GB machine shared by
several jobs can spare.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import header, report

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "examples" / "astronaut.png"
CACHE = Path(os.environ.get("LAM_CACHE_DIR") or ROOT / ".cache") / "bench_network"
WEIGHTS = CACHE / "lam20k-random-weights.safetensors"
N_POINTS = 20_018
REDUCED = dict(vit_depth=4, feature_layers=(0, 1, 2, 3), layers=1)


def run_child(args: list[str], timeout: float = 3600) -> tuple[str, float, float]:
    """Run one of this script's child parts; -> (its output, wall seconds, its peak resident memory in GB)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, __file__, "--child"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, cwd=ROOT, timeout=timeout)
    if r.returncode:
        raise RuntimeError(f"failed ({r.returncode}): {' '.join(args)}\n{r.stdout[-3000:]}")
    return r.stdout, time.perf_counter() - t0, float(values(r.stdout).get("peak_gb", "nan"))


def child(part: str, *args: str) -> None:
    """The measurements themselves, each in a process of its own (prints 'key value' lines)."""
    import resource

    import numpy as np
    import torch

    from lam_core.network import LamConfig, LamNetwork

    def peak() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2

    if part == "export":  # lam-export in this process, so that the peak memory is the export's
        from exporter.cli import run
        from exporter.cli.export import main

        code = run(main, list(args))
        print(f"peak_gb {peak():.2f}")
        sys.exit(code)
    if part == "write-weights":
        from lam_core.network import save_lam_weights
        from lam_core.network.flame_buffers import flame_buffers
        from lam_core.synthetic import synthetic_flame_model

        torch.manual_seed(0)
        net = LamNetwork(LamConfig())
        save_lam_weights(net, args[0], flame=flame_buffers(synthetic_flame_model()))
        print(f"peak_gb {peak():.2f}")
        return
    cfg = LamConfig(**REDUCED)
    rng = np.random.default_rng(0)
    image = rng.random((cfg.image_size, cfg.image_size, 3), dtype=np.float32)
    points = ((rng.random((N_POINTS, 3)) - 0.5) * 0.25).astype(np.float32)
    if part == "torch-reduced":
        from lam_core.network.run import TorchRunner

        torch.manual_seed(0)
        runner = TorchRunner(LamNetwork(cfg), progress=False)
        t0 = time.perf_counter()
        out = runner(image, points)
        print(f"seconds {time.perf_counter() - t0:.3f}")
        np.save(args[0], out["rgb"])
    elif part == "onnx-export-reduced":
        from exporter.onnx_export import export_onnx

        torch.manual_seed(0)
        export_onnx(LamNetwork(cfg), args[0])
    elif part == "onnx-reduced":
        from lam_core.network.run import OnnxRunner

        runner = OnnxRunner(args[0], progress=False)
        t0 = time.perf_counter()
        out = runner(image, points)
        print(f"seconds {time.perf_counter() - t0:.3f}")
        np.save(args[1], out["rgb"])
    elif part == "gpu":
        cfg = LamConfig()
        torch.manual_seed(0)
        net = LamNetwork(cfg).cuda().eval()
        img = torch.rand(1, 3, 504, 504, device="cuda")
        pts = (torch.rand(1, N_POINTS, 3, device="cuda") - 0.5) * 0.25
        for dtype in (torch.float32, torch.bfloat16):
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                net(img, pts)
                torch.cuda.synchronize()
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    net(img, pts)
                    torch.cuda.synchronize()
                    times.append(time.perf_counter() - t0)
            print(f"gpu_{str(dtype).split('.')[-1]} {sorted(times)[1]:.4f}")
        print(f"gpu_name {torch.cuda.get_device_name().replace(' ', '_')}")
    print(f"peak_gb {peak():.2f}")


def values(out: str) -> dict[str, str]:
    return {k: v for k, _, v in (line.partition(" ") for line in out.splitlines()) if v and " " not in v}


def photo() -> Path:
    """The example photo (examples/, made by make setup), else skimage's astronaut written to the cache."""
    if PHOTO.is_file():
        return PHOTO
    from PIL import Image
    from skimage import data

    CACHE.mkdir(parents=True, exist_ok=True)
    p = CACHE / "astronaut.png"
    Image.fromarray(data.astronaut()).save(p)
    return p


def part_weights() -> None:
    header("network: full-size stand-in checkpoint (random weights, official layout)")
    if WEIGHTS.is_file():
        print(f"  using {WEIGHTS} ({WEIGHTS.stat().st_size / 1e9:.2f} GB)")
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    out, wall, peak = run_child(["write-weights", str(WEIGHTS)])
    report("write random LAM-20K-layout weights", wall, "s")
    report("  its peak resident memory", peak, "GB")
    report("  file size", WEIGHTS.stat().st_size / 1e9, "GB")


def part_export() -> None:
    from lam_core.network import LamConfig
    from lam_core.network.run import estimate_seconds

    part_weights()
    header("network: lam-export --weights (full size, random weights, 2-core CPU, torch float32)")
    print(f"  estimate before the run: {estimate_seconds(LamConfig(), N_POINTS):.0f} s of network time", flush=True)
    with tempfile.TemporaryDirectory() as d:
        lam = Path(d) / "a.lam"
        out, wall, peak = run_child(["export", str(photo()), "-o", str(lam), "--weights", str(WEIGHTS), "-v"])
        print("\n".join("    | " + line for line in out.splitlines() if "\r" not in line), flush=True)
        from exporter.lamfile import read_lam

        f = read_lam(lam)
        stages = {}
        for line in out.splitlines():
            bits = line.split()
            if len(bits) >= 3 and bits[-1] == "s" and line.startswith("  "):
                try:
                    stages[" ".join(bits[:-2])] = float(bits[-2])
                except ValueError:
                    pass
        report("photo -> .lam, whole process", wall, "s", "LAM: 1.4 s on an A100")
        for name in ("network weights", "network input", "network"):
            if name in stages:
                report(f"  stage: {name}", stages[name], "s")
        report("  peak resident memory", peak, "GB")
        report("  Gaussians in the written .lam (valid, decoded)", f.avatar.n, "")


def _reduced_header() -> None:
    header(f"network: torch vs onnxruntime, one photo, CPU, reduced depth {REDUCED} at full widths, "
           f"504 px, {N_POINTS:,} points")


def part_torch() -> None:
    _reduced_header()
    CACHE.mkdir(parents=True, exist_ok=True)
    out, wall, peak = run_child(["torch-reduced", str(CACHE / "reduced-torch-rgb.npy")])
    report("torch float32: forward", float(values(out)["seconds"]), "s")
    report("  peak resident memory", peak, "GB")


def part_onnx() -> None:
    import numpy as np

    _reduced_header()
    with tempfile.TemporaryDirectory() as d:
        b, onnx = Path(d) / "ort.npy", Path(d) / "lam.onnx"
        out, wall, peak = run_child(["onnx-export-reduced", str(onnx)])
        report("ONNX export (opset 17, external data)", wall, "s")
        report("  peak resident memory", peak, "GB")
        out, wall, peak = run_child(["onnx-reduced", str(onnx), str(b)])
        report("onnxruntime float32: forward", float(values(out)["seconds"]), "s")
        report("  peak resident memory", peak, "GB")
        a = CACHE / "reduced-torch-rgb.npy"
        if a.is_file():
            diff = float(np.abs(np.load(a) - np.load(b)).max())
            print(f"  {'  max |rgb| difference torch vs onnxruntime':<58} {diff:10.2e}", flush=True)


def part_compare() -> None:
    part_torch()
    part_onnx()


def part_gpu() -> None:
    import torch

    header("network: full-size forward on a GPU")
    if not torch.cuda.is_available():
        print("  skipped: no CUDA device on this machine (run this part where one is)")
        return
    out, wall, peak = run_child(["gpu"])
    v = values(out)
    print(f"  device: {v.get('gpu_name', '?').replace('_', ' ')}")
    report("float32 forward (median of 3)", float(v["gpu_float32"]), "s", "LAM: 1.4 s whole pipeline, A100")
    report("bfloat16 forward (median of 3)", float(v["gpu_bfloat16"]), "s")


PARTS = {"weights": part_weights, "export": part_export, "compare": part_compare, "torch": part_torch,
         "onnx": part_onnx, "gpu": part_gpu}

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        sys.exit(0)
    wanted = sys.argv[1:] or ["export", "compare", "gpu"]
    for name in wanted:
        PARTS[name]()
