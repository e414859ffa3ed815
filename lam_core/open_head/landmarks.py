"""Named MediaPipe face-mesh landmark groups the open head is built around (facts about MediaPipe's
478-landmark topology; ``tests/test_open_head_extraction.py`` checks them against mediapipe's own
connection lists). Chains run from the outer to the inner corner of an eye and from the right to the left
corner of the mouth (the subject's right is -x)."""

from __future__ import annotations

# eye contours (lid margins): corner .. corner
EYE_R_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
EYE_R_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
EYE_L_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
EYE_L_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)

# lips, right corner .. left corner
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)

# eyebrows (lower edge, upper edge), outer .. inner
BROW_R = ((46, 53, 52, 65, 55), (70, 63, 105, 66, 107))
BROW_L = ((276, 283, 282, 295, 285), (300, 293, 334, 296, 336))

# iris (refine_landmarks=True): centre, then the points towards +x, +y, -x, -y of the head frame
IRIS_R = (468, 469, 470, 471, 472)  # the subject's right eye (around 33..133), driven by joint eye_r
IRIS_L = (473, 474, 475, 476, 477)  # the subject's left eye (around 263..362), driven by joint eye_l
IRIS_DIRECTIONS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))

NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10
SUBNASALE = 2
MOUTH_CORNER_R, MOUTH_CORNER_L = 61, 291
N_FACE = 468
N_LANDMARKS = 478


def eye_loop(upper: tuple[int, ...], lower: tuple[int, ...]) -> tuple[int, ...]:
    """The closed contour: the upper chain, then the lower chain back (without repeating the corners)."""
    return tuple(upper) + tuple(reversed(lower[1:-1]))
