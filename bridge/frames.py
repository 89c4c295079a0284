"""The frames the live stages pass to each other (dataclasses, as pipecat's frames).

    source --audio blocks--> ingest (16 kHz ring) --> lips --StreamOutput--> eyes --LiveFrame-->
    clock --LiveFrame--> sender (finite guard) --> sinks, recorder;  clock --SentFrame--> status
    ingest (16 kHz ring) --> transcript --WordBatch--> lips

:class:`medtalk_core.streaming.StreamOutput` (the model's frames ``first``, ``rig``, ``intensity``)
is the lips stage's output; the others are here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .protocol import Frame


@dataclass(frozen=True, slots=True)
class LiveFrame(Frame):
    """A rig frame with the stream's state (sent in the ZeroMQ header and ``/medtalk/state``,
    see docs/protocol.md): ``state`` is :meth:`bridge.state.LiveState.snapshot`."""

    state: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WordBatch:
    """Words the live transcript has just committed: ``features`` float32 ``(m, 384)`` (MiniLM,
    each word seen with the words before it), ``centres`` float32 ``(m,)`` s of stream audio."""

    features: np.ndarray
    centres: np.ndarray


@dataclass(frozen=True)
class SentFrame:
    """What the clock did with one frame, monotonic s: ``sent`` when it left, ``deadline`` when
    it was due (``sent`` itself in fast mode), ``entry`` when its audio entered the process."""

    index: int
    sent: float
    deadline: float
    entry: float
