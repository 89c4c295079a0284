"""Long recordings are transcribed in pieces cut at quiet moments, with word times on the
recording's own clock."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CODEC2_RAW

from medtalk_core import asr
from medtalk_core.asr import Transcriber, chunk_bounds


def test_cuts_fall_on_the_quietest_moment_before_each_mark():
    x = np.random.default_rng(0).standard_normal(16000 * 150).astype(np.float32)
    x[16000 * 55:16000 * 55 + 320] = 0.0
    x[16000 * 110 + 3200:16000 * 110 + 3520] = 0.0
    assert chunk_bounds(x) == [0, 16000 * 55, 16000 * 110 + 3200, len(x)]
    assert chunk_bounds(x[:16000 * 60]) == [0, 16000 * 60]
    loud = np.ones(16000 * 200, np.float32)
    b = chunk_bounds(loud)
    assert b[0] == 0 and b[-1] == len(loud) and max(np.diff(b)) <= 16000 * 60


def test_pieces_give_the_words_of_the_whole_on_one_clock(monkeypatch):
    if not CODEC2_RAW.is_file():
        pytest.skip("codec2-examples is not installed")
    from medtalk_core.audio import load_audio

    audio = load_audio(CODEC2_RAW)  # 10.8 s of real English
    t = Transcriber("en")
    whole = t.transcribe(audio)
    monkeypatch.setattr(asr, "CHUNK_S", 4.0)
    monkeypatch.setattr(asr, "SEARCH_S", 1.5)
    assert len(chunk_bounds(audio, asr.CHUNK_S, asr.SEARCH_S)) >= 4
    parts = t.transcribe(audio)
    starts = np.array([w.start for w in parts])
    assert (np.diff(starts) >= 0).all() and 0 <= starts[0] and starts[-1] < len(audio) / 16000
    norm = lambda ws: {w.text.lower().strip(".,?!") for w in ws}  # noqa: E731
    assert len(norm(parts) & norm(whole)) >= 0.7 * len(norm(whole))
