"""One export as the service runs it: the photo pipeline (:func:`exporter.photo_export.export_photo`, through
its public ``log`` hook) with the stages a user understands, a progress fraction and the per-job time limit.

The pipeline announces each internal step as ``"<step> ..."``; :data:`STEPS` maps the steps known today to a
stage and the progress reached when it starts. A step it does not know (the pipeline changes) keeps the
current stage and progress: the display never goes backwards and never breaks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .limits import JobTimeLimit

STAGES = ("queued", "photo", "face", "fit", "gaussians", "writing", "done")
STEPS = {  # pipeline step -> (stage, progress when it starts)
    "read photo": ("photo", 0.02),
    "face landmarks": ("face", 0.08),
    "person mask": ("face", 0.2),
    "pose landmarks": ("face", 0.25),
    "head model": ("fit", 0.3),
    "fit": ("fit", 0.35),
    "subdivide": ("gaussians", 0.55),
    "gaussians": ("gaussians", 0.6),
    "refine": ("gaussians", 0.7),
    "write .lam": ("writing", 0.88),
    "write .ply": ("writing", 0.95),
}
OUTPUTS = ("lam", "ply")


def enter_stage(stages: list[str], stage: str) -> None:
    """Record ``stage`` in a job's history (every stage it entered, in order, each once): the status's
    ``stages``, so a client that polls slower than a stage lasts still learns it went by."""
    if not stages or stages[-1] != stage:
        stages.append(stage)


@dataclass
class Progress:
    stage: str = "queued"
    progress: float = 0.0

    def step(self, name: str) -> bool:
        """Advance to the pipeline's step ``name``; True when the stage or progress changed."""
        stage, frac = STEPS.get(name, (self.stage, self.progress))
        if frac < self.progress:
            return False
        changed = (stage, frac) != (self.stage, self.progress)
        self.stage, self.progress = stage, frac
        return changed


def run_export(photo: Path, out_dir: Path, seconds: float,
               report: Callable[[str, float], None] = lambda stage, progress: None) -> dict[str, Path]:
    """Export ``photo`` to ``out_dir/avatar.lam`` and ``avatar.ply``; ``report(stage, progress)`` on each new
    stage. Raises the pipeline's :class:`~lam_core.errors.LamError` (e.g. no face), or :class:`JobTimeLimit`
    at the first step boundary past ``seconds``."""
    from exporter.photo_export import export_photo

    deadline = time.monotonic() + seconds
    state = Progress()

    def log(line: str) -> None:
        if time.monotonic() > deadline:
            raise JobTimeLimit(f"the export took longer than this service's limit of {seconds:g} s")
        if state.step(line.removesuffix(" ...").strip()):
            report(state.stage, state.progress)

    paths = {kind: out_dir / f"avatar.{kind}" for kind in OUTPUTS}
    export_photo(photo, paths["lam"], ply=str(paths["ply"]), log=log)
    if time.monotonic() > deadline:
        for p in paths.values():
            p.unlink(missing_ok=True)
        raise JobTimeLimit(f"the export took longer than this service's limit of {seconds:g} s")
    return paths
