"""lam_core: head models, rigs, canonical Gaussians and their animation (the LAM avatar model).

The names below are imported on first use (PEP 562), so ``import lam_core.errors`` or ``lam_core.photo``
does not pull in torch: ``lam-export`` reads the photo beside torch's import (exporter/photo_read.py)."""

from importlib import import_module as _import_module
from importlib import metadata as _metadata

try:  # the one version of the project and every tool: pyproject.toml's, as installed
    __version__ = _metadata.version("lam-avatar")
except _metadata.PackageNotFoundError:  # an uninstalled source tree
    __version__ = "unknown"

_WHERE = {
    "LamError": "errors", "ModelFileError": "errors", "MotionFileError": "errors",
    "load_flame": "flame", "resolve_flame_path": "flame",
    "GaussianAvatar": "gaussians", "Gaussians": "gaussians", "PosedGaussians": "gaussians",
    "rgb_to_sh0": "gaussians", "sh0_to_rgb": "gaussians",
    "JOINT_NAMES": "head_model", "HeadModel": "head_model", "LandmarkEmbedding": "head_model",
    "Motion": "motion", "load_motion": "motion", "save_motion": "motion", "save_motion_npz": "motion",
    "FrameParams": "params", "Rig": "rig", "RigPoints": "rig", "Subdivision": "subdivision", "subdivide": "subdivision",
}

__all__ = ["__version__", *sorted(_WHERE)]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
