"""The 50 Hz frame grid of a waveform encoder's strided convolution stack (wav2vec2,
emotion2vec).

Both turn 16 kHz samples into frames with a 320 sample (20 ms) hop and a 400 sample receptive
field. :class:`FrameGrid` pads the clip so that frame ``g`` covers ``[g / 50, (g + 1) / 50)`` s and
is centred at ``(g + 0.5) / 50`` s, the time convention of :mod:`medtalk_core.features`, with
``T = ceil(N / 320)`` frames like the Whisper encoder, and runs the encoder in windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .errors import MedtalkError
from .features import SAMPLE_RATE

RATE = 50.0
"""Hz, frame rate of wav2vec2 and emotion2vec at 16 kHz."""
WINDOW_S = 20.0
"""s, longest audio one transformer run sees; longer clips go in windows."""
CONTEXT_S = 1.0
"""s of audio on each side of a window whose frames are computed but dropped."""


@dataclass(frozen=True)
class FrameGrid:
    """Frame geometry of a strided 1-D convolution stack on 16 kHz samples.

    Attributes:
        hop: samples between frames (the product of the strides); 320 for 50 Hz.
        field: samples one frame sees (the receptive field); 400 for wav2vec2 and emotion2vec.
    """

    hop: int
    field: int

    @classmethod
    def from_convs(cls, kernels: Sequence[int], strides: Sequence[int]) -> "FrameGrid":
        """The grid of a stack of convolutions without padding, in order from the waveform.

        Raises:
            MedtalkError: the hop is not 320 samples (50 Hz) or ``field - hop`` is odd.
        """
        hop, field = 1, 1
        for k, s in zip(kernels, strides):
            field += (k - 1) * hop
            hop *= s
        if hop != SAMPLE_RATE / RATE or (field - hop) % 2:
            raise MedtalkError(f"audio encoder with a {hop}-sample hop and a {field}-sample "
                               "receptive field does not fit the 50 Hz frame grid")
        return cls(hop, field)

    def n_frames(self, n_samples: int) -> int:
        """Frames of a clip of ``n_samples``: ``ceil(n_samples / hop)``."""
        return math.ceil(n_samples / self.hop)

    def pad(self, x: np.ndarray) -> np.ndarray:
        """Zero-pad a clip so that frame ``g`` of the padded clip covers original samples
        ``[g * hop - (field - hop) / 2, ...)`` (centred at ``(g + 0.5) * hop``) and the encoder
        gives exactly :meth:`n_frames` frames: float32 ``(n_frames * hop + field - hop,)``."""
        left = (self.field - self.hop) // 2
        right = self.n_frames(len(x)) * self.hop + left - len(x)
        return np.pad(np.asarray(x, np.float32), (left, right))

    def windows(self, n_frames: int, window: int, context: int) -> Iterator[tuple[int, int, slice]]:
        """Split ``n_frames`` into runs of at most ``window`` frames with ``context`` frames more
        on each side (fewer at the clip's ends).

        Yields:
            ``(lo, hi, keep)``: frames ``lo:hi`` are computed from padded samples
            ``[lo * hop, hi * hop + field - hop)``; ``keep`` selects this window's own frames.
        """
        for a in range(0, n_frames, window):
            b = min(a + window, n_frames)
            lo, hi = max(0, a - context), min(n_frames, b + context)
            yield lo, hi, slice(a - lo, b - lo)

    def encode(self, x: np.ndarray, run: Callable[[np.ndarray], np.ndarray], dim: int,
               window_s: float = WINDOW_S, context_s: float = CONTEXT_S) -> np.ndarray:
        """Run an encoder over a clip on this grid, in windows.

        Args:
            x: float ``(N,)`` samples at 16 kHz (normalised as the encoder expects).
            run: padded window samples ``(hi - lo) * hop + field - hop`` -> its frames
                float ``(hi - lo, dim)``.
            dim: feature width.
            window_s, context_s: window and context length in seconds (multiples of 20 ms).

        Returns:
            float32 ``(ceil(N / hop), dim)``; row ``g`` is centred at ``(g + 0.5) / 50`` s.

        Raises:
            MedtalkError: ``run`` returned another number of frames (an encoder of another grid).
        """
        n = self.n_frames(len(x))
        out = np.zeros((n, dim), np.float32)
        padded = self.pad(x)
        per_s = SAMPLE_RATE / self.hop
        for lo, hi, keep in self.windows(n, round(window_s * per_s), round(context_s * per_s)):
            frames = np.asarray(run(padded[lo * self.hop : hi * self.hop + self.field - self.hop]))
            if frames.shape != (hi - lo, dim):
                raise MedtalkError(f"audio encoder gave {frames.shape} frames for a window of "
                                   f"{hi - lo} frames of width {dim}")
            out[lo:hi][keep] = frames[keep]
        return out
