"""Offline inference: a 16 kHz clip and an emotion (a label, a text description or a reference
image, :mod:`medtalk_core.steering`) -> 174 face-board controls at 60 fps.

Pipeline: audio features on rig frames (Whisper tiny.en encoder, windowed as in training) and a
faster-whisper transcript with word times -> MiniLM word features; then the model's forward pass
(:func:`medtalk_core.forward.animate_clip`: ACM, FIM with the label-space embedding, D) with the
FIM parts the checkpoint was trained without removed (its ``ablate`` metadata).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import rig
from .checkpoint import load_model
from .config import Config, load_config
from .forward import animate_clip
from .frontend import FrontEnd, Transcript, trained_features
from .steering import EmotionSpec, Steering


@dataclass
class Animation:
    """Result of :meth:`Animator.animate`: ``frames`` float32 ``(T, 174)`` clipped to the control
    ranges, ``intensity`` float32 ``(T,)`` FIM's I_hat, ``transcript`` the words used."""

    frames: np.ndarray
    intensity: np.ndarray
    transcript: Transcript


def frame_count(n_samples: int, sample_rate: int = 16000) -> int:
    """Rig frames of a clip: ``floor(duration * 60)``."""
    return (n_samples * rig.FPS) // sample_rate


class Animator:
    """A loaded MEDTalk model with its front-ends. Build with :meth:`load`."""

    def __init__(self, model, frontend: FrontEnd, meta: dict, cfg: Config | None = None):
        self.model, self.frontend, self.meta = model, frontend, meta
        self.ablate = meta.get("ablate") or {}
        """FIM parts the model was trained without (:data:`medtalk_core.forward.ABLATIONS`)."""
        self.steering = Steering(model, meta, cfg or load_config())
        """Label-space embeddings of labels, text descriptions and reference images."""

    @classmethod
    def load(cls, checkpoint: str | Path | None = None, config: Config | None = None,
             transcriber: bool = True, language: str | None = None) -> "Animator":
        """Load a checkpoint (None: the shipped default) and the front-ends it was trained with.

        Args:
            config: the configuration (None: :func:`medtalk_core.config.load_config`).
            language: the transcript's language (None: ``[features] language``).

        Raises:
            CheckpointError: missing, unreadable or mismatched checkpoint.
        """
        import torch

        model, meta = load_model(checkpoint)
        cfg = config or load_config()
        features = trained_features(cfg.features, meta)
        if language:
            features = replace(features, language=language)
        torch.set_num_threads(max(1, cfg.train.threads))
        return cls(model, FrontEnd(features, transcriber=transcriber), meta, cfg)

    def animate(self, audio16k: np.ndarray, emotion: str | EmotionSpec,
                transcript: Transcript | None = None, intensity_scale: float = 1.0) -> Animation:
        """Animate a clip.

        Args:
            audio16k: float32 ``(N,)`` mono samples at 16 kHz (any length, silence included).
            emotion: one of :data:`medtalk_core.rig.EMOTIONS`, or an
                :class:`~medtalk_core.steering.EmotionSpec` (label, text description or image).
            transcript: words with times; None transcribes the clip with faster-whisper.
            intensity_scale: multiplies the predicted intensity (1 = as predicted).
        Returns:
            :class:`Animation` with ``floor(N / 16000 * 60)`` frames.
        Raises:
            ValueError: unknown emotion.
            MedtalkError: guidance the model or the machine cannot serve (see
                :meth:`~medtalk_core.steering.Steering.embedding`).
        """
        if isinstance(emotion, str):
            emotion = EmotionSpec("label", emotion)
        label = self.steering.embedding(emotion)
        n = frame_count(len(audio16k))
        if transcript is None:
            transcript = self.frontend.transcribe(audio16k)
        if n == 0:
            return Animation(np.zeros((0, rig.NUM_CONTROLS), np.float32),
                             np.zeros(0, np.float32), transcript)
        frames, i_hat = animate_clip(self.model, self.frontend.audio_frames(audio16k, n),
                                     transcript.features, transcript.time, label,
                                     intensity_scale, self.ablate)
        return Animation(frames, i_hat, transcript)
