"""The multilingual corpus: sentences per language, strict phoneme mapping over every sentence,
the ``[corpus] languages`` key and ``--languages``, and a tiny two-language corpus."""

from __future__ import annotations

import csv
import math
import re

import pytest
from conftest import run_medtalk

from medtalk_core import config, rig
from medtalk_core.errors import MedtalkError
from medtalk_core.rigio import read_rig
from train.corpus import phonemes, scripts, sentences, synth, tts
from train.corpus.align import load_alignment

SCRIPT = {"zh": r"[\u4e00-\u9fff]", "ja": r"[\u3040-\u30ff]", "ko": r"[\uac00-\ud7a3]",
          "es": r"[a-zñáéíóú]", "pt": r"[a-zãõçáéíóúâêô]", "fr": r"[a-zàâçéèêëîïôùûœ]"}
"""A character every sentence of the language has (its own script)."""
JAW = rig.INDEX["CTRL_C_jaw-translateY"]
LIPS = [rig.INDEX[f"CTRL_{s}_mouth_lipsTogether{u}-translateY"] for s in "LR" for u in "UD"]


def test_every_language_has_sixty_sentences_in_its_script():
    assert sentences.LANGUAGES == config.CORPUS_LANGUAGES
    for lang, pattern in SCRIPT.items():
        texts = sentences.SENTENCES[lang]
        assert len(texts) >= 60 and len(set(texts)) == len(texts), lang
        for t in texts:
            assert re.search(pattern, t.lower()), (lang, t)
            assert not re.search(r"\d", t), (lang, t)
            if lang in ("zh", "ja", "ko"):
                assert not re.search(r"[A-Za-z]", t), (lang, t)


def _engine_voices(lang: str) -> list[str]:
    """The language's eSpeak NG voices without their variants (variants do not change phonemes)."""
    return sorted({v.engine_voice.split("+")[0] for v in tts.LANGUAGE_VOICES[lang]})


@pytest.mark.parametrize("lang", [lang for lang in sentences.LANGUAGES if lang != "en"])
def test_every_phoneme_of_every_sentence_maps_to_the_phone_set(lang):
    """Each sentence spoken by each of the language's eSpeak NG voices: every phoneme event has a
    phone (an unmapped one raises, naming it), the words are the text's own, and eSpeak NG never
    switches to English in the scripts it cannot read as written."""
    eng = tts.engine("espeak")
    for engine_voice in _engine_voices(lang):
        assert eng.lib.espeak_SetVoiceByName(engine_voice.encode()) == 0, engine_voice
        for text in sentences.SENTENCES[lang]:
            said, words = scripts.spoken(text, lang)
            if words is not None:
                assert "".join(words) in re.sub(r"[\s，、。！？]", "", text), text
            eng.synth(said.encode())
            phones = eng.phones(lang, 10.0)
            assert {p for p, _, _ in phones} <= phonemes.PHONES, text
            assert sum(p not in ("pau",) for p, _, _ in phones) >= len(said.split()), text
            if lang in ("zh", "ja", "ko"):
                switched = [e[4] for e in eng._events if e[4].startswith(b"(en")]
                assert not switched, (engine_voice, text)


def test_unknown_mnemonics_raise_naming_them():
    assert phonemes.from_espeak("iA", "zh") == ("y", "aa")
    assert phonemes.from_espeak("_|", "zh") == ()
    assert phonemes.from_espeak("_:", "fr") == ("pau",)
    assert phonemes.from_espeak("oU") == ("ow",)
    with pytest.raises(MedtalkError, match=r"'Q' of language 'zh'"):
        phonemes.from_espeak("Q", "zh")
    with pytest.raises(MedtalkError, match=r"'#x' of language 'en'"):
        phonemes.from_espeak("#x")
    with pytest.raises(MedtalkError, match="language 'xx'"):
        phonemes.from_espeak("a", "xx")


def test_every_language_holds_out_one_family():
    names = [v.name for vs in tts.LANGUAGE_VOICES.values() for v in vs]
    assert len(names) == len(set(names))
    for lang, voices in tts.LANGUAGE_VOICES.items():
        assert {v.language for v in voices} == {lang}
        held = synth.heldout_family(lang, "flite")
        families = {v.split_family for v in voices}
        assert held in families and len(families) >= 2, lang
        assert len({(v.engine_voice, v.rate, v.pitch) for v in voices}) == len(voices)


def test_languages_option_and_config_key(tmp_path):
    assert config.load_config().corpus.languages == ("en",)
    r = run_medtalk("synth", "--out", str(tmp_path / "x"), "--languages", "en,xx",
                    "--sentences", "1", "--jobs", "1")
    assert r.returncode == 2 and "unknown language 'xx'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_medtalk("synth", "--out", str(tmp_path / "x"), "--languages", "", "--jobs", "1")
    assert r.returncode == 2 and "unknown language ''" in r.stderr
    assert not (tmp_path / "x").exists()
    with pytest.raises(MedtalkError, match="speaks 'zh'"):
        synth.synthesize(tmp_path / "y", 1, ["espeak-zh-m1"], jobs=1, progress=False)


def test_tiny_two_language_corpus(tmp_path):
    cfg = tmp_path / "medtalk.toml"
    cfg.write_text('[corpus]\nlanguages = ["zh", "es"]\nval_fraction = 0.5\n')
    out = tmp_path / "corpus"
    voices = "espeak-zh-m1,espeak-zh-klatt2,espeak-es-m1,espeak-es-klatt2"
    r = run_medtalk("--config", str(cfg), "synth", "--out", str(out), "--sentences", "2",
                    "--voices", voices, "--jobs", "1", timeout=600)
    assert r.returncode == 0, r.stderr
    with open(out / "manifest.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == synth.COLUMNS
        rows = list(reader)
    assert len(rows) == 2 * 2 * 2 * len(rig.EMOTIONS)
    assert {r["language"] for r in rows} == {"zh", "es"}
    for lang in ("zh", "es"):
        mine = [r for r in rows if r["language"] == lang]
        assert {r["split"] for r in mine if r["family"] == "espeak-klatt"} == {"test"}
        assert {r["split"] for r in mine if r["family"] == "espeak"} == {"train", "val"}
        assert {r["transcript"] for r in mine} == set(sentences.SENTENCES[lang][:2])
    bilabials = 0
    for r in rows:
        al = load_alignment(out / "align" / f"{r['id']}.json")
        frames = read_rig(out / "rig" / f"{r['id']}.txt")
        assert len(frames) == math.floor(float(r["duration_s"]) * 60)
        assert {p["phone"] for p in al["phones"]} <= phonemes.PHONES
        words = [w["word"] for w in al["words"]]
        assert words and all(w in r["transcript"] for w in words), (r["id"], words)
        if r["language"] == "zh":
            assert "".join(words) == re.sub(r"[，、。！？]", "", r["transcript"])
        ph = al["phones"]
        mid = [min(int((p["start"] + p["end"]) / 2 * rig.FPS), len(frames) - 1) for p in ph]
        closed = [frames[f, LIPS].mean() for f, p in zip(mid, ph) if p["phone"] in ("p", "b", "m")]
        opened = [frames[f, JAW] for f, p in zip(mid, ph)
                  if p["phone"] in ("aa", "ae", "ao", "aw", "ay", "ah") and p["end"] - p["start"] > 0.02]
        assert min(closed, default=1.0) > 0.4, r["id"]
        assert opened and sum(opened) / len(opened) > 0.15, r["id"]
        bilabials += len(closed)
    assert bilabials > 0
