"""Eyes stage: the model's frames -> the frames sent, with the operator's state.

Takes :class:`medtalk_core.streaming.StreamOutput` from the lips stage; emits one
:class:`bridge.frames.LiveFrame` per frame: procedural blinks and saccades added
(:class:`bridge.blinks.Eyes`, a blink requested on the control port or by ``b`` starts at the
next frame), values clipped to the controls' ranges, and the control state of the moment
(:meth:`bridge.state.LiveState.snapshot`: emotion, intensity scale, frozen, blinks, transcript).
"""

from __future__ import annotations

import math

from medtalk_core import rig
from medtalk_core.streaming import StreamOutput

from .blinks import Eyes
from .frames import LiveFrame
from .state import LiveState


class EyesStage:
    """Makes the :class:`LiveFrame` of the model's frames.

    Args:
        eyes: the procedural eyes.
        state: the control state.
        fps: rig frames per second.
    """

    def __init__(self, eyes: Eyes, state: LiveState, fps: int = rig.FPS):
        self.eyes, self.state, self.fps = eyes, state, fps
        self.t0 = math.nan
        """Unix time of audio time 0 (every frame's ``t0``), set when the clock starts."""
        self.intensity = 0.0
        """The applied intensity of the newest frame."""

    def frames(self, out: StreamOutput) -> list[LiveFrame]:
        """The frames ``out.first ..`` of ``out`` (frames must come in order)."""
        snap = self.state.snapshot()
        made = []
        for j, (values, intensity) in enumerate(zip(out.rig, out.intensity)):
            i = out.first + j
            if self.state.take_blink_request():
                self.eyes.blink_now(i)
            values = rig.clip_to_range(self.eyes.apply(values, i, snap["blinks"]))
            made.append(LiveFrame(i, i / self.fps, self.t0, values, snap["emotion"],
                                  float(intensity), snap))
        if made:
            self.intensity = made[-1].intensity
        return made
