"""The phone oracles of benchmarks/lookahead_floor.py see no further than the lookahead."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from train.corpus import face

spec = importlib.util.spec_from_file_location(
    "lookahead_floor", Path(__file__).parents[1] / "benchmarks" / "lookahead_floor.py")
floor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(floor)

PHONES = [("sil", 0.0, 0.2), ("m", 0.2, 0.3), ("uw", 0.3, 0.5), ("p", 0.5, 0.6), ("sil", 0.6, 1.0)]


def utterance(phones):
    t = np.arange(60) / 60
    prom = np.array([0, 0, 0.7, 0, 0], np.float32)
    return {"phones": phones, "prom": prom, "jaw": 1.0, "t": t,
            "lips": face.lower_face(phones, prom, t, 1.0)}


def test_truncated_oracle_is_exact_with_the_whole_clip_ahead_and_worse_with_none():
    u = utterance(PHONES)
    assert floor.mle(floor.truncated(u, 1.0), u["lips"]) == 0.0
    assert floor.mle(floor.truncated(u, 0.0), u["lips"]) > 1e-4


@pytest.mark.parametrize("lookahead", [0.0, 0.04, 0.1])
def test_oracles_do_not_see_phones_beyond_the_lookahead(lookahead):
    a, b = utterance(PHONES), utterance(PHONES[:3] + [("aa", 0.5, 0.6)] + PHONES[4:])
    index = {p: i for i, p in enumerate(sorted({"sil", "m", "uw", "p", "aa"}))}
    seen = a["t"] + lookahead < 0.5  # frames whose horizon ends before the changed phone
    assert np.array_equal(floor.truncated(a, lookahead)[seen], floor.truncated(b, lookahead)[seen])
    assert np.array_equal(floor.timeline(a, lookahead, index)[seen],
                          floor.timeline(b, lookahead, index)[seen])
    assert not np.array_equal(floor.timeline(a, lookahead, index),
                              floor.timeline(b, lookahead, index))
