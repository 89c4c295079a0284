"""Lips stage: 16 kHz audio -> the model's rig frames, as the audio arrives.

Takes the 16 kHz ring of :class:`bridge.ingest.Ingest` (by absolute sample index) and the
:class:`bridge.frames.WordBatch` the transcript stage commits (:meth:`Lips.offer`, from any
thread; never waited for); emits :class:`medtalk_core.streaming.StreamOutput` (frames ``first ..``,
rig float32 ``(n, 174)`` not clipped, applied intensity ``(n,)``). Whisper-encoder windows
(:class:`~medtalk_core.streaming.FeatureStream`) feed the incremental model
(:class:`~medtalk_core.streaming.StreamingModel`: ACM, FIM with the committed words, D), which
asks ``control(i)`` for the emotion, scale and freeze of every frame it fuses.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np

from medtalk_core.streaming import FeatureStream, FrameControl, StreamingModel, StreamOutput

from .frames import WordBatch
from .ingest import Ring


class Lips:
    """The model on live audio.

    Args:
        model: a MEDTalk stream model (eval mode).
        encoder: the :class:`medtalk_core.features.WhisperEncoder` with the live geometry.
        control: ``control(frame) -> FrameControl`` (:meth:`bridge.state.LiveState.frame_control`).
        fps: rig frames per second.
        word_fade_s, word_horizon_s: word visibility (:func:`medtalk_core.streaming.word_visibility`).
        ablate: the FIM parts the model was trained without (checkpoint metadata ``ablate``).
    """

    def __init__(self, model, encoder, control: Callable[[int], FrameControl], fps: int,
                 word_fade_s: float, word_horizon_s: float, ablate: dict | None = None):
        self.model, self.encoder, self.ablate = model, encoder, ablate
        self.features = FeatureStream(encoder, fps)
        self.runner = StreamingModel(model, control, word_fade_s, word_horizon_s, ablate)
        self.busy_s = 0.0
        """s (wall) spent in :meth:`step`."""
        self._words: deque[WordBatch] = deque()

    @property
    def lag(self) -> int:
        """Rig frames by which the model's output lags its input (its lookahead)."""
        return self.runner.lag

    @property
    def frames_made(self) -> int:
        """Rig frames output so far (after the final step: the stream's frame count)."""
        return self.runner.frames_out

    def warm_up(self, label) -> None:
        """Run the encoder and a spare copy of the model once on silence (first runs are slow);
        ``label`` float32 ``(H,)`` the label embedding to run with."""
        enc = self.encoder
        enc.encode_window(np.zeros(enc.window, np.float32))
        spare = StreamingModel(self.model, lambda i: FrameControl(label), ablate=self.ablate)
        spare.push(np.zeros((8, enc.dim), np.float32))

    def offer(self, words: WordBatch) -> None:
        """Words for the frames fused from the next step on (thread-safe)."""
        self._words.append(words)

    def step(self, ring: Ring, final: bool = False) -> list[StreamOutput]:
        """Encode the audio that arrived in ``ring``, run the model on the new frames; with
        ``final`` (the source has ended and all of it is in ``ring``) flush the end."""
        t = time.perf_counter()
        while self._words:
            w = self._words.popleft()
            self.runner.add_words(w.features, w.centres)
        total = ring.written if final else None
        rows = self.features.advance(ring.read_mono, ring.written, total)
        out = [self.runner.push(rows)]
        if final:
            out.append(self.runner.finish())
        self.busy_s += time.perf_counter() - t
        return [o for o in out if len(o.rig)]
