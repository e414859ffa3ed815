"""``lam-serve``: serve the browser viewer, the photo upload service and the given avatars and motions.

    lam-serve [avatar.lam ...] [--host 127.0.0.1] [--port 8000] [--motions DIR]
              [--tls-cert CERT.pem --tls-key KEY.pem] [--waitress]
              [--queue local|redis] [--redis-url URL] [--workers N] [--max-queue N] [--job-seconds S]
              [--data-dir DIR] [--keep-hours H] [--max-photo-mb MB] [--max-pixels N] [--no-upload]
    lam-serve --worker [--redis-url URL] [--burst]      # a worker for --queue redis, on any machine

Binds 127.0.0.1 unless ``--host`` says otherwise (``--host 0.0.0.0`` lets phones on the same network connect;
it prints a warning). ``--port 0`` takes a free port. Prints the URL to open. Serves MediaPipe's face tracking
files from the installed npm package at ``/mediapipe/`` (the page's "Use camera"; browsers allow cameras on
http://localhost and https only).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from exporter.cli import add_version, entry_point
from exporter.server import DEFAULT_BUNDLE, DEFAULT_MAX_UPLOAD, DEFAULT_MOTIONS, ServerError, bundle_missing_message, \
    create_app, face_mesh_dir
from exporter.service.limits import Limits

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
QUEUES = ("local", "redis")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lam-serve", description="Serve the browser viewer for .lam avatars.")
    p.add_argument("avatars", nargs="*", metavar="AVATAR.lam", help="avatar files to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for the network)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 for any free port)")
    p.add_argument("--motions", metavar="DIR", help=f"folder of motions to offer (default {DEFAULT_MOTIONS} if present)")
    p.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD / (1 << 20),
                   help="largest motion file the page may upload for conversion (default 64)")
    p.add_argument("--tls-cert", metavar="CERT.pem", help="serve https with this certificate (browsers allow the "
                                                          "camera only on https pages or on localhost)")
    p.add_argument("--tls-key", metavar="KEY.pem", help="the certificate's private key (with --tls-cert)")
    p.add_argument("--waitress", action="store_true", help="serve with waitress (production WSGI server; put it "
                                                            "behind a reverse proxy for https)")
    d = Limits()
    s = p.add_argument_group("photo upload service (POST /api/avatars; docs/service.md)")
    s.add_argument("--no-upload", action="store_true", help="no upload API: only serve the given avatars")
    s.add_argument("--queue", choices=QUEUES, default=os.environ.get("LAM_QUEUE", "local"),
                   help="where exports run: local (a pool in this process, default) or redis (RQ workers started "
                        "with lam-serve --worker on any machine); env LAM_QUEUE")
    s.add_argument("--redis-url", default=os.environ.get("LAM_REDIS_URL", DEFAULT_REDIS),
                   help=f"Redis for --queue redis and --worker (default {DEFAULT_REDIS}; env LAM_REDIS_URL)")
    s.add_argument("--workers", type=int, default=d.workers, help=f"exports at once, local queue (default {d.workers})")
    s.add_argument("--max-queue", type=int, default=d.max_queue,
                   help=f"photos waiting or in progress before uploads get 429 (default {d.max_queue})")
    s.add_argument("--job-seconds", type=float, default=d.job_seconds,
                   help=f"time limit of one export (default {d.job_seconds:g})")
    s.add_argument("--data-dir", metavar="DIR", help="where results are kept (default: a temporary folder removed "
                                                      "on exit)")
    s.add_argument("--keep-hours", type=float, default=d.keep_seconds / 3600,
                   help=f"results are removed after this long (default {d.keep_seconds / 3600:g})")
    s.add_argument("--max-photo-mb", type=float, default=d.max_upload_bytes / (1 << 20),
                   help=f"largest photo upload (default {d.max_upload_bytes >> 20})")
    s.add_argument("--max-pixels", type=int, default=d.max_pixels, help=f"largest photo in pixels (default "
                                                                          f"{d.max_pixels:,})")
    s.add_argument("--worker", action="store_true", help="run a worker for --queue redis instead of a server")
    s.add_argument("--burst", action="store_true", help="with --worker: stop when the queue is empty")
    add_version(p)
    return p


def service_limits(args: argparse.Namespace) -> Limits:
    return Limits(max_upload_bytes=int(args.max_photo_mb * (1 << 20)), max_pixels=args.max_pixels,
                  max_queue=args.max_queue, job_seconds=args.job_seconds, keep_seconds=args.keep_hours * 3600,
                  workers=args.workers).check()


def make_service(args: argparse.Namespace, stack: contextlib.ExitStack):
    """The job backend the flags ask for (None with --no-upload); cleaned up by ``stack``."""
    if args.no_upload:
        return None
    limits = service_limits(args)
    if args.queue == "redis":
        from exporter.service.redis_queue import RedisQueue

        backend = RedisQueue(args.redis_url, limits)
    else:
        from exporter.service.local_queue import LocalQueue

        if args.data_dir:
            data = Path(args.data_dir)
            if data.exists() and not data.is_dir():
                raise ServerError(f"--data-dir {data} is not a folder")
        else:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lam-serve-")))
        backend = LocalQueue(data, limits)
    stack.callback(backend.close)
    return backend


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(args: argparse.Namespace, stack: contextlib.ExitStack | None = None):
    """Check the arguments, make the upload service (cleaned up by ``stack``) and bind the socket; returns
    (server, app): a Werkzeug server, or with --waitress a waitress one (:func:`serve` runs either)."""
    from werkzeug.serving import make_server as werkzeug_server

    stack = stack if stack is not None else contextlib.ExitStack()

    for a in args.avatars:
        p = Path(a)
        if not p.is_file():
            raise ServerError(f"avatar file not found: {a}")
        if p.suffix.lower() != ".lam":
            raise ServerError(f"{a}: expected a .lam avatar file")
    if args.motions is not None and not Path(args.motions).is_dir():
        raise ServerError(f"motions folder not found: {args.motions}")
    if not 0 <= args.port <= 65535:
        raise ServerError(f"port {args.port} is not in 0..65535")
    if not args.max_upload_mb > 0:
        raise ServerError("--max-upload-mb must be positive")
    ssl_context = tls_context(args.tls_cert, args.tls_key)
    if not (DEFAULT_BUNDLE / "index.html").is_file():
        raise ServerError(bundle_missing_message(DEFAULT_BUNDLE))
    motions = args.motions if args.motions is not None else (DEFAULT_MOTIONS if DEFAULT_MOTIONS.is_dir() else None)
    face_mesh = face_mesh_dir()
    if face_mesh is None:
        print("warning: the npm package @mediapipe/face_mesh is not installed (run `npm ci`): the page's camera "
              "button will say so", file=sys.stderr)
    if args.waitress and ssl_context is not None:
        raise ServerError("--waitress serves plain http: terminate TLS in the reverse proxy in front of it")
    service = make_service(args, stack)
    app = create_app(args.avatars, motions, max_upload_bytes=int(args.max_upload_mb * (1 << 20)),
                     static_mounts={"mediapipe": face_mesh} if face_mesh else None, service=service)
    sock = listen(args.host, args.port)
    if args.waitress:
        from waitress.server import create_server

        return create_server(app, sockets=[sock], threads=8, clear_untrusted_proxy_headers=True), app
    return werkzeug_server(args.host, args.port, app, threaded=True, fd=sock.fileno(), ssl_context=ssl_context), app


def tls_context(cert: str | None, key: str | None):
    """An SSL context for https, or None; one-line errors for missing or unreadable files."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ServerError("--tls-cert and --tls-key go together")
    for what, path in (("certificate", cert), ("key", key)):
        if not Path(path).is_file():
            raise ServerError(f"TLS {what} not found: {path}")
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ServerError(f"cannot use the TLS certificate {cert} with key {key}: {exc}") from None
    return ctx


def listen(host: str, port: int) -> socket.socket:
    """A listening socket (werkzeug would print and exit on a bind error; this raises a one-line error)."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, ValueError):
        raise ServerError(f"cannot listen on {host}: not a host name or address of this machine") from None
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another port with --port)") \
            from None
    return sock


def lan_address() -> str | None:
    """This machine's address on its network: the source address of the default route (a UDP socket is
    "connected" to a public address; no packet is sent), else what its own name resolves to; None if only
    loopback is found."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))   # TEST-NET-1: routing only
        addr = s.getsockname()[0]
        if not is_loopback(addr) and addr != "0.0.0.0":
            return addr
    try:
        addr = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if is_loopback(addr) else addr


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        from exporter.service.redis_queue import run_worker

        print(f"worker for the queue at {args.redis_url} (Ctrl-C to stop)", flush=True)
        try:
            run_worker(args.redis_url, burst=args.burst)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
        return 0
    with contextlib.ExitStack() as stack:
        return serve(args, stack)


def serve(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    server, app = make_server(args, stack)
    port = server.effective_port if args.waitress else server.socket.getsockname()[1]
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}: anyone who can reach this machine on port {port} can see the "
              "served avatars" + (" and upload photos" if not args.no_upload else ""), file=sys.stderr)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    if ":" in shown:
        shown = f"[{shown}]"
    n = len(app.config["LAM_AVATARS"])
    scheme = "https" if args.tls_cert else "http"
    service = app.config.get("LAM_SERVICE")
    print(f"serving {n} avatar{'s' if n != 1 else ''} at {scheme}://{shown}:{port}/   (Ctrl-C to stop)", flush=True)
    if service is not None:
        lim = service.limits
        print(f"photo uploads: {service.kind} queue, up to {lim.max_queue} at a time, {lim.job_seconds:g} s per "
              f"export" + (f", results in {service.data_dir}" if hasattr(service, "data_dir") else ""), flush=True)
    if args.host in ("0.0.0.0", "::"):
        lan = lan_address()
        if lan:
            print(f"from a phone on the same network: {scheme}://{lan}:{port}/", flush=True)
            if scheme == "http":
                print("note: phones' browsers allow the camera only on https pages: add --tls-cert/--tls-key for "
                      "the page's Use camera", file=sys.stderr)
        else:
            print("note: no network address was found for this machine (only loopback)", file=sys.stderr)
    try:
        server.run() if args.waitress else server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.close() if args.waitress else server.server_close()
    return 0


entry = entry_point(main)

if __name__ == "__main__":
    entry()
