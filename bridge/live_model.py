"""What the live stream runs: the stream model and its front-ends (Whisper encoder, MiniLM text
encoder, faster-whisper transcriber), loaded once before the stages are built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medtalk_core.config import FeaturesConfig
from medtalk_core.errors import CheckpointError


@dataclass
class LiveModel:
    """The loaded model (``model``, eval mode), its checkpoint metadata ``meta``, the Whisper
    ``encoder`` with the live window geometry, the ``text`` encoder, the ``transcriber``,
    ``word_context`` (words per prefix word-feature run) and the ``features`` settings."""

    model: object
    meta: dict
    encoder: object
    text: object
    transcriber: object
    word_context: int
    features: FeaturesConfig
    """``[features]`` as the model was trained (what the transcript process builds)."""

    @property
    def labels(self):
        """float32 ``(7, H)`` numpy: FIM's label embeddings (for :class:`bridge.state.LiveState`)."""
        return self.model.fim.label_embedding.weight.detach().numpy()

    @classmethod
    def load(cls, path: Path, features: FeaturesConfig, word_context: int) -> LiveModel:
        """Load the checkpoint at ``path``.

        Args:
            path: the stream model checkpoint.
            features: the configured ``[features]`` (the checkpoint's own settings win, see
                :func:`medtalk_core.frontend.trained_features`).
            word_context: used unless the checkpoint's ``stream`` metadata names its own.
        Raises:
            CheckpointError: missing or mismatched checkpoint, or one that reads other features
                than the Whisper encoder's.
            ModelNotFoundError: a front-end model is missing.
        """
        import torch

        from medtalk_core.asr import Transcriber
        from medtalk_core.backbones import text_encoder
        from medtalk_core.checkpoint import load_model
        from medtalk_core.features import WhisperEncoder
        from medtalk_core.frontend import trained_features

        torch.set_num_threads(1)
        model, meta = load_model(path)
        f = trained_features(features, meta)
        if f.content_backend != "whisper" or f.emotion_backend != "whisper":
            raise CheckpointError(f"{path}: the live engine runs the Whisper encoder; this model "
                                  f"reads {f.content_backend}/{f.emotion_backend} features")
        encoder = WhisperEncoder(f.whisper_encoder_model or None, f.window_s, f.hop_s,
                                 f.lookahead_s, f.threads)
        text = text_encoder(f)
        transcriber = Transcriber.from_config(f)
        context = meta.get("stream", {}).get("word_context", word_context)
        return cls(model, meta, encoder, text, transcriber, int(context), f)
