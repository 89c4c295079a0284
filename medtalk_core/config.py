"""Typed configuration: one dataclass per section of ``config.toml``, merged over the defaults.

The ``config.toml`` shipped inside this package holds every default. A user's file
(``medtalk --config FILE`` or ``$MEDTALK_CONFIG``) names only what it changes; it is merged over
the defaults section by section and key by key (inline tables such as ``[train] epochs`` key by
key too). An unknown section or key, or a value of the wrong type, is a one-line error naming it.

The result is a frozen :class:`Config`; nothing changes it while a command runs. Derived settings
(a checkpoint's front-end, a stream fine-tune's windows) are new values made with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import rig
from .errors import MedtalkError

BACKENDS = {"content_backend": ("whisper", "wav2vec2"),
            "emotion_backend": ("whisper", "emotion2vec"),
            "text_backend": ("minilm", "roberta")}
"""The values each ``[features]`` backend key takes (the first is the default front-end)."""
CORPUS_LANGUAGES = ("en", "zh", "ja", "ko", "es", "pt", "fr")
"""``[corpus] languages`` values: the languages of ``train.corpus.sentences``."""


class ConfigError(MedtalkError):
    """A configuration file that cannot be read, or names an unknown key or a mistyped value."""


@dataclass(frozen=True, kw_only=True)
class RigConfig:
    """``[rig]``: ``fps`` rig frames per second (60)."""

    fps: int


@dataclass(frozen=True, kw_only=True)
class AudioConfig:
    """``[audio]``: ``sample_rate`` in Hz at which every front-end works (16000)."""

    sample_rate: int


@dataclass(frozen=True, kw_only=True)
class FeaturesConfig:
    """``[features]``: audio, word and transcript front-ends (the comments of config.toml).

    Raises:
        ConfigError: a backend key outside :data:`BACKENDS`.
    """

    whisper_encoder_model: str
    feature_rate: int
    window_s: float
    hop_s: float
    lookahead_s: float
    threads: int
    text_model: str
    text_dim: int
    asr_model_en: str
    asr_model_multilingual: str
    cache_dir: str
    language: str
    content_backend: str
    emotion_backend: str
    text_backend: str
    wav2vec2_model: str
    emotion2vec_model: str
    roberta_model: str

    def __post_init__(self):
        for key, values in BACKENDS.items():
            if getattr(self, key) not in values:
                raise ConfigError(f"features.{key} = {getattr(self, key)!r}: "
                                  f"expected one of {values}")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """``[model]``: sizes of the MEDTalk networks (checkpoint metadata ``model``).

    ``rig_dim``, ``emotion_audio_dim``, ``guide_text_dim`` and ``guide_image_dim`` follow from
    the rig, the front-end and the guidance encoders; training sets them with
    :func:`dataclasses.replace`.

    Raises:
        ConfigError: ``lookahead_frames`` outside ``-1 .. layers * (kernel - 1)``.
    """

    audio_dim: int
    text_dim: int
    content_dim: int
    emotion_dim: int
    hidden: int
    kernel: int
    layers: int
    attn_heads: int
    dropout: float
    emotion_smooth: int
    """Frames at 60 fps of the moving average that ends the emotion encoder E_e."""
    lookahead_frames: int
    """Future rig frames the audio-to-rig path (ACM, FIM, D) may see. -1: every temporal
    convolution is centred (the offline model, ``kernel // 2`` future frames per convolution).
    ``n >= 0``: the streaming model: ACM and FIM's query net see ``n`` future frames, at most
    ``kernel - 1`` in the first convolution of each block, the first blocks first
    (``n <= layers * (kernel - 1)``); every other convolution of that path sees none, so a rig
    frame depends on audio features at most ``n`` frames ahead. E_c and E_e (training only) stay
    centred. Padding holds no parameters: both settings have the same state-dict names and
    shapes."""
    rig_dim: int = rig.NUM_CONTROLS
    emotion_audio_dim: int = 0
    """Width of separate audio emotion features (FIM queries, e.g. emotion2vec's 768), appended
    after the ``audio_dim`` content features (ACM input) in the model's audio input. 0: FIM reads
    the content features (one Whisper encoder for both, the default)."""
    guide_text_dim: int = 0
    """Width of text-description embeddings P_text reads (384 for all-MiniLM-L6-v2, 512 for CLIP
    ViT-B/32); 0: no P_text."""
    guide_image_dim: int = 0
    """Width of reference-image embeddings P_image reads (CLIP's); 0: no P_image."""

    def __post_init__(self):
        most = self.layers * (self.kernel - 1)
        if not -1 <= self.lookahead_frames <= most:
            raise ConfigError(f"lookahead_frames = {self.lookahead_frames}: must be -1 (offline) "
                              f"or 0..{most} (layers * (kernel - 1))")

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "model") -> "ModelConfig":
        """From checkpoint metadata or a config section; unknown or mistyped keys raise
        :class:`ConfigError` naming ``where.key``."""
        return build(cls, d, where)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class FaceFormerConfig:
    """``[ablations] faceformer``: sizes of the FaceFormer-style baseline
    (:mod:`medtalk_core.baselines`). ``audio_dim`` is set from the front-end when training."""

    d_model: int
    heads: int
    layers: int
    ff: int
    period_frames: int
    """Period p of the positional encoding and of the temporal bias (frames at 60 fps)."""
    dropout: float
    rig_dim: int = rig.NUM_CONTROLS
    audio_dim: int = 384
    num_emotions: int = len(rig.EMOTIONS)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "faceformer") -> "FaceFormerConfig":
        return build(cls, d, where)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """``[train]``: optimisation of the four stages (``epochs`` and ``lr`` per phase)."""

    seed: int
    batch_size: int
    clip_frames: int
    steps_per_epoch: int
    lambda_sim: float
    lambda_int: float
    lambda_keep: float
    guide_share: float
    threads: int
    keep_best: tuple[str, ...]
    epochs: dict[str, int]
    lr: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class CorpusConfig:
    """``[corpus]``: the synthetic corpus of ``medtalk synth`` (``languages``: ISO 639-1 codes,
    some of :data:`CORPUS_LANGUAGES`).

    Raises:
        ConfigError: an empty ``languages`` or one outside :data:`CORPUS_LANGUAGES`.
    """

    sentences: int
    heldout_family: str
    val_fraction: float
    seed: int
    languages: tuple[str, ...]

    def __post_init__(self):
        bad = [lang for lang in self.languages if lang not in CORPUS_LANGUAGES]
        if bad or not self.languages:
            raise ConfigError(f"corpus.languages = {list(self.languages)!r}: expected some of "
                              f"{CORPUS_LANGUAGES}")


@dataclass(frozen=True, kw_only=True)
class StreamConfig:
    """``[stream]``: the wire (Live Link subject, OSC and ZeroMQ addresses, control port, the
    preview page's address and frame rate)."""

    subject: str
    osc: str
    zmq: str
    zmq_warmup_s: float
    zmq_linger_s: float
    names_interval_s: float
    control_port: int
    preview: str
    preview_fps: int


@dataclass(frozen=True, kw_only=True)
class ArkitConfig:
    """``[arkit]``: the ARKit 52 outputs (``stream --livelinkface / --vmc``, ``infer --arkit``):
    ``mapping`` a face-board -> ARKit mapping file (.toml or .csv, ``""``: the default of
    :mod:`medtalk_core.arkit_map`), ``livelinkface`` and ``vmc`` the default UDP destinations
    (``HOST:PORT``), ``device_id`` the Live Link Face device id sent in every packet."""

    mapping: str
    livelinkface: str
    vmc: str
    device_id: str


@dataclass(frozen=True, kw_only=True)
class RenderConfig:
    """``[render]``: ``medtalk render``'s defaults: ``fps`` (30 or 60) and ``size``
    (``"WxH"`` px, even) of the video, ``background`` the colour around the face (``"#rrggbb"``),
    ``max_gap_s`` the seconds the audio's duration may differ from the take's."""

    fps: int
    size: str
    background: str
    max_gap_s: float


@dataclass(frozen=True, kw_only=True)
class LiveConfig:
    """``[live]``: the live engine and the stream model it runs (the comments of config.toml)."""

    checkpoint: str
    blocksize: int
    frame_delay_s: float
    compute_margin_s: float
    gap_s: float
    ring_s: float
    blend_s: float
    intensity_step: float
    control_host: str
    state_interval_s: float
    transcript_tail: int
    status_interval_s: float
    retry_s: float
    asr_step_s: float
    asr_buffer_s: float
    asr_beam_size: int
    vad_threshold: float
    asr_queue: int
    asr_start_timeout_s: float
    word_context: int
    word_fade_s: float
    word_horizon_s: float
    blinks: bool
    blink_interval_s: tuple[float, float]
    saccades: bool
    saccade_interval_s: tuple[float, float]
    saccade_amplitude: float
    seed: int
    window_s: float
    hop_s: float
    lookahead_s: float
    model_lookahead_frames: int
    finetune_fraction: float
    commit_delay_s: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class GuidanceConfig:
    """``[guidance]``: the text-description and reference-image encoders of stage 4."""

    text_encoder: str
    clip_model: str
    clip_pretrained: str
    clip_checkpoint: str


@dataclass(frozen=True, kw_only=True)
class AblationsConfig:
    """``[ablations]``: ``medtalk eval --ablations / --disentangle`` and the baseline."""

    faceformer: FaceFormerConfig
    faceformer_epochs: int
    faceformer_lr: float
    base_run: str
    tie: float
    swap_lip_mle: float


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole configuration, one field per section of ``config.toml``."""

    rig: RigConfig
    audio: AudioConfig
    features: FeaturesConfig
    model: ModelConfig
    train: TrainConfig
    corpus: CorpusConfig
    stream: StreamConfig
    live: LiveConfig
    arkit: ArkitConfig
    render: RenderConfig
    guidance: GuidanceConfig
    ablations: AblationsConfig = field(repr=False)


def _check(value: Any, kind: Any, where: str) -> Any:
    """``value`` as type ``kind`` (int accepted for float, list for tuple); ConfigError if not."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        return build(kind, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or (Ellipsis not in args
                                                    and len(value) != len(args)):
            raise ConfigError(f"{where} must be a list of {len(args)} values"
                              if Ellipsis not in args else f"{where} must be a list")
        items = args[:1] * len(value) if Ellipsis in args else args
        return tuple(_check(v, t, f"{where}[{i}]") for i, (v, t) in enumerate(zip(value, items)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        return {k: _check(v, args[1], f"{where}.{k}") for k, v in value.items()}
    ok = (isinstance(value, kind) and not (kind is int and isinstance(value, bool))
          or kind is float and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{where} = {value!r}: expected {kind.__name__}")
    return float(value) if kind is float else value


def build(cls: type, data: dict[str, Any], where: str) -> Any:
    """The dataclass ``cls`` from a table, every value type-checked.

    Raises:
        ConfigError: an unknown key, a missing key without a default, or a mistyped value;
            the message names ``where.key``.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key {_join(where, unknown[0])}")
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"missing key {_join(where, missing[0])}")
    return cls(**{k: _check(v, hints[k], _join(where, k)) for k, v in data.items()})


def override(section: Any, values: dict[str, Any], where: str) -> Any:
    """A copy of the dataclass ``section`` with ``values`` (e.g. a checkpoint's recorded
    settings) in place of its own, type-checked as a config file is.

    Raises:
        ConfigError: an unknown key or a mistyped value, named ``where.key``.
    """
    return build(type(section), {**dataclasses.asdict(section), **values}, where)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def merge(base: dict[str, Any], over: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``over`` merged into a copy of ``base``, tables key by key.

    Raises:
        ConfigError: a key of ``over`` that ``base`` does not have (``unknown section [x]`` at
            the top level, ``unknown key a.b`` below).
    """
    out = dict(base)
    for key, value in over.items():
        name = f"{where}.{key}" if where else key
        if key not in base:
            raise ConfigError(f"unknown section [{key}]" if not where
                              else f"unknown key {name}")
        if isinstance(base[key], dict) and isinstance(value, dict):
            out[key] = merge(base[key], value, name)
        elif isinstance(base[key], dict):
            raise ConfigError(f"{name} must be a table")
        else:
            out[key] = value
    return out


def defaults_text() -> str:
    """The packaged ``config.toml`` (every default), as text."""
    return resources.files(__package__).joinpath("config.toml").read_text(encoding="utf-8")


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("file not found") from None
    except IsADirectoryError:
        raise ConfigError("is a folder") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}") from None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """The configuration: a user file (``path``, else ``$MEDTALK_CONFIG``, else none) merged over
    the packaged defaults.

    Raises:
        ConfigError: the file is missing, not TOML, or has an unknown section or key or a value
            of the wrong type (the message names it).
    """
    defaults = tomllib.loads(defaults_text())
    path = path or os.environ.get("MEDTALK_CONFIG")
    try:
        return build(Config, merge(defaults, _read(Path(path))) if path else defaults, "")
    except ConfigError as e:
        raise ConfigError(f"config {path}: {e}" if path else f"config: {e}") from None
