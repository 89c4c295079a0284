"""Stage 4 (P_text / P_image, eq. 13-14) on tiny models, and emotion requests by label, text or
image through inference and the live controls."""

from dataclasses import replace
import numpy as np
import pytest
import torch

from conftest import model_config, train_config

from bridge.controls import ControlServer
from bridge.state import LiveState
from medtalk_core import checkpoint, rig
from medtalk_core.errors import MedtalkError
from medtalk_core.forward import animate
from medtalk_core.model import MEDTalk
from medtalk_core.steering import EmotionSpec, spec_from_args
from train.batches import Sampler
from train.dataset import Utterance
from train.guide import GuidanceTable
from train.stages import PHASES, StepSettings
from train.trainer import set_trainable

TINY = model_config(audio_dim=16, text_dim=8, content_dim=6, emotion_dim=5, hidden=16, layers=1,
                   attn_heads=2, dropout=0.0, guide_text_dim=12)


def tiny_utts(n=14, frames=90):
    rng = np.random.default_rng(0)
    return [Utterance(id=f"u{i}", emotion=i % 7, sentence="s", voice="v", split="train",
                      rig=rng.normal(0, 0.1, (frames, 174)).astype(np.float32),
                      audio=rng.normal(0, 1, (frames, 16)).astype(np.float16),
                      words=rng.normal(0, 1, (3, 8)).astype(np.float16),
                      word_time=np.array([0.3, 0.7, 1.2], np.float32))
            for i in range(n)]


def table(n_per=2, dim=12):
    g = torch.Generator().manual_seed(1)
    emb = torch.nn.functional.normalize(torch.randn(7 * n_per, dim, generator=g), dim=-1)
    mix = torch.eye(7).repeat_interleave(n_per, 0)
    return GuidanceTable("text", emb, mix, [f"d{i}" for i in range(7 * n_per)])


def test_project_errors_name_the_problem():
    m = MEDTalk(TINY)
    with pytest.raises(ValueError, match="no image guidance projection"):
        m.project("image", torch.zeros(1, 12))
    with pytest.raises(ValueError, match="width 5"):
        m.project("text", torch.zeros(1, 5))
    assert m.project("text", torch.zeros(2, 12)).shape == (2, TINY.hidden)


def test_guide_phase_trains_only_projections_and_fuse_encoder():
    torch.manual_seed(0)
    m = MEDTalk(TINY)
    phase = PHASES["guide"]
    params = set_trainable(m, phase.trainable)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    cfg = StepSettings(train_config(guide_share=0.75, lambda_sim=0.1), guidance=(table(),))
    s = Sampler(tiny_utts(), 60, 4, seed=0)
    opt = torch.optim.Adam(params, lr=1e-2)
    sims = []
    for _ in range(30):
        terms = phase.step(m, s, cfg)
        opt.zero_grad()
        sum(terms.values()).backward()
        opt.step()
        sims.append(terms["sim"].item())
    changed = {k for k, v in m.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("guidance.", "fim.fuse_encoder.")) for k in changed)
    assert np.mean(sims[-5:]) < np.mean(sims[:5])  # P_text moves toward the label embeddings


def test_guide_phase_trains_image_projection_from_image_table():
    """With text and image tables (as --guidance-images adds), both P_text and P_image learn."""
    torch.manual_seed(0)
    cfg_m = replace(TINY, guide_image_dim=6)
    m = MEDTalk(cfg_m)
    phase = PHASES["guide"]
    params = set_trainable(m, phase.trainable)
    images = table(dim=6)
    images = GuidanceTable("image", images.embeddings, images.mix, images.texts)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    cfg = StepSettings(train_config(guide_share=1.0, lambda_sim=0.1), guidance=(table(), images))
    s = Sampler(tiny_utts(), 60, 4, seed=0)
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(8):
        terms = phase.step(m, s, cfg)
        opt.zero_grad()
        sum(terms.values()).backward()
        opt.step()
    for kind in ("text", "image"):
        w = f"guidance.{kind}.net.0.weight"
        assert not torch.equal(m.state_dict()[w], before[w]), kind


def test_stage3_checkpoint_continues_with_stage4(tmp_path):
    """A stage 1-3 checkpoint (no P_text) loads into a model with P_text for stage 4."""
    old = MEDTalk(replace(TINY, guide_text_dim=0))
    checkpoint.save(old, tmp_path / "s3.safetensors", {})
    new = MEDTalk(TINY)
    with pytest.raises(Exception, match="does not match"):
        checkpoint.load_weights(new, tmp_path / "s3.safetensors")
    checkpoint.load_weights(new, tmp_path / "s3.safetensors",
                            allow_missing=checkpoint.GUIDANCE_PREFIX)
    assert torch.equal(new.acm.net.inp.weight, old.acm.net.inp.weight)


def test_separate_emotion_features_feed_fim_only():
    cfg = replace(TINY, emotion_audio_dim=10)
    m = MEDTalk(cfg).eval()
    g = torch.Generator().manual_seed(0)
    audio = torch.randn(1, 40, 26, generator=g)
    words, times = torch.zeros(1, 0, 8), torch.zeros(1, 0)
    mask = torch.zeros(1, 0, dtype=torch.bool)
    emo = audio.clone()
    emo[..., 16:] += 1.0  # only the emotion columns change
    f_c = m.acm(audio)
    assert torch.equal(f_c, m.acm(emo))
    a = animate(m, audio, words, times, mask, torch.tensor([3])).rig
    b = animate(m, emo, words, times, mask, torch.tensor([3])).rig
    assert not torch.allclose(a, b)


def test_spec_from_args():
    assert spec_from_args("happy", None, None) == EmotionSpec("label", "happy")
    assert spec_from_args(None, "a wry smile", None).describe() == "text: a wry smile"
    for bad in ((None, None, None), ("happy", "x", None), ("glee", None, None), (None, " ", None)):
        with pytest.raises(MedtalkError):
            spec_from_args(*bad)


def test_live_text_and_image_controls_blend_to_the_steered_embedding():
    labels = np.eye(7, 16, dtype=np.float32)
    target = np.full(16, 0.5, np.float32)
    asked = []

    def steer(spec):
        asked.append(spec)
        if spec.value == "bad.png":
            raise MedtalkError("cannot read image bad.png")
        return target

    state = LiveState(labels, "neutral", blend_frames=10, steer=steer)
    server = ControlServer("127.0.0.1:0").start(state)
    try:
        from pythonosc.osc_message_builder import OscMessageBuilder

        def msg(address, value):
            b = OscMessageBuilder(address)
            b.add_arg(value)
            server.handle(b.build().dgram)

        state.frame_control(0)
        msg("/medtalk/text", "a broad smile")
        assert state.emotion == "text: a broad smile"
        np.testing.assert_allclose(state.frame_control(1).label.numpy(), labels[4])  # blend start
        mid = state.frame_control(6).label.numpy()
        np.testing.assert_allclose(mid, 0.5 * labels[4] + 0.5 * target)
        np.testing.assert_allclose(state.frame_control(11).label.numpy(), target)
        msg("/medtalk/image", "bad.png")
        msg("/medtalk/text", 3)
        assert sum(server.problems.counts.values()) == 2
        assert asked[-1] == EmotionSpec("image", "bad.png")
        state.key("0")  # back to the start label
        assert state.emotion == "neutral"
    finally:
        server.close()
    with pytest.raises(ValueError, match="not available"):
        LiveState(labels, "neutral", 10).set_spec(EmotionSpec("text", "a smile"))


def test_shipped_default_has_text_guidance_near_the_right_emotion(english_clip):
    """Text guidance works out of the box: "a broad smile with raised cheeks" lands nearer
    happy than sad on the upper face, with the shipped default model and the shipped MiniLM
    sentence encoder."""
    from medtalk_core.audio import load_audio
    from medtalk_core.inference import Animator

    animator = Animator.load(transcriber=False)
    assert "text" in animator.model.guidance
    audio = load_audio(english_clip)
    words = animator.frontend.words(["the", "birch", "canoe"], [(0.2, 0.4), (0.5, 0.8),
                                                                 (0.9, 1.3)])
    up = rig.S_UP

    def upper(emotion):
        return animator.animate(audio, emotion, transcript=words).frames[:, up].mean(0)

    happy, sad = upper("happy"), upper("sad")
    for text, near, far in (("a broad smile with raised cheeks", happy, sad),
                            ("a sad face, brows raised in the middle, mouth corners down", sad,
                             happy)):
        face = upper(EmotionSpec("text", text))
        assert np.abs(face - near).mean() < np.abs(face - far).mean(), text
