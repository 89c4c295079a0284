"""The control state of a live stream: what the operator asked for, frame by frame.

Changed by the control port (:mod:`bridge.controls`), the hotkeys (:mod:`bridge.hotkeys`) and
the transcript stage (its tail); read by the lips stage (:meth:`LiveState.frame_control`, the
:class:`medtalk_core.streaming.FrameControl` of every frame fused), the eyes stage
(:meth:`LiveState.snapshot`, sent with every frame) and the clock (``changed``: send
``/medtalk/state`` at once; ``quit``).

Hotkeys: ``1``-``7`` pick an emotion in :data:`medtalk_core.rig.EMOTIONS` order, ``0`` returns to
the emotion given at start, ``+`` and ``-`` scale the intensity by ``intensity_step`` (scale in
[0, 2]), space freezes or releases the emotion intensity, ``b`` blinks, ``q`` quits.

Changes blend over ``blend_frames`` (emotion: FIM's label-space embedding moves linearly from
where it is to the new label's, description's or image's; scale: linearly), counted in rig frames
so that a frame's state is exact.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import torch

from medtalk_core import rig
from medtalk_core.infer import MAX_INTENSITY as MAX_SCALE
from medtalk_core.steering import EmotionSpec
from medtalk_core.streaming import FrameControl


@dataclass
class _Blend:
    """A value moving linearly from ``start`` to ``end`` over ``frames`` from frame ``first``
    (None: from the next frame asked for)."""

    start: np.ndarray
    end: np.ndarray
    frames: int
    first: int | None = None

    def at(self, i: int) -> np.ndarray:
        if self.first is None:
            self.first = i
        a = 1.0 if self.frames <= 0 else min(1.0, max(0.0, (i - self.first) / self.frames))
        return (1.0 - a) * self.start + a * self.end


class LiveState:
    """The operator's controls and the stream's state; thread-safe.

    Args:
        labels: float ``(7, H)`` FIM's label embeddings (``model.fim.label_embedding.weight``).
        emotion: the start label, or an :class:`EmotionSpec` (label, description or image).
        blend_frames: rig frames over which a change blends.
        intensity_step: scale step of ``+`` / ``-``.
        steer: ``steer(spec) -> float (H,)``, the label-space embedding of a description or an
            image (:meth:`medtalk_core.steering.Steering.embedding`); None: labels only.
        scale: the intensity scale at start, in [0, 2].
    Raises:
        ValueError: unknown start label, a scale that is not a number in [0, 2]; MedtalkError: a
        start description or image that cannot be served (see ``steer``).
    """

    def __init__(self, labels: np.ndarray, emotion: str | EmotionSpec, blend_frames: int,
                 intensity_step: float = 0.1, steer=None, scale: float = 1.0):
        self.labels = np.asarray(labels, np.float32)
        self.steer = steer
        self.start = emotion if isinstance(emotion, EmotionSpec) else EmotionSpec("label", emotion)
        start = self._vector(self.start)
        self.emotion = self.start.describe()
        self.blend_frames, self.step = blend_frames, intensity_step
        self._lock = threading.Lock()
        self._label = _Blend(start, start, 0)
        if not (math.isfinite(scale) and 0.0 <= scale <= MAX_SCALE):
            raise ValueError(f"intensity scale {scale} is not a number in [0, {MAX_SCALE:g}]")
        self._scale = _Blend(np.float64(scale), np.float64(scale), 0)
        self.scale_target = scale
        self.frozen = False
        self.blinks = True
        self.blink_requests = 0
        self.quit = threading.Event()
        self.transcript = ""
        self.changed = threading.Event()
        """Set on every change (the state sender sends /medtalk/state at once)."""
        self._last_frame = 0

    def _vector(self, spec: EmotionSpec) -> np.ndarray:
        if spec.kind == "label":
            return self.labels[rig.emotion_id(spec.value)]
        if self.steer is None:
            raise ValueError(f"{spec.kind} guidance is not available in this stream")
        return np.asarray(self.steer(spec), np.float32)

    # -- changes (hotkeys, OSC, API)
    def set_emotion(self, label: str) -> None:
        """Blend to ``label``. Raises ValueError for an unknown label."""
        self.set_spec(EmotionSpec("label", label))

    def set_spec(self, spec: EmotionSpec) -> None:
        """Blend to a label, description or image. Raises ValueError (unknown label, no
        guidance) or MedtalkError (a description or image the model cannot serve)."""
        target = self._vector(spec)
        with self._lock:
            now = self._label.at(self._last_frame)
            self._label = _Blend(now, target, self.blend_frames)
            self.emotion = spec.describe()
        self.changed.set()

    def set_scale(self, scale: float) -> None:
        """Blend the intensity scale to ``scale``, clipped to [0, 2]. Raises ValueError for a
        scale that is not a finite number."""
        if not math.isfinite(scale):
            raise ValueError(f"intensity scale {scale} is not a finite number")
        scale = float(min(MAX_SCALE, max(0.0, scale)))
        with self._lock:
            now = self._scale.at(self._last_frame)
            self._scale = _Blend(now, np.float64(scale), self.blend_frames)
            self.scale_target = scale
        self.changed.set()

    def set_transcript(self, tail: str) -> None:
        """The transcript's tail (sent with the state)."""
        self.transcript = tail
        self.changed.set()

    def toggle_freeze(self) -> None:
        with self._lock:
            self.frozen = not self.frozen
        self.changed.set()

    def set_blinks(self, mode: int) -> None:
        """0: procedural eyes off, 1: on, 2: blink now. Raises ValueError for another value."""
        if mode not in (0, 1, 2):
            raise ValueError(f"blink mode {mode} is not 0, 1 or 2")
        with self._lock:
            if mode == 2:
                self.blink_requests += 1
            else:
                self.blinks = bool(mode)
        self.changed.set()

    def key(self, ch: str) -> None:
        """Apply one hotkey (see the module docstring); other keys are ignored."""
        if ch in "1234567" and ch:
            self.set_emotion(rig.EMOTIONS[int(ch) - 1])
        elif ch == "0":
            self.set_spec(self.start)
        elif ch in ("+", "="):
            self.set_scale(self.scale_target + self.step)
        elif ch in ("-", "_"):
            self.set_scale(self.scale_target - self.step)
        elif ch == " ":
            self.toggle_freeze()
        elif ch == "b":
            self.set_blinks(2)
        elif ch in ("q", "Q"):
            self.quit.set()

    # -- per frame (the lips worker)
    def frame_control(self, i: int) -> FrameControl:
        """The control of rig frame ``i`` (frames are asked for in order)."""
        with self._lock:
            self._last_frame = i
            label = torch.from_numpy(self._label.at(i).astype(np.float32))
            return FrameControl(label, float(self._scale.at(i)), self.frozen)

    def take_blink_request(self) -> bool:
        with self._lock:
            if self.blink_requests:
                self.blink_requests -= 1
                return True
            return False

    def snapshot(self) -> dict:
        """The state sent with frames: emotion, intensity_scale, frozen, blinks, transcript."""
        with self._lock:
            return {"emotion": self.emotion,
                    "intensity_scale": round(float(self._scale.at(self._last_frame)), 4),
                    "frozen": self.frozen, "blinks": self.blinks, "transcript": self.transcript}

