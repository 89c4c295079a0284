"""The FaceFormer-style baseline, the FIM ablation switches, the results-section writer, the
report sentences, and the disentanglement probe and swap test, on tiny models and synthetic data."""

from dataclasses import replace
import json
import os

import numpy as np
import pytest
import torch

from conftest import model_config, train_config

from medtalk_core import checkpoint, rig
from medtalk_core.baselines import (
    FaceFormer,
    FaceFormerConfig,
    load_checkpoint,
    periodic_bias,
)
from medtalk_core.config import load_config
from medtalk_core.errors import MedtalkError
from medtalk_core.forward import animate
from medtalk_core.model import MEDTalk
from train import ablations, disentangle, models, results
from train.batches import Sampler
from train.dataset import Utterance
from train.scoring import predict
from train.stages import PHASES, StepSettings, fim_forward
from train.trainer import set_trainable

SMALL = model_config(audio_dim=16, text_dim=8, content_dim=6, emotion_dim=5, hidden=16, layers=1,
                    attn_heads=2, dropout=0.0)
TINY_FF = FaceFormerConfig(audio_dim=16, d_model=16, heads=2, layers=1, ff=32, period_frames=8,
                           dropout=0.0)
STEP = StepSettings(train_config(lambda_sim=0.1, lambda_int=0.1))


def utterances(n=8, T=50, seed=0) -> list[Utterance]:
    g = np.random.default_rng(seed)
    return [Utterance(id=f"u{i}", emotion=i % 7, sentence=f"s{i // 7}", voice="v", split="train",
                      rig=g.uniform(0, 0.5, (T, 174)).astype(np.float32),
                      audio=g.normal(size=(T, 16)).astype(np.float16),
                      words=g.normal(size=(4, 8)).astype(np.float16),
                      word_time=np.linspace(0.1, T / 60 - 0.1, 4).astype(np.float32),
                      phone_bounds=np.array([], np.float32)) for i in range(n)]


def batch(B=2, T=30, W=4, seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"audio": torch.randn(B, T, 16, generator=g), "words": torch.randn(B, W, 8, generator=g),
            "word_time": torch.rand(B, W, generator=g) * T / 60,
            "word_mask": torch.ones(B, W, dtype=torch.bool), "label": torch.tensor([0, 3])}


# --- FaceFormer-style baseline ------------------------------------------------------------------

def test_faceformer_shapes_and_label_conditioning():
    m = FaceFormer(TINY_FF).eval()
    b = batch()
    out = m(b["audio"], b["label"])
    assert out.shape == (2, 30, 174)
    other = m(b["audio"], torch.tensor([5, 5]))
    assert not torch.allclose(out, other)  # the label embedding conditions the output
    f = animate(m, b["audio"], b["words"], b["word_time"], b["word_mask"], b["label"])
    rig_out, intensity = f.rig, f.intensity
    torch.testing.assert_close(rig_out, out)
    assert intensity.shape == (2, 30)


def test_periodic_bias_is_centred_and_stepwise():
    bias = periodic_bias(20, 2, 4)
    assert bias.shape == (2, 20, 20)
    torch.testing.assert_close(bias, bias.transpose(1, 2))  # centred: past and future alike
    assert (bias.diagonal(dim1=1, dim2=2) == 0).all()
    assert bias[0, 10, 11] == 0 and bias[0, 10, 14] < 0  # constant within a period
    assert bias[0, 0, 19] < bias[0, 0, 8] < 0  # decreasing with distance


def test_faceformer_training_step_updates_the_weights():
    torch.manual_seed(0)
    m = FaceFormer(TINY_FF)
    phase = PHASES["faceformer"]
    params = set_trainable(m, phase.trainable)
    assert len(params) == len(list(m.parameters()))
    opt = torch.optim.AdamW(params, lr=1e-3)
    before = [p.detach().clone() for p in params]
    terms = phase.step(m, Sampler(utterances(), 40, 4, 0), STEP)
    assert set(terms) == {"recon"} and torch.isfinite(terms["recon"])
    opt.zero_grad()
    terms["recon"].backward()
    opt.step()
    assert all(p.grad is not None for p in params)
    assert any(not torch.equal(a, p) for a, p in zip(before, params))


def test_faceformer_checkpoint_and_predict(tmp_path):
    m = FaceFormer(TINY_FF).eval()
    path = tmp_path / "ff.safetensors"
    checkpoint.save(m, path, {"plan": "faceformer", "features": {}})
    loaded, meta = load_checkpoint(path)
    assert isinstance(loaded, FaceFormer) and meta["plan"] == "faceformer"
    u = utterances(1)[0]
    out, intensity = predict(loaded, u)
    ref, _ = predict(m, u)
    assert out.shape == (50, 174) and intensity.shape == (50,)
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_new_model_picks_the_architecture():
    assert isinstance(models.new_model(("faceformer",), SMALL, TINY_FF), FaceFormer)
    assert isinstance(models.new_model(("self", "acm"), SMALL, TINY_FF), MEDTalk)


# --- ablation switches --------------------------------------------------------------------------

def test_without_text_the_output_ignores_words():
    m = MEDTalk(SMALL).eval()
    b, other = batch(), batch()
    other["words"] = torch.randn_like(b["words"]) * 3
    with torch.no_grad():
        full = [fim_forward(m, x).rig for x in (b, other)]
        blind = [fim_forward(m, x, {"text": True}).rig for x in (b, other)]
    assert not torch.allclose(*full)  # with text the words matter
    torch.testing.assert_close(*blind)


def test_without_intensity_i_hat_is_one_and_unused():
    torch.manual_seed(0)
    m = MEDTalk(SMALL).eval()
    b = batch()
    with torch.no_grad():
        ablated = fim_forward(m, b, {"intensity": True})
        out, i_hat = ablated.rig, ablated.intensity
        torch.testing.assert_close(i_hat, torch.ones_like(i_hat))
        m.fim.intensity_head.weight.mul_(5.0).add_(1.0)  # another intensity head: no effect
        out2 = fim_forward(m, b, {"intensity": True}).rig
        full = fim_forward(m, b)
        with_int, i_hat2 = full.rig, full.intensity
    torch.testing.assert_close(out, out2)
    assert not torch.allclose(i_hat2, torch.ones_like(i_hat2))
    assert not torch.allclose(with_int, out)


def test_step_fim_without_intensity_trains_no_intensity_head():
    torch.manual_seed(0)
    m = MEDTalk(SMALL)
    set_trainable(m, PHASES["fim"].trainable)
    terms = PHASES["fim"].step(m, Sampler(utterances(), 40, 4, 0),
                               replace(STEP, ablate={"intensity": True}))
    sum(terms.values()).backward()
    assert m.fim.intensity_head.weight.grad is None
    assert m.fim.fuse_encoder.out.weight.grad.abs().sum() > 0


def test_prefix_settings_ignore_flags_before_fim():
    s = {"plan": ["self", "acm", "fim"], "epochs": {"self": 2, "acm": 1, "fim": 3},
         "lr": {"self": 1e-3, "acm": 1e-3, "fim": 1e-3}, "keep_best": [], "ablate": {"text": True},
         "guide_share": 0.5}
    plain = dict(s, ablate={})
    assert ablations.prefix_settings(s, 2) == ablations.prefix_settings(plain, 2)
    assert ablations.prefix_settings(s, 3) != ablations.prefix_settings(plain, 3)
    assert ablations.scaled_epochs(5, 0.5) == 3 and ablations.scaled_epochs(1, 0.1) == 1


# --- results section and sentences ---------------------------------------------------------------

def test_write_section_between_markers(tmp_path):
    md = tmp_path / "results.md"
    md.write_text("# Results\n\nintro\n")
    results.write_section(md, "ablations", "table one")
    results.write_section(md, "disentangle", "figure")
    results.write_section(md, "ablations", "table two")
    text = md.read_text()
    assert text.startswith("# Results\n\nintro\n")
    assert "table one" not in text and text.count("<!-- ablations:begin -->") == 1
    assert text.index("table two") < text.index("figure")
    assert [p.name for p in tmp_path.iterdir()] == ["results.md"]  # no temporary file left


def test_write_section_is_atomic_and_checks_markers(tmp_path, monkeypatch):
    md = tmp_path / "results.md"
    md.write_text("a\n<!-- ablations:end -->\nb\n<!-- ablations:begin -->\n")
    with pytest.raises(MedtalkError, match="malformed"):
        results.write_section(md, "ablations", "x")
    md.write_text("keep me\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", broken_replace)
    with pytest.raises(OSError):
        results.write_section(md, "ablations", "x")
    assert md.read_text() == "keep me\n"  # the old file is untouched until the rename


def scores(mle, mee, eie, frd):
    return {"MLE": mle, "MEE": mee, "EIE": eie, "FRD": frd}


def test_table_sentences_follow_the_numbers():
    full = scores(0.02, 0.03, 0.025, 0.013)
    text = ablations.table3_text(full, {"w/o cycle": scores(0.03, 0.04, 0.03, 0.02),
                                        "w/o text": scores(0.019, 0.03, 0.03, 0.013)}, 0.01)
    assert "w/o cycle: worse on MLE" in text and "1 of 2 are worse on all four" in text
    assert "w/o text: worse on EIE" in text and "better on MLE" in text
    assert "within 1 % on MEE and FRD" in text and "w/o text is not" in text
    agree = ablations.table1_text(full, {"baseline": scores(0.05, 0.05, 0.05, 0.05)}, 0.01)
    assert "ours is the lowest here on all four" in agree
    differ = ablations.table1_text(full, {"baseline": scores(0.05, 0.05, 0.02, 0.05)}, 0.01)
    assert "differs on EIE" in differ and "agrees on MLE, MEE and FRD" in differ


# --- disentanglement probe and swap test ---------------------------------------------------------

def test_probe_finds_the_emotion_only_where_it_is():
    g = np.random.default_rng(0)
    y = g.integers(0, 7, 700)
    centres = g.normal(size=(7, 8)) * 3
    informative = centres[y] + g.normal(size=(700, 8))
    noise = g.normal(size=(700, 8))
    acc_e = disentangle.probe_accuracy(informative[:500], y[:500], informative[500:], y[500:])
    acc_c = disentangle.probe_accuracy(noise[:500], y[:500], noise[500:], y[500:])
    assert acc_e > 0.9
    assert acc_c < 0.3
    assert disentangle.project_2d(informative[:60], "pca").shape == (60, 2)


def test_sentence_probe_reads_the_content_embedding():
    from types import SimpleNamespace

    g = np.random.default_rng(0)
    sent = g.integers(0, 5, 400)
    clips = [SimpleNamespace(sentence=f"s{k}") for k in sent]
    content = np.eye(5)[sent] * 3 + g.normal(size=(400, 5))
    emotion = g.normal(size=(400, 5))
    test = clips[300:] + [SimpleNamespace(sentence="unseen")]
    c_te = np.vstack([content[300:], np.zeros((1, 5))])
    e_te = np.vstack([emotion[300:], np.zeros((1, 5))])
    res = disentangle.sentence_probes(emotion[:300], content[:300], e_te, c_te, clips[:300], test)
    assert res["sentences"] == 5 and res["sentence_clips"] == 100  # the unseen one is left out
    assert res["sentence_c"] > 0.9 and res["sentence_e"] < 0.45


class SplitMotion:
    """Toy autoencoders: ``split`` is perfectly disentangled (emotion = the upper face, content =
    the rest); ``content`` puts everything in the content, ``emotion`` everything in the emotion."""

    def __init__(self, kind="split"):
        self.up = torch.zeros(174, dtype=torch.bool)
        self.up[torch.from_numpy(rig.S_UP)] = True
        self.kind = kind

    def encode_content(self, r):
        return {"split": r * ~self.up, "content": r, "emotion": 0 * r}[self.kind]

    def encode_emotion(self, r):
        return {"split": r * self.up, "content": 0 * r, "emotion": r}[self.kind]

    def decode(self, c, e):
        return c + e


def swap_corpus():
    """Two sentences (own lips) x three emotions (own upper-face level) by one voice."""
    g = np.random.default_rng(1)
    T = 40
    utts = []
    for s in range(2):
        lips = g.uniform(0, 0.5, (T, 174)).astype(np.float32)
        for e in range(3):
            r = lips.copy()
            r[:, rig.S_UP] = 0.2 * e + 0.02 * g.normal(size=(T, len(rig.S_UP)))
            utts.append(Utterance(id=f"s{s}e{e}", emotion=e, sentence=f"s{s}", voice="v",
                                  split="test", rig=r, audio=np.zeros((T, 16), np.float16),
                                  words=np.zeros((0, 8)), word_time=np.zeros(0, np.float32),
                                  phone_bounds=np.array([], np.float32)))
    return utts


def test_swap_test_passes_for_a_disentangled_autoencoder():
    res = disentangle.swap_test(SplitMotion(), swap_corpus(), bound=0.01)
    assert res["pairs"] == 12  # 6 clips x 2 other emotions
    assert res["up_to_z"] < 0.01 < res["up_to_x"] and res["toward_z"] == 1.0
    assert res["lip_mle_z"] < 1e-10 < res["lip_mle_y"]  # x's words, not y's
    assert res["passed"]


def test_swap_test_fails_when_content_keeps_the_emotion():
    res = disentangle.swap_test(SplitMotion("content"), swap_corpus(), bound=0.01)
    assert res["toward_z"] == 0.0 and res["up_to_x"] < 1e-10
    assert not res["passed"]


def test_swap_test_fails_when_the_emotion_brings_the_words():
    res = disentangle.swap_test(SplitMotion("emotion"), swap_corpus(), bound=0.01)
    assert res["lip_mle_y"] < 1e-10 and res["lip_mle_z"] > 0.01
    assert not res["passed"]


def test_swap_scores_measure_lips_with_the_mle():
    x = np.zeros((10, 174), np.float32)
    z = x.copy()
    z[:, rig.S_UP] = 1.0
    swapped = z.copy()
    swapped[:, rig.S_LIP[0]] = 0.3
    s = disentangle.swap_scores(swapped, x, x, z)
    assert s["up_to_z"] == 0 and s["up_to_x"] == 1.0
    assert s["lip_mle_z"] == pytest.approx(0.09) and s["lip_mle_zx"] == 0


def test_figure_is_written(tmp_path):
    pts = {"E_e, PCA": np.random.default_rng(0).normal(size=(14, 2))}
    out = tmp_path / "d.png"
    disentangle.plot_projections(pts, np.arange(14) % 7, out)
    assert out.stat().st_size > 1000 and sorted(os.listdir(tmp_path)) == ["d.png"]


# --- run folders ---------------------------------------------------------------------------------

def context(tmp_path, budget=1.0) -> ablations.Context:
    card = {"phases": ["self", "acm", "fim"], "epochs": {"self": 2, "acm": 2, "fim": 4},
            "history": [{"phase": "self", "epoch": 1, "seconds": 60.0}]}
    cfg = load_config()
    cfg = replace(cfg, model=SMALL, ablations=replace(cfg.ablations, faceformer=TINY_FF,
                                                      faceformer_epochs=3, faceformer_lr=1e-3))
    tcfg = train_config(seed=0, steps_per_epoch=2, batch_size=2, clip_frames=40, lambda_sim=0.1,
                        lambda_int=0.1, epochs={"self": 9, "acm": 9, "fim": 9, "e2e": 5},
                        lr={p: 1e-3 for p in ("self", "acm", "fim", "e2e")}, keep_best=())
    return ablations.Context(
        cfg=cfg, tcfg=tcfg, train=[], val=[], test=[], split="test",
        ref_path=tmp_path / "ref.safetensors", ref_meta={"model": SMALL.to_dict(), "features": {}},
        ref_card=card, corpus_sha="c0", budget=budget, runs=tmp_path / "runs",
        base_run=tmp_path / "base", reuse=[])


def test_variant_schedules_follow_the_reference_and_the_budget(tmp_path):
    ctx = context(tmp_path, budget=0.5)
    plan, s = ablations.variant_settings(ablations.Variant("x", "x", drop="acm"), ctx)
    assert plan == ("self", "fim") and s["epochs"] == {"self": 1, "fim": 2}
    plan, s = ablations.variant_settings(ablations.VARIANTS[4], ctx)  # e2e: [train] epochs
    assert plan == ("e2e",) and s["epochs"] == {"e2e": 3}
    ctx.budget = 1.0
    _, s = ablations.variant_settings(ablations.Variant("t", "t", ablate={"text": True},
                                                        from_stage2=True), ctx)
    assert s["epochs"] == ctx.ref_card["epochs"] and s["start"]["after"] == ["self", "acm"]


def test_card_matching_for_reuse(tmp_path):
    ctx = context(tmp_path)
    _, s = ablations.variant_settings(ablations.VARIANTS[4], ctx)
    card = {"phases": ["e2e"], "epochs": {"e2e": 5}, "steps_per_epoch": 2, "batch_size": 2,
            "clip_frames": 40, "model": SMALL.to_dict(), "features": {},
            "corpus": {"manifest_sha256": "c0"}}
    assert ablations.card_matches(card, s)
    assert not ablations.card_matches(dict(card, epochs={"e2e": 4}), s)
    assert not ablations.card_matches(dict(card, corpus={"manifest_sha256": "other"}), s)


def test_stage3_variants_start_from_the_base_run_with_a_fresh_fim(tmp_path):
    ctx = context(tmp_path)
    torch.manual_seed(5)
    base = MEDTalk(SMALL)
    ctx.base_run.mkdir()
    checkpoint.save(base, ctx.base_run / "model.safetensors", {})
    history = [{"phase": p, "epoch": e, "seconds": 1.0}
               for p, n in (("self", 2), ("acm", 2), ("fim", 4)) for e in range(1, n + 1)]
    (ctx.base_run / "progress.json").write_text(
        json.dumps({"phase": 3, "epoch": 0, "history": history}))
    run = tmp_path / "run"
    run.mkdir()
    model = MEDTalk(SMALL)
    ablations.seed_from_stage2(run, ctx, ("self", "acm", "fim"), model, ctx.cfg.model, {})
    torch.manual_seed(0)
    fresh = MEDTalk(SMALL)
    for k, v in model.state_dict().items():
        want = (fresh if k.startswith("fim.") else base).state_dict()[k]
        torch.testing.assert_close(v, want, msg=k)
    progress = json.loads((run / "progress.json").read_text())
    assert progress["phase"] == 2
    assert [h["phase"] for h in progress["history"]] == ["self", "self", "acm", "acm"]
    ctx.ref_card["epochs"]["acm"] = 3  # a base run with other stage-2 epochs is refused
    with pytest.raises(MedtalkError, match="has not finished"):
        ablations.seed_from_stage2(run, ctx, ("self", "acm", "fim"), model, ctx.cfg.model, {})
