"""Best-epoch selection of the trainer (``[train] keep_best``) on a tiny model and in-memory
utterances: the kept weights are the epoch with the lowest validation lip error, they survive a
resume, and the next phase starts from them."""

from __future__ import annotations

from dataclasses import replace
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import model_config, train_config

from medtalk_core import rig
from medtalk_core.checkpoint import read_metadata
from medtalk_core.errors import MedtalkError
from medtalk_core.model import MEDTalk
from train import trainer
from train.dataset import Utterance
from train.stages import StepSettings

A = X = 8  # audio and text feature widths of the tiny model
CFG = model_config(audio_dim=A, text_dim=X, content_dim=4, emotion_dim=4, hidden=8, kernel=3,
                  layers=1, attn_heads=2, emotion_smooth=3)
TCFG = train_config(seed=0, batch_size=4, clip_frames=30, steps_per_epoch=3, lambda_sim=0.1,
                    lambda_int=0.1)
LRS = {"self": 1e-2, "acm": 1e-2}


class Crash(Exception):
    """Stands for the run being killed."""


def _utts(n: int, split: str, seed: int) -> list[Utterance]:
    rng = np.random.default_rng(seed)
    t = np.arange(60)[:, None] / rig.FPS
    out = []
    for i in range(n):
        phase = rng.uniform(0, 2 * np.pi, rig.NUM_CONTROLS)
        r = rig.NEUTRAL + 0.2 * np.sin(2 * np.pi * 3 * t + phase)
        out.append(Utterance(
            id=f"{split}{i}", emotion=i % 7, sentence=f"s{i // 7}", voice="v", split=split,
            rig=r.astype(np.float32), audio=rng.standard_normal((60, A)).astype(np.float16),
            words=rng.standard_normal((3, X)).astype(np.float16),
            word_time=np.array([0.2, 0.5, 0.8], np.float32),
            phone_bounds=np.linspace(0, 1, 5, dtype=np.float32)))
    return out


TRAIN, VAL = _utts(8, "train", 0), _utts(4, "val", 1)
VALIDATE = trainer.validate


def _model() -> MEDTalk:
    torch.manual_seed(0)
    return MEDTalk(CFG)


def _scripted_validation(monkeypatch, lip_mse: list[float], crash_at: int | None = None) -> list:
    """Make validation report ``lip_mse[i]`` at its i-th call (raise :class:`Crash` at call
    ``crash_at``); returns the list that receives the model's state at each call."""
    states = []

    def validate(model, phase, batches, ablate=None):
        if len(states) == crash_at:
            raise Crash
        terms = VALIDATE(model, phase, batches, ablate)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        terms["lip_mse"] = lip_mse[len(states) - 1]
        return terms

    monkeypatch.setattr(trainer, "validate", validate)
    return states


def _same(a: dict, b: dict, prefix: str = "") -> bool:
    return all(torch.equal(a[k], b[k]) for k in a if k.startswith(prefix))


def _train(tmp_path, plan, epochs, keep_best, model=None):
    model = model or _model()
    history = trainer.train_plan(model, plan, epochs, LRS, TRAIN, VAL,
                                 StepSettings(replace(TCFG, keep_best=tuple(keep_best))),
                                 tmp_path / "run",
                                 {"plan": "test"})
    return model, history


def test_the_run_ends_with_the_best_epoch(tmp_path, monkeypatch):
    states = _scripted_validation(monkeypatch, [0.3, 0.1, 0.2])
    model, history = _train(tmp_path, ("acm",), {"acm": 3}, ["acm"])
    assert [h.get("best", False) for h in history] == [False, True, False]
    assert not _same(states[1], states[2], "acm.")  # the epochs did change the weights
    run = tmp_path / "run"
    assert _same(states[1], model.state_dict())
    assert _same(states[1], load_file(run / "model.safetensors"))  # what --export copies
    assert read_metadata(run / trainer.BEST)["best"] == {
        "phase": "acm", "phase_index": 0, "epoch": 2, "lip_mse": 0.1}


def test_the_next_phase_starts_from_the_best_epoch(tmp_path, monkeypatch):
    states = _scripted_validation(monkeypatch, [0.2, 0.1, 0.3, 0.5])
    model, history = _train(tmp_path, ("self", "acm"), {"self": 3, "acm": 1}, ["self"])
    assert [h.get("best", False) for h in history] == [False, True, False, False]
    final = model.state_dict()
    assert _same(states[1], final, "motion.")  # frozen during acm: still self's epoch 2
    assert not _same(states[2], final, "motion.")
    assert not _same(states[1], final, "acm.")


def test_resume_keeps_the_best_epoch(tmp_path, monkeypatch):
    states = _scripted_validation(monkeypatch, [0.3, 0.1], crash_at=2)
    with pytest.raises(Crash):
        _train(tmp_path, ("acm",), {"acm": 4}, ["acm"])
    best = states[1]
    later = _scripted_validation(monkeypatch, [0.2, 0.25])
    model, history = _train(tmp_path, ("acm",), {"acm": 4}, ["acm"])
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert [h.get("best", False) for h in history] == [False, True, False, False]
    assert len(later) == 2 and not _same(best, later[-1], "acm.")
    assert _same(best, model.state_dict())
    assert _same(best, load_file(tmp_path / "run" / "model.safetensors"))


def test_a_fresh_run_ignores_an_old_best_file(tmp_path, monkeypatch):
    _scripted_validation(monkeypatch, [0.1, 0.2])
    _train(tmp_path, ("acm",), {"acm": 2}, ["acm"])
    (tmp_path / "run" / "progress.json").unlink()  # start over in the same folder
    states = _scripted_validation(monkeypatch, [0.5, 0.4])
    model, history = _train(tmp_path, ("acm",), {"acm": 2}, ["acm"])
    assert [h.get("best", False) for h in history] == [False, True]
    assert _same(states[1], model.state_dict())


def test_an_unknown_keep_best_phase_is_an_error(tmp_path):
    with pytest.raises(MedtalkError, match="keep_best.*'nope'"):
        _train(tmp_path, ("acm",), {"acm": 1}, ["nope"])
