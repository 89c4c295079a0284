"""Forced alignment of English speech to phones with pocketsphinx (its en-us acoustic model and
CMU dictionary, shipped in the PyPI package), phone times at its 10 ms frame step.

Two passes of pocketsphinx's own alignment API: ``set_align_text`` finds the word segmentation,
``set_alignment`` then the phone and state durations within it. Phones are CMU ARPAbet without
stress marks (``AA``, ``P``, ...); ``SIL`` is silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import MedtalkError

FRAME_S = 0.01
"""Seconds per pocketsphinx frame: phone times are multiples of it."""


@dataclass(frozen=True)
class Phone:
    """One aligned phone: ``name`` (ARPAbet, ``SIL`` for silence), ``start`` and ``end`` in
    seconds from the clip start."""

    name: str
    start: float
    end: float


def normalise(text: str) -> str:
    """Lower-case words of ``text`` without punctuation (apostrophes kept), hyphens as spaces."""
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split())


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def align(audio16k: np.ndarray, text: str) -> list[Phone]:
    """Phones of an English clip with their times.

    Args:
        audio16k: float ``(N,)`` mono samples at 16 kHz in [-1, 1].
        text: what is said; punctuation and case do not matter (:func:`normalise`).

    Returns:
        the phones in order, silence included, non-overlapping, within ``[0, N / 16000]`` s.

    Raises:
        MedtalkError: a word not in the CMU dictionary, empty text, or no alignment found.
    """
    from pocketsphinx import Decoder

    words = normalise(text)
    if not words:
        raise MedtalkError("nothing to align: the transcript has no words")
    decoder = Decoder(samprate=16000, bestpath=False, loglevel="FATAL")
    unknown = [w for w in words.split() if decoder.lookup_word(w) is None]
    if unknown:
        raise MedtalkError(f"not in the CMU dictionary: {', '.join(unknown)}")
    pcm = (np.clip(np.asarray(audio16k, np.float32), -1, 1) * 32767).astype("<i2").tobytes()
    decoder.set_align_text(words)
    _decode(decoder, pcm)
    if decoder.hyp() is None:
        raise MedtalkError(f"pocketsphinx found no alignment of {words!r}")
    decoder.set_alignment()
    _decode(decoder, pcm)
    alignment = decoder.get_alignment()
    if alignment is None:
        raise MedtalkError(f"pocketsphinx found no phone alignment of {words!r}")
    end = len(audio16k) / 16000
    return [Phone(p.name, p.start * FRAME_S, min((p.start + p.duration) * FRAME_S, end))
            for p in alignment.phones()]
