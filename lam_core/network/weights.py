"""Reading the released checkpoint (``model.safetensors``) strictly, with one-line errors.

The file's header is checked before any tensor is read (its length, every entry's dtype, shape and byte
range against the file's size); pickle checkpoints are refused (unpickling runs code). Keys under
``renderer.flame_model.`` are the FLAME buffers the checkpoint carries; every other key must be exactly
the network's, with the network's shapes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from pathlib import Path

import numpy as np
import torch

from ..errors import LamError
from .config import LamConfig
from .model import LamNetwork, meta_network

FLAME_PREFIX = "renderer.flame_model."
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".tar")
MAX_HEADER = 100 * 1024 * 1024
DTYPES = {"F64": (8, torch.float64), "F32": (4, torch.float32), "F16": (2, torch.float16),
          "BF16": (2, torch.bfloat16), "I64": (8, torch.int64), "I32": (4, torch.int32),
          "I16": (2, torch.int16), "I8": (1, torch.int8), "U8": (1, torch.uint8), "BOOL": (1, torch.bool)}
SHOW = 3


class WeightsError(LamError):
    """A network checkpoint is missing, unsafe, corrupt or of the wrong layout."""


def _names(keys: list[str]) -> str:
    more = f", ... ({len(keys) - SHOW} more)" if len(keys) > SHOW else ""
    return ", ".join(keys[:SHOW]) + more


def read_header(path: str | os.PathLike) -> tuple[Path, dict[str, dict], int]:
    """Check a safetensors file's framing: -> (path, {key: {dtype, shape, data_offsets}}, data start)."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"{p}: no such file")
    if p.suffix.lower() in PICKLE_SUFFIXES:
        raise WeightsError(f"{p}: a pickle checkpoint ({p.suffix}) is refused, since unpickling runs code; "
                           "give the safetensors file (model.safetensors)")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(8)
        if head[:2] == b"PK" or head[:1] == b"\x80":
            raise WeightsError(f"{p}: this is a pickle/torch.save checkpoint, refused since unpickling runs code; "
                               "give the safetensors file (model.safetensors)")
        if len(head) < 8:
            raise WeightsError(f"{p}: not a safetensors file ({size} bytes, shorter than its header length)")
        (n,) = struct.unpack("<Q", head)
        if n < 2 or n > MAX_HEADER or 8 + n > size:
            raise WeightsError(f"{p}: not a safetensors file or truncated (header of {n} bytes in a {size}-byte file)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WeightsError(f"{p}: the safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{p}: the safetensors header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if meta is not None and not isinstance(meta, dict):
        raise WeightsError(f"{p}: the safetensors __metadata__ is not a JSON object")
    if meta and "lam_config" in meta:
        header["__lam_config__"] = meta["lam_config"]
    data_start, data_size = 8 + n, size - 8 - n
    spans = []
    for key, e in header.items():
        if key == "__lam_config__":
            continue
        if not isinstance(e, dict) or e.get("dtype") not in DTYPES:
            raise WeightsError(f"{p}: tensor {key}: unknown or missing dtype {e.get('dtype') if isinstance(e, dict) else e!r}")
        shape, offs = e.get("shape"), e.get("data_offsets")
        if (not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape)
                or not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)):
            raise WeightsError(f"{p}: tensor {key}: bad shape or data_offsets in the header")
        nbytes = int(np.prod(shape, dtype=np.int64)) * DTYPES[e["dtype"]][0]
        if offs[0] < 0 or offs[1] - offs[0] != nbytes:
            raise WeightsError(f"{p}: tensor {key}: the header says shape {shape} ({nbytes} bytes) but gives "
                               f"{offs[1] - offs[0]} bytes")
        if offs[1] > data_size:
            raise WeightsError(f"{p}: truncated: tensor {key} ends at byte {offs[1]} of a {data_size}-byte data section")
        spans.append((offs[0], offs[1], key))
    spans.sort()
    for (a0, a1, ka), (b0, b1, kb) in zip(spans, spans[1:]):
        if b0 < a1:
            raise WeightsError(f"{p}: tensors {ka} and {kb} overlap in the data section")
    return p, header, data_start


def read_tensors(path: str | os.PathLike, keys: list[str] | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a checked safetensors file (all, or ``keys``), as torch tensors."""
    from safetensors import safe_open

    p, header, _ = read_header(path)
    out = {}
    try:
        with safe_open(str(p), framework="pt", device="cpu") as f:
            for key in (keys if keys is not None else [k for k in header if k != "__lam_config__"]):
                out[key] = f.get_tensor(key)
    except Exception as exc:  # the safetensors library's own checks (after ours)
        raise WeightsError(f"{p}: cannot read the safetensors file: {str(exc).splitlines()[0]}") from None
    return out


def check_layout(header: dict[str, dict], net: LamNetwork, where: Path) -> None:
    """Missing/unexpected keys and shape mismatches between a checkpoint and the network."""
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    found = {k: tuple(e["shape"]) for k, e in header.items() if not k.startswith(FLAME_PREFIX)}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys ({_names(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys ({_names(unexpected)})")
        raise WeightsError(f"{where}: not a LAM checkpoint for this configuration: {'; '.join(parts)}")
    for key in expected:
        if expected[key] != found[key]:
            raise WeightsError(f"{where}: {key}: expected shape {list(expected[key])}, found {list(found[key])}")
    for key, e in header.items():
        if not key.startswith(FLAME_PREFIX) and not e["dtype"] in ("F32", "F16", "BF16", "F64"):
            raise WeightsError(f"{where}: {key}: expected a floating-point tensor, found {e['dtype']}")


def config_json(config: LamConfig) -> str:
    d = dataclasses.asdict(config)
    d["feature_layers"] = list(d["feature_layers"])
    return json.dumps(d)


def config_from_json(text: str, where: Path | str = "") -> LamConfig:
    """A configuration stored with a checkpoint or ONNX file (the released checkpoint has none)."""
    try:
        d = json.loads(text)
        d["feature_layers"] = tuple(d["feature_layers"])
        return LamConfig(**d)
    except (ValueError, TypeError, KeyError) as exc:
        raise WeightsError(f"{where}: its stored lam_config is unusable: {exc}") from None


def load_lam_weights(path: str | os.PathLike, config: LamConfig | None = None,
                     device: str | torch.device = "cpu") -> tuple[LamNetwork, dict[str, torch.Tensor]]:
    """The network with the checkpoint's weights (float32, eval mode) and its ``renderer.flame_model.*``
    buffers (keys without the prefix). ``config``: the sizes; None takes the ones stored in the file by
    :func:`save_lam_weights`, else LAM-20K's. Nothing is downloaded; the layout must match exactly."""
    p, header, _ = read_header(path)
    stored = header.pop("__lam_config__", None)
    config = config or (config_from_json(stored, p) if stored else LamConfig())
    net = meta_network(config)
    check_layout(header, net, p)
    tensors = read_tensors(p, list(header))
    flame = {k[len(FLAME_PREFIX):]: tensors.pop(k) for k in list(tensors) if k.startswith(FLAME_PREFIX)}
    state = {k: v.to(device=device, dtype=torch.float32) for k, v in tensors.items()}
    del tensors
    net.load_state_dict(state, strict=True, assign=True)
    return net.eval(), flame


def save_lam_weights(net: LamNetwork, path: str | os.PathLike, flame: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``net`` (and optional FLAME buffers) in the official layout, atomically."""
    from safetensors.torch import save_file

    from ..atomic import atomic_path

    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    for k, v in (flame or {}).items():
        tensors[FLAME_PREFIX + k] = torch.as_tensor(v).contiguous()
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"lam_config": config_json(net.config)})
