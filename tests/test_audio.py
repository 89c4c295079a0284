"""load_audio and resample on real speech, other formats, and every kind of bad input."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED
from medtalk_core.audio import load_audio, resample
from medtalk_core.errors import AudioError

ENGLISH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # 16 kHz, 10.8 s, Harvard sentences
MANDARIN = sorted((SHARED / "data" / "real").glob("*.wav"))  # 48 kHz, mono


@pytest.fixture(scope="module")
def speech():
    return load_audio(ENGLISH)


def test_english_16k(speech):
    assert speech.dtype == np.float32 and speech.shape == (172800,)
    assert np.isfinite(speech).all() and 0.01 < np.abs(speech).max() <= 1.0


@pytest.mark.parametrize("path", MANDARIN[:2], ids=lambda p: p.name)
def test_mandarin_48k_resampled(path):
    x = load_audio(path)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - sf.info(path).frames / 3) <= 1
    assert np.isfinite(x).all() and np.abs(x).max() > 0.01


def test_resample_keeps_frequency():
    t = np.arange(48000) / 48000
    y = resample(np.sin(2 * np.pi * 1000 * t), 48000, 16000)
    assert y.dtype == np.float32 and y.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over 1 s


def test_stereo_is_mixed_down(tmp_path, speech):
    x = speech[:16000]
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([x, 0.5 * x], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), 0.75 * x, atol=1e-6)


def test_flac_round_trip_and_rate(tmp_path, speech):
    path = tmp_path / "clip.flac"
    sf.write(path, speech[:32000], 16000)
    np.testing.assert_allclose(load_audio(path), speech[:32000], atol=1e-4)
    sf.write(path, resample(speech[:32000], 16000, 44100), 44100)
    assert abs(len(load_audio(path)) - 32000) <= 1


def test_ogg_round_trip(tmp_path, speech):
    path = tmp_path / "clip.ogg"
    sf.write(path, speech[:32000], 16000)
    y = load_audio(path)
    assert abs(len(y) - 32000) <= 1
    n = min(len(y), 32000)
    assert np.corrcoef(y[:n], speech[:n])[0, 1] > 0.9  # lossy codec


def test_silence_and_short_clip_are_valid(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, np.zeros(9600, np.float32), 48000)  # 0.2 s of silence
    x = load_audio(path)
    assert x.shape == (3200,) and not x.any()


def _wav_bytes(tmp_path) -> bytes:
    path = tmp_path / "good.wav"
    sf.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, 16000), 16000, subtype="PCM_16")
    return path.read_bytes()


def _bad_inputs(tmp_path):
    good = _wav_bytes(tmp_path)
    files = {
        "empty.wav": b"",
        "random.wav": np.random.default_rng(1).bytes(4000),
        "text.wav": b"this is not audio\n" * 50,
        "header_cut.wav": good[:30],
        "data_cut.wav": good[: len(good) // 2],
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    sf.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2] * 100, np.float32), 16000, subtype="FLOAT")
    sf.write(tmp_path / "inf.wav", np.array([0.1, np.inf] * 100, np.float32), 16000, subtype="FLOAT")
    sf.write(tmp_path / "good.flac", np.random.default_rng(2).uniform(-0.5, 0.5, 16000), 16000)
    flac = (tmp_path / "good.flac").read_bytes()
    (tmp_path / "flac_cut.flac").write_bytes(flac[: len(flac) // 2])
    return {
        "missing": (tmp_path / "missing.wav", "not found"),
        "folder": (tmp_path, "folder"),
        "empty file": (tmp_path / "empty.wav", "empty"),
        "random bytes": (tmp_path / "random.wav", "not an audio file"),
        "text": (tmp_path / "text.wav", "not an audio file"),
        "truncated header": (tmp_path / "header_cut.wav", "corrupt or truncated header"),
        "truncated data": (tmp_path / "data_cut.wav", "truncated"),
        "truncated flac": (tmp_path / "flac_cut.flac", "truncated"),
        "0 samples": (tmp_path / "zero.wav", "empty"),
        "NaN": (tmp_path / "nan.wav", "NaN"),
        "inf": (tmp_path / "inf.wav", "infinite"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "folder", "empty file", "random bytes", "text", "truncated header", "truncated data",
     "truncated flac", "0 samples", "NaN", "inf"],
)
def test_bad_input_raises_one_line(tmp_path, case):
    path, words = _bad_inputs(tmp_path)[case]
    with pytest.raises(AudioError) as err:
        load_audio(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and words in message
