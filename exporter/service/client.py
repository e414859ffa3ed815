"""A small client for the upload API (standard library only), used by the tests and the load benchmark and
usable from scripts:

    job = upload("http://127.0.0.1:8000/", Path("me.jpg").read_bytes(), "me.jpg")   # Reply(status, body, headers)
    final = wait("http://127.0.0.1:8000/", job.body["id"])                          # the last status
    lam = fetch("http://127.0.0.1:8000/", job.body["id"], "lam")                    # Reply with .data
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    data: bytes = b""


def _request(req: urllib.request.Request, timeout: float) -> Reply:
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, headers, data = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        status, headers, data = exc.code, dict(exc.headers), exc.read()
    body = {}
    if headers.get("Content-Type", "").startswith("application/json"):
        body = json.loads(data)
    return Reply(status, body, headers, data)


def multipart(fields: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body for ``{field: (filename, bytes, mime)}``; returns (body, content type)."""
    boundary = "lam" + secrets.token_hex(12)
    parts = []
    for name, (filename, data, mime) in fields.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {mime}\r\n\r\n").encode("utf-8")
        parts.append(head + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(base: str, photo: bytes, filename: str = "photo.jpg", timeout: float = 60.0, field_name: str = "photo",
           mime: str = "application/octet-stream") -> Reply:
    body, ctype = multipart({field_name: (filename, photo, mime)})
    req = urllib.request.Request(base.rstrip("/") + "/api/avatars", data=body, method="POST",
                                 headers={"Content-Type": ctype})
    return _request(req, timeout)


def status(base: str, job_id: str, timeout: float = 30.0) -> Reply:
    return _request(urllib.request.Request(f"{base.rstrip('/')}/api/avatars/{job_id}"), timeout)


def wait(base: str, job_id: str, timeout: float = 120.0, poll: float = 0.2, seen: list | None = None) -> dict:
    """Poll until the job is done or failed (``seen`` collects every status); the last status."""
    deadline = time.monotonic() + timeout
    while True:
        st = status(base, job_id).body
        if seen is not None:
            seen.append(st)
        if st.get("state") in ("done", "failed") or time.monotonic() > deadline:
            return st
        time.sleep(poll)


def fetch(base: str, job_id: str, kind: str, timeout: float = 60.0) -> Reply:
    return _request(urllib.request.Request(f"{base.rstrip('/')}/api/avatars/{job_id}.{kind}"), timeout)
