"""One forward pass (medtalk_core/forward.py): ``medtalk eval --audio`` scores the frames
``medtalk infer`` writes, a checkpoint's ablation flags hold in inference as in scoring, and a long
clip animated in chunks is one pass."""

import json

import numpy as np
import pytest
import torch

from conftest import SHARED, model_config, run_medtalk
from medtalk_core import checkpoint, rigio
from medtalk_core.forward import animate_clip
from medtalk_core.model import MEDTalk
from medtalk_core.metrics import clip_metrics, jaw_correlation

PAIR = SHARED / "data/real/emoface_validation/angry_gd04_001_021"


def test_eval_scores_the_frames_infer_writes(tmp_path):
    wav, gt_path = PAIR.with_suffix(".wav"), PAIR.with_suffix(".txt")
    if not wav.is_file():
        pytest.skip("shared/ not beside the checkout")
    out, scores = tmp_path / "face.json", tmp_path / "scores.json"
    common = ["--emotion", "angry", "--language", "zh"]
    r = run_medtalk("infer", str(wav), *common, "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = run_medtalk("eval", "--audio", str(wav), "--rig", str(gt_path), *common,
                    "--json", str(scores))
    assert r.returncode == 0, r.stderr
    frames, gt = rigio.read_rig(out), rigio.read_rig(gt_path)
    n = min(len(frames), len(gt))
    assert len(frames) != len(gt)  # the pair differs by a frame: eval scores the common ones
    assert f"{n} frames" in r.stdout
    expected = {**clip_metrics(frames[:n], gt[:n]), "jaw_r": jaw_correlation(frames[:n], gt[:n])}
    got = json.loads(scores.read_text())
    assert got.keys() == expected.keys()
    for k, v in expected.items():  # the file holds the frames rounded to 6 decimals
        assert got[k] == pytest.approx(v, rel=1e-4, abs=1e-6), k


def test_eval_unknown_emotion_is_a_one_line_error(tmp_path, capsys):
    from medtalk.cli import main

    wav = "/usr/share/codec2/raw/speech_orig_16k.wav"
    gt = tmp_path / "gt.txt"
    rigio.write_rig(gt, np.zeros((10, 174), np.float32))
    assert main(["eval", "--audio", wav, "--rig", str(gt), "--emotion", "bored"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bored" in err[0]


def test_animator_removes_what_the_checkpoint_was_trained_without(english_clip, tmp_path):
    from medtalk_core.audio import load_audio
    from medtalk_core.inference import Animator

    model, meta = checkpoint.load_model()
    ablated = tmp_path / "no_text_no_intensity.safetensors"
    checkpoint.save(model, ablated, {**{k: v for k, v in meta.items() if k != "model"},
                                     "ablate": {"text": True, "intensity": True}})
    audio = load_audio(english_clip)
    spans = [(0.3, 0.6), (0.7, 1.1), (1.4, 1.9)]

    def faces(animator):
        fe = animator.frontend
        return [animator.animate(audio, "happy", transcript=fe.words(w, spans))
                for w in (["the", "birch", "canoe"], ["furious", "angry", "shouting"])]

    full = faces(Animator.load(None, transcriber=False))
    assert not np.allclose(full[0].frames, full[1].frames)  # the default model reads the words
    blind = faces(Animator.load(ablated, transcriber=False))
    np.testing.assert_array_equal(blind[0].frames, blind[1].frames)
    np.testing.assert_array_equal(blind[0].intensity, np.ones(len(blind[0].frames), np.float32))


@pytest.mark.parametrize("lookahead", [-1, 0, 3])
def test_a_long_clip_in_chunks_is_one_pass(lookahead):
    """animate_clip's chunks (with context_frames of audio either side) give the frames and
    intensity of one pass over the whole clip, for centred and causal models."""
    torch.manual_seed(lookahead + 1)
    model = MEDTalk(model_config(hidden=16, content_dim=8, emotion_dim=8, attn_heads=2,
                                 lookahead_frames=lookahead)).eval()
    g = np.random.default_rng(0)
    audio = g.normal(size=(700, model.cfg.audio_dim)).astype(np.float32)
    words = g.normal(size=(9, model.cfg.text_dim)).astype(np.float32)
    word_time = np.sort(g.uniform(0, 700 / 60, 9)).astype(np.float32)
    whole = animate_clip(model, audio, words, word_time, 3, 1.2, chunk=len(audio))
    parts = animate_clip(model, audio, words, word_time, 3, 1.2, chunk=97)
    for a, b in zip(whole, parts):
        assert a.shape == b.shape and np.isfinite(b).all()
        np.testing.assert_allclose(b, a, atol=1e-5)
