"""The model's inputs from a clip: audio features on rig frames, and transcript words with
their features and times. One object holds the three front-ends so each loads once.

The ``[features]`` settings a model was trained with travel in its checkpoint, and inference
builds its front-end from those (not from the current config.toml), so that train and serve
compute the same features.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from . import rig
from .backbones import BACKEND_DEFAULTS, content_encoder, emotion_encoder
from .config import FeaturesConfig, override
from .errors import MedtalkError
from .features import Features, align_to_frames


def trained_features(features: FeaturesConfig, meta: dict) -> FeaturesConfig:
    """The ``[features]`` settings to serve a checkpoint with: ``features`` (the configuration)
    overridden by those its metadata records; backbones it does not record are the defaults (a
    checkpoint from before the backbones were selectable was trained on them).

    Raises:
        ConfigError: the metadata records an unknown or mistyped ``[features]`` key.
    """
    return override(features, {**BACKEND_DEFAULTS, **meta.get("features", {})},
                    "checkpoint features")


class AudioFrontEnd:
    """The audio features the model reads, configured by ``[features]``.

    By default one :class:`medtalk_core.features.WhisperEncoder` gives both the content features (ACM input) and the
    emotion features (FIM queries). ``content_backend = "wav2vec2"`` and ``emotion_backend =
    "emotion2vec"`` choose the paper's backbones (:mod:`medtalk_core.backbones`); when FIM has
    its own encoder, the features are ``[content | emotion]`` joined frame by frame. Keys read:
    ``content_backend``, ``emotion_backend``, ``wav2vec2_model``, ``emotion2vec_model``,
    ``whisper_encoder_model`` ("" = bundled tiny.en), ``window_s``, ``hop_s``, ``lookahead_s``,
    ``threads``.

    Args:
        features: the ``[features]`` settings (a checkpoint's: :func:`trained_features`).

    Attributes:
        content_dim: width of the content features (384 for Whisper tiny.en).
        emotion_dim: width of the separate emotion features, the model's ``emotion_audio_dim``;
            0 when FIM reads the content features.
        dim: ``content_dim + emotion_dim``.
    """

    def __init__(self, features: FeaturesConfig):
        self.encoder = content_encoder(features)
        self.emotion_encoder = emotion_encoder(features)
        self.rate = self.encoder.rate
        self.content_dim = self.encoder.dim
        self.emotion_dim = self.emotion_encoder.dim if self.emotion_encoder else 0
        self.dim = self.content_dim + self.emotion_dim

    def __call__(self, audio16k: np.ndarray) -> Features:
        """float ``(N,)`` 16 kHz audio -> Features float32 ``(ceil(N / 320), dim)`` at 50 Hz."""
        content = self.encoder.encode(audio16k)
        if self.emotion_encoder is None:
            return content
        emotion = self.emotion_encoder.encode(audio16k)
        if emotion.rate != content.rate or len(emotion.values) != len(content.values):
            raise MedtalkError(f"emotion features ({len(emotion.values)} at {emotion.rate} Hz) "
                               f"do not match content features ({len(content.values)} at "
                               f"{content.rate} Hz)")
        return Features(np.concatenate([content.values, emotion.values], axis=1), self.rate)


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
    """Audio, text and transcript front-ends configured by ``[features]``.

    Args:
        features: the ``[features]`` settings (a checkpoint's: :func:`trained_features`).
        audio, text, transcriber: which front-ends to build (the others are skipped).
    """

    def __init__(self, features: FeaturesConfig, audio: bool = True, text: bool = True,
                 transcriber: bool = True):
        self.audio = AudioFrontEnd(features) if audio else None
        self.text = None
        self.asr = None
        if text:
            from .backbones import text_encoder

            self.text = text_encoder(features)
        if transcriber:
            from .asr import Transcriber

            self.asr = Transcriber.from_config(features)

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
