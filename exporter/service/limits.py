"""The service's limits: one place, one set of defaults, each refused with a JSON error naming it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lam_core.errors import LamError


class ServiceError(LamError):
    """A request the service refuses; ``status`` is the HTTP code, ``retry_after`` seconds for a full queue."""

    def __init__(self, message: str, status: int = 400, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class JobTimeLimit(LamError):
    """An export ran past the per-job time limit."""


JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")   # what new_job_id() makes; anything else is not looked up


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 20 << 20        # the whole request body (413 beyond)
    max_pixels: int = 25_000_000            # decoded photo (about 6K x 4K); checked from the header first
    max_queue: int = 8                      # jobs waiting or running (429 with Retry-After beyond)
    job_seconds: float = 120.0              # time one export may take
    keep_seconds: float = 24 * 3600.0       # a finished job's files are kept this long ...
    keep_jobs: int = 200                    # ... and at most this many finished jobs
    workers: int = 1                        # exports at once in this process (the in-process pool)

    def check(self) -> "Limits":
        for name in ("max_upload_bytes", "max_pixels", "max_queue", "job_seconds", "keep_seconds", "keep_jobs",
                     "workers"):
            if not getattr(self, name) > 0:
                raise ServiceError(f"the service limit {name} must be positive, got {getattr(self, name)}")
        return self


def new_job_id() -> str:
    import secrets

    return secrets.token_urlsafe(12)   # 16 characters of [A-Za-z0-9_-]
