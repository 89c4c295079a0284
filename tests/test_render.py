"""`medtalk render`: a real clip's take and its audio -> an MP4 of the 2-D face."""

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED, run_medtalk
from medtalk_core import rig, rigio
from medtalk_core.arkit_map import DEFAULT
from medtalk_core.live_link_face import write_take
from medtalk_core.result_file import load_result
from medtalk_core.render import parse_size, video_rows

CLIP = SHARED / "data/real/happy_gd01_001_014.wav"
JAW = rig.INDEX["CTRL_C_jaw-translateY"]


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    """``(rig frames, take.json)`` of ``medtalk infer`` on a real recording (Mandarin, happy)."""
    if not CLIP.is_file():
        pytest.skip("shared/ not beside the checkout")
    path = tmp_path_factory.mktemp("take") / "take.json"
    r = run_medtalk("infer", str(CLIP), "--emotion", "happy", "-o", str(path))
    assert r.returncode == 0, r.stderr
    return rigio.read_rig(path), path


def probe(mp4) -> str:
    """ffmpeg's description of a file's streams."""
    r = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(mp4)],
                       capture_output=True, text=True)
    return r.stderr


def decode(mp4, indices) -> dict[int, np.ndarray]:
    """The RGB frames ``indices`` of a video, uint8 ``(H, W, 3)``."""
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    w, h = meta["size"]
    return {k: np.frombuffer(b, np.uint8).reshape(h, w, 3).astype(np.int16)
            for k, b in enumerate(reader) if k in indices}


def test_render_a_real_take(take, tmp_path):
    frames, path = take
    out = tmp_path / "take.mp4"
    r = run_medtalk("render", str(path), "--audio", str(CLIP), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp4"]
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(out))
    duration = sf.info(CLIP).duration
    assert n == len(frames) * 30 // 60 and abs(n - duration * 30) <= 2
    assert abs(secs - duration) < 0.1
    streams = probe(out)
    assert "Video: h264" in streams and "yuv420p" in streams and "640x800" in streams
    assert "Audio: aac" in streams

    jaw = frames[video_rows(len(frames), 30), JAW]
    wide, shut = int(jaw.argmax()), int(jaw.argmin())
    assert jaw[wide] > 0.2 and jaw[shut] < 0.02, "the take has no open and no closed moment"
    pics = decode(out, {wide, shut})
    diff = np.abs(pics[wide] - pics[shut]).mean(-1)
    mouth = diff[520:680, 220:420]  # view box x 110-210, y 260-340 at 2x
    hair = diff[180:260, 220:420]   # view box y 90-130: hair, above the brows
    assert mouth.mean() > 8, "the mouth looks the same open and shut"
    assert hair.mean() < 2


def test_render_a_live_link_face_take_with_config_and_flags(take, tmp_path):
    frames, _ = take
    csv = tmp_path / "take.csv"
    write_take(csv, frames, DEFAULT)
    back = load_result(csv)
    assert back.shape == frames.shape
    np.testing.assert_allclose(back, DEFAULT.to_rig(DEFAULT.to_arkit(frames)), atol=1e-5)
    out = tmp_path / "take.mp4"
    config = tmp_path / "small.toml"
    config.write_text('[render]\nsize = "160x200"\nfps = 30\n')  # --fps overrides the config
    r = run_medtalk("--config", str(config), "render", str(csv), "--audio", str(CLIP),
                    "-o", str(out), "--fps", "60")
    assert r.returncode == 0, r.stderr
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == len(frames)
    assert "160x200" in probe(out)


def test_video_rows_and_size():
    np.testing.assert_array_equal(video_rows(181, 30), np.arange(90) * 2)
    np.testing.assert_array_equal(video_rows(181, 60), np.arange(181))
    assert parse_size("640x800") == (640, 800)


@pytest.fixture
def fake_ffmpeg(tmp_path, monkeypatch):
    """An ffmpeg that writes part of its output file, then fails."""
    exe = tmp_path / "bin" / "ffmpeg"
    exe.parent.mkdir()
    exe.write_text('#!/bin/sh\nfor a; do last="$a"; done\necho partial > "$last"\n'
                   'echo "Conversion failed: encoder broke" >&2\nexit 1\n')
    exe.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(exe))


CASES = ["missing audio", "not audio", "other audio", "missing take", "garbage take",
         "narrow take", "avi output", "odd size", "missing folder", "ffmpeg fails",
         "config fps", "config background"]


@pytest.mark.parametrize("case", CASES)
def test_errors_are_one_line_exit_2_nothing_left(tmp_path, capsys, request, case):
    from medtalk.cli import main

    work = tmp_path / "work"
    work.mkdir()
    take = work / "take.txt"
    rigio.write_rig(take, np.zeros((120, 174), np.float32))
    audio = work / "take.wav"
    sf.write(audio, np.zeros(32000, np.float32), 16000)
    out, extra, config = work / "out.mp4", [], []
    if case == "missing audio":
        audio = work / "none.wav"
    elif case == "not audio":
        audio = work / "noise.wav"
        audio.write_bytes(np.random.default_rng(0).bytes(4000))
    elif case == "other audio":
        sf.write(audio, np.zeros(16000 * 5, np.float32), 16000)
    elif case == "missing take":
        take = work / "none.json"
    elif case == "garbage take":
        take.write_text("1,2,nope\n")
    elif case == "narrow take":
        take.write_text("0.1,0.2\n0.3,0.4\n")
    elif case == "avi output":
        out = work / "out.avi"
    elif case == "odd size":
        extra = ["--size", "641x800"]
    elif case == "missing folder":
        out = work / "no" / "out.mp4"
    elif case == "ffmpeg fails":
        request.getfixturevalue("fake_ffmpeg")
    else:
        setting = "fps = 24" if case == "config fps" else 'background = "skin"'
        (tmp_path / "c.toml").write_text(f"[render]\n{setting}\n")
        config = ["--config", str(tmp_path / "c.toml")]
    before = sorted(p.name for p in work.iterdir())
    code = main([*config, "render", str(take), "--audio", str(audio), "-o", str(out), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0], err
    assert sorted(p.name for p in work.iterdir()) == before
    needle = {"ffmpeg fails": "encoder broke", "config fps": "fps", "other audio": "not the take",
              "config background": "skin"}.get(case, "")
    assert needle in err[0]
