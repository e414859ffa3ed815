"""``lam-serve``: serve the browser viewer with the given avatars and motions.

    lam-serve avatar.lam [more.lam ...] [--host 127.0.0.1] [--port 8000] [--motions DIR]
              [--tls-cert CERT.pem --tls-key KEY.pem]

Binds 127.0.0.1 unless ``--host`` says otherwise (``--host 0.0.0.0`` lets phones on the same network connect;
it prints a warning). ``--port 0`` takes a free port. Prints the URL to open. Serves MediaPipe's face tracking
files from the installed npm package at ``/mediapipe/`` (the page's "Use camera"; browsers allow cameras on
http://localhost and https only).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Sequence

from exporter.cli import add_version, entry_point
from exporter.server import DEFAULT_BUNDLE, DEFAULT_MAX_UPLOAD, DEFAULT_MOTIONS, ServerError, bundle_missing_message, \
    create_app, face_mesh_dir


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
    add_version(p)
    return p


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(args: argparse.Namespace):
    """Check the arguments and bind the socket; returns (werkzeug server, app)."""
    from werkzeug.serving import make_server as werkzeug_server

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
    app = create_app(args.avatars, motions, max_upload_bytes=int(args.max_upload_mb * (1 << 20)),
                     static_mounts={"mediapipe": face_mesh} if face_mesh else None)
    sock = listen(args.host, args.port)
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
    """This machine's address as its own name resolves (no packet is sent), unless that is loopback."""
    try:
        addr = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if is_loopback(addr) else addr


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    server, app = make_server(args)
    port = server.socket.getsockname()[1]
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}: anyone who can reach this machine on port {port} can see the "
              "served avatars", file=sys.stderr)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    if ":" in shown:
        shown = f"[{shown}]"
    n = len(app.config["LAM_AVATARS"])
    scheme = "https" if args.tls_cert else "http"
    print(f"serving {n} avatar{'s' if n != 1 else ''} at {scheme}://{shown}:{port}/   (Ctrl-C to stop)", flush=True)
    if args.host in ("0.0.0.0", "::"):
        lan = lan_address()
        if lan:
            print(f"from a phone on the same network: {scheme}://{lan}:{port}/", flush=True)
            if scheme == "http":
                print("note: phones' browsers allow the camera only on https pages: add --tls-cert/--tls-key for "
                      "the page's Use camera", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


entry = entry_point(main)

if __name__ == "__main__":
    entry()
