"""Torch tensors of a frozen dataclass's arrays, on the device and in the dtype a caller works in.

Head models, rigs, rig points and Gaussians hold their data as numpy arrays (scipy sparse for an interpolation
map) in frozen dataclasses: numpy for files and geometry, torch for posing and rendering. Each declares one
field ``tensors``, an :class:`ArrayTensors` over the arrays torch code needs, set once in its ``__post_init__``
(``ArrayTensors.of(self, names...)``). Code that poses or renders asks it for tensors where it works, as an
``nn.Module``'s buffers follow ``.to()``::

    t = rig.tensors.like(params.expr)      # the device and dtype of the parameters
    t = model.tensors.to("cuda")           # float32 unless a dtype is given
    t["exprdirs"]

A set of tensors is made on the first request for its (device, dtype) and kept in that object's ``tensors``
field, so every later frame reuses it (the one cache, declared, never set behind the dataclass's back). The
arrays are never changed once the object exists, so a kept set never goes stale; ``dataclasses.replace`` (or a
pickle, or a copy) builds a new object with a new, empty ``tensors``. Float32 on the CPU shares memory with the
numpy arrays (no copy); other devices and dtypes hold one copy each, for as long as the object lives.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor


def _device(device: torch.device | str | None) -> torch.device:
    d = torch.device("cpu" if device is None else device)
    if d.type == "cuda" and d.index is None:  # "cuda" and a tensor's "cuda:0" are one place, one set
        d = torch.device("cuda", torch.cuda.current_device())
    return d


def _tensor(a: np.ndarray | sp.spmatrix, device: torch.device, dtype: torch.dtype) -> Tensor:
    if sp.issparse(a):
        m = a.tocoo()
        idx = torch.from_numpy(np.stack([m.row, m.col]).astype(np.int64))
        t = torch.sparse_coo_tensor(idx, torch.from_numpy(m.data).to(dtype), size=m.shape,
                                    check_invariants=True).coalesce()
        return t.to(device)
    return torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=dtype)


class ArrayTensors:
    """Named arrays (dense numpy, or scipy sparse -> a coalesced sparse COO tensor) as torch tensors on any device
    and in any float dtype; each (device, dtype) set is made once, on its first request."""

    def __init__(self, arrays: Mapping[str, np.ndarray | sp.spmatrix]):
        self._arrays = dict(arrays)
        self._sets: dict[tuple[torch.device, torch.dtype], Mapping[str, Tensor]] = {}

    @classmethod
    def of(cls, obj: object, *names: str) -> "ArrayTensors":
        """Over the arrays ``obj.<name>`` (references, not copies)."""
        return cls({k: getattr(obj, k) for k in names})

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Mapping[str, Tensor]:
        """The tensors on ``device`` (the CPU if None) in ``dtype``, a read-only mapping by array name."""
        key = (_device(device), dtype)
        got = self._sets.get(key)
        if got is None:
            got = self._sets[key] = MappingProxyType({k: _tensor(a, *key) for k, a in self._arrays.items()})
        return got

    def like(self, t: Tensor) -> Mapping[str, Tensor]:
        """The tensors on ``t``'s device, in ``t``'s dtype."""
        return self.to(t.device, t.dtype)

    def __reduce__(self):  # a pickled or copied object starts with no sets made
        return ArrayTensors, (self._arrays,)

    def __repr__(self) -> str:
        return f"ArrayTensors({', '.join(self._arrays)})"
