"""The open head: the project's own embedded default head model, no FLAME and no download needed.

Built from MediaPipe's canonical face mesh (Apache-2.0, read from the installed npm package
``@mediapipe/face_mesh``) closed into a whole head with a procedural cranium and neck, eye sockets and
eyeballs, a mouth cavity and teeth; rigged with FLAME's 5 joints; its expression space is the face landmarks
themselves plus ARKit-named patterns. See :mod:`.shape` for the shape-vector layout and
:mod:`.expressions` for the channels. ``python -m lam_core.open_head --info --sheet head.png`` describes it.
"""

from .assets import OpenHeadAssetError, load_canonical_face_mesh
from .expressions import landmark_channel_names
from .head_mesh import REGIONS
from .model import NAME, OpenHead, load_open_head, load_open_head_parts
from .shape import CRANIUM_CONTROLS

__all__ = ["CRANIUM_CONTROLS", "NAME", "OpenHead", "OpenHeadAssetError", "REGIONS", "landmark_channel_names",
           "load_canonical_face_mesh", "load_open_head", "load_open_head_parts"]
