"""Transcript stage: 16 kHz audio -> committed words for the lips stage.

Takes the 16 kHz ring of :class:`bridge.ingest.Ingest` (each step reads the samples that arrived
since the last one); emits a :class:`bridge.frames.WordBatch` per step that committed words
(faster-whisper with LocalAgreement-2, :class:`bridge.transcribe.StreamingTranscriber`), each
word's MiniLM feature computed with at most ``word_context - 1`` words before it and none after
(:func:`medtalk_core.streaming.prefix_word_features`), and the tail of the transcript text.
"""

from __future__ import annotations

import time

import numpy as np

from medtalk_core.streaming import prefix_word_features

from .frames import WordBatch
from .ingest import Ring
from .transcribe import StreamingTranscriber


class Transcript:
    """The live transcript of the ring.

    Args:
        transcriber: the loaded :class:`medtalk_core.asr.Transcriber`.
        text: the :class:`medtalk_core.text.TextEncoder` of the model's word features.
        word_context: words per prefix feature run (the word and the ones before it).
        buffer_s, beam_size, vad_threshold: see :class:`StreamingTranscriber`.
        tail_chars: characters of the transcript kept in :attr:`tail`.
    """

    def __init__(self, transcriber, text, word_context: int, buffer_s: float, beam_size: int,
                 vad_threshold: float, tail_chars: int):
        self.stt = StreamingTranscriber(transcriber, buffer_s, beam_size, vad_threshold)
        self.text, self.word_context, self.tail_chars = text, word_context, tail_chars
        self.tail = ""
        """The last ``tail_chars`` characters of the committed transcript."""
        self.busy_s = 0.0
        """s (wall) spent in :meth:`step`."""
        self.position = 0
        """16 kHz samples of the ring transcribed so far."""
        self._context: list = []

    def warm_up(self) -> None:
        """Run Whisper and the text encoder once (first runs are slow)."""
        self.stt.warm_up()
        self.text.encode_words(["hello"])

    def pending(self, ring: Ring) -> int:
        """Samples of ``ring`` not transcribed yet."""
        return ring.written - self.position

    def step(self, ring: Ring, final: bool = False) -> WordBatch | None:
        """Transcribe the samples that arrived; the words it committed (None: none). With
        ``final`` (the source has ended) the last hypothesis is committed whole."""
        n = ring.written
        chunk = ring.read_mono(self.position, n)
        self.position = n
        return self.step_audio(chunk, final)

    def step_audio(self, chunk: np.ndarray, final: bool = False) -> WordBatch | None:
        """:meth:`step` on float32 ``(n,)`` 16 kHz samples that follow the ones seen so far."""
        t = time.perf_counter()
        words = self.stt.step(chunk).words
        if final:
            words += self.stt.finish()
        batch = self._features(words) if words else None
        self.busy_s += time.perf_counter() - t
        return batch

    def _features(self, words: list) -> WordBatch:
        texts = [w.text for w in self._context + words]
        feats = prefix_word_features(self.text, texts, self.word_context,
                                     first=len(self._context))
        centres = np.array([(w.start + w.end) / 2 for w in words], np.float32)
        self._context = (self._context + words)[-self.word_context:]
        self.tail = " ".join(w.text for w in self.stt.committed)[-self.tail_chars:]
        return WordBatch(feats, centres)
