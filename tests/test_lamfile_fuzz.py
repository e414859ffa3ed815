"""Fuzzing both .lam readers on one corpus (tests/lam_fuzz_cases.py): every damaged or crafted file ends in a
clean format error (Python: LamFileError; JavaScript: a thrown LamFormatError), never a crash or a hang, and
no decode allocates more than a small multiple of the file's size."""

from __future__ import annotations

import json
import shutil
import subprocess
import tracemalloc

import pytest

from exporter.lamfile import LamFileError, decode_lam, encode_lam
from lam_core.errors import LamError
from lam_core.synthetic import synthetic_avatar
from tests.conftest import ROOT
from tests.lam_fuzz_cases import corpus

NODE = shutil.which("node")
DRIVER = ROOT / "tests" / "js" / "lam_reader_driver.mjs"
# a failed decode may allocate at most this many times the file's size, plus a fixed allowance
ALLOC_FACTOR = 8
ALLOC_SLACK = 2 << 20


@pytest.fixture(scope="module")
def cases():
    return corpus(encode_lam(synthetic_avatar(1)))


def test_corpus_is_broad(cases):
    kinds = {"truncated", "flipped", "random bytes", "header", "table", "chunk", "value", "version", "magic"}
    for kind in kinds:
        assert sum(kind in c.name for c in cases) >= 5, kind
    assert len(cases) >= 3000
    print(f"\n.lam fuzz corpus: {len(cases)} cases ({sum(c.expect == 'error' for c in cases)} must fail)")


def test_python_reader(cases):
    failures = []
    worst = 0.0
    tracemalloc.start()
    try:
        for c in cases:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            try:
                decode_lam(c.data)
                outcome, msg = "ok", ""
            except LamFileError as exc:
                outcome, msg = "error", str(exc)
                assert isinstance(exc, LamError) and "\n" not in msg and msg
            peak = tracemalloc.get_traced_memory()[1] - base
            if outcome == "error" and len(c.data) >= 4096:
                worst = max(worst, peak / len(c.data))
                if peak > ALLOC_FACTOR * len(c.data) + ALLOC_SLACK:
                    failures.append(f"{c.name}: allocated {peak} bytes for a {len(c.data)}-byte file")
            if outcome != c.expect:
                failures.append(f"{c.name}: expected {c.expect}, got {outcome} {msg}")
    finally:
        tracemalloc.stop()
    assert not failures, "\n".join(failures[:30])
    print(f"\nPython reader: {len(cases)} cases, worst allocation of a refused file "
          f"(of 4 KiB or more) {worst:.2f}x its size")


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_js_reader(cases, tmp_path):
    listing = []
    for i, c in enumerate(cases):
        p = tmp_path / f"{i}.lam"
        p.write_bytes(c.data)
        listing.append({"name": c.name, "path": str(p)})
    (tmp_path / "cases.json").write_text(json.dumps(listing))
    r = subprocess.run([NODE, "--expose-gc", str(DRIVER), "fuzz", str(tmp_path / "cases.json")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads(r.stdout)
    assert len(results) == len(cases)
    failures = []
    for c, res in zip(cases, results):
        if res["outcome"] != c.expect:
            failures.append(f"{c.name}: expected {c.expect}, got {res['outcome']} {res['message']}")
        elif c.expect == "error" and res["memDelta"] > ALLOC_FACTOR * len(c.data) + ALLOC_SLACK:
            failures.append(f"{c.name}: {res['memDelta']} bytes for a {len(c.data)}-byte file")
        if res["outcome"] == "error" and ("\n" in res["message"] or not res["message"].startswith("LamFormatError: ")):
            failures.append(f"{c.name}: message {res['message']!r}")
    assert not failures, "\n".join(failures[:30])
    worst = max(res["memDelta"] / res["size"] for res in results if res["outcome"] == "error" and res["size"] >= 4096)
    print(f"\nJavaScript reader: {len(cases)} cases, worst memory growth of a refused file (of 4 KiB or more) "
          f"{worst:.2f}x its size")


def test_valid_file_allocation_is_bounded():
    """Decoding a valid FLAME-layout file: the JS-equivalent decode stays near the file size; the Python reader
    additionally builds lam_core.Rig's dense bases (V x 3 x (K + 36) floats)."""
    data = encode_lam(synthetic_avatar(1))
    tracemalloc.start()
    try:
        f = decode_lam(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rig = f.avatar.rig
    dense = (rig.exprdirs.nbytes + rig.posedirs.nbytes)
    assert peak <= 3 * dense + ALLOC_FACTOR * len(data)
    print(f"\nPython decode of a valid {len(data)}-byte file: peak {peak / len(data):.1f}x its size "
          f"({dense / len(data):.1f}x of it the dense bases lam_core.Rig holds)")
