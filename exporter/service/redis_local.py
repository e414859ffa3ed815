"""A throw-away Redis for the queue's test and benchmark: Debian's ``redis-server`` on 127.0.0.1, on a free
port, in its own folder, no persistence; stopped on exit."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

from exporter.processes import stop_process
from lam_core.errors import LamError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_redis(timeout_s: float = 10.0) -> Iterator[str]:
    """Start ``redis-server`` on loopback; yields its URL (``redis://127.0.0.1:PORT/0``)."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise LamError("redis-server is not installed (Debian package redis-server; make setup installs it)")
    with tempfile.TemporaryDirectory(prefix="lam-redis-") as tmp:
        port = _free_port()
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp, "--save", "",
                                 "--appendonly", "no", "--protected-mode", "yes", "--maxmemory", "512mb"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
                        c.sendall(b"PING\r\n")
                        if c.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LamError(f"redis-server did not start on 127.0.0.1:{port}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop_process(proc)
