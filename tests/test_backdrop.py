"""The plain backdrop keyed out of the person mask (lam_core.photo.backdrop)."""

import numpy as np

from lam_core.photo.backdrop import key_plain_backdrop


def _scene(rng, busy: bool):
    h = w = 128
    rgb = np.full((h, w, 3), 250, np.uint8)
    if busy:
        rgb = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    rgb[20:90, 40:88] = (90, 60, 40)                # the person, ending at row 90
    rgb[40:60, 56:72] = (250, 250, 250)             # a white shirt patch inside the person
    mask = np.zeros((h, w), np.float32)
    mask[20:, 40:88] = 1.0                          # the segmenter's mask runs on to the bottom edge
    return rgb, mask


def test_plain_backdrop_below_the_person_is_keyed_out():
    rgb, mask = _scene(np.random.default_rng(0), busy=False)
    out = key_plain_backdrop(rgb, mask)
    assert out[95:, 40:88].max() == 0.0             # the backdrop band below the person is gone
    assert out[20:90, 40:88].min() == 1.0           # the person stays, the enclosed white patch too


def test_busy_backdrop_leaves_the_mask_alone():
    rgb, mask = _scene(np.random.default_rng(0), busy=True)
    assert np.array_equal(key_plain_backdrop(rgb, mask), mask)
