"""The viewer's web server (``lam-serve``): a Flask app serving the viewer bundle, the given avatars and the
motions, nothing else.

* Only what was named is served: the built bundle (viewer_web/dist), each avatar file given on the command
  line (by its registered name, never by a path from the URL), and motions found in the motions folder,
  converted to the page's compact JSON (:func:`lam_core.motion.motion_to_json`). Static mounts (:func:`add_static_mount`)
  serve one folder each through Werkzeug's ``safe_join``: no ``..``, no absolute paths, no symlinked escape.
* Uploads (``POST /api/motion``: a motion file to convert) are limited by ``MAX_CONTENT_LENGTH``.
* The CLI binds 127.0.0.1 unless told otherwise.

Routes: ``/`` (the page), ``/<bundle file>``, ``GET /api/avatars``, ``GET /avatars/<name>``,
``GET /api/motions``, ``GET /motions/<name>.json``, ``POST /api/motion``, ``GET /api/service``, the photo
upload API when a job backend is given (:mod:`exporter.service.api`: ``POST /api/avatars``,
``GET /api/avatars/<id>[.lam|.ply]``), and the static mounts (``lam-serve``
mounts ``/mediapipe/``: the npm package ``@mediapipe/face_mesh``, for the page's webcam tracking, offline).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Iterable

from flask import Flask, abort, jsonify, request, send_file, send_from_directory
from werkzeug.exceptions import HTTPException
from werkzeug.security import safe_join

from lam_core.errors import LamError
from lam_core.motion import load_motion, motion_to_json

from .service.api import add_service_info, add_upload_api

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "viewer_web" / "dist"
DEFAULT_MOTIONS = ROOT / "examples" / "motions"
DEFAULT_MAX_UPLOAD = 64 << 20
MOTION_SUFFIXES = (".npz", ".json")


class ServerError(LamError):
    """The server cannot start with what it was given (missing avatar, no bundle, port in use)."""


def bundle_missing_message(bundle: Path) -> str:
    return f"the viewer bundle is not built ({bundle / 'index.html'} is missing): run `npm run build` (make setup does)"


def _unique_names(paths: Iterable[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in paths:
        name, k = p.name, 2
        while name in out:
            name = f"{p.stem}-{k}{p.suffix}"
            k += 1
        out[name] = p
    return out


def find_motions(folder: Path | None) -> dict[str, Path]:
    """Motion name -> path: the folder's .npz / .json files and sub-folders holding per-frame npz (VHAP)."""
    if folder is None or not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix.lower() in MOTION_SUFFIXES:
            found.setdefault(p.stem, p)
        elif p.is_dir() and ((p / "transforms.json").is_file() or (p / "flame_param").is_dir()
                             or any(f.suffix == ".npz" for f in p.iterdir())):
            found.setdefault(p.name, p)
    return found


def face_mesh_dir() -> Path | None:
    """The installed npm package ``@mediapipe/face_mesh`` (its wasm and models, for the page's webcam
    tracking): under ``$LAM_NODE_MODULES`` if set, else ``node_modules/`` beside the repository; None if absent."""
    env = os.environ.get("LAM_NODE_MODULES")
    root = Path(env).expanduser() if env else ROOT / "node_modules"
    pkg = root / "@mediapipe" / "face_mesh"
    return pkg if (pkg / "face_mesh.js").is_file() else None


def add_static_mount(app: Flask, prefix: str, folder: str | os.PathLike) -> None:
    """Serve the files under ``folder`` at ``/<prefix>/<path>`` (e.g. MediaPipe's wasm and models for the
    webcam page). Paths are joined with ``safe_join``: nothing outside ``folder`` is reachable."""
    prefix = prefix.strip("/")
    root = Path(folder).resolve()
    if not prefix or "/" in prefix or not root.is_dir():
        raise ServerError(f"static mount '{prefix}': {root} is not a folder (or the prefix is not one path segment)")

    def serve(path: str):
        full = safe_join(str(root), path)
        if full is None or not Path(full).resolve().is_relative_to(root) or not Path(full).is_file():
            abort(404)
        return send_file(full, max_age=3600)

    app.add_url_rule(f"/{prefix}/<path:path>", endpoint=f"static_mount_{prefix}", view_func=serve)
    app.config.setdefault("LAM_STATIC_MOUNTS", {})[prefix] = root


def create_app(avatars: Iterable[str | os.PathLike] = (), motions_dir: str | os.PathLike | None = None,
               bundle_dir: str | os.PathLike | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
               static_mounts: dict[str, str | os.PathLike] | None = None, service=None) -> Flask:
    """The app. ``avatars``: .lam files to serve; ``motions_dir``: folder of example motions (None: none);
    ``service``: a job backend (:mod:`exporter.service`) for the photo upload API (None: no uploads)."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_bytes)
    bundle = Path(bundle_dir) if bundle_dir is not None else DEFAULT_BUNDLE
    avatar_paths = _unique_names(Path(a).resolve() for a in avatars)
    motions_root = Path(motions_dir).resolve() if motions_dir is not None else None
    cache: dict[tuple[str, float], dict] = {}
    lock = threading.Lock()
    app.config.update(LAM_AVATARS=avatar_paths, LAM_MOTIONS_DIR=motions_root, LAM_BUNDLE=bundle)

    @app.after_request
    def headers(resp):
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers.setdefault("Cache-Control", "no-cache")
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
            msg = f"the upload is larger than the server's limit of {limit / (1 << 20):g} MiB"
        else:
            msg = exc.description or exc.name
        return jsonify(error=msg), exc.code

    # ------------------------------------------------------------------------------------------ the page

    @app.get("/")
    def index():
        if not (bundle / "index.html").is_file():
            return jsonify(error=bundle_missing_message(bundle)), 503
        return send_from_directory(bundle, "index.html")

    @app.get("/<name>")
    def bundle_file(name: str):
        return send_from_directory(bundle, name)  # safe_join inside: nothing outside the bundle

    # ------------------------------------------------------------------------------------------ avatars

    @app.get("/api/avatars")
    def list_avatars():
        out = []
        for name, p in avatar_paths.items():
            size = p.stat().st_size if p.is_file() else None
            out.append({"name": name, "url": f"avatars/{name}", "size": size})
        return jsonify(avatars=out)

    @app.get("/avatars/<name>")
    def avatar(name: str):
        p = avatar_paths.get(name)
        if p is None:
            abort(404, description=f"no avatar named {name}")
        if not p.is_file():
            abort(404, description=f"the avatar file {p.name} is gone")
        return send_file(p, mimetype="application/octet-stream", max_age=0)

    # ------------------------------------------------------------------------------------------ motions

    def convert(path: Path, source: str) -> dict:
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            abort(404)
        with lock:
            hit = cache.get(key)
        if hit is None:
            hit = motion_to_json(load_motion(path), source)
            with lock:
                cache[key] = hit
        return hit

    @app.get("/api/motions")
    def list_motions():
        found = find_motions(motions_root)
        return jsonify(motions=[{"name": n, "url": f"motions/{n}.json"} for n in found])

    @app.get("/motions/<name>.json")
    def motion(name: str):
        p = find_motions(motions_root).get(name)
        if p is None:
            abort(404, description=f"no motion named {name}")
        try:
            return jsonify(convert(p, p.name))
        except LamError as exc:
            return jsonify(error=str(exc).replace(str(p.parent) + os.sep, "")), 422

    @app.post("/api/motion")
    def upload_motion():
        f = request.files.get("file")
        if f is None or not f.filename:
            abort(400, description="send the motion as a multipart form field named 'file'")
        suffix = Path(f.filename).suffix.lower()
        if suffix not in MOTION_SUFFIXES:
            abort(400, description=f"{f.filename}: expected a .npz (FLAME parameters) or .json (ARKit) motion")
        name = Path(f.filename).name
        with tempfile.TemporaryDirectory(prefix="lam-motion-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            f.save(path)
            try:
                data = motion_to_json(load_motion(path), name)
            except LamError as exc:
                return jsonify(error=str(exc).replace(str(path), name)), 422
        return jsonify(data)

    add_service_info(app, service)
    if service is not None:
        add_upload_api(app, service)
    for prefix, folder in (static_mounts or {}).items():
        add_static_mount(app, prefix, folder)
    return app
