"""Importing and running MediaPipe's legacy solutions quietly.

mediapipe 0.10.21 ships its face-landmark, segmentation and pose models inside the wheel (offline). Its C++ core
logs to the process's stderr (glog/absl); tools keep their own output clean by silencing file descriptor 2
around MediaPipe calls unless ``LAM_VERBOSE_MEDIAPIPE`` is set.
"""

from __future__ import annotations

import contextlib
import os
import sys
from functools import lru_cache
from typing import Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    if os.environ.get("LAM_VERBOSE_MEDIAPIPE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@lru_cache(maxsize=1)
def solutions():
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import mediapipe as mp
    return mp.solutions


@lru_cache(maxsize=1)
def face_mesh():
    with quiet_stderr():
        return solutions().face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=4,
                                              min_detection_confidence=0.5)


@lru_cache(maxsize=1)
def selfie_segmentation():
    with quiet_stderr():
        return solutions().selfie_segmentation.SelfieSegmentation(model_selection=0)


@lru_cache(maxsize=1)
def face_detector():
    """The full-range face detector (faces from ~5% of the image up; model_selection=1)."""
    with quiet_stderr():
        return solutions().face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)


@lru_cache(maxsize=1)
def pose():
    """The legacy pose solution (BlazePose GHUM, pose_landmark_full.tflite in the wheel) for single photos."""
    with quiet_stderr():
        return solutions().pose.Pose(static_image_mode=True, model_complexity=1)
