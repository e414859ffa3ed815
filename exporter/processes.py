"""Child processes the tools start (Xvfb, redis-server, servers in benchmarks): stopping them cleanly."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, wait: float = 5.0) -> None:
    """Ask a child process to end (SIGTERM); kill it if it has not within ``wait`` seconds."""
    proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(wait)
