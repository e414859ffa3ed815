"""What every tool says about itself: ``--version`` (one version, the installed package's), help for every
argument, help that matches what the tool does, and docs/cli.md that renders as written."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib

import pytest

import lam_core
from exporter.cli import render, verify

from .conftest import ROOT

# every console script the project installs (pyproject's [project.scripts]), by its module
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
TOOLS = {name: importlib.import_module(target.split(":")[0]) for name, target in SCRIPTS.items()}
MODULE_TOOLS = ("lam_core.open_head", "exporter.webcam_check", "exporter.webcam_clip")


def test_the_version_is_the_packages():
    from importlib.metadata import version

    assert lam_core.__version__ == version("lam-avatar") != "unknown"


@pytest.mark.parametrize("name", TOOLS)
def test_every_tool_prints_its_version(name, capsys):
    with pytest.raises(SystemExit) as e:
        TOOLS[name].build_parser().parse_args(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"{name} {lam_core.__version__}"


@pytest.mark.parametrize("module", MODULE_TOOLS)
def test_module_tools_print_their_version(module):
    r = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip().endswith(lam_core.__version__), r.stderr


@pytest.mark.parametrize("name", TOOLS)
def test_every_argument_has_help(name):
    p = TOOLS[name].build_parser()
    missing = [a.dest for a in p._actions if not a.help]
    assert missing == [], f"{name}: no help for {missing}"


def test_render_help_says_what_it_renders():
    text = render.build_parser().format_help()
    assert "later" not in text and ".lam" in text
    assert "lam-motion" in re.sub(r"\s+", " ", text)  # --motion takes what the viewer records
    assert "lam-motion" in re.sub(r"\s+", " ", verify.build_parser().format_help())


def test_cli_docs_close_every_code_block():
    text = (ROOT / "docs" / "cli.md").read_text()
    fences = [i for i, line in enumerate(text.splitlines()) if line.startswith("```")]
    assert len(fences) % 2 == 0, "an unclosed code block"
    # every tool's section starts outside a code block
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif line.startswith("## "):
            assert not inside, f"{line!r} is inside a code block"
    assert "until then" not in text and "--version" in text
