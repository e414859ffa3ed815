"""The default job backend: a bounded pool of worker threads inside the server process, files in a data
folder (one sub-folder per job, named by its generated id) with a retention limit. No set-up."""

from __future__ import annotations

import math
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lam_core.errors import LamError

from .export_job import OUTPUTS, enter_stage, run_export
from .limits import Limits, ServiceError


@dataclass
class Job:
    id: str
    name: str
    folder: Path
    state: str = "queued"          # queued | running | done | failed
    stage: str = "queued"
    progress: float = 0.0
    stages: list[str] = field(default_factory=lambda: ["queued"])   # every stage entered, in order
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "state": self.state, "stage": self.stage,
                "stages": list(self.stages), "progress": round(self.progress, 3), "error": self.error}

    def enter(self, stage: str, progress: float) -> None:
        """Move to ``stage`` (the caller holds the queue's lock); the history keeps each stage once."""
        self.stage, self.progress = stage, progress
        enter_stage(self.stages, stage)


def retry_after(waiting: int, workers: int, seconds_per_job: float) -> int:
    """Seconds until a slot is likely free: the jobs ahead, shared by the workers."""
    return max(1, math.ceil(waiting * seconds_per_job / max(workers, 1)))


class LocalQueue:
    kind = "in-process"

    def __init__(self, data_dir: Path, limits: Limits):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="lam-export")
        self.mean_seconds = 5.0   # running mean of export times (for Retry-After)

    # ------------------------------------------------------------------------------------------ API
    def open_jobs(self) -> int:
        with self.lock:
            return sum(j.state in ("queued", "running") for j in self.jobs.values())

    def check_room(self) -> None:
        n = self.open_jobs()
        if n >= self.limits.max_queue:
            raise ServiceError(f"the queue is full ({n} photos waiting or in progress): try again shortly", 429,
                               retry_after(n, self.limits.workers, self.mean_seconds))

    def submit(self, job_id: str, photo: Path, name: str) -> None:
        folder = self.data_dir / job_id
        folder.mkdir()
        dest = folder / photo.name
        shutil.move(photo, dest)
        job = Job(job_id, name, folder)
        with self.lock:
            n = sum(j.state in ("queued", "running") for j in self.jobs.values())
            if n >= self.limits.max_queue:
                shutil.rmtree(folder, ignore_errors=True)
                raise ServiceError(f"the queue is full ({n} photos waiting or in progress): try again shortly",
                                   429, retry_after(n, self.limits.workers, self.mean_seconds))
            self.jobs[job_id] = job
        self._prune()
        self.pool.submit(self._run, job, dest)

    def status(self, job_id: str) -> dict | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return job.public() if job else None

    def result(self, job_id: str, kind: str) -> Path | None:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None or job.state != "done" or kind not in OUTPUTS:
            return None
        p = job.folder / f"avatar.{kind}"
        return p if p.is_file() else None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------------------------------ work
    def _run(self, job: Job, photo: Path) -> None:
        def report(stage: str, progress: float) -> None:
            with self.lock:
                job.enter(stage, progress)

        with self.lock:
            job.state = "running"
            job.enter("photo", 0.0)
        t0 = time.monotonic()
        try:
            run_export(photo, job.folder, self.limits.job_seconds, report)
        except LamError as exc:
            self._finish(job, "failed", str(exc).replace(str(photo), job.name).replace(photo.name, job.name))
        except Exception as exc:  # a bug: the job fails with a message, the server keeps serving
            self._finish(job, "failed", f"the export failed: {type(exc).__name__}: {exc}")
        else:
            dt = time.monotonic() - t0
            self.mean_seconds = 0.7 * self.mean_seconds + 0.3 * dt
            self._finish(job, "done", None)
        finally:
            photo.unlink(missing_ok=True)

    def _finish(self, job: Job, state: str, error: str | None) -> None:
        with self.lock:
            job.state, job.error, job.finished = state, error, time.time()
            if state == "done":
                job.enter("done", 1.0)

    def _prune(self) -> None:
        """Forget finished jobs older than the retention time, and the oldest beyond the count limit."""
        now = time.time()
        with self.lock:
            done = sorted((j for j in self.jobs.values() if j.finished is not None), key=lambda j: j.finished)
            drop = [j for j in done if now - j.finished > self.limits.keep_seconds]
            extra = len(done) - len(drop) - self.limits.keep_jobs
            if extra > 0:
                drop += [j for j in done if j not in drop][:extra]
            for j in drop:
                del self.jobs[j.id]
        for j in drop:
            shutil.rmtree(j.folder, ignore_errors=True)
