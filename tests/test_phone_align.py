"""The pocketsphinx aligner on a real codec2 sentence, and the English check's scoring."""

import json

import numpy as np
import pytest
from conftest import CODEC2_WAV, run_medtalk

from medtalk_core.audio import load_audio
from medtalk_core.errors import MedtalkError
from medtalk_core.phone_align import align, normalise
from train.english_check import check, frame_phones

SENTENCE = CODEC2_WAV / "hts1a.wav"  # "The navy attacked the big task force."


@pytest.fixture(scope="module")
def sentence():
    if not SENTENCE.is_file():
        pytest.skip("codec2-examples is not installed")
    return load_audio(SENTENCE)


def test_align_gives_the_phones_in_order_within_the_clip(sentence):
    phones = align(sentence, "The navy attacked the big task force.")
    speech = [p.name for p in phones if p.name != "SIL"]
    assert speech[:6] == ["DH", "AH", "N", "EY", "V", "IY"]
    assert speech[-4:] == ["F", "AO", "R", "S"]
    assert phones[0].start == 0 and phones[-1].end <= len(sentence) / 16000
    assert all(a.end <= b.start + 1e-9 and a.start < a.end for a, b in zip(phones, phones[1:]))
    b = next(p for p in phones if p.name == "B")  # "big" lies inside the clip, after "the navy"
    assert 0.5 < b.start < 2.5


def test_align_rejects_unknown_words_and_empty_text(sentence):
    with pytest.raises(MedtalkError, match="not in the CMU dictionary: qzxv"):
        align(sentence, "the qzxv")
    with pytest.raises(MedtalkError, match="no words"):
        align(sentence, " ... ")
    assert normalise("Don't  cross-town, BUS!") == "don't cross town bus"


def test_check_scores_phone_classes():
    labels = np.array(["SIL", "P", "AA", "M", "UW", "S", "AA", ""], dtype=object)
    lips = np.array([9, 1, 0, 1, 0, 0, 0, 9], float)
    jaw = np.array([0, 0, 1, 0, 0.2, 0.3, 1, 0], float)
    scores = {"closure_lips": lips, "closure_jaw": -jaw, "rounding": np.array([0, 0, 0, 0, 1, 0, 0, 0.]),
              "opening": jaw, "envelope": jaw}
    got = check(scores, labels)
    assert got["closure_lips"].model == 1.0 and got["closure_lips"].positives == 2
    assert got["closure_lips"].negatives == 4  # silence and frames with no phone are left out
    assert got["rounding"].model == 1.0 and got["opening"].model == 1.0
    assert got["opening"].envelope == 1.0 and got["closure_jaw"].envelope == 1.0


def test_frame_phones_labels_frames_by_time():
    from medtalk_core.phone_align import Phone

    got = frame_phones([Phone("SIL", 0, 0.02), Phone("P", 0.02, 0.05)], 4)
    assert list(got) == ["SIL", "SIL", "P", ""]


def test_eval_english_check_on_one_sentence(sentence, tmp_path):
    folder = tmp_path / "codec2"
    folder.mkdir()
    (folder / "hts1a.wav").write_bytes(SENTENCE.read_bytes())
    out = tmp_path / "e.json"
    r = run_medtalk("eval", "--english-check", str(folder), "--json", str(out))
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())["sentences"]
    assert set(got) == {"hts1a", "pooled"}
    assert 0 <= got["hts1a"]["closure_lips"]["model"] <= 1
    assert got["hts1a"]["rounding"]["model"] is None  # no rounded phone in this sentence
    r = run_medtalk("eval", "--english-check", str(tmp_path / "none"))
    assert r.returncode == 2 and "not a folder" in r.stderr
