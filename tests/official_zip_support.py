"""A small ARKit-channel avatar for the official-zip tests (no sample data needed), and zip surgery helpers."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from dataclasses import replace

import numpy as np

from exporter.official_zip.writer import ARKIT_NAMES
from lam_core.gaussians import GaussianAvatar
from lam_core.rig import RigPoints
from lam_core.synthetic import synthetic_avatar


def arkit_avatar(levels: int = 1, channels: int = 52) -> GaussianAvatar:
    """The synthetic FLAME-layout avatar with its first ``channels`` expression bases named as ARKit's, and
    no pose correctives or expression-driven joints (what the official layout holds)."""
    av = synthetic_avatar(levels=levels)
    rig = av.rig
    k = channels
    rig = replace(rig, exprdirs=np.ascontiguousarray(rig.exprdirs[:, :, :k]), expr_names=ARKIT_NAMES[:k],
                  joint_exprdirs=np.zeros((rig.n_joints, 3, k), np.float32), posedirs=np.zeros_like(rig.posedirs))
    return GaussianAvatar(RigPoints(rig, av.points.interp, av.points.faces), av.gaussians)


def zip_members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write_zip(path, members: dict[str, bytes], attrs: dict[str, int] | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if attrs and name in attrs:
                info.external_attr = attrs[name]
            zf.writestr(info, data)


def edit_glb(data: bytes, edit) -> bytes:
    """GLB bytes with ``edit(doc)`` applied to the JSON chunk (BIN chunk kept)."""
    jl = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20:20 + jl])
    rest = data[20 + jl:]
    edit(doc)
    js = json.dumps(doc).encode()
    js += b" " * ((-len(js)) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + rest
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def ply_with(data: bytes, row: int, column: int, value: float) -> bytes:
    """offset.ply bytes (17 float columns) with one value replaced."""
    h = data.index(b"end_header\n") + len(b"end_header\n")
    a = np.frombuffer(data[h:], "<f4").copy().reshape(-1, 17)
    a[row, column] = value
    return data[:h] + a.tobytes()


def ply_rows(data: bytes, rows: int) -> bytes:
    """offset.ply bytes cut to its first ``rows`` rows (header count too)."""
    h = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:h].decode()
    old = [ln for ln in header.splitlines() if ln.startswith("element vertex")][0]
    header = header.replace(old, f"element vertex {rows}")
    return header.encode() + data[h:h + rows * 17 * 4]
