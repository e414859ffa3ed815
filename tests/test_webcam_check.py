"""The webcam check's blink count (exporter.webcam_check.analyse) on the clip's truth, sampled as a slow tracker
would sample it: CI's llvmpipe page tracks ~5 frames/s, so a blink must stay closed long enough for such a
tracker to see it, or the browser test's "every blink detected, at least two" depends on the tracker's phase."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.webcam_check import analyse
from exporter.webcam_clip import BLINK_TIMES, truth_motion

SECONDS = 24.0   # tests/test_webcam_browser.py's TRACK_SECONDS


def sampled(rate: float, phase: float, gain: float = 0.65):
    """Log entries of a tracker that sees the looping clip every 1/rate s from ``phase``, solving the blink at
    ``gain`` of the truth (what the page's solver gives on llvmpipe: 0.6-0.7 at full closure)."""
    m = truth_motion(24.0)
    t = phase + np.arange(int(SECONDS * rate)) / rate
    tags = np.floor(t * m.fps).astype(int) % m.n_frames
    return m, [{"tag": int(k), "t": 1000.0 * float(s), "face": True, "calibrated": True, "trackMs": 0.0,
                "solveMs": 0.0, "pose": m.pose[k].reshape(-1).tolist(), "expr": [gain * float(m.channels[k, 0])] * 2}
               for k, s in zip(tags, t)]


@pytest.mark.parametrize("rate", [4.0, 5.1])
def test_a_slow_tracker_sees_the_blinks_closed_at_any_phase(rate):
    for phase in np.linspace(0.0, 1.0 / rate, 16, endpoint=False):
        m, entries = sampled(rate, phase)
        fig = analyse(entries, m, SECONDS)
        passes = int(SECONDS // m.duration)
        # at least every other pass sees each blink closed (>= 0.8), whatever the phase
        assert fig.blinks_expected >= len(BLINK_TIMES) * passes // 2, (rate, phase, fig.blinks_expected)
        assert fig.blinks_detected == fig.blinks_expected and fig.blink_false_positives == 0


def test_a_missed_blink_and_an_invented_one_are_counted():
    m, entries = sampled(5.1, 0.0, gain=0.0)
    fig = analyse(entries, m, SECONDS)
    assert fig.blinks_expected >= 4 and fig.blinks_detected == 0
    for e in entries:
        if e["tag"] < 24:            # the neutral second: far from any blink
            e["expr"] = [0.9, 0.9]
    fig = analyse(entries, m, SECONDS)
    assert fig.blink_false_positives > 0
