import importlib.util
import os
import pickle

import numpy as np
import pytest

from lam_core import ModelFileError, load_flame
from lam_core.flame import FLAME_ENV, save_flame_npz
from lam_core.safe_pickle import loads

from .conftest import write_flame_pickle


def test_chumpy_is_not_installed():
    # the loader must work without chumpy; this environment proves it by not having it
    assert importlib.util.find_spec("chumpy") is None


def test_loads_official_pickle_layout(flame_pickle, flame_arrays):
    m = load_flame(flame_pickle)
    assert (m.n_vertices, len(m.faces), m.n_shape, m.n_expr) == (5023, 9976, 300, 100)
    assert m.parents == (-1, 0, 1, 1, 1)
    np.testing.assert_allclose(m.v_template, flame_arrays["v_template"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(m.shapedirs, flame_arrays["shapedirs"][:, :, :300], atol=1e-7)
    np.testing.assert_allclose(m.exprdirs, flame_arrays["shapedirs"][:, :, 300:], atol=1e-7)
    np.testing.assert_allclose(m.j_regressor, flame_arrays["J_regressor"], atol=1e-7)
    assert m.expr_names[0] == "expr_00" and m.expr_names[-1] == "expr_99"


def test_loads_python3_pickles(flame_arrays, tmp_path):
    p = tmp_path / "flame_py3.pkl"
    write_flame_pickle(flame_arrays, p, protocol=4)
    np.testing.assert_allclose(load_flame(p).exprdirs, flame_arrays["shapedirs"][:, :, 300:], atol=1e-7)


def test_npz_conversion_round_trip(flame_pickle, tmp_path):
    out = tmp_path / "flame.npz"
    save_flame_npz(flame_pickle, out)
    a, b = load_flame(flame_pickle), load_flame(out)
    for key in ("v_template", "faces", "j_regressor", "lbs_weights", "shapedirs", "exprdirs", "posedirs"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not list(tmp_path.glob(".*tmp*"))


def test_path_from_environment(flame_pickle, monkeypatch):
    monkeypatch.setenv(FLAME_ENV, str(flame_pickle))
    assert load_flame().n_vertices == 5023
    monkeypatch.delenv(FLAME_ENV)
    with pytest.raises(ModelFileError, match="LAM_FLAME_MODEL"):
        load_flame()


def test_missing_file():
    with pytest.raises(ModelFileError, match="not found"):
        load_flame("/nonexistent/generic_model.pkl")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/lam_pwned",))


def test_refuses_code_in_pickle(tmp_path):
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"v_template": _Evil()}, protocol=2))
    with pytest.raises(ModelFileError) as e:
        load_flame(p)
    msg = str(e.value)
    assert "refusing to load" in msg and "system" in msg and "\n" not in msg
    assert not os.path.exists("/tmp/lam_pwned")


@pytest.mark.parametrize("payload", [
    pickle.dumps(__import__("collections").OrderedDict(a=1), protocol=2),  # a class outside the allow-list
    b"\x80\x02cnumpy\nndarray\nK\x00\x85K\x01\x87R.",  # calling numpy.ndarray directly
    b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.",
])
def test_refuses_disallowed_globals(payload):
    with pytest.raises(ModelFileError):
        loads(payload)


def test_truncated_pickle(flame_pickle, tmp_path):
    data = flame_pickle.read_bytes()
    for cut in (1, 100, len(data) // 3, len(data) - 1):
        p = tmp_path / f"cut{cut}.pkl"
        p.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as e:
            load_flame(p)
        assert "\n" not in str(e.value)


@pytest.mark.parametrize("key,bad,expect", [
    ("weights", lambda a: a[:, :4], "weights"),
    ("posedirs", lambda a: a[:, :, :30], "posedirs"),
    ("shapedirs", lambda a: a[:, :, :350], "shapedirs"),
    ("v_template", lambda a: a[:, :2], "v_template"),
    ("J_regressor", lambda a: a[:, :100], "j_regressor"),
    ("f", lambda a: a + 10_000, "faces"),
])
def test_wrong_shapes_are_named(flame_arrays, tmp_path, key, bad, expect):
    arrays = dict(flame_arrays)
    arrays[key] = bad(arrays[key])
    p = tmp_path / "bad.pkl"
    write_flame_pickle(arrays, p)
    with pytest.raises(ModelFileError, match=expect):
        load_flame(p)


def test_missing_key(flame_arrays, tmp_path):
    arrays = {k: v for k, v in flame_arrays.items() if k != "weights"}
    p = tmp_path / "nokey.npz"
    np.savez(p, **arrays)
    with pytest.raises(ModelFileError, match="missing weights"):
        load_flame(p)


def test_nan_is_refused(flame_arrays, tmp_path):
    arrays = dict(flame_arrays)
    arrays["v_template"] = arrays["v_template"].copy()
    arrays["v_template"][5, 1] = np.nan
    p = tmp_path / "nan.npz"
    np.savez(p, **arrays)
    with pytest.raises(ModelFileError, match="v_template contains NaN"):
        load_flame(p)
