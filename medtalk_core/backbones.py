"""The paper's backbones beside the default front-end, chosen in ``config.toml`` ``[features]``.

=====================  =========================================  ===============================
key                    values                                     feeds
=====================  =========================================  ===============================
``content_backend``    ``"whisper"`` (tiny.en encoder, 384-d),    ACM (audio content features)
                       ``"wav2vec2"`` (transformers, 768-d base)
``emotion_backend``    ``"whisper"`` (the content features),      FIM queries (audio emotion
                       ``"emotion2vec"`` (FunASR, 768-d base)     features)
``text_backend``       ``"minilm"`` (384-d), ``"roberta"``        FIM keys / values (words)
                       (a BERT/RoBERTa encoder, 768-d base)
=====================  =========================================  ===============================

The weights of ``wav2vec2_model``, ``emotion2vec_model`` and ``roberta_model`` come from a local
folder or the Hugging Face hub cache (:mod:`medtalk_core.hub`); ``""`` stands for the paper's
model, :data:`DEFAULT_MODELS`, looked up in the hub cache.

wav2vec2 and emotion2vec share one waveform front-end, put on the 50 Hz grid of the Whisper
encoder by :class:`medtalk_core.framegrid.FrameGrid`; the feature sequences can then be joined
frame by frame (:class:`medtalk_core.frontend.AudioFrontEnd`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .config import BACKENDS, FeaturesConfig
from .errors import ModelNotFoundError
from .features import SAMPLE_RATE, Features, WhisperEncoder
from .framegrid import CONTEXT_S, RATE, WINDOW_S, FrameGrid

BACKEND_DEFAULTS = {key: values[0] for key, values in BACKENDS.items()}
"""The default front-end (Whisper tiny.en for both audio features, MiniLM words), assumed for a
checkpoint's settings that lack these keys (trained before the backbones were selectable)."""
MODEL_KEYS = {"wav2vec2": "wav2vec2_model", "emotion2vec": "emotion2vec_model",
              "roberta": "roberta_model"}
"""``[features]`` key of each backend's weights."""
KEYS = (*BACKEND_DEFAULTS, *MODEL_KEYS.values())
"""Every ``[features]`` key of this module (what a checkpoint must record to rebuild its
front-end)."""
DEFAULT_MODELS = {"wav2vec2": "facebook/wav2vec2-base-960h",
                  "emotion2vec": "emotion2vec/emotion2vec_base",
                  "roberta": "hfl/chinese-roberta-wwm-ext"}
"""Hub ids looked up in the hub cache when a model key is ``""``."""
ROBERTA_MAX_TOKENS = 512
"""Sub-word tokens per BERT/RoBERTa run, [CLS] and [SEP] included."""


class AudioEncoder(Protocol):
    """What :class:`medtalk_core.frontend.AudioFrontEnd` needs of an audio encoder."""

    rate: float
    dim: int

    def encode(self, audio16k: np.ndarray) -> Features: ...


def backend_settings(fcfg: FeaturesConfig) -> dict[str, str]:
    """The backend keys that differ from the default front-end, with the model key of each such
    backend; ``{}`` for Whisper / Whisper / MiniLM. Enough, with the Whisper and MiniLM keys, to
    tell two front-ends apart (feature caches, checkpoints)."""
    out = {}
    for key, default in BACKEND_DEFAULTS.items():
        value = getattr(fcfg, key)
        if value != default:
            out[key] = value
            out[MODEL_KEYS[value]] = getattr(fcfg, MODEL_KEYS[value]) or DEFAULT_MODELS[value]
    return out


def model_dir(fcfg: FeaturesConfig, name: str) -> str:
    """Folder of backend ``name``'s weights from its ``[features]`` key (local folder or hub id).

    Raises:
        ModelNotFoundError: not a folder and not in the hub cache.
    """
    from .hub import resolve_model

    key = MODEL_KEYS[name]
    return str(resolve_model(getattr(fcfg, key) or DEFAULT_MODELS[name], key, name))


class Wav2Vec2Encoder:
    """wav2vec 2.0 (transformers ``Wav2Vec2Model``) content features, the paper's ACM input.

    The clip is normalised as the model's ``Wav2Vec2FeatureExtractor`` says (zero mean, unit
    variance over the clip when the folder has none), padded onto the 50 Hz grid
    (:class:`FrameGrid`) and run in windows of :data:`WINDOW_S` with :data:`CONTEXT_S` context;
    the features are the last hidden states.

    Args:
        model_path: a ``save_pretrained`` folder (config.json, model.safetensors or
            pytorch_model.bin, optionally preprocessor_config.json), e.g. the snapshot folder of
            facebook/wav2vec2-base-960h (:func:`model_dir`).
        window_s, context_s: see :meth:`FrameGrid.encode`.

    Raises:
        ModelNotFoundError: the folder holds no loadable wav2vec2 model.
        MedtalkError: a model whose convolutions are not 50 Hz.
    """

    rate = RATE

    def __init__(self, model_path: str, window_s: float = WINDOW_S, context_s: float = CONTEXT_S):
        from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            self.model = Wav2Vec2Model.from_pretrained(model_path, local_files_only=True).eval()
        except (OSError, ValueError) as e:
            raise ModelNotFoundError(f"cannot load wav2vec2 from {model_path}: {e}") from None
        self.extractor = None
        try:
            self.extractor = Wav2Vec2FeatureExtractor.from_pretrained(model_path,
                                                                      local_files_only=True)
        except OSError:
            pass  # no preprocessor_config.json: normalise as wav2vec2's own extractor does
        c = self.model.config
        self.grid = FrameGrid.from_convs(c.conv_kernel, c.conv_stride)
        self.dim = int(c.hidden_size)
        self.window_s, self.context_s = window_s, context_s

    def normalise(self, audio16k: np.ndarray) -> np.ndarray:
        """The model's input from 16 kHz samples: float32 ``(N,)``."""
        x = np.asarray(audio16k, np.float32).reshape(-1)
        if not len(x):
            return x
        if self.extractor is not None:
            return self.extractor(x, sampling_rate=SAMPLE_RATE, return_tensors="np")[
                "input_values"][0].astype(np.float32)
        return ((x - x.mean()) / np.sqrt(x.var() + 1e-7)).astype(np.float32)

    def _run(self, window: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(window))[None])
        return out.last_hidden_state[0].float().numpy()

    def encode(self, audio16k: np.ndarray) -> Features:
        """float ``(N,)`` 16 kHz audio -> Features float32 ``(ceil(N / 320), dim)`` at 50 Hz."""
        x = self.normalise(audio16k)
        return Features(self.grid.encode(x, self._run, self.dim, self.window_s, self.context_s),
                        self.rate)


def content_encoder(fcfg: FeaturesConfig) -> AudioEncoder:
    """The ACM input encoder set by ``[features]`` ``content_backend``.

    Raises:
        ModelNotFoundError: its weights are missing.
    """
    if fcfg.content_backend == "wav2vec2":
        return Wav2Vec2Encoder(model_dir(fcfg, "wav2vec2"))
    return WhisperEncoder(model_path=fcfg.whisper_encoder_model or None, window_s=fcfg.window_s,
                          hop_s=fcfg.hop_s, lookahead_s=fcfg.lookahead_s, threads=fcfg.threads)


def emotion_encoder(fcfg: FeaturesConfig) -> AudioEncoder | None:
    """The FIM query encoder set by ``[features]`` ``emotion_backend``: emotion2vec, or None for
    ``"whisper"``, where FIM reads the content features (one encoder for both, as by default).

    Raises:
        ModelNotFoundError: its weights are missing.
        MedtalkError: FunASR is not installed.
    """
    if fcfg.emotion_backend != "emotion2vec":
        return None
    from .emotion2vec import Emotion2vecEncoder

    return Emotion2vecEncoder(model_dir(fcfg, "emotion2vec"))


def text_encoder(fcfg: FeaturesConfig):
    """The word-feature encoder (a :class:`medtalk_core.text.TextEncoder`) set by ``[features]``
    ``text_backend``: MiniLM (``text_model``) or RoBERTa (``roberta_model``).

    Raises:
        ModelNotFoundError: its weights are missing.
    """
    from .text import TextEncoder

    if fcfg.text_backend == "roberta":
        return TextEncoder(model_dir(fcfg, "roberta"), max_tokens=ROBERTA_MAX_TOKENS)
    return TextEncoder(fcfg.text_model or None)
