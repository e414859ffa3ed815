"""Named stages and their times: what ``lam-export -v`` prints, whichever process ran each stage."""

from __future__ import annotations

import contextlib
import time
from typing import Callable


class StageTimer:
    """Times named stages and reports each one as it starts (``log``) and how long it took."""

    def __init__(self, log: Callable[[str], None] | None = None):
        self.times: dict[str, float] = {}
        self.log = log

    @contextlib.contextmanager
    def __call__(self, name: str):
        if self.log:
            self.log(f"{name} ...")
        t0 = time.perf_counter()
        yield
        self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0

    def record(self, name: str, seconds: float) -> None:
        """A stage that ran elsewhere (lam-export's photo reader, in its child): announced, and its time kept."""
        if self.log:
            self.log(f"{name} ...")
        self.times[name] = self.times.get(name, 0.0) + seconds
