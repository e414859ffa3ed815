"""The upload API on the viewer's Flask app (names fixed by the page and the checks that use them):

* ``POST /api/avatars`` (multipart, field ``photo``) -> 202 ``{"id", "status": "/api/avatars/<id>", ...}``;
* ``GET /api/avatars/<id>`` -> ``{"state": "queued|running|done|failed", "stage", "progress": 0..1, "error"}``;
* ``GET /api/avatars/<id>.lam`` and ``.ply`` when done (404 unknown, 409 not yet, 422 failed: its error).

Every refusal is JSON ``{"error": "..."}`` with a 4xx: 400 no photo, 413 request or pixels over the limit,
415 not an image, 422 corrupt photo, 429 queue full (with ``Retry-After``). Ids are generated
(:func:`~.limits.new_job_id`); a request's id is matched against their pattern before any lookup.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Flask, jsonify, request, send_file

from .export_job import OUTPUTS
from .limits import JOB_ID, ServiceError, new_job_id
from .upload import display_name, save_photo

MIME = {"lam": "application/octet-stream", "ply": "application/octet-stream"}


def add_upload_api(app: Flask, backend) -> None:
    app.config["LAM_SERVICE"] = backend
    limits = backend.limits

    @app.errorhandler(ServiceError)
    def refused(exc: ServiceError):
        resp = jsonify(error=str(exc))
        resp.status_code = exc.status
        if exc.retry_after is not None:
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.post("/api/avatars")
    def create_avatar():
        request.max_content_length = limits.max_upload_bytes
        backend.check_room()                      # before reading the body: a full queue costs nothing
        f = request.files.get("photo")
        if f is None:
            raise ServiceError("send the photo as a multipart form field named 'photo'")
        name = display_name(f.filename)
        job_id = new_job_id()
        with tempfile.TemporaryDirectory(prefix="lam-upload-") as tmp:
            photo = save_photo(f.stream, Path(tmp), name, limits.max_pixels)
            backend.submit(job_id, photo, name)
        return jsonify(id=job_id, status=f"/api/avatars/{job_id}", name=name, queue=backend.kind), 202

    @app.get("/api/avatars/<ref>")
    def avatar_job(ref: str):
        job_id, _, kind = ref.partition(".")
        if not JOB_ID.match(job_id) or (kind and kind not in OUTPUTS):
            raise ServiceError(f"no avatar job {ref}", 404)
        st = backend.status(job_id)
        if st is None:
            raise ServiceError(f"no avatar job {job_id} (unknown, or removed after the retention time)", 404)
        if not kind:
            return jsonify(st)
        if st["state"] == "failed":
            raise ServiceError(st["error"] or "the export failed", 422)
        if st["state"] != "done":
            raise ServiceError(f"avatar {job_id} is not ready yet ({st['state']}, {st['stage']})", 409)
        out = backend.result(job_id, kind)
        if out is None:
            raise ServiceError(f"avatar {job_id}.{kind} is gone (removed after the retention time)", 404)
        stem = Path(st.get("name") or "avatar").stem or "avatar"
        body = out if isinstance(out, Path) else io.BytesIO(out)
        return send_file(body, mimetype=MIME[kind], as_attachment=True, download_name=f"{stem}.{kind}", max_age=0)


def add_service_info(app: Flask, backend) -> None:
    """``GET /api/service``: what the page needs to offer uploads (None backend: uploads are off)."""

    @app.get("/api/service")
    def service_info():
        if backend is None:
            return jsonify(upload=False)
        lim = backend.limits
        return jsonify(upload=True, queue=backend.kind, max_upload_bytes=lim.max_upload_bytes,
                       max_pixels=lim.max_pixels, max_queue=lim.max_queue, job_seconds=lim.job_seconds)
