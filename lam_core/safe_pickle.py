"""A restricted unpickler for model files (FLAME ``.pkl``) that may hold chumpy objects.

A pickle is a program: ``pickle.load`` on an untrusted file can run any code. FLAME's official pickles were
written by Python 2 with chumpy, so they name a handful of classes (numpy arrays and dtypes, a scipy sparse
matrix, chumpy ``Ch``). :func:`load` accepts exactly those, maps the chumpy and scipy ones to inert stand-ins
that only record their state, and refuses every other global with a one-line error. Nothing from chumpy or
scipy runs while loading; stand-ins are converted to plain numpy/scipy objects afterwards, with checks.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import ModelFileError


class _StateOnly:
    """Base of the stand-ins: remembers the pickled state and nothing else."""

    __slots__ = ("state",)

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class ChumpyArray(_StateOnly):
    """Stands in for ``chumpy.ch.Ch``: its value is ``state['x']``."""

    __slots__ = ()


class SparseStandIn(_StateOnly):
    """Stands in for scipy's ``csc_matrix``/``csr_matrix``/``coo_matrix`` (old and new module paths)."""

    __slots__ = ()
    fmt = ""


class CscStandIn(SparseStandIn):
    __slots__ = ()
    fmt = "csc"


class CsrStandIn(SparseStandIn):
    __slots__ = ()
    fmt = "csr"


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` limited to the stand-ins (how protocol-2 pickles build plain objects)."""
    if not (isinstance(cls, type) and issubclass(cls, _StateOnly)) or base is not object or state is not None:
        raise pickle.UnpicklingError("object reconstruction is only allowed for chumpy/scipy stand-ins")
    return cls()


class _NdarrayName:
    """What the name ``numpy.ndarray`` resolves to: a marker, not callable, so a pickle cannot allocate with it."""


def _numpy_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    # numpy pickles an array as _reconstruct(ndarray, (0,), b'b') followed by __setstate__ with the real data,
    # whose length numpy checks against shape and dtype; refuse anything else so no size comes from the file
    # without its bytes.
    if subtype is not _NdarrayName or tuple(shape) != (0,):
        raise pickle.UnpicklingError("only plain numpy arrays are allowed")
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise pickle.UnpicklingError("only plain numeric numpy scalars are allowed")
    if len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("numpy scalar of the wrong size")
    return np.frombuffer(data, dtype=dtype)[0]


def _numpy_dtype(obj: Any, align: Any = False, copy: Any = False) -> np.dtype:
    dt = np.dtype(obj)
    if dt.hasobject:
        raise pickle.UnpicklingError("object dtypes are not allowed")
    return dt


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only latin-1 byte strings are allowed")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    # ... and an empty bytes object as bytes(); any argument could ask for an arbitrary allocation
    if args:
        raise pickle.UnpicklingError("bytes() with arguments is not allowed")
    return b""


_ALLOWED: dict[tuple[str, str], Any] = {
    ("_codecs", "encode"): _codecs_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
    ("builtins", "frozenset"): frozenset,
    ("numpy", "ndarray"): _NdarrayName,
    ("numpy", "dtype"): _numpy_dtype,
    ("chumpy.ch", "Ch"): ChumpyArray,
}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _numpy_reconstruct
    _ALLOWED[(_mod, "scalar")] = _numpy_scalar
for _mod in ("scipy.sparse.csc", "scipy.sparse._csc"):
    _ALLOWED[(_mod, "csc_matrix")] = CscStandIn
for _mod in ("scipy.sparse.csr", "scipy.sparse._csr"):
    _ALLOWED[(_mod, "csr_matrix")] = CsrStandIn


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent references are not allowed")


def _plain(obj: Any, where: str) -> Any:
    """Turn stand-ins into numpy/scipy values, recursively through dicts, lists and tuples."""
    if isinstance(obj, ChumpyArray):
        state = obj.state
        if not isinstance(state, dict) or "x" not in state:
            raise ModelFileError(f"{where}: a chumpy object without a plain value (only Ch arrays are supported)")
        return _plain(state["x"], where)
    if isinstance(obj, SparseStandIn):
        return _sparse(obj, where)
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise ModelFileError(f"{where}: object arrays are not allowed")
        return obj
    if isinstance(obj, dict):
        return {k: _plain(v, f"{where}[{k!r}]" if where else repr(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v, where) for v in obj)
    return obj


def _sparse(obj: SparseStandIn, where: str) -> sp.spmatrix:
    st = obj.state
    if not isinstance(st, dict):
        raise ModelFileError(f"{where}: malformed sparse matrix")
    shape = st.get("_shape", st.get("shape"))
    data, indices, indptr = st.get("data"), st.get("indices"), st.get("indptr")
    if not (isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(n, (int, np.integer)) for n in shape)):
        raise ModelFileError(f"{where}: sparse matrix without a valid shape")
    if not all(isinstance(a, np.ndarray) for a in (data, indices, indptr)):
        raise ModelFileError(f"{where}: sparse matrix without data/indices/indptr arrays")
    major = shape[1] if obj.fmt == "csc" else shape[0]
    minor = shape[0] if obj.fmt == "csc" else shape[1]
    if indptr.ndim != 1 or indptr.size != major + 1 or data.shape != indices.shape or data.ndim != 1:
        raise ModelFileError(f"{where}: inconsistent sparse matrix arrays")
    if indptr.size and (indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0)):
        raise ModelFileError(f"{where}: inconsistent sparse matrix index pointers")
    if indices.size and (indices.min() < 0 or indices.max() >= minor):
        raise ModelFileError(f"{where}: sparse matrix index out of range")
    cls = sp.csc_matrix if obj.fmt == "csc" else sp.csr_matrix
    return cls((data, indices, indptr), shape=(int(shape[0]), int(shape[1])))


def loads(data: bytes, where: str = "pickle") -> Any:
    """Unpickle ``data`` allowing only model-file classes; return plain numpy/scipy values."""
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise ModelFileError(f"{where}: unsafe or corrupt pickle ({exc})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError,
            OverflowError, RecursionError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{where}: corrupt or truncated pickle ({type(exc).__name__}: {exc})") from None
    return _plain(obj, "")


def load(path: str, max_bytes: int = 1 << 30) -> Any:
    """Read and safely unpickle a model file (see :func:`loads`)."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ModelFileError(f"{path}: larger than {max_bytes >> 20} MiB, not a head model")
    return loads(data, where=str(path))
