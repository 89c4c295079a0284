"""Live transcript: faster-whisper on a rolling audio buffer, words committed by LocalAgreement-2.

Every ``step_s`` of new audio the buffer (at most ``buffer_s``, starting at the end of a committed
word) is transcribed with word times. A word is committed once two consecutive transcriptions
agree on it and on every word before it (LocalAgreement-2: the longest common prefix of the two
latest hypotheses, after the committed words; Machacek et al. 2023, "Turning Whisper into
Real-Time Transcription System"). Committed words never change. The committed words that have
left the buffer are the decoder's prompt, so the next transcription continues them; the buffer is
cut at the end of a committed sentence once it is longer than half of ``buffer_s``.

Voice-activity gating (Silero VAD, bundled with faster-whisper, on the new audio and the
``VAD_CONTEXT_S`` before it, never on the whole buffer): a step whose new audio holds no speech
does not run Whisper. It ends the utterance: the latest hypothesis (whose audio ended in silence)
is committed whole and the buffer dropped to its last second, so silence for minutes costs only
the VAD and the window Whisper reads is the current utterance, at most ``buffer_s``. At the end
of the stream the last hypothesis is committed whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from medtalk_core.asr import Transcriber, Word

SAMPLE_RATE = 16000
OVERLAP_S = 0.5
"""s before the end of the last committed word from which a new transcription's words are
compared with the committed tail (word times move a little between transcriptions)."""
VAD_CONTEXT_S = 0.5
"""s of audio before a step's new samples that its VAD also reads (speech cut by the step)."""
KEEP_WORDS = 100
"""Committed words kept (the prompt and the repeat check use the last few)."""
_NORM = re.compile(r"[^\w']+")


def _norm(text: str) -> str:
    return _NORM.sub("", text.lower())


@dataclass
class StepResult:
    """What one step did: ``words`` newly committed (times in s of stream audio), ``ran`` True if
    Whisper ran (False: no speech in the buffer)."""

    words: list[Word]
    ran: bool


class StreamingTranscriber:
    """Incremental transcript of a growing 16 kHz stream.

    Args:
        transcriber: the loaded faster-whisper model (:class:`medtalk_core.asr.Transcriber`).
        buffer_s: s of audio at most in the buffer (the utterance window Whisper reads).
        beam_size: beam search width (1 = greedy, fastest).
        vad_threshold: Silero speech probability above which a frame is speech.
    """

    def __init__(self, transcriber: Transcriber, buffer_s: float = 12.0, beam_size: int = 1,
                 vad_threshold: float = 0.5):
        from faster_whisper.vad import VadOptions

        self.model, self.language = transcriber.model, transcriber.language
        self.buffer_s, self.beam_size = buffer_s, beam_size
        self.vad = VadOptions(threshold=vad_threshold, min_silence_duration_ms=300,
                              speech_pad_ms=100)
        self.buffer = np.zeros(0, np.float32)
        self.start_s = 0.0          # stream time of buffer[0]
        self.committed: list[Word] = []
        self._hypothesis: list[Word] = []

    def warm_up(self) -> None:
        """Transcribe 1 s of faint noise once (the first run is slow); the state is unchanged."""
        noise = np.random.default_rng(0).normal(0, 0.01, SAMPLE_RATE).astype(np.float32)
        list(self.model.transcribe(noise, language=self.language, beam_size=1,
                                   without_timestamps=True)[0])

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.buffer) / SAMPLE_RATE

    def step(self, audio: np.ndarray) -> StepResult:
        """Append float32 ``(n,)`` new samples and transcribe; returns newly committed words
        (without speech in the new samples: the rest of the utterance, Whisper not run)."""
        audio = np.asarray(audio, np.float32)
        self.buffer = np.concatenate([self.buffer, audio])
        if not self._has_speech(len(audio)):
            new, self._hypothesis = self._hypothesis, []  # the utterance has ended
            self.committed += new
            keep = int(1.0 * SAMPLE_RATE)  # silence: keep 1 s of context only
            if len(self.buffer) > keep:
                self._trim(self.end_s - keep / SAMPLE_RATE)
            del self.committed[:-KEEP_WORDS]
            return StepResult(new, False)
        words = self._transcribe()
        agreed = 0
        while (agreed < min(len(words), len(self._hypothesis))
               and _norm(words[agreed].text) == _norm(self._hypothesis[agreed].text)):
            agreed += 1
        new = words[:agreed]
        self._hypothesis = words[agreed:]
        self.committed += new
        self._limit_buffer()
        return StepResult(new, True)

    def finish(self) -> list[Word]:
        """End of the stream: commit the latest hypothesis (transcribing the rest first)."""
        new = self._transcribe() if self._has_speech(len(self.buffer)) else []
        self.committed += new
        self._hypothesis = []
        return new

    def _has_speech(self, new: int) -> bool:
        """Speech in the ``new`` last samples of the buffer or the ``VAD_CONTEXT_S`` before."""
        from faster_whisper.vad import get_speech_timestamps

        tail = self.buffer[-(new + int(VAD_CONTEXT_S * SAMPLE_RATE)):]
        if len(tail) < SAMPLE_RATE // 10:
            return False
        return bool(get_speech_timestamps(tail, self.vad))

    def _transcribe(self) -> list[Word]:
        """Words of the buffer after the last committed one, times in stream seconds."""
        before = [w.text for w in self.committed[-30:] if w.end <= self.start_s + 0.01]
        prompt = " ".join(before) or None
        segments, _ = self.model.transcribe(
            self.buffer, language=self.language, beam_size=self.beam_size,
            word_timestamps=True, vad_filter=False, condition_on_previous_text=False,
            temperature=0.0, initial_prompt=prompt)
        last = self.committed[-1].end if self.committed else -1.0
        words = []
        for s in segments:
            for w in s.words or []:
                text, start = w.word.strip(), self.start_s + float(w.start)
                if text and start > last - OVERLAP_S:
                    words.append(Word(text, start, self.start_s + float(w.end),
                                      float(w.probability)))
        return self._drop_repeat(words)

    def _drop_repeat(self, words: list[Word]) -> list[Word]:
        """Drop a repeat of the committed tail at the start of a new transcription."""
        tail = [_norm(w.text) for w in self.committed[-5:]]
        for n in range(min(len(tail), len(words)), 0, -1):
            if tail[-n:] == [_norm(w.text) for w in words[:n]]:
                return words[n:]
        return words

    def _limit_buffer(self) -> None:
        """Keep the buffer short: past ``buffer_s / 2`` cut it at the end of the last committed
        sentence; past ``buffer_s`` at the last committed word (or, with none in the buffer, keep
        the newest ``buffer_s / 2``)."""
        length = len(self.buffer) / SAMPLE_RATE
        inside = [w for w in self.committed if w.end > self.start_s]
        ends = [w.end for w in inside if w.text[-1:] in ".?!"]
        if length > self.buffer_s / 2 and ends:
            self._trim(ends[-1])
        elif length > self.buffer_s:
            if inside:
                self._trim(inside[-1].end)
            else:
                self._trim(self.end_s - self.buffer_s / 2)
                self._hypothesis = []
        del self.committed[:-KEEP_WORDS]

    def _trim(self, new_start_s: float) -> None:
        n = round((new_start_s - self.start_s) * SAMPLE_RATE)
        n = max(0, min(n, len(self.buffer)))
        self.buffer = self.buffer[n:]
        self.start_s += n / SAMPLE_RATE
