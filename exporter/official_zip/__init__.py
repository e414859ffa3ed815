"""The official LAM web avatar (the OpenAvatarChat zip: ``skin.glb``, ``offset.ply``, ``animation.glb``,
``vertex_order.json``), read and written in pure Python: no FBX SDK, no Blender.

    from exporter.official_zip import read_official_zip
    av = read_official_zip("p2-1.zip")   # OfficialAvatar: skin, Gaussians at rest, ARKit channels, motions
    avatar = av.to_avatar()              # lam_core.GaussianAvatar (what exporter.lamfile.write_lam takes)
"""

from .errors import OfficialZipError
from .reader import OfficialAvatar, read_official_zip

__all__ = ["OfficialAvatar", "OfficialZipError", "read_official_zip"]
