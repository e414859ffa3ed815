"""The browser viewer: per-frame CPU time of deformation + depth sort in Node, and mean frame time
in headless Chromium at 512x512 on SwiftShader and on Mesa llvmpipe (Xvfb), at 20,018 and 79,936 Gaussians
of the synthetic FLAME-layout avatar written as .lam files.

    python benchmarks/run_all.py viewer            # or: python benchmarks/bench_viewer.py [--quick]

Browser frames: deformation + sort (in a Worker, or on the main thread), pipelined with the upload + draw of
the previous frame as the live viewer runs; each frame waits for the GPU (a 1-pixel readPixels), so the
figure is the real cost of a frame on that software GL. The viewer's default is the Worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import header, report  # noqa: E402


def write_avatars(folder: Path) -> dict[int, Path]:
    from exporter.lamfile import write_lam
    from lam_core.synthetic import synthetic_avatar

    out = {}
    for levels in (1, 2):
        p = folder / f"synthetic_{levels}.lam"
        write_lam(p, synthetic_avatar(levels))
        out[levels] = p
    return out


def params_json(rig, frames: int, view) -> dict:
    from exporter.verify import page_params
    from lam_core.exercise import exercise_sequence

    p = exercise_sequence(rig.expr_names, rig.joint_names, frames)
    return {"frames": [page_params(p, i) for i in range(frames)], "view": [float(x) for x in view.reshape(-1)]}


def node_figures(lam: Path, spec: Path, dense: bool = False) -> dict:
    cmd = ["node", str(ROOT / "benchmarks" / "viewer_node_bench.mjs"), str(lam), str(spec)] + (["--dense"] if dense else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout)


def browser_figures(lams: dict[int, Path], gl: str, cameras: dict, frames: int) -> dict:
    from exporter.browser import chromium, serve_in_thread
    from exporter.server import create_app
    from exporter.verify import camera_json, open_viewer

    out = {}
    app = create_app(list(lams.values()), None)
    with serve_in_thread(app) as url, chromium(gl) as ctx:
        for levels, lam in lams.items():
            spec = json.loads((lam.parent / f"params_{levels}.json").read_text())
            for worker in (True, False):
                page, _ = open_viewer(ctx, url, lam.name, query="worker=1" if worker else "worker=0")
                page.evaluate("c => window.lamViewer.setCamera(c)", camera_json(cameras[levels]))
                out[(levels, worker)] = page.evaluate("p => window.lamViewer.benchmark(p, {pipelined: true})",
                                                      spec["frames"][:frames])
                page.close()
    return out


def main() -> None:
    quick = "--quick" in sys.argv
    from lam_core.camera import avatar_camera
    from exporter.lamfile import read_lam

    with tempfile.TemporaryDirectory(prefix="lam-bench-viewer-") as tmp:
        folder = Path(tmp)
        lams = write_avatars(folder)
        cameras = {}
        for levels, lam in lams.items():
            avatar = read_lam(lam).avatar
            cameras[levels] = avatar_camera(avatar.canonical_means(), size=512)
            (folder / f"params_{levels}.json").write_text(json.dumps(params_json(avatar.rig, 60, cameras[levels].world_to_camera)))

        header(f"viewer: deformation + depth sort per frame in Node {subprocess.check_output(['node', '--version'], text=True).strip()} "
               f"({os.cpu_count()} cores; the 60-frame exercise sequence, every channel active)")
        for levels, lam in lams.items():
            for dense in (False, True):
                f = node_figures(lam, folder / f"params_{levels}.json", dense)
                tag = f"{f['n']:,} Gaussians" + (", bases made dense like FLAME's" if dense else "")
                goal = "<= 4 ms" if levels == 1 else ""
                report(f"deform + sort, {tag}", f["total_ms"], "ms/frame", goal)
                if not dense:
                    report(f"  of which blendshapes + FK ({f['nnz']:,} basis entries)", f["base_ms"], "ms/frame")
                    report("  of which skinning (centres + rotations)", f["skin_ms"], "ms/frame")
                    report("  of which depth sort", f["sort_ms"], "ms/frame")
                    mib = 1 << 20
                    report(f"  bases in memory (quantised as stored; float32 deltas: {f['basis_f32_bytes'] / mib:.2f} MiB)",
                           f["basis_bytes"] / mib, "MiB")
                    report("  all of the avatar's typed arrays", f["avatar_bytes"] / mib, "MiB")

        frames = 20 if quick else 60
        for gl in ("swiftshader", "llvmpipe"):
            header(f"viewer: headless Chromium frame at 512x512, {gl} (deform + sort + upload + draw, waited for; "
                   f"mean of {frames} frames)")
            try:
                figs = browser_figures(lams, gl, cameras, frames)
            except Exception as exc:  # a missing Xvfb etc. must not hide the other figures
                print(f"  skipped: {str(exc).splitlines()[0]}")
                continue
            for (levels, worker), r in figs.items():
                n = f"{20018 if levels == 1 else 79936:,}"
                goal = "<= 42 ms" if (gl == "llvmpipe" and levels == 1 and worker) else ""
                report(f"{n} Gaussians, deformation in the {r['mode']}", r["frameMs"], "ms/frame", goal)
                print(f"    draw + GPU wait {r['drawMs']:.1f} ms, upload {r['uploadMs']:.1f} ms, deform {r['deformMs']:.1f} ms, "
                      f"sort {r['sortMs']:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
