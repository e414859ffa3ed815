"""lam_core: head models, rigs, canonical Gaussians and their animation (the LAM avatar model)."""

from importlib import metadata as _metadata

try:  # the one version of the project and every tool: pyproject.toml's, as installed
    __version__ = _metadata.version("lam-avatar")
except _metadata.PackageNotFoundError:  # an uninstalled source tree
    __version__ = "unknown"

from .errors import LamError, ModelFileError, MotionFileError
from .flame import load_flame, resolve_flame_path
from .gaussians import GaussianAvatar, Gaussians, PosedGaussians, rgb_to_sh0, sh0_to_rgb
from .head_model import JOINT_NAMES, HeadModel, LandmarkEmbedding
from .motion import Motion, load_motion, save_motion, save_motion_npz
from .params import FrameParams
from .rig import Rig, RigPoints
from .subdivision import Subdivision, subdivide

__all__ = [
    "__version__", "JOINT_NAMES", "FrameParams", "GaussianAvatar", "Gaussians", "HeadModel", "LamError", "LandmarkEmbedding",
    "ModelFileError", "Motion", "MotionFileError", "PosedGaussians", "Rig", "RigPoints", "Subdivision", "load_flame",
    "load_motion", "resolve_flame_path", "rgb_to_sh0", "save_motion", "save_motion_npz", "sh0_to_rgb", "subdivide",
]
