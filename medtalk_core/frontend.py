"""The model's inputs from a clip: audio features on rig frames, and transcript words with
their features and times. One object holds the three front-ends so each loads once.

The ``[features]`` settings a model was trained with travel in its checkpoint, and inference
builds its front-end from those (not from the current config.toml), so that train and serve
compute the same features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rig
from .backbones import BACKEND_DEFAULTS
from .features import AudioFrontEnd, align_to_frames


def trained_features(features: dict[str, Any], meta: dict) -> dict[str, Any]:
    """The ``[features]`` settings to serve a checkpoint with: ``features`` (config.toml) overridden
    by those its metadata records; backbones it does not record are the defaults (a checkpoint
    from before the backbones were selectable was trained on them)."""
    return {**features, **BACKEND_DEFAULTS, **meta.get("features", {})}


@dataclass
class Transcript:
    """Words of a clip: ``features`` float32 ``(W, D)`` (D = the text encoder's width), ``time``
    float32 ``(W,)`` word centres in seconds, ``words`` the text of each word, ``spans``
    ``(start, end)`` seconds."""

    words: list[str]
    spans: list[tuple[float, float]]
    features: np.ndarray
    time: np.ndarray


class FrontEnd:
    """Audio, text and transcript front-ends configured by a whole config dict.

    Args:
        cfg: the configuration (``load_config()``), whose ``[features]`` section is used.
        audio, text, transcriber: which front-ends to build (the others are skipped).
    """

    def __init__(self, cfg: dict[str, Any], audio: bool = True, text: bool = True,
                 transcriber: bool = True):
        self.audio = AudioFrontEnd(cfg) if audio else None
        self.text = None
        self.asr = None
        if text:
            from .backbones import text_encoder

            self.text = text_encoder(cfg)
        if transcriber:
            from .asr import Transcriber

            self.asr = Transcriber.from_config(cfg)

    def audio_frames(self, audio16k: np.ndarray, n_frames: int) -> np.ndarray:
        """Audio features on rig frames: float32 ``(n_frames, self.audio.dim)`` (384 by default;
        ``[content | emotion]`` with a separate emotion backend) for 16 kHz mono audio."""
        return align_to_frames(self.audio(audio16k), n_frames, rig.FPS)

    def words(self, words: list[str], spans: list[tuple[float, float]]) -> Transcript:
        """Features of given words with their ``(start, end)`` times in seconds."""
        feats = self.text.encode_words(words) if words else np.zeros((0, self.text.dim), np.float32)
        time = np.array([(a + b) / 2 for a, b in spans], np.float32).reshape(-1)
        return Transcript(list(words), list(spans), feats.astype(np.float32), time)

    def transcribe(self, audio16k: np.ndarray) -> Transcript:
        """Transcribe with word times (faster-whisper), then encode the words."""
        ws = self.asr.transcribe(audio16k)
        return self.words([w.text.strip() for w in ws], [(w.start, w.end) for w in ws])
