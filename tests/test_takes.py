"""Your own takes in training: a folder of real audio + ARKit curve CSVs becomes masked
face-board targets, and ``medtalk train --plan finetune --init default`` fine-tunes the shipped
model on it a few steps, resumable, with the channels the takes do not animate masked out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import SHARED, run_medtalk

from medtalk_core import rig
from medtalk_core.arkit import ARKIT_NAMES
from medtalk_core.arkit_csv import ArkitCurves
from medtalk_core.arkit_map import DEFAULT
from medtalk_core.checkpoint import DEFAULT_CHECKPOINT, read_metadata
from medtalk_core.errors import MedtalkError
from train import losses
from train.takes import TRAIN_SHARE, split_take, take_targets

CLIPS = ("angry_gd01_001_006.wav", "happy_gd01_001_014.wav")
MOUTH = ("jawOpen", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight")


def _curves(seconds: float, fps: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * fps)) / fps
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, len(MOUTH))
    return t, 0.5 + 0.45 * np.sin(2 * np.pi * 1.5 * t[:, None] + phase)


@pytest.fixture(scope="module")
def take_folder(tmp_path_factory):
    """Two real clips with mouth-only curves at 30 fps (one by time_s, one by Live Link Face
    Timecode), and a config with a small schedule and its own feature cache."""
    root = tmp_path_factory.mktemp("takes")
    folder = root / "takes"
    folder.mkdir()
    for k, clip in enumerate(CLIPS):
        x, sr = sf.read(SHARED / "data" / "real" / clip, dtype="float32")
        sf.write(folder / f"take{k}.wav", x, sr)
        t, v = _curves(len(x) / sr, 30, k)
        if k == 0:
            rows = ["time_s," + ",".join(MOUTH)]
            rows += [f"{a:.5f}," + ",".join(f"{b:.4f}" for b in row) for a, row in zip(t, v)]
        else:
            rows = ["Timecode,BlendShapeCount," + ",".join(MOUTH)]
            rows += [f"00:00:{i // 30:02d}:{i % 30:02d}.000,5," + ",".join(f"{b:.4f}" for b in row)
                     for i, row in enumerate(v)]
        (folder / f"take{k}_arkit30fps.csv").write_text("\n".join(rows) + "\n")
    config = root / "small.toml"
    config.write_text(f'[features]\ncache_dir = "{root / "cache"}"\n'
                      "[train]\nbatch_size = 2\nclip_frames = 60\nsteps_per_epoch = 2\nthreads = 1\n")
    return folder, config


def test_targets_map_the_take_channels_and_mask_the_rest():
    t = np.arange(31) / 30
    jaw = np.linspace(0, 1, 31)[:, None]
    funnel_curve = 0.3 + 0.1 * np.sin(t)[:, None]
    curves = ArkitCurves(t, np.hstack([jaw, funnel_curve, np.zeros_like(jaw)]),
                         ("jawOpen", "mouthFunnel", "mouthClose"))  # mouthClose never moves
    got = take_targets(curves, DEFAULT, 61)
    assert got.first == 0 and got.rig.shape == (61, rig.NUM_CONTROLS)
    j = rig.INDEX["CTRL_C_jaw-translateY"]
    np.testing.assert_allclose(got.rig[:, j], np.arange(61) / 60, atol=1e-5)
    funnel = [rig.INDEX[f"CTRL_{s}_mouth_funnel{p}-translateY"] for s in "LR" for p in "UD"]
    back = DEFAULT.to_arkit(got.rig)
    expected = 0.3 + 0.1 * np.sin(np.arange(61) / 60)
    np.testing.assert_allclose(back[:, ARKIT_NAMES.index("mouthFunnel")], expected, atol=1e-4)
    animated = {rig.CONTROL_NAMES[i] for i in np.flatnonzero(got.channels)}
    assert animated == {"CTRL_C_jaw-translateY", *(rig.CONTROL_NAMES[i] for i in funnel)}
    with pytest.raises(MedtalkError, match="names a face-board control"):
        take_targets(ArkitCurves(t, jaw, ("eyeLookInLeft",)), DEFAULT.__class__(
            np.zeros_like(DEFAULT.weights)), 61)


def test_split_keeps_time_and_words_aligned():
    n = 600
    jaw = np.linspace(0, 1, n)[:, None]
    targets = take_targets(ArkitCurves(np.arange(n) / 60, jaw, ("jawOpen",)), DEFAULT, n)
    inputs = {"audio": np.zeros((n, 4), np.float16), "words": np.zeros((2, 3), np.float16),
              "word_time": np.array([1.0, 9.5], np.float32)}
    pieces = split_take("a", targets, inputs, 120, 0)
    train, val = pieces[0], pieces[1:]
    assert train.split == "train" and len(train.rig) == int(n * TRAIN_SHARE)
    assert all(p.split == "val" and len(p.rig) == len(p.audio) == 90 for p in val)
    np.testing.assert_allclose(val[0].word_time, inputs["word_time"] - int(n * TRAIN_SHARE) / 60)


def test_masked_channels_do_not_enter_the_loss():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 5, 174), torch.randn(2, 5, 174)
    mask = torch.ones(2, 5, dtype=torch.bool)
    channels = torch.zeros(2, 174, dtype=torch.bool)
    channels[:, :10] = True
    other = target.clone()
    other[..., 10:] = 0.0  # "learned as zero" would pull here
    a, b = (losses.recon(pred, t, mask, channels) for t in (target, other))
    assert torch.equal(a, b)
    assert torch.isclose(a, ((pred[..., :10] - target[..., :10]) ** 2).mean())
    assert losses.recon(pred, target, mask, torch.zeros_like(channels)) == 0


def test_finetune_trains_acm_and_fim_resumes_and_exports(take_folder, tmp_path):
    folder, config = take_folder
    run, out = tmp_path / "run", tmp_path / "ft.safetensors"
    args = ["--config", str(config), "train", "--plan", "finetune", "--data", str(folder),
            "--init", "default", "--run", str(run), "--epochs", "1"]
    first = run_medtalk(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "[finetune 1/1]" in first.stdout
    again = run_medtalk(*args, "--export", str(out))  # resumes the finished run: exports only
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming" in again.stderr and "[finetune" not in again.stdout
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["plan"] == "finetune" and card["corpus"]["takes"] == ["take0", "take1"]
    meta = read_metadata(out)
    assert meta["finetune"]["takes"] == ["take0", "take1"]
    assert meta["model"] == read_metadata(DEFAULT_CHECKPOINT)["model"]
    from safetensors.torch import load_file

    new, old = load_file(str(out)), load_file(str(DEFAULT_CHECKPOINT))
    changed = {k.split(".")[0] for k in new if not torch.equal(new[k], old[k])}
    assert "acm" in changed and "fim" in changed and "motion" not in changed
    frames = tmp_path / "take0.txt"
    done = run_medtalk("infer", str(folder / "take0.wav"), "--checkpoint", str(out), "--emotion", "happy",
                       "-o", str(frames))
    assert done.returncode == 0, done.stderr[-2000:]
    x = np.loadtxt(frames, delimiter=",")
    assert np.isfinite(x).all() and x.shape[1] == rig.NUM_CONTROLS


def test_finetune_needs_a_take_folder_and_init(take_folder, tmp_path):
    folder, config = take_folder
    no_init = run_medtalk("--config", str(config), "train", "--plan", "finetune", "--data",
                          str(folder), "--run", str(tmp_path / "r"))
    assert no_init.returncode == 2 and "--init" in no_init.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = run_medtalk("--config", str(config), "train", "--plan", "finetune", "--data", str(empty),
                      "--init", "default", "--run", str(tmp_path / "r"))
    assert bad.returncode == 2 and "no audio + ARKit curve pairs" in bad.stderr
