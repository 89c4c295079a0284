"""Feature caches: a corpus view copies the features other caches already hold."""

import csv
import json

import numpy as np

from medtalk_core import rigio
from medtalk_core.config import load_config
from train.dataset import build_cache, cache_file, cached_audio, load_corpus

FIELDS = ("id", "emotion", "transcript", "voice", "family", "split", "sentence", "duration_s")


def corpus(root, ids, frames=12):
    """A corpus folder with rig and alignment files (no audio: every feature is reused)."""
    for sub in ("rig", "align", "wav", "cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for uid in ids:
            w.writerow({"id": uid, "emotion": "happy", "transcript": "hello there", "voice": "v",
                        "family": "f", "split": "train", "sentence": "s0", "duration_s": 0.2})
            rigio.write_rig(root / "rig" / f"{uid}.txt", np.zeros((frames, 174), np.float32))
            words = [{"word": "hello", "start": 0.0, "end": 0.1},
                     {"word": "there", "start": 0.1, "end": 0.2}]
            (root / "align" / f"{uid}.json").write_text(json.dumps({"words": words,
                                                                    "phones": []}))


def test_view_copies_features_of_sibling_caches(tmp_path):
    cfg = load_config().features
    rng = np.random.default_rng(0)
    a, b = tmp_path / "a", tmp_path / "b"
    corpus(a, ["u1", "u2"])
    corpus(b, ["u2", "u3", "u1"])
    other = tmp_path / "other"
    corpus(other, ["u3"])
    feats = {uid: rng.normal(size=(12, 384)).astype(np.float16) for uid in ("u1", "u2", "u3")}
    for root, ids in ((a, ["u1", "u2"]), (other, ["u3"])):
        np.savez(cache_file(root, cfg), audio=np.concatenate([feats[i] for i in ids]),
                 frames=np.array([12] * len(ids)))
    path = build_cache(b, cfg, jobs=1, reuse=(cache_file(a, cfg),
                                              cache_file(other, cfg)))
    got = cached_audio(path)
    for uid in ("u1", "u2", "u3"):
        np.testing.assert_array_equal(got[uid], feats[uid])
    utts = load_corpus(b, cfg)
    assert [u.id for u in utts] == ["u2", "u3", "u1"] and utts[0].words.shape == (2, 384)
