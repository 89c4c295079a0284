"""Live transcript (bridge/transcribe.py): LocalAgreement-2 over faster-whisper (tiny.en) on real
English speech fed second by second; silence does not run Whisper."""

import itertools

import numpy as np
import soundfile as sf

from bridge.transcribe import StreamingTranscriber, _norm
from medtalk_core.asr import Transcriber

SPEECH = "/usr/share/codec2/raw/speech_orig_16k.wav"


def test_words_are_committed_once_in_order_about_a_second_after_they_are_spoken():
    x, sr = sf.read(SPEECH, dtype="float32")
    x = np.concatenate([x[: 6 * sr], np.zeros(20 * sr, np.float32)])  # then 20 s of silence
    st = StreamingTranscriber(Transcriber("en"), buffer_s=12.0)
    words, delays, ran = [], [], []
    for pos in range(0, len(x), sr):
        r = st.step(x[pos:pos + sr])
        ran.append(r.ran)
        words += r.words
        delays += [(pos + sr) / sr - (w.start + w.end) / 2 for w in r.words]
    words += st.finish()
    text = [_norm(w.text) for w in words]
    # "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
    for a, b in (("smooth", "planks"), ("planks", "sheet"), ("sheet", "blue"), ("blue", "background")):
        assert text.index(a) < text.index(b)
    assert len(text) <= 17  # no word committed twice
    assert all(w.start <= v.start for w, v in itertools.pairwise(words))
    assert 0.3 < np.median(delays) < 3.0
    assert not any(ran[14:])  # after 8 s of silence: VAD only, Whisper does not run
    assert len(st.buffer) <= sr
