"""User-facing errors.

Anything a user can cause (a wrong path, a corrupt file, a photo without a face) raises a subclass of
:class:`LamError` whose message is one line that says what is wrong and where. Command-line entry points
print that line and exit non-zero; they never show a traceback for these.
"""


class LamError(Exception):
    """An error caused by input the user gave; its message is meant to be shown as is."""

    exit_code = 2


class ModelFileError(LamError):
    """A head-model file (FLAME pickle/npz, embedding) is missing, unsafe, corrupt or of the wrong layout."""


class MotionFileError(LamError):
    """A motion file is missing, corrupt or of the wrong layout."""
