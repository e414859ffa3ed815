"""The one error every part of the official-zip package raises for bad input."""

from lam_core.errors import LamError


class OfficialZipError(LamError):
    """An official LAM web avatar (OpenAvatarChat zip) or one of its members is missing, hostile or corrupt."""
