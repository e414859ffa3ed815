"""From a photo to what the head fit needs: the image, MediaPipe's 478 face landmarks, a foreground mask."""

from .image import PhotoError, load_photo
from .landmarks import FaceLandmarks, detect_face
from .matting import foreground_mask

__all__ = ["FaceLandmarks", "PhotoError", "detect_face", "foreground_mask", "load_photo"]
