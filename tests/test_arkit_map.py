"""The face-board <-> ARKit 52 mapping (medtalk_core/arkit_map.py): every name accounted for,
values in [0, 1] and finite, the round trip on corpus frames, and mapping files."""

import numpy as np
import pytest

from medtalk_core import rig
from medtalk_core.arkit import ARKIT_NAMES
from medtalk_core.arkit_map import DEFAULT, DEFAULT_TERMS, load_mapping
from medtalk_core.errors import MedtalkError

GROUPS = {
    "jaw": ["CTRL_C_jaw-translateY"],
    "lips": [n for n in rig.CONTROL_NAMES if "_mouth_" in n and n not in DEFAULT.unmapped_controls],
    "brows": [n for n in rig.CONTROL_NAMES if "_brow_" in n and n not in DEFAULT.unmapped_controls],
}


def corpus_frames() -> np.ndarray:
    """Frames of the training corpus's rule-based face (train/corpus/face.py), every emotion,
    over a sentence with closures, rounding, spreading and open vowels."""
    from train.corpus.face import make_rig

    phones, t = [], 0.0
    for p in "sil HH AH L OW W ER L D sil M AA P IY UW F AE sil".split():
        d = 0.25 if p == "sil" else 0.09
        phones.append((p, t, t + d))
        t += d
    words = [("hello", 0.25, 0.6), ("world", 0.6, 0.9)]
    audio = np.random.default_rng(0).normal(0, 0.1, int(t * 16000)).astype(np.float32)
    return np.concatenate([make_rig(audio, 16000, phones, words, None, e, np.random.default_rng(i))
                           for i, e in enumerate(rig.EMOTIONS)])


def group_errors(frames: np.ndarray) -> dict[str, tuple[float, float]]:
    back = DEFAULT.to_rig(DEFAULT.to_arkit(frames))
    err = np.abs(back - frames)
    return {g: (float(err[:, [rig.INDEX[n] for n in names]].mean()),
                float(err[:, [rig.INDEX[n] for n in names]].max())) for g, names in GROUPS.items()}


def test_every_arkit_shape_and_control_is_accounted_for():
    assert tuple(DEFAULT_TERMS) == ARKIT_NAMES
    assert DEFAULT.unmapped_shapes == ()
    used = set(rig.CONTROL_NAMES) - set(DEFAULT.unmapped_controls)
    assert {c for terms in DEFAULT_TERMS.values() for c, _ in terms} == used
    assert len(used) + len(DEFAULT.unmapped_controls) == rig.NUM_CONTROLS
    # the groups the round trip keeps are all there
    assert len(GROUPS["lips"]) >= 30 and len(GROUPS["brows"]) == 6


def test_round_trip_keeps_jaw_lips_and_brows_on_corpus_frames():
    frames = corpus_frames()
    assert frames.shape[0] > 800 and np.ptp(frames[:, rig.INDEX["CTRL_C_jaw-translateY"]]) > 0.15
    for group, (mean, worst) in group_errors(frames).items():
        assert worst < 1e-5, (group, mean, worst)
    # independent noise on every control (L differs from R, upper lip from lower): averaged
    # counterparts lose the differences, the jaw none (figures in docs/arkit.md)
    noisy = rig.clip_to_range(frames + np.random.default_rng(1).normal(0, 0.05, frames.shape))
    errors = group_errors(noisy)
    assert errors["jaw"][1] < 1e-5
    assert errors["lips"][0] < 0.02 and errors["brows"][0] < 0.01


def test_arkit_values_are_in_unit_range_and_finite_whatever_the_frame():
    rng = np.random.default_rng(2)
    frames = rng.uniform(-3, 3, (500, rig.NUM_CONTROLS)).astype(np.float32)
    frames[::7, ::5] = np.nan
    frames[1::7, ::3] = np.inf
    shapes = DEFAULT.to_arkit(frames)
    assert shapes.shape == (500, 52) and np.isfinite(shapes).all()
    assert shapes.min() >= 0 and shapes.max() <= 1 and shapes.max() == 1
    back = DEFAULT.to_rig(np.where(rng.random(shapes.shape) < 0.1, np.nan, shapes * 3))
    assert np.isfinite(back).all()
    assert (back >= rig.RANGES[:, 0]).all() and (back <= rig.RANGES[:, 1]).all()


def test_two_directional_sliders_split_into_their_blendshapes():
    frame = np.zeros(rig.NUM_CONTROLS, np.float32)
    frame[rig.INDEX["CTRL_L_eye_blink-translateY"]] = -0.6  # opened wide
    frame[rig.INDEX["CTRL_R_eye-translateX"]] = 0.4  # right eye to the character's left: in
    shapes = dict(zip(ARKIT_NAMES, DEFAULT.to_arkit(frame)))
    assert shapes["eyeWideLeft"] == pytest.approx(0.6) and shapes["eyeBlinkLeft"] == 0
    assert shapes["eyeLookInRight"] == pytest.approx(0.4) and shapes["eyeLookOutRight"] == 0
    np.testing.assert_allclose(DEFAULT.to_rig(DEFAULT.to_arkit(frame)), frame, atol=1e-6)


def test_a_mapping_file_replaces_the_names_it_gives(tmp_path):
    toml = tmp_path / "map.toml"
    toml.write_text('[JawOpen]\n"CTRL_C_jaw-translateY" = 0.5\n[tongueOut]\n')
    csv = tmp_path / "map.csv"
    csv.write_text("arkit,control,weight\njawOpen,CTRL_C_jaw-translateY,0.5\ntongueOut,,\n")
    frame = np.zeros(rig.NUM_CONTROLS, np.float32)
    frame[rig.INDEX["CTRL_C_jaw-translateY"]] = 0.8
    frame[rig.INDEX["CTRL_C_tongue_inOut-translateY"]] = 0.8
    for path in (toml, csv):
        mapping = load_mapping(path)
        shapes = dict(zip(ARKIT_NAMES, mapping.to_arkit(frame)))
        assert shapes["jawOpen"] == pytest.approx(0.4) and shapes["tongueOut"] == 0
        assert mapping.unmapped_shapes == ("tongueOut",)
        np.testing.assert_array_equal(mapping.weights[1:14], DEFAULT.weights[1:14])
        back = mapping.to_rig(mapping.to_arkit(frame))
        assert back[rig.INDEX["CTRL_C_jaw-translateY"]] == pytest.approx(0.8)
    assert load_mapping("") is DEFAULT


@pytest.mark.parametrize("name, text, message", [
    ("m.toml", '[jawOpn]\n"CTRL_C_jaw-translateY" = 1\n', "'jawOpn' is not an ARKit blendshape"),
    ("m.toml", '[jawOpen]\n"CTRL_C_jaw" = 1\n', "unknown face-board control 'CTRL_C_jaw'"),
    ("m.toml", '[jawOpen]\n"CTRL_C_jaw-translateY" = nan\n', "finite non-zero number"),
    ("m.toml", '[jawOpen]\n"CTRL_C_jaw-translateY" = 0\n', "finite non-zero number"),
    ("m.toml", '[jawOpen]\n"CTRL_C_jaw-translateY" = "x"\n', "is not a number"),
    ("m.toml", "jawOpen = 1\n", "must be a table"),
    ("m.toml", "[jawOpen\n", "not valid TOML"),
    ("m.csv", "shape,control,weight\n", "header must be arkit,control,weight"),
    ("m.csv", "arkit,control,weight\njawOpen,CTRL_C_jaw-translateY\n", "row 2 has 2 fields"),
    ("m.json", "{}", "expected a .toml or .csv file"),
])
def test_a_bad_mapping_file_is_a_one_line_error(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MedtalkError, match=message) as e:
        load_mapping(path)
    assert "\n" not in str(e.value)


def test_a_missing_mapping_file_is_a_one_line_error(tmp_path):
    with pytest.raises(MedtalkError, match="ARKit mapping not found"):
        load_mapping(tmp_path / "none.toml")


def test_docs_table_is_the_default_mapping():
    import re

    from conftest import ROOT

    doc = (ROOT / "docs" / "arkit.md").read_text()
    section = doc[doc.index("## Face board → ARKit 52 mapping"):doc.index("### Round trip")]
    rows = {m[0]: tuple((c, float(w)) for c, w in re.findall(r"`([^`]+)` × ([+-][\d.]+)", m[1]))
            for m in re.findall(r"^\| `(\w+)` \| [^|]+ \| (.+) \|$", section, re.M)}
    assert rows == {k: tuple((c, pytest.approx(w)) for c, w in v) for k, v in DEFAULT_TERMS.items()}
    listed = section[section.index("Face-board controls that no blendshape names"):]
    assert re.findall(r"`(CTRL_[^`]+)`", listed) == list(DEFAULT.unmapped_controls)
