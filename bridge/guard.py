"""The finite guard of the wire path: no non-finite value reaches a sink or a recording.

Takes :class:`bridge.protocol.Frame` (or :class:`bridge.frames.LiveFrame`) and emits the same
frame with finite values: a frame with any non-finite rig value (a model fault) is replaced by the
last finite frame's values (the neutral pose before any), a non-finite intensity by the last
finite intensity (0 before any). Each kind is logged once and counted.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from medtalk_core import rig

from .protocol import Frame
from .sinks import ProblemLog

VALUES_FAULT = "non-finite rig values (frame replaced by the last finite one)"
INTENSITY_FAULT = "non-finite intensity (replaced by the last finite one)"


class FiniteGuard:
    """Replaces non-finite frames by the last finite one; counts under ``problems``."""

    def __init__(self, name: str = "sender"):
        self._log = ProblemLog(name, "the stream goes on")
        self.problems = self._log.counts
        self._values = np.asarray(rig.NEUTRAL, np.float32)
        self._intensity = 0.0

    def check(self, frame: Frame) -> Frame:
        """``frame`` if it is finite, else a copy with the last finite values / intensity."""
        values_ok = bool(np.isfinite(frame.values).all())
        intensity_ok = math.isfinite(frame.intensity)
        if values_ok:
            self._values = np.asarray(frame.values, np.float32)
        else:
            self._log.note(VALUES_FAULT, f"frame {frame.index}")
        if intensity_ok:
            self._intensity = float(frame.intensity)
        else:
            self._log.note(INTENSITY_FAULT, f"frame {frame.index}")
        if values_ok and intensity_ok:
            return frame
        return replace(frame, values=self._values.copy(), intensity=self._intensity)
