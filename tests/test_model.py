import pytest
import torch

from conftest import model_config

from medtalk_core import checkpoint
from medtalk_core.errors import CheckpointError
from medtalk_core.forward import animate
from medtalk_core.model import MEDTalk

SMALL = model_config(audio_dim=16, text_dim=8, content_dim=6, emotion_dim=5, hidden=16, layers=1,
                    attn_heads=2, dropout=0.0)


def inputs(B=2, T=30, W=4):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(B, T, 16, generator=g), torch.randn(B, W, 8, generator=g),
            torch.rand(B, W, generator=g) * T / 60, torch.ones(B, W, dtype=torch.bool))


def test_animate_shapes():
    m = MEDTalk(SMALL).eval()
    audio, words, times, mask = inputs()
    f = animate(m, audio, words, times, mask, torch.tensor([0, 3]))
    out, i_hat = f.rig, f.intensity
    assert out.shape == (2, 30, 174) and i_hat.shape == (2, 30)
    assert (i_hat >= 0).all()


def test_no_words_still_works():
    m = MEDTalk(SMALL).eval()
    audio, _, _, _ = inputs()
    out = animate(m, audio, torch.zeros(2, 0, 8), torch.zeros(2, 0),
                  torch.zeros(2, 0, dtype=torch.bool), torch.tensor([1, 2])).rig
    assert torch.isfinite(out).all()


def test_norm_adjustment_scales_with_intensity():
    """Eq. 9: f~ = I / ||f_label|| * f_label, so a zero intensity scale removes the label."""
    m = MEDTalk(SMALL).eval()
    audio, words, times, mask = inputs()
    a = animate(m, audio, words, times, mask, torch.tensor([0, 0]), intensity_scale=0.0).rig
    b = animate(m, audio, words, times, mask, torch.tensor([3, 3]), intensity_scale=0.0).rig
    c = animate(m, audio, words, times, mask, torch.tensor([3, 3]), intensity_scale=1.0).rig
    torch.testing.assert_close(a, b)
    assert not torch.allclose(b, c)


def test_encoders_see_temporal_context():
    m = MEDTalk(SMALL).eval()
    r = torch.zeros(1, 40, 174)
    base = m.motion.encode_content(r)
    r[0, 20] = 1.0
    changed = (m.motion.encode_content(r) - base).abs().sum(-1)[0]
    assert changed[16] > 0 and changed[24] > 0 and changed[0] == 0


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    m = MEDTalk(SMALL)
    p = tmp_path / "m.safetensors"
    checkpoint.save(m, p, {"features": {"hop_s": 0.5}})
    m2, meta = checkpoint.load_model(p)
    assert meta["features"] == {"hop_s": 0.5} and m2.cfg == SMALL
    for (k, v), (_, v2) in zip(m.state_dict().items(), m2.state_dict().items()):
        torch.testing.assert_close(v, v2)
    with pytest.raises(CheckpointError, match="does not match"):
        checkpoint.load_weights(MEDTalk(model_config(hidden=8, layers=1)), p)
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load_model(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="not a readable"):
        checkpoint.load_model(tmp_path / "junk.safetensors")


def test_non_finite_weights_are_refused_naming_the_first_bad_tensor(tmp_path):
    m = MEDTalk(SMALL)
    names = sorted(m.state_dict())
    with torch.no_grad():
        m.state_dict()[names[-1]].view(-1)[0] = float("nan")
        m.state_dict()[names[2]].view(-1)[-1] = float("-inf")
    p = tmp_path / "bad.safetensors"
    checkpoint.save(m, p, {"features": {}})
    message = f"checkpoint {p}: tensor {names[2]} has infinite values"
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load_model(p)
    with pytest.raises(CheckpointError, match=message):  # also training's --init / resume path
        checkpoint.load_weights(MEDTalk(SMALL), p)
