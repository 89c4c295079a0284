"""Loading speech from a file as 16 kHz mono float32, with one-line errors for bad input.

Formats are read by libsndfile through ``soundfile``: WAV, FLAC and OGG (also AIFF, CAF, AU and
ID3-tagged MP3 where the installed libsndfile reads them). Any sample rate is resampled with
``soxr``; stereo and multi-channel audio is mixed down to mono by averaging the channels.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .errors import AudioError

SAMPLE_RATE = 16000
"""Hz, the rate every front-end works at."""

# libsndfile's log reports a data chunk longer than the file as "data : 32000 (should be 19956)".
_SHORT_DATA = re.compile(r"\bdata\s*:\s*(\d+)\s*\(should be (\d+)\)")
_STREAMED_SIZES = (0, 0xFFFFFFFF)  # a WAV written as a stream leaves its data size unset
# First bytes of the containers libsndfile reads: WAV (RIFF, RIFX, RF64, BW64, W64), FLAC, OGG,
# AIFF, CAF, AU, MP3 with an ID3 tag. Checked first so that other files never reach libsndfile's
# format guessing (which takes random bytes for an MP3 frame and prints decoder warnings).
_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"fLaC", b"OggS", b"FORM", b"caff", b".snd", b"ID3")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _looks_like_audio(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4).startswith(_MAGIC)


def _declared_longer_than_file(extra_info: str) -> bool:
    """True if the header promises more data than the file holds (a truncated file)."""
    for declared, actual in _SHORT_DATA.findall(extra_info):
        if int(declared) not in _STREAMED_SIZES and int(actual) < int(declared):
            return True
    return False


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a signal with soxr (high quality).

    Args:
        x: float ``(N,)`` mono samples at ``sr_in`` Hz.
        sr_in, sr_out: sample rates in Hz.

    Returns:
        float32 ``(round(N * sr_out / sr_in),)``; ``x`` as float32 if the rates are equal.
    """
    x = np.asarray(x, np.float32)
    if sr_in == sr_out or x.size == 0:
        return x
    import soxr

    return soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as mono float32 at ``sample_rate``.

    Args:
        path: a WAV, FLAC or OGG file, any sample rate, one or more channels.
        sample_rate: output rate in Hz.

    Returns:
        float32 ``(N,)`` samples in [-1, 1] (integer formats) at ``sample_rate``, channels
        averaged. Silence and very short clips (a 0.2 s clip) are valid.

    Raises:
        AudioError: one line naming the file and the problem: not found, a folder, empty (0 bytes
            or 0 samples), not an audio file, unreadable (corrupt header), truncated, NaN or inf
            samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"audio path is a folder, not a file: {path}")
    try:
        if path.stat().st_size == 0:
            raise AudioError(f"{path}: empty file (0 bytes)")
        looks_like_audio = _looks_like_audio(path)
    except OSError as e:
        raise AudioError(f"{path}: cannot read the file ({e.strerror})") from None
    if not looks_like_audio:
        raise AudioError(f"{path}: not an audio file (unknown format; WAV, FLAC or OGG expected)")
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError) as e:
        reason = _one_line(e).split(": ", 1)[-1]
        raise AudioError(f"{path}: unreadable audio file, corrupt or truncated header ({reason})") from None
    if _declared_longer_than_file(info.extra_info):
        raise AudioError(f"{path}: truncated audio file (header promises more data than the file holds)")
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as e:
        raise AudioError(f"{path}: truncated or corrupt audio data ({_one_line(e)})") from None
    if len(x) < info.frames:
        raise AudioError(f"{path}: truncated audio file ({len(x)} of {info.frames} samples readable)")
    if len(x) == 0:
        raise AudioError(f"{path}: empty audio file (0 samples)")
    if not np.isfinite(x).all():
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    return resample(x.mean(axis=1), sr, sample_rate)
