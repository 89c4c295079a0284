"""``medtalk infer --arkit``: a Live Link Face CSV take (medtalk_core/live_link_face.py)."""

import csv

import numpy as np
import pytest

from conftest import run_medtalk
from medtalk_core import rig
from medtalk_core.arkit import ARKIT_NAMES
from medtalk_core.arkit_csv import read_arkit_csv
from medtalk_core.arkit_map import DEFAULT
from medtalk_core.errors import MedtalkError
from medtalk_core.live_link_face import LLF_NAMES, format_take, timecode, write_take

HEADER = ["Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft"]


def test_infer_arkit_writes_a_live_link_face_take_of_real_english(english_clip, tmp_path):
    out = tmp_path / "take.csv"
    r = run_medtalk("infer", str(english_clip), "--emotion", "happy", "-o", str(out), "--arkit")
    assert r.returncode == 0, r.stderr
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == HEADER and rows[0][2:] == list(LLF_NAMES) and len(rows[0]) == 63
    assert rows[0][-9:] == ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch",
                            "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    body = rows[1:]
    assert len(body) == 180  # 3.0 s at 60 fps
    assert [r[0] for r in body[:2]] == ["00:00:00:00.000", "00:00:00:01.000"]
    assert body[60][0] == "00:00:01:00.000" and body[-1][0] == "00:00:02:59.000"
    assert all(r[1] == "61" for r in body)
    values = np.array([[float(v) for v in r[2:]] for r in body])
    assert np.isfinite(values).all() and (values[:, :52] >= 0).all() and (values[:, :52] <= 1).all()
    assert values[:, LLF_NAMES.index("JawOpen")].max() > 0.1, "the mouth never opens on speech"
    # the eval reader takes it back: times at 60 fps from the timecode, the 52 curves
    curves = read_arkit_csv(out)
    assert curves.names == ARKIT_NAMES
    np.testing.assert_allclose(curves.times, np.arange(180) / 60, atol=1e-9)
    # the infer rig of the same audio maps to the same curves
    rig_out = tmp_path / "rig.csv"
    assert run_medtalk("infer", str(english_clip), "--emotion", "happy",
                       "-o", str(rig_out)).returncode == 0
    from medtalk_core.rigio import read_rig

    np.testing.assert_allclose(curves.curves, DEFAULT.to_arkit(read_rig(rig_out)), atol=2e-6)


def test_infer_arkit_needs_a_csv_output(english_clip, tmp_path, capsys):
    from medtalk.cli import main

    out = tmp_path / "take.json"
    assert main(["infer", str(english_clip), "--emotion", "happy", "-o", str(out),
                 "--arkit"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"medtalk infer: error: --arkit writes a CSV take: the output must be .csv, "
                   f"not {out}"]
    assert not out.exists()


def test_infer_arkit_checks_the_mapping_file_before_any_work(english_clip, tmp_path, capsys):
    from medtalk.cli import main

    (tmp_path / "m.csv").write_text("arkit,control,weight\nmouthSmile,CTRL_C_jaw-translateY,1\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[arkit]\nmapping = "{tmp_path / "m.csv"}"\n')
    out = tmp_path / "take.csv"
    assert main(["--config", str(cfg), "infer", str(english_clip), "--emotion", "happy",
                 "-o", str(out), "--arkit"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'mouthSmile' is not an ARKit blendshape" in err[0]
    assert not out.exists()


def test_a_take_never_holds_nan_and_never_clobbers(tmp_path):
    out = tmp_path / "take.csv"
    out.write_text("keep")
    frames = np.zeros((3, rig.NUM_CONTROLS), np.float32)
    frames[2, 7] = np.nan
    with pytest.raises(MedtalkError, match="NaN or infinite"):
        write_take(out, frames, DEFAULT)
    assert out.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["take.csv"]
    frames[2, 7] = 0
    write_take(out, frames, DEFAULT)
    assert out.read_text() == format_take(frames, DEFAULT)
    assert len(out.read_text().splitlines()) == 4


def test_timecode_counts_frames_at_60_fps():
    assert timecode(0) == "00:00:00:00.000"
    assert timecode(59) == "00:00:00:59.000"
    assert timecode(60 * 3661 + 5) == "01:01:01:05.000"
