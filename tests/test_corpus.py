"""The synthetic corpus generator: a tiny corpus (2 sentences, eSpeak NG + Piper + Flite voices)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import soundfile as sf

from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.rigio import read_rig
from train.corpus import synth
from train.corpus.align import load_alignment, warp_rig

VOICES = ["espeak-us-m3", "piper-joe", "flite-slt"]
JAW = rig.INDEX["CTRL_C_jaw-translateY"]
LIPS = [rig.INDEX[f"CTRL_{s}_mouth_lipsTogether{u}-translateY"] for s in "LR" for u in "UD"]
PULL = [rig.INDEX[f"CTRL_{s}_mouth_cornerPull-translateY"] for s in "LR"]
OPEN_VOWELS = {"aa", "ae", "ao", "aw", "ay", "ah"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    rows = synth.synthesize(out, 2, VOICES, heldout="flite", val_fraction=0.5, seed=0,
                            jobs=1, progress=False)
    return out, rows


def _load(out, uid):
    return read_rig(out / "rig" / f"{uid}.txt"), load_alignment(out / "align" / f"{uid}.json")


def _frame(t: float, n: int) -> int:
    return min(int(t * rig.FPS), n - 1)


def test_layout_and_manifest(corpus):
    out, rows = corpus
    with open(out / "manifest.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == synth.COLUMNS
        manifest = list(reader)
    assert len(manifest) == 2 * len(VOICES) * 7
    assert {r["emotion"] for r in manifest} == set(rig.EMOTIONS)
    assert {r["split"] for r in manifest if r["family"] == "flite"} == {"test"}
    assert {r["split"] for r in manifest if r["family"] != "flite"} == {"train", "val"}
    for r in manifest:
        audio, sr = sf.read(out / "wav" / f"{r['id']}.wav", dtype="float32")
        assert sr == 16000 and audio.ndim == 1
        assert sf.info(out / "wav" / f"{r['id']}.wav").subtype == "PCM_16"
        assert abs(len(audio) / sr - float(r["duration_s"])) < 1e-4
        frames, al = _load(out, r["id"])
        assert len(frames) == math.floor(float(r["duration_s"]) * 60) == len(audio) * 60 // sr
        assert frames.shape[1] == 174 and np.isfinite(frames).all()
        assert (frames >= rig.RANGES[:, 0] - 1e-6).all() and (frames <= rig.RANGES[:, 1] + 1e-6).all()
        assert al["words"] and al["phones"][0]["phone"] == "sil"


def test_jaw_closed_in_silence_and_open_on_vowels(corpus):
    out, rows = corpus
    for r in rows:
        frames, al = _load(out, r["id"])
        ph = al["phones"]
        lead = frames[: int(ph[0]["end"] * rig.FPS * 0.5), JAW]
        tail = frames[_frame(ph[-1]["start"] + 0.5 * (ph[-1]["end"] - ph[-1]["start"]), len(frames)):, JAW]
        assert lead.max() < 0.08 and tail.max() < 0.08, r["id"]
        vowels = [frames[_frame((p["start"] + p["end"]) / 2, len(frames)), JAW]
                  for p in ph if p["phone"] in OPEN_VOWELS and p["end"] - p["start"] > 0.05]
        assert vowels and np.mean(vowels) > 0.15, r["id"]
        assert 0.2 < frames[:, JAW].max() <= 0.6


def test_lips_together_on_bilabials(corpus):
    out, rows = corpus
    checked = 0
    for r in rows:
        frames, al = _load(out, r["id"])
        for p in al["phones"]:
            if p["phone"] in ("p", "b", "m"):
                f = _frame((p["start"] + p["end"]) / 2, len(frames))
                assert frames[f, LIPS].mean() > 0.4, (r["id"], p)
                checked += 1
    assert checked > 0


def test_emotions_share_phones_and_warp_aligns(corpus):
    out, rows = corpus
    for voice in VOICES:
        for s in ("s000", "s001"):
            als = {e: _load(out, f"{voice}_{s}_{e}")[1] for e in rig.EMOTIONS}
            seqs = {tuple(p["phone"] for p in a["phones"]) for a in als.values()}
            assert len(seqs) == 1
    src, src_al = _load(out, "piper-joe_s000_sad")
    dst, dst_al = _load(out, "piper-joe_s000_angry")
    warped = warp_rig(src, src_al["phones"], dst_al["phones"], len(dst))
    assert warped.shape == dst.shape and warped.dtype == np.float32
    # jaw of the warped sad clip follows the angry clip's timing far better than unwarped
    n = min(len(src), len(dst))
    err_warp = np.abs(warped[:, JAW] / warped[:, JAW].max() - dst[:, JAW] / dst[:, JAW].max()).mean()
    err_raw = np.abs(src[:n, JAW] / src[:, JAW].max() - dst[:n, JAW] / dst[:, JAW].max()).mean()
    assert err_warp < 0.6 * err_raw
    for p_src, p_dst in zip(src_al["phones"], dst_al["phones"]):
        if p_src["phone"] in ("p", "b", "m"):
            f = _frame((p_dst["start"] + p_dst["end"]) / 2, len(dst))
            assert warped[f, LIPS].mean() > 0.4
    with pytest.raises(ValueError):
        warp_rig(src, src_al["phones"][:-2] + src_al["phones"][-1:], dst_al["phones"], len(dst))


def test_emotion_prototypes(corpus):
    out, rows = corpus
    for voice in VOICES:
        for s in ("s000", "s001"):
            clip = {e: _load(out, f"{voice}_{s}_{e}")[0] for e in ("happy", "sad", "angry", "neutral")}
            assert clip["happy"][:, PULL].mean() > clip["sad"][:, PULL].mean() + 0.15
            assert rig.intensity(clip["angry"]).mean() > rig.intensity(clip["neutral"]).mean() + 0.1


def test_reproducible(tmp_path, corpus):
    """Same seed, same corpus up to the engines' own randomness (Flite's excitation noise,
    eSpeak NG state carried between calls): same lengths, phones and blinks, near-equal rigs."""
    out, _ = corpus
    synth.synthesize(tmp_path, 1, ["espeak-us-m3", "flite-slt"], val_fraction=0.0, seed=0,
                     jobs=1, progress=False)
    for uid in ("flite-slt_s000_fear", "espeak-us-m3_s000_fear"):
        x, ax = _load(tmp_path, uid)
        y, ay = _load(out, uid)
        assert x.shape == y.shape and np.abs(x - y).mean() < 0.01
        assert [p["phone"] for p in ax["phones"]] == [p["phone"] for p in ay["phones"]]
        blink = rig.INDEX["CTRL_L_eye_blink-translateY"]
        assert np.array_equal(np.argmax(x[:, blink]), np.argmax(y[:, blink]))


def test_bad_input(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(MedtalkError, match="not empty"):
        synth.synthesize(tmp_path, 1, ["espeak-us-m3"], jobs=1, progress=False)
    with pytest.raises(MedtalkError, match="unknown voice"):
        synth.synthesize(tmp_path / "new", 1, ["nobody"], jobs=1, progress=False)
    with pytest.raises(MedtalkError, match="sentences"):
        synth.synthesize(tmp_path / "new", 0, ["espeak-us-m3"], jobs=1, progress=False)


def test_missing_engine_names_package(monkeypatch):
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    with pytest.raises(MedtalkError, match="apt-get install sox"):
        synth.check_engines({"piper"})
