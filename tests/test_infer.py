"""`medtalk infer` end to end on real speech with the shipped default model."""

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED, poison_checkpoint, run_medtalk
from medtalk_core import rig, rigio


def test_infer_real_english_txt(english_clip, tmp_path):
    out = tmp_path / "out.txt"
    r = run_medtalk("infer", str(english_clip), "--emotion", "happy", "-o", str(out))
    assert r.returncode == 0, r.stderr
    frames = rigio.read_rig(out)
    assert frames.shape == (180, 174)  # floor(3.0 s * 60)
    assert np.isfinite(frames).all()
    jaw = frames[:, rig.INDEX["CTRL_C_jaw-translateY"]]
    assert jaw.max() > 0.1, "the mouth never opens on speech"


def test_infer_csv_and_json_stereo_48k(tmp_path):
    src = SHARED / "data/real/happy_gd01_001_014.wav"
    if not src.is_file():
        pytest.skip("shared/ not beside the checkout")
    x, sr = sf.read(src, dtype="float32")
    stereo = tmp_path / "stereo.flac"
    sf.write(stereo, np.stack([x, 0.5 * x], 1), sr)
    n = int(len(x) / sr * 60)
    for ext in ("csv", "json"):
        out = tmp_path / f"o.{ext}"
        r = run_medtalk("infer", str(stereo), "--emotion", "sad", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert rigio.read_rig(out).shape == (n, 174)
    assert json.loads((tmp_path / "o.json").read_text())["names"] == list(rig.CONTROL_NAMES)


def test_silence_and_short_clip_give_closed_mouth(tmp_path):
    for name, seconds in (("silence", 2.0), ("short", 0.2)):
        wav = tmp_path / f"{name}.wav"
        sf.write(wav, np.zeros(int(16000 * seconds), np.float32), 16000)
        out = tmp_path / f"{name}.txt"
        r = run_medtalk("infer", str(wav), "--emotion", "neutral", "-o", str(out))
        assert r.returncode == 0, r.stderr
        frames = rigio.read_rig(out)
        assert len(frames) == int(seconds * 60)
        assert frames[:, rig.INDEX["CTRL_C_jaw-translateY"]].max() < 0.1


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "truncated", "nan"])
def test_bad_audio_is_one_line_exit_2_no_output(tmp_path, english_clip, case):
    bad = tmp_path / "bad.wav"
    if case == "empty":
        bad.write_bytes(b"")
    elif case == "garbage":
        bad.write_bytes(np.random.default_rng(0).bytes(5000))
    elif case == "truncated":
        bad.write_bytes(english_clip.read_bytes()[:3000])
    elif case == "nan":
        sf.write(bad, np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
    out = tmp_path / "out.txt"
    r = run_medtalk("infer", str(bad), "--emotion", "happy", "-o", str(out))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not out.exists()


def test_unknown_emotion_and_bad_checkpoint(english_clip, tmp_path):
    out = tmp_path / "out.txt"
    r = run_medtalk("infer", str(english_clip), "--emotion", "bored", "-o", str(out))
    assert r.returncode == 2 and "bored" in r.stderr and not out.exists()
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    r = run_medtalk("infer", str(english_clip), "--emotion", "happy", "-o", str(out),
                    "--checkpoint", str(junk))
    assert r.returncode == 2 and "checkpoint" in r.stderr and not out.exists()
    r = run_medtalk("infer", str(english_clip), "--emotion", "happy", "-o", str(out),
                    "--checkpoint", str(tmp_path / "none.safetensors"))
    assert r.returncode == 2 and "not found" in r.stderr


def test_checkpoint_with_a_nan_weight_is_refused_before_any_frame(english_clip, tmp_path):
    from medtalk_core.checkpoint import DEFAULT_CHECKPOINT

    bad = tmp_path / "nan.safetensors"
    name = poison_checkpoint(DEFAULT_CHECKPOINT, bad)
    out = tmp_path / "out.json"
    r = run_medtalk("infer", str(english_clip), "--emotion", "happy", "-o", str(out),
                    "--checkpoint", str(bad))
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"medtalk infer: error: checkpoint {bad}: tensor {name} has NaN values"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.safetensors"]


@pytest.fixture(scope="module")
def animator():
    from medtalk_core.inference import Animator

    return Animator.load()


def test_every_real_clip_animates(animator):
    """Every real recording in shared/ (Mandarin, 48 kHz) gives a finite, moving face."""
    from medtalk_core.audio import load_audio

    clips = sorted((SHARED / "data/real").rglob("*.wav"))
    if not clips:
        pytest.skip("shared/ not beside the checkout")
    for wav in clips:
        audio = load_audio(wav)
        anim = animator.animate(audio, "angry")
        assert anim.frames.shape == (len(audio) * 60 // 16000, 174), wav.name
        assert np.isfinite(anim.frames).all()
        assert anim.frames[:, rig.INDEX["CTRL_C_jaw-translateY"]].std() > 0.01, wav.name
        assert ((anim.frames >= rig.RANGES[:, 0]) & (anim.frames <= rig.RANGES[:, 1])).all()


def test_emotion_label_changes_the_upper_face(animator, english_clip):
    from medtalk_core.audio import load_audio

    audio = load_audio(english_clip)
    happy = animator.animate(audio, "happy").frames
    angry = animator.animate(audio, "angry").frames
    pull = rig.INDEX["CTRL_L_mouth_cornerPull-translateY"]
    brow = rig.INDEX["CTRL_L_brow_down-translateY"]
    assert happy[:, pull].mean() > angry[:, pull].mean() + 0.05
    assert angry[:, brow].mean() > happy[:, brow].mean() + 0.05


REAL_WAV = "/usr/share/codec2/raw/speech_orig_16k.wav"


@pytest.mark.parametrize("extra, needle", [
    (["--intensity", "nan"], "--intensity"), (["--intensity", "inf"], "--intensity"),
    (["--intensity", "-1"], "--intensity"), (["--intensity", "1e9"], "--intensity"),
    (["--language", "xx"], "unknown language"),
])
def test_bad_arguments_are_one_line_errors_before_any_work(tmp_path, capsys, extra, needle):
    from medtalk.cli import main

    out = tmp_path / "face.txt"
    assert main(["infer", REAL_WAV, "--emotion", "happy", "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not out.exists()


def test_output_paths_are_checked_first(tmp_path, capsys):
    from medtalk.cli import main

    same = tmp_path / "same.txt"
    same.write_text("keep")
    folder = tmp_path / "dir.txt"
    folder.mkdir()
    for out in (same, folder, tmp_path / "missing" / "x.txt"):
        assert main(["infer", str(same), "--emotion", "happy", "-o", str(out)]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert same.read_text() == "keep"


def test_written_files_follow_the_umask(tmp_path):
    import os

    from medtalk_core.rigio import write_rig

    old = os.umask(0o022)
    try:
        write_rig(tmp_path / "a.txt", np.zeros((2, 174), np.float32))
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_nan_never_reaches_a_file(tmp_path):
    from medtalk_core.errors import MedtalkError
    from medtalk_core.rigio import write_rig

    frames = np.zeros((2, 174), np.float32)
    frames[1, 3] = np.nan
    with pytest.raises(MedtalkError):
        write_rig(tmp_path / "a.txt", frames)
    assert list(tmp_path.iterdir()) == []
