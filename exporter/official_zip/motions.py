"""Motions inside an official LAM zip (``animation.glb`` clips, ``bsData.json`` curves) as project motions."""

from __future__ import annotations

from lam_core.motion import Motion

from .skin import Skin


def zip_motions(members: dict[str, bytes], skin: Skin, where: str) -> dict[str, Motion]:
    return {}
