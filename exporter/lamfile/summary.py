"""A readable summary of a ``.lam`` file: header, counts and, per chunk, its arrays and sizes."""

from __future__ import annotations

import json

import numpy as np

from . import spec
from .container import Container
from .reader import chunk_infos


def _names(names: list, show: int = 6) -> str:
    if len(names) <= show:
        return ", ".join(names)
    return ", ".join(names[:show]) + f", ... ({len(names)} in all)"


def summary(container: Container) -> dict:
    """The header without its array tables, plus the chunks with their sizes and arrays (for --json)."""
    h = dict(container.header)
    tables = h.pop("arrays", {})
    chunks = []
    for info in chunk_infos(container):
        table = tables.get(info.tag) if isinstance(tables, dict) else None
        chunks.append({"tag": info.tag, "critical": spec.is_critical(info.tag), "known": info.known,
                       "stored_bytes": info.stored_len, "raw_bytes": info.raw_len, "deflated": info.compressed,
                       "arrays": table if isinstance(table, dict) else {}})
    return {"version": list(container.version), "file_bytes": container.file_size, "header": h,
            "header_bytes": container.header_len, "chunks": chunks}


def _position(w2c) -> str:
    try:
        m = np.array(w2c, dtype=np.float64).reshape(4, 4)
        return np.array2string(-m[:3, :3].T @ m[:3, 3], precision=3, separator=", ")
    except (TypeError, ValueError):
        return "?"


def format_summary(container: Container, path: str) -> str:
    s = summary(container)
    h = s["header"]
    rig, g = h.get("rig", {}), h.get("gaussians", {})
    lines = [
        f"{path}: .lam {s['version'][0]}.{s['version'][1]}, {s['file_bytes']:,} bytes, {h.get('encoding')}",
        f"  producer    {h.get('producer', '')}",
        f"  rig         {rig.get('kind', '')}: {rig.get('source', '')}",
        f"  base mesh   {rig.get('vertices', 0):,} vertices, {rig.get('faces', 0):,} faces",
        f"  joints      {_names(rig.get('joint_names', []))}  parents {rig.get('parents')}",
        f"  expressions {len(rig.get('expr_names', []))}: {_names(rig.get('expr_names', []))}",
        f"  correctives {rig.get('pose_correctives', 0)}   LBS weights per vertex {rig.get('skin_k')}   "
        f"landmarks {rig.get('landmarks', 0)}",
        f"  gaussians   {g.get('count', 0):,}, binding {g.get('binding')} (k={g.get('bind_k')}), "
        f"point faces {json.dumps(g.get('point_faces'))}",
    ]
    if h.get("thumbnail"):
        lines.append(f"  thumbnail   {h['thumbnail'].get('mime')}")
    cam = h.get("photo", {}).get("camera") if isinstance(h.get("photo"), dict) else None
    if isinstance(cam, dict):
        lines.append(f"  photo       {cam.get('width')}x{cam.get('height')} px, f {cam.get('fx', 0):.1f} px, "
                     f"camera at {_position(cam.get('world_to_camera'))} m (head frame)")
    if h.get("meta"):
        lines.append(f"  meta        {json.dumps(h['meta'], ensure_ascii=False)[:200]}")
    lines.append(f"  header      {s['header_bytes']:,} bytes of JSON")
    lines.append(f"  {'chunk':<6} {'':<10} {'stored':>10} {'raw':>10}  arrays")
    total_stored = total_raw = 0
    for ch in s["chunks"]:
        kind = ("critical" if ch["critical"] else "ancillary") + ("" if ch["known"] else "?")
        arrays = []
        for name, d in ch["arrays"].items():
            try:
                arrays.append(f"{name} {d['dtype']}{d['shape']} {d['enc']['kind']}")
            except (KeyError, TypeError):
                arrays.append(f"{name} ?")
        total_stored += ch["stored_bytes"]
        total_raw += ch["raw_bytes"]
        z = " deflated" if ch["deflated"] else ""
        lines.append(f"  {ch['tag']:<6} {kind:<10} {ch['stored_bytes']:>10,} {ch['raw_bytes']:>10,}  "
                     f"{'; '.join(arrays)}{z}")
    lines.append(f"  {'total':<6} {'':<10} {total_stored:>10,} {total_raw:>10,}")
    return "\n".join(lines)
