"""ARKit curves: the name and counterpart tables, the CSV reader, the lip-sync scores and
``medtalk eval --arkit`` on real FACEGOOD speech."""

import csv
import json
import math

import numpy as np
import pytest
import soundfile as sf
from conftest import SHARED, run_medtalk

from medtalk_core import rig
from medtalk_core.arkit import ARKIT_NAMES, COUNTERPARTS, counterpart_curves
from medtalk_core.arkit_csv import read_arkit_csv
from medtalk_core.errors import MedtalkError
from train.lipsync import find_pairs, mean_scores, rms_envelope, score_take

FACEGOOD = SHARED / "data/real/facegood"


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_arkit_names_are_apples_52():
    assert len(ARKIT_NAMES) == len(set(ARKIT_NAMES)) == 52
    assert ARKIT_NAMES[:2] == ("eyeBlinkLeft", "eyeLookDownLeft")
    assert ARKIT_NAMES[17] == "jawOpen" and ARKIT_NAMES[-1] == "tongueOut"


def test_counterparts_name_only_real_arkit_names_and_controls():
    assert set(COUNTERPARTS) <= set(ARKIT_NAMES)
    assert list(COUNTERPARTS) == [n for n in ARKIT_NAMES if n in COUNTERPARTS]  # Apple's order
    for name, controls in COUNTERPARTS.items():
        assert controls and len(set(controls)) == len(controls), name
        assert all(c in rig.INDEX for c in controls), name
    assert COUNTERPARTS["jawOpen"] == ("CTRL_C_jaw-translateY",)
    assert COUNTERPARTS["mouthSmileLeft"] == ("CTRL_L_mouth_cornerPull-translateY",)
    assert all("funnel" in c for c in COUNTERPARTS["mouthFunnel"])
    assert all("purse" in c for c in COUNTERPARTS["mouthPucker"])


def test_counterpart_curves_are_the_mean_of_the_controls():
    frames = np.zeros((3, rig.NUM_CONTROLS), np.float32)
    frames[:, rig.INDEX["CTRL_L_mouth_purseU-translateY"]] = [0.0, 0.4, 0.8]
    frames[:, rig.INDEX["CTRL_C_jaw-translateY"]] = [0.1, 0.2, 0.3]
    got = counterpart_curves(frames, ["mouthPucker", "jawOpen"])
    np.testing.assert_allclose(got[:, 0], [0.0, 0.1, 0.2])
    np.testing.assert_allclose(got[:, 1], [0.1, 0.2, 0.3], atol=1e-6)


def test_reader_takes_time_s_and_ignores_other_columns(tmp_path):
    p = write_csv(tmp_path / "a.csv", ["frame", "time_s", "jawOpen", "mouthFunnel", "headYaw"],
                  [[0, 0.0, 0.1, 0.0, 5], [1, 0.05, 0.3, 0.2, 5], [2, 0.1, 0.2, 0.1, 5]])
    c = read_arkit_csv(p)
    assert c.names == ("jawOpen", "mouthFunnel")
    np.testing.assert_allclose(c.times, [0.0, 0.05, 0.1])
    np.testing.assert_allclose(c.curves[:, 0], [0.1, 0.3, 0.2])
    assert read_arkit_csv(p, fps=20).names == c.names  # an --fps that agrees is accepted


def test_reader_takes_fps_when_no_time_column(tmp_path):
    p = write_csv(tmp_path / "a.csv", ["jawOpen"], [[0.1], [0.2], [0.3], [0.4]])
    np.testing.assert_allclose(read_arkit_csv(p, fps=25).times, [0, 0.04, 0.08, 0.12])
    with pytest.raises(MedtalkError, match="no time_s or Timecode column; give the frame rate"):
        read_arkit_csv(p)


def test_reader_takes_live_link_face_timecode(tmp_path):
    """Live Link Face: capitalised names, BlendShapeCount and head columns, HH:MM:SS:FF.fff."""
    header = ["Timecode", "BlendShapeCount", "EyeBlinkLeft", "JawOpen", "MouthClose", "HeadYaw"]
    codes = ["10:00:00:28.500", "10:00:00:29.000", "10:00:01:00.000", "10:00:01:00.500"]
    p = write_csv(tmp_path / "llf.csv", header,
                  [[tc, 61, 0.1, 0.1 * i, 0.0, 0.3] for i, tc in enumerate(codes)])
    c = read_arkit_csv(p)  # frames reach 29: a 30 fps timecode
    assert c.names == ("eyeBlinkLeft", "jawOpen", "mouthClose")
    np.testing.assert_allclose(c.times, np.array([0, 1, 3, 4]) / 60)
    np.testing.assert_allclose(read_arkit_csv(p, fps=60).times, np.array([0, 0.5, 31.5, 32]) / 60)


@pytest.mark.parametrize("header, rows, fps, message", [
    (["time_s", "jawOpen"], [[0.0, 0.1], [0.1, "nan"]], None, "column jawOpen has a NaN"),
    (["time_s", "jawOpen"], [[0.0, 0.1], [0.1, "x"]], None, "row 3, column jawOpen: 'x' is not"),
    (["time_s", "jawOpen"], [[0.0, 0.1], [0.1]], None, "row 3 has 1 fields, the header 2"),
    (["time_s", "jawOpen"], [[0.0, 0.1], [0.0, 0.2]], None, "not strictly increasing"),
    (["time_s", "jawOpen"], [[0.0, 0.1], [0.1, 0.2]], 30, "--fps 30 disagrees with its time_s"),
    (["time_s", "foo", "bar"], [[0.0, 1, 2], [0.1, 1, 2]], None, "no ARKit blendshape column"),
    (["time_s", "jawOpen"], [[0.0, 0.1]], None, "at least 2 rows"),
    (["Timecode", "jawOpen"], [["1:2:3", 0.1], ["1:2:4", 0.2]], None, "not HH:MM:SS:FF"),
    (["jawOpen"], [[0.1], [0.2]], -5, "--fps -5: must be a positive"),
])
def test_reader_rejects_bad_files_in_one_line(tmp_path, header, rows, fps, message):
    p = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(MedtalkError, match=message) as e:
        read_arkit_csv(p, fps)
    assert "\n" not in str(e.value)


def test_reader_rejects_missing_and_binary_files(tmp_path):
    with pytest.raises(MedtalkError, match="curve file not found"):
        read_arkit_csv(tmp_path / "none.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(MedtalkError, match="unreadable CSV"):
        read_arkit_csv(tmp_path / "bin.csv")


def test_score_take_correlates_on_the_model_grid(tmp_path):
    """A counterpart that equals the 30 fps curve gives r = 1; a still channel gives None."""
    t30 = np.arange(90) / 30
    jaw = 0.5 + 0.4 * np.sin(2 * np.pi * 1.3 * t30)
    p = write_csv(tmp_path / "c.csv", ["time_s", "jawOpen", "mouthClose"],
                  [[t, j, 0.0] for t, j in zip(t30, jaw)])
    curves = read_arkit_csv(p)
    frames = np.zeros((180, rig.NUM_CONTROLS), np.float32)
    frames[:, rig.INDEX["CTRL_C_jaw-translateY"]] = np.interp(np.arange(180) / 60, t30, jaw)
    audio = np.random.default_rng(0).normal(0, 0.1, 3 * 16000) * np.interp(
        np.arange(3 * 16000) / 16000, t30, jaw)
    s = score_take(frames, audio, curves)
    assert s["jawOpen"].model == pytest.approx(1.0, abs=1e-6)
    assert s["jawOpen"].envelope > 0.8  # loudness follows this jaw
    assert s["jawOpen"].frames == 179  # model frames 0..178 lie within 0 .. 89/30 s
    assert s["mouthClose"].model is None and s["mouthClose"].envelope is None
    mean = mean_scores({"a": s, "b": s})
    assert mean["jawOpen"].frames == 358 and mean["mouthClose"].model is None


def test_rms_envelope_is_the_windowed_rms():
    x = np.concatenate([np.zeros(16000), np.full(16000, 0.5)])
    env = rms_envelope(x, 120)
    assert env.shape == (120,)
    assert env[10] == 0 and env[100] == pytest.approx(0.5)


def test_find_pairs_takes_same_stems_and_facegood_names(tmp_path):
    for name in ("a.wav", "a.csv", "b.flac", "b_arkit30fps.csv", "c.wav", "d.csv"):
        (tmp_path / name).write_bytes(b"")
    assert [(s, a.name, c.name) for s, a, c in find_pairs(tmp_path)] == [
        ("a", "a.wav", "a.csv"), ("b", "b.flac", "b_arkit30fps.csv")]
    with pytest.raises(MedtalkError, match="no audio \\+ ARKit curve pairs"):
        find_pairs(tmp_path / "..")


@pytest.fixture(scope="module")
def facegood_takes(tmp_path_factory):
    """The first 8 s of two FACEGOOD takes (speech and curves), FACEGOOD naming."""
    if not FACEGOOD.is_dir():
        pytest.skip("the FACEGOOD takes are not in shared/")
    out = tmp_path_factory.mktemp("facegood")
    for stem in ("1114_2_01", "1114_2_02"):
        x, sr = sf.read(FACEGOOD / f"{stem}.wav", dtype="float32")
        sf.write(out / f"{stem}.wav", x[: 8 * sr], sr)
        lines = (FACEGOOD / f"{stem}_arkit30fps.csv").read_text().splitlines()
        (out / f"{stem}_arkit30fps.csv").write_text("\n".join(lines[: 1 + 8 * 30]) + "\n")
    return out


def test_eval_arkit_on_a_facegood_take(facegood_takes, tmp_path):
    out = tmp_path / "r.json"
    r = run_medtalk("eval", "--audio", str(facegood_takes / "1114_2_01.wav"), "--arkit",
                    str(facegood_takes / "1114_2_01_arkit30fps.csv"), "--language", "zh",
                    "--json", str(out))
    assert r.returncode == 0, r.stderr
    figures = json.loads(out.read_text())
    take = figures["takes"]["1114_2_01"]
    for name in ("jawOpen", "mouthFunnel", "mouthPucker"):
        assert math.isfinite(take[name]["model_r"]) and math.isfinite(take[name]["envelope_r"])
    assert take["jawOpen"]["model_r"] > 0.3 and take["jawOpen"]["frames"] == 8 * 60 - 1
    assert take["mouthClose"]["model_r"] is None  # zero throughout in FACEGOOD's curves
    assert "jawOpen" in r.stdout and "env r" in r.stdout


def test_eval_data_folder_of_pairs_prints_takes_and_mean(facegood_takes, tmp_path):
    out = tmp_path / "r.json"
    r = run_medtalk("eval", "--data", str(facegood_takes), "--language", "zh", "--json", str(out))
    assert r.returncode == 0, r.stderr
    figures = json.loads(out.read_text())
    assert sorted(figures["takes"]) == ["1114_2_01", "1114_2_02"]
    jaw = [figures["takes"][t]["jawOpen"]["model_r"] for t in sorted(figures["takes"])]
    assert figures["mean"]["jawOpen"]["model_r"] == pytest.approx(np.mean(jaw))
    assert [ln.split()[0] for ln in r.stdout.splitlines() if "jawOpen" in ln] == [
        "1114_2_01", "1114_2_02", "mean"]


@pytest.mark.parametrize("header, rows, message", [
    (["time_s", "jawLeft", "mouthLeft"], [[0, 0.1, 0], [0.1, 0.2, 0]], "has a face-board counterpart"),
    (["time_s", "volume"], [[0, 0.1], [0.1, 0.2]], "no ARKit blendshape column"),
    (["time_s", "jawOpen"], [[0, 0.1], [0.1, "nan"]], "NaN"),
    (["jawOpen"], [[0.1], [0.2]], "give the frame rate with --fps"),
])
def test_eval_arkit_bad_curves_are_one_line_errors(english_clip, tmp_path, header, rows, message):
    p = write_csv(tmp_path / "bad.csv", header, rows)
    r = run_medtalk("eval", "--audio", str(english_clip), "--arkit", str(p))
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_eval_arkit_unreadable_csv_and_missing_audio_flag(english_clip, tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81" * 50)
    r = run_medtalk("eval", "--audio", str(english_clip), "--arkit", str(tmp_path / "bin.csv"))
    assert r.returncode == 2 and "unreadable CSV" in r.stderr
    r = run_medtalk("eval", "--arkit", str(tmp_path / "bin.csv"))
    assert r.returncode == 2 and "--arkit CSV goes with --audio" in r.stderr
