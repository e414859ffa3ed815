"""User npz files: declared sizes are checked against the bytes before numpy allocates anything."""

import io
import zipfile

import numpy as np
import pytest

from lam_core import MotionFileError, load_motion
from lam_core.errors import LamError
from lam_core.npz import load_npz


def npy_bytes(shape, dtype="<f4", data=b""):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def test_plain_npz_round_trip(tmp_path):
    p = tmp_path / "a.npz"
    np.savez_compressed(p, a=np.arange(6.0).reshape(2, 3), b=np.array(["x", "y"]))
    d = load_npz(p)
    np.testing.assert_array_equal(d["a"], np.arange(6.0).reshape(2, 3))
    assert list(d["b"]) == ["x", "y"]


def test_declared_shape_beyond_the_data_is_refused(tmp_path):
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("expr.npy", npy_bytes((10 ** 9, 100), data=b"\0" * 64))
    with pytest.raises(LamError, match="declares 400,000,000,000 bytes of data but holds"):
        load_npz(p)
    with pytest.raises(MotionFileError, match="bomb.npz"):
        load_motion(p)


def test_uncompressed_total_is_capped(tmp_path):
    p = tmp_path / "big.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.npy", npy_bytes((1 << 20,), data=b"\0" * (4 << 20)))
    with pytest.raises(LamError, match="more than the 1,000,000 allowed"):
        load_npz(p, max_bytes=1_000_000)


def test_objects_and_garbage(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(LamError, match="pickles are not allowed"):
        load_npz(p)
    q = tmp_path / "junk.npz"
    q.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(LamError, match="not a readable npz"):
        load_npz(q)
    r = tmp_path / "notnpy.npz"
    with zipfile.ZipFile(r, "w") as zf:
        zf.writestr("a.npy", b"hello world, not an array")
    with pytest.raises(LamError, match="notnpy.npz"):
        load_npz(r)
