"""``python -m lam_core.open_head --info --sheet PNG``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lam_core.open_head.__main__ import main

from .open_head_support import built_open_head, open_head_cache_dir


def test_info_prints_counts_and_writes_a_sheet(tmp_path, capsys):
    head = built_open_head()
    out = tmp_path / "sheet.png"
    assert main(["--info", "--sheet", str(out), "--size", "96", "--cache-dir", str(open_head_cache_dir())]) == 0
    text = capsys.readouterr().out
    m = head.model
    assert f"{m.n_vertices} vertices, {len(m.faces)} triangles" in text
    assert "joints: 5 (global, neck, jaw, eye_l, eye_r)" in text
    assert f"expression channels: {m.n_expr}" in text and "skin openings: 1" in text
    assert "subdivided points:" in text
    im = np.asarray(Image.open(out).convert("RGB"))
    assert im.shape == (96, 5 * 96, 3)
    for k in range(5):  # every view shows something head-coloured on the white background
        tile = im[:, k * 96:(k + 1) * 96]
        assert ((tile < 250).any(2)).mean() > 0.15, k
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, nothing left beside it


def test_sheet_is_deterministic(tmp_path):
    built_open_head()
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for p in (a, b):
        main(["--sheet", str(p), "--size", "64", "--cache-dir", str(open_head_cache_dir())])
    assert a.read_bytes() == b.read_bytes()


def test_nothing_to_do_is_a_usage_error():
    with pytest.raises(SystemExit):
        main([])
