"""The distributed job backend: the same exports on RQ (a small job queue on Redis), run by
``lam-serve --worker --redis-url URL`` on any number of machines.

Nothing is shared but Redis: the server puts the checked photo's bytes under ``lam:photo:<id>`` and enqueues
``work(<id>, ...)`` (JSON-serialised arguments, no pickles); a worker takes the job, reports its stage and
progress in the job's meta, and writes the results under ``lam:out:<id>:lam`` / ``:ply``, which expire after
the retention time (as do the job records). RQ enforces the per-job time limit with a hard stop besides the
pipeline's own check at each step.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lam_core.errors import LamError

from .export_job import OUTPUTS, enter_stage, run_export
from .limits import Limits, ServiceError
from .local_queue import retry_after

QUEUE = "lam-avatars"
STATES = {"queued": "queued", "deferred": "queued", "scheduled": "queued", "started": "running",
          "finished": "done", "failed": "failed", "stopped": "failed", "canceled": "failed"}
HARD_MARGIN_S = 30   # RQ stops a job this long after the pipeline's own limit would have


def _photo_key(job_id: str) -> str:
    return f"lam:photo:{job_id}"


def _out_key(job_id: str, kind: str) -> str:
    return f"lam:out:{job_id}:{kind}"


def connect(url: str):
    """A Redis connection for ``url``, checked with a PING (one-line error if unreachable)."""
    try:
        from redis import Redis
        from redis.exceptions import RedisError
    except ImportError:
        raise ServiceError("the Python packages redis and rq are needed for --queue redis (make setup installs "
                           "them)") from None
    try:
        conn = Redis.from_url(url, socket_connect_timeout=5)
        conn.ping()
    except (RedisError, ValueError, OSError) as exc:
        raise ServiceError(f"cannot reach Redis at {url}: {exc}") from None
    return conn


def _queue(conn):
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(QUEUE, connection=conn, serializer=JSONSerializer)


class RedisQueue:
    kind = "redis"

    def __init__(self, url: str, limits: Limits):
        self.url = url
        self.limits = limits
        self.conn = connect(url)
        self.queue = _queue(self.conn)
        self.mean_seconds = 5.0

    def open_jobs(self) -> int:
        return self.queue.count + self.queue.started_job_registry.count

    def check_room(self) -> None:
        n = self.open_jobs()
        if n >= self.limits.max_queue:
            raise ServiceError(f"the queue is full ({n} photos waiting or in progress): try again shortly", 429,
                               retry_after(n, max(self.workers(), 1), self.mean_seconds))

    def workers(self) -> int:
        from rq import Worker

        return Worker.count(queue=self.queue)

    def submit(self, job_id: str, photo: Path, name: str) -> None:
        self.check_room()
        keep = int(self.limits.keep_seconds)
        self.conn.set(_photo_key(job_id), photo.read_bytes(), ex=keep)
        photo.unlink(missing_ok=True)
        self.queue.enqueue(work, args=(job_id, name, photo.suffix, self.limits.job_seconds, keep), job_id=job_id,
                           job_timeout=int(self.limits.job_seconds) + HARD_MARGIN_S, result_ttl=keep,
                           failure_ttl=keep, ttl=keep,
                           meta={"name": name, "stage": "queued", "stages": ["queued"], "progress": 0.0})

    def _job(self, job_id: str):
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        from rq.serializers import JSONSerializer

        try:
            return Job.fetch(job_id, connection=self.conn, serializer=JSONSerializer)
        except NoSuchJobError:
            return None

    def status(self, job_id: str) -> dict | None:
        job = self._job(job_id)
        if job is None:
            return None
        state = STATES.get(str(getattr(job.get_status(), "value", job.get_status())), "queued")
        meta = job.get_meta(refresh=True) if hasattr(job, "get_meta") else job.meta
        error = meta.get("error")
        if state == "failed" and not error:
            error = (f"the export stopped on the worker (time limit {self.limits.job_seconds:g} s, or the worker "
                     "ended)")
        done = state == "done"
        return {"id": job_id, "name": meta.get("name", ""), "state": state,
                "stage": "done" if done else meta.get("stage", "queued"),
                "stages": [str(s) for s in meta.get("stages", ["queued"])],
                "progress": 1.0 if done else round(float(meta.get("progress", 0.0)), 3),
                "error": error if state == "failed" else None}

    def result(self, job_id: str, kind: str) -> bytes | None:
        if kind not in OUTPUTS:
            return None
        return self.conn.get(_out_key(job_id, kind))

    def close(self) -> None:
        self.conn.close()


def work(job_id: str, name: str, suffix: str, seconds: float, keep: int) -> dict:
    """The job a worker runs (JSON arguments): photo bytes from Redis -> the export -> results into Redis."""
    from rq import get_current_job

    job = get_current_job()
    conn = job.connection

    def report(stage: str, progress: float) -> None:
        enter_stage(job.meta.setdefault("stages", ["queued"]), stage)
        job.meta.update(stage=stage, progress=progress)
        job.save_meta()

    data = conn.get(_photo_key(job_id))
    try:
        if data is None:
            raise ServiceError("the photo expired before a worker took the job")
        with tempfile.TemporaryDirectory(prefix="lam-job-") as tmp:
            photo = Path(tmp) / f"photo{suffix if suffix.isascii() and len(suffix) <= 6 else ''}"
            photo.write_bytes(data)
            report("photo", 0.01)
            try:
                paths = run_export(photo, Path(tmp), seconds, report)
            except LamError as exc:
                raise type(exc)(str(exc).replace(str(photo), name).replace(photo.name, name)) from None
            sizes = {}
            for kind, p in paths.items():
                blob = p.read_bytes()
                conn.set(_out_key(job_id, kind), blob, ex=keep)
                sizes[kind] = len(blob)
    except Exception as exc:
        job.meta["error"] = str(exc) if isinstance(exc, LamError) else f"the export failed: {type(exc).__name__}: {exc}"
        job.save_meta()
        raise
    finally:
        conn.delete(_photo_key(job_id))
    report("done", 1.0)
    return sizes


def run_worker(url: str, burst: bool = False) -> None:
    """``lam-serve --worker``: take jobs from the queue at ``url`` until stopped (``burst``: until it is empty)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    conn = connect(url)
    import exporter.lamfile  # noqa: F401  (the pipeline's imports, torch's among them, paid once per worker)
    import lam_core.reconstruct.seam  # noqa: F401

    SimpleWorker([_queue(conn)], connection=conn, serializer=JSONSerializer).work(burst=burst, with_scheduler=False)
