"""Procedural blinks and small eye saccades added to the model's frames.

The model does not predict them (the corpus's blinks and gaze are random, so a model averages
them away); the MEDTalk authors add them the same way. A blink closes the lids over
``CTRL_L/R_eye_blink-translateY`` with a 150 ms profile (fast close, slower open) every
``blink_interval_s``; a saccade moves the gaze (``CTRL_*_eye-translateX/Y``) to a new random target
in 3 frames every ``saccade_interval_s``. Both are seeded, so a stream is reproducible, and
switchable off (:class:`EyeSettings`; ``/medtalk/blink 0``). The eyes stage
(:mod:`bridge.eyes`) applies them to the model's frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medtalk_core import rig

BLINK = np.array([0.3, 0.7, 0.95, 1.0, 0.85, 0.6, 0.35, 0.15, 0.05], np.float32)
"""Lid closure of a blink, one value per 60 fps frame (150 ms)."""
SACCADE_FRAMES = 3
"""Frames a saccade takes."""

_BLINK_COLS = np.array([rig.INDEX[f"CTRL_{s}_eye_blink-translateY"] for s in "LR"])
_GAZE_X = np.array([rig.INDEX[n] for n in
                    ("CTRL_C_eye-translateX", "CTRL_L_eye-translateX", "CTRL_R_eye-translateX")])
_GAZE_Y = np.array([rig.INDEX[n] for n in
                    ("CTRL_C_eye-translateY", "CTRL_L_eye-translateY", "CTRL_R_eye-translateY")])


@dataclass(frozen=True)
class EyeSettings:
    """Procedural eyes: ``blinks`` and ``saccades`` on or off, s between blinks and between
    saccades (``(low, high)``, uniform), ``saccade_amplitude`` the std of the gaze target on
    ``CTRL_*_eye-translateX/Y``, ``seed`` of the random draws."""

    blinks: bool = True
    blink_interval_s: tuple[float, float] = (2.5, 5.0)
    saccades: bool = True
    saccade_interval_s: tuple[float, float] = (0.6, 2.0)
    saccade_amplitude: float = 0.07
    seed: int = 0


class Eyes:
    """Blinks and saccades, frame by frame.

    Args:
        settings: the :class:`EyeSettings`.
        fps: rig frames per second.
    """

    def __init__(self, settings: EyeSettings = EyeSettings(), fps: int = rig.FPS):
        self.fps = fps
        self.blinks, self.saccades = bool(settings.blinks), bool(settings.saccades)
        self.blink_range = tuple(settings.blink_interval_s)
        self.saccade_range = tuple(settings.saccade_interval_s)
        self.amplitude = float(settings.saccade_amplitude)
        self.rng = np.random.default_rng(settings.seed)
        self._next_blink = self._after(self.blink_range, 0)
        self._blink_start = -len(BLINK)
        self._next_saccade = self._after(self.saccade_range, 0)
        self._gaze_from = self._gaze_to = np.zeros(2, np.float32)
        self._saccade_start = -SACCADE_FRAMES

    def _after(self, span, frame: int) -> int:
        return frame + int(self.rng.uniform(*span) * self.fps)

    def blink_now(self, frame: int) -> None:
        """Start a blink at ``frame`` (unless one is under way)."""
        if frame - self._blink_start >= len(BLINK):
            self._blink_start = frame
            self._next_blink = self._after(self.blink_range, frame)

    def apply(self, values: np.ndarray, frame: int, enabled: bool = True) -> np.ndarray:
        """Add the eyes to rig frame ``frame``: float32 ``(174,)`` in, changed copy out.
        Frames must come in order; ``enabled=False`` (operator) leaves the frame as it is."""
        out = values.copy()
        if not enabled:
            return out
        if self.blinks:
            if frame >= self._next_blink:
                self.blink_now(frame)
            k = frame - self._blink_start
            if 0 <= k < len(BLINK):
                lid = out[_BLINK_COLS]
                out[_BLINK_COLS] = lid + (1.0 - lid) * BLINK[k]
        if self.saccades:
            if frame >= self._next_saccade:
                self._gaze_from = self._gaze(frame)
                target = self.rng.normal(0.0, self.amplitude, 2)
                self._gaze_to = np.clip(target, -3 * self.amplitude, 3 * self.amplitude)
                self._saccade_start = frame
                self._next_saccade = self._after(self.saccade_range, frame)
            x, y = self._gaze(frame)
            out[_GAZE_X] += x
            out[_GAZE_Y] += y
        return out

    def _gaze(self, frame: int) -> np.ndarray:
        a = min(1.0, (frame - self._saccade_start + 1) / SACCADE_FRAMES)
        return ((1.0 - a) * self._gaze_from + a * self._gaze_to).astype(np.float32)
