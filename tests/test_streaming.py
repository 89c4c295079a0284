"""The streaming model (medtalk_core/streaming.py) computes what the whole-clip model computes,
and the limited-lookahead model (ModelConfig.lookahead_frames) sees no further ahead."""

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import model_config

from medtalk_core.errors import MedtalkError
from medtalk_core.features import WhisperEncoder, align_to_frames
from medtalk_core.forward import animate
from medtalk_core.model import MEDTalk
from medtalk_core.streaming import (
    FeatureStream,
    FrameControl,
    StreamingModel,
    ahead_s,
    frame_need,
    word_visibility,
)

SPEECH = "/usr/share/codec2/raw/speech_orig_16k.wav"


def small_model(lookahead: int) -> MEDTalk:
    torch.manual_seed(0)
    return MEDTalk(model_config(hidden=32, content_dim=16, emotion_dim=8,
                               lookahead_frames=lookahead)).eval()


@pytest.mark.parametrize("ablate", [None, {"text": True}, {"intensity": True}])
@pytest.mark.parametrize("lookahead", [-1, 0, 1, 2, 6])
def test_streaming_model_equals_whole_clip_model(lookahead, ablate):
    m = small_model(lookahead)
    T, W = 83, 5
    g = torch.Generator().manual_seed(1)
    audio, words = torch.randn(1, T, 384, generator=g), torch.randn(1, W, 384, generator=g)
    centres = torch.rand(1, W, generator=g) * T / 60
    with torch.no_grad():
        f = animate(m, audio, words, centres, torch.ones(1, W, dtype=torch.bool),
                    torch.tensor([2]), 0.5, ablate)
    ref, i_ref = f.rig, f.intensity
    label = m.fim.label_embedding.weight[2].detach()
    runner = StreamingModel(m, lambda i: FrameControl(label, 0.5), horizon_s=1e9, ablate=ablate)
    runner.add_words(words[0].numpy(), centres[0].numpy(), commit_s=-1e9)
    outs, i, rng = [], 0, np.random.default_rng(0)
    while i < T:  # 0 to 3 frames at a time, as the live features arrive
        n = int(rng.integers(0, 4))
        outs.append(runner.push(audio[0, i:i + n].numpy()))
        i += n
    outs.append(runner.finish())
    assert [o.first for o in outs if len(o.rig)] == sorted({o.first for o in outs if len(o.rig)})
    np.testing.assert_allclose(np.concatenate([o.rig for o in outs]), ref[0].numpy(), atol=2e-5)
    np.testing.assert_allclose(np.concatenate([o.intensity for o in outs]),
                               0.5 * i_ref[0].numpy(), atol=2e-5)
    assert runner.lag == (36 if lookahead < 0 else lookahead)  # 3 nets x 12 frames when centred


@pytest.mark.parametrize("lookahead", [0, 1, 6])
def test_limited_lookahead_output_ignores_later_audio(lookahead):
    m = small_model(lookahead)
    x = torch.randn(1, 60, 384)
    y = x.clone()
    y[:, 31:] += 5.0  # change the audio from frame 31 on
    words, t = torch.zeros(1, 1, 384), torch.zeros(1, 1)
    mask, label = torch.ones(1, 1, dtype=torch.bool), torch.tensor([0])
    with torch.no_grad():
        a, b = animate(m, x, words, t, mask, label).rig, animate(m, y, words, t, mask, label).rig
    last_same = 30 - lookahead
    assert torch.allclose(a[:, :last_same + 1], b[:, :last_same + 1], atol=1e-6)
    assert not torch.allclose(a[:, last_same + 1], b[:, last_same + 1])


def test_centred_and_streaming_models_share_their_weights():
    a, b = MEDTalk(model_config()), MEDTalk(model_config(lookahead_frames=1))
    assert {k: v.shape for k, v in a.state_dict().items()} == \
        {k: v.shape for k, v in b.state_dict().items()}
    b.load_state_dict(a.state_dict())


def test_word_visibility_fades_in_after_commit_and_ends_at_the_horizon():
    t = np.arange(0, 4, 0.25)
    v = word_visibility(t, np.array([0.5]), np.array([1.0]), fade_s=0.5, horizon_s=2.0)[:, 0]
    assert v[t <= 1.0].max() == 0.0 and v[t == 1.25][0] == pytest.approx(0.5)
    assert v[(t >= 1.5) & (t <= 2.5)].min() == 1.0 and v[t > 2.5].max() == 0.0


def test_per_frame_visibility_one_equals_the_word_mask():
    m = small_model(1)
    T, W = 20, 3
    audio, words, centres = torch.randn(1, T, 384), torch.randn(1, W, 384), torch.rand(1, W)
    label = torch.tensor([4])
    with torch.no_grad():
        a = animate(m, audio, words, centres, torch.ones(1, W, dtype=torch.bool), label).rig
        b = animate(m, audio, words, centres, torch.ones(1, T, W), label).rig
        c = animate(m, audio, words, centres, torch.zeros(1, T, W), label).rig
        d = animate(m, audio, words[:, :0], centres[:, :0], torch.zeros(1, 0, dtype=torch.bool),
                    label).rig
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(c, d)  # invisible words = no words


def test_feature_stream_equals_whole_clip_features():
    x, sr = sf.read(SPEECH, dtype="float32")
    x = x[: int(1.3 * sr) + 77]
    enc = WhisperEncoder(window_s=1.0, hop_s=0.02, lookahead_s=0.03)
    ref = align_to_frames(enc.encode(x), len(x) * 60 // sr)

    def read(a, b):
        out = np.zeros(b - a, np.float32)
        lo, hi = max(a, 0), min(b, len(x))
        out[lo - a:hi - a] = x[lo:hi]
        return out

    stream, rows, n = FeatureStream(enc), [], 0
    while n < len(x):
        n = min(len(x), n + 160)
        rows.append(stream.advance(read, n))
        # every frame whose audio has arrived is out, and none before its audio
        assert n < frame_need(stream.frames, 320, 480)
        assert stream.frames == 0 or frame_need(stream.frames - 1, 320, 480) <= n
    rows.append(stream.advance(read, len(x), total=len(x)))
    np.testing.assert_array_equal(np.concatenate(rows), ref)
    assert ahead_s(0.02, 0.03, 1) == pytest.approx(0.0767, abs=1e-3)
    assert ahead_s(0.02, 0.01, 0) == pytest.approx(0.040, abs=1e-6)  # the default stream model


@pytest.mark.parametrize("lookahead", [-2, 13])
def test_lookahead_beyond_one_convolution_is_a_clear_error(lookahead):
    with pytest.raises(MedtalkError, match="lookahead_frames"):
        model_config(kernel=5, lookahead_frames=lookahead)
