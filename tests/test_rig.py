import numpy as np
import pytest

from medtalk_core import rig, rigio

SHARED_RIG = "../shared/rig/metahuman_controls_174.txt"


def test_names_match_shared_column_order():
    from pathlib import Path

    p = Path(__file__).resolve().parents[1] / SHARED_RIG
    if not p.is_file():
        pytest.skip("shared/ not beside the checkout")
    assert rig.CONTROL_NAMES == tuple(p.read_text().split())


def test_sets_are_disjoint_where_the_paper_says():
    assert len(rig.CONTROL_NAMES) == 174
    assert not set(rig.S_LIP) & set(rig.S_UP)
    assert set(rig.S_UP) <= set(rig.S_EMO)
    assert rig.INDEX["CTRL_C_jaw-translateY"] in rig.S_LIP
    assert rig.INDEX["CTRL_L_brow_down-translateY"] in rig.S_UP
    assert rig.INDEX["CTRL_R_mouth_cornerPull-translateY"] in rig.S_EMO
    names = {rig.CONTROL_NAMES[i] for i in rig.S_INT}
    assert len(names) == 14 and "CTRL_L_eye_squintInner-translateY" in names


def test_intensity_is_a_tenth_of_abs_sum_over_s_int():
    r = np.zeros((2, 174), np.float32)
    r[0, rig.INDEX["CTRL_L_brow_down-translateY"]] = 0.5
    r[0, rig.INDEX["CTRL_R_eye_blink-translateY"]] = -0.3
    r[1, rig.INDEX["CTRL_C_jaw-translateY"]] = 1.0  # not an intensity control
    np.testing.assert_allclose(rig.intensity(r), [0.08, 0.0], atol=1e-7)
    with pytest.raises(ValueError):
        rig.intensity(np.zeros((3, 10)))


def test_ranges_hold_the_real_ground_truth_clip():
    from pathlib import Path

    p = Path(__file__).resolve().parents[1] / "../shared/data/real/emoface_validation/angry_gd04_001_021.txt"
    if not p.is_file():
        pytest.skip("shared/ not beside the checkout")
    gt = np.loadtxt(p, delimiter=",")
    assert ((gt >= rig.RANGES[:, 0] - 1e-3) & (gt <= rig.RANGES[:, 1] + 1e-3)).all()


def test_unknown_emotion_names_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        rig.emotion_id("bored")
    assert rig.emotion_id("happy") == 3


@pytest.mark.parametrize("ext", [".txt", ".csv", ".json"])
def test_rig_formats_round_trip(tmp_path, ext):
    x = np.random.default_rng(0).uniform(-1, 1, (7, 174)).astype(np.float32)
    path = tmp_path / f"clip{ext}"
    rigio.write_rig(path, x)
    np.testing.assert_allclose(rigio.read_rig(path), x, atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_csv_header_is_time_and_names(tmp_path):
    rigio.write_rig(tmp_path / "a.csv", np.zeros((3, 174)))
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines[0].split(",") == ["time", *rig.CONTROL_NAMES]
    assert lines[2].startswith(f"{1 / 60:.6f},")
