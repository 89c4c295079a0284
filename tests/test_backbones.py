"""The paper's backbones (wav2vec2, emotion2vec, RoBERTa) on tiny random models built here.

Each model is saved as its library saves it, then loaded through medtalk_core's loaders from a
local folder and from a fake Hugging Face hub cache. Real weights cannot be downloaded here.
"""

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from medtalk_core import rig
from medtalk_core.audio import load_audio
from medtalk_core.backbones import (DEFAULT_MODELS, Wav2Vec2Encoder, backend_settings,
                                    content_encoder, emotion_encoder, text_encoder)
from medtalk_core.config import FeaturesConfig, load_config
from medtalk_core.errors import MedtalkError, ModelNotFoundError
from medtalk_core.features import WhisperEncoder
from medtalk_core.framegrid import FrameGrid
from medtalk_core.frontend import AudioFrontEnd, FrontEnd
from medtalk_core.hub import resolve_model
from train.dataset import _frontend_key

SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # real English, 16 kHz, 10.8 s
W2V_HIDDEN, BERT_HIDDEN, E2V_DIM = 32, 24, 16
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s",
         "hello", "world", "你", "好", "猫"]


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    if not SPEECH.is_file():
        pytest.skip("codec2-examples is not installed")
    return load_audio(SPEECH)


@pytest.fixture(autouse=True)
def empty_hub(tmp_path, monkeypatch) -> Path:
    """An empty hub cache for every test (never the user's)."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def into_hub(cache: Path, repo: str, folder: Path, revision: str = "0123abcd") -> None:
    """Lay ``folder`` out in a hub cache as the ``main`` revision of ``repo``."""
    entry = cache / f"models--{repo.replace('/', '--')}"
    snapshot = entry / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for f in folder.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(revision)


@pytest.fixture(scope="module")
def w2v_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide wav2vec2 with the real convolution geometry (kernels 10,3,3,3,3,2,2;
    strides 5,2,2,2,2,2,2) and 8 channels, saved with a CTC head as facebook/wav2vec2-base-960h
    is, and its feature extractor."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    torch.manual_seed(11)
    cfg = Wav2Vec2Config(hidden_size=W2V_HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, conv_dim=(8,) * 7, num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=2, feat_extract_norm="layer",
                         do_stable_layer_norm=True, vocab_size=32)
    out = tmp_path_factory.mktemp("wav2vec2")
    Wav2Vec2ForCTC(cfg).save_pretrained(out)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    """A 2-layer, 24-wide BERT (the architecture of hfl/chinese-roberta-wwm-ext) and its
    WordPiece tokenizer made from a 16-entry vocabulary."""
    from transformers import BertConfig, BertModel, BertTokenizer

    out = tmp_path_factory.mktemp("roberta")
    (out / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    BertTokenizer(vocab=str(out / "vocab.txt")).save_pretrained(out)
    torch.manual_seed(12)
    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=BERT_HIDDEN, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=48)
    BertModel(cfg).save_pretrained(out)
    return out


E2V_CONF = {
    "model": "Emotion2vec",
    "model_conf": {
        "loss_beta": 0.0, "loss_scale": None, "depth": 1, "start_drop_path_rate": 0.0,
        "end_drop_path_rate": 0.0, "num_heads": 2, "norm_eps": 1e-5, "norm_affine": True,
        "encoder_dropout": 0.1, "post_mlp_drop": 0.1, "attention_dropout": 0.1,
        "activation_dropout": 0.0, "dropout_input": 0.0, "layerdrop": 0.0, "embed_dim": E2V_DIM,
        "mlp_ratio": 2.0, "layer_norm_first": False, "average_top_k_layers": 1,
        "end_of_block_targets": False, "clone_batch": 1, "normalize": True,
        "modalities": {"audio": {
            "type": "AUDIO", "prenet_depth": 1, "prenet_layerdrop": 0.0, "prenet_dropout": 0.0,
            "start_drop_path_rate": 0.0, "end_drop_path_rate": 0.0, "num_extra_tokens": 2,
            "init_extra_token_zero": False, "mask_noise_std": 0.01, "mask_prob": 0.5,
            "inverse_mask": False, "mask_length": 5, "local_grad_mult": 1.0,
            "use_alibi_encoder": True, "alibi_scale": 1.0, "learned_alibi": False,
            "alibi_max_pos": None, "learned_alibi_scale": True,
            "learned_alibi_scale_per_head": True, "learned_alibi_scale_per_layer": True,
            "num_alibi_heads": 2, "model_depth": 1, "decoder": None,
            "extractor_mode": "layer_norm",
            "feature_encoder_spec": "[(8, 10, 5)] + [(8, 3, 2)] * 4 + [(8, 2, 2)] * 2",
            "conv_pos_width": 6, "conv_pos_groups": 2, "conv_pos_depth": 2,
            "conv_pos_pre_ln": False}},
    },
}
"""A 1 + 1 block, 16-wide emotion2vec with emotion2vec_base's convolution geometry."""


@pytest.fixture(scope="module")
def e2v(tmp_path_factory):
    """A tiny emotion2vec saved as a FunASR folder (config.yaml, model.pt), and the module."""
    pytest.importorskip("funasr", reason="emotion2vec needs funasr (pip install -e .[backbones])")
    from omegaconf import OmegaConf

    from funasr.models.emotion2vec.model import Emotion2vec

    torch.manual_seed(13)
    model = Emotion2vec(**E2V_CONF).eval()
    out = tmp_path_factory.mktemp("emotion2vec")
    torch.save(model.state_dict(), out / "model.pt")
    OmegaConf.save(OmegaConf.create(E2V_CONF), out / "config.yaml")
    return out, model


def features_cfg(**keys) -> FeaturesConfig:
    return replace(load_config().features, **keys)


# --- the 50 Hz grid --------------------------------------------------------------------------


def test_grid_of_the_wav2vec2_convolutions():
    grid = FrameGrid.from_convs((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2))
    assert (grid.hop, grid.field) == (320, 400)
    assert [grid.n_frames(n) for n in (0, 1, 320, 321, 16000)] == [0, 1, 1, 2, 50]
    assert len(grid.pad(np.ones(16000))) == 50 * 320 + 80
    with pytest.raises(MedtalkError, match="50 Hz"):
        FrameGrid.from_convs((10, 3), (5, 2))


@pytest.mark.parametrize("window_s,context_s", [(20.0, 1.0), (0.2, 0.04), (0.1, 0.0)])
def test_grid_centres_frames_and_stitches_windows(window_s, context_s):
    """With a frame-local encoder (the mean of each frame's 400 samples) on x = sample index,
    frame g is (320 g + 160) - 0.5: centred at (g + 0.5) / 50 s, whatever the windows. A second
    column, the frame's index in its window, shows that frame g comes from the window holding g
    (windows of W frames with C frames of context before)."""
    grid = FrameGrid(320, 400)
    x = np.arange(16000 * 1.37, dtype=np.float32)

    def run(w):
        means = np.lib.stride_tricks.sliding_window_view(w, 400)[::320].mean(1)
        return np.stack([means, np.arange(len(means))], axis=1)

    out = grid.encode(x, run, 2, window_s, context_s)
    assert out.shape == (69, 2)
    inside = np.arange(1, 68)  # the edge frames see zero padding
    np.testing.assert_allclose(out[inside, 0], 320 * inside + 159.5, rtol=1e-6)
    g, w, c = np.arange(69), round(window_s * 50), round(context_s * 50)
    np.testing.assert_array_equal(out[:, 1], g - np.maximum(0, g // w * w - c))


def test_wav2vec2_frames_see_their_own_20_ms(w2v_dir):
    """On the padded clip, an impulse at sample c changes exactly the convolution frames g with
    320 g - 40 <= c < 320 g + 360, i.e. those whose 20 ms centre is within 200 samples of c."""
    enc = Wav2Vec2Encoder(str(w2v_dir))
    x = np.zeros(8000, np.float32)
    conv = lambda a: enc.model.feature_extractor(torch.from_numpy(enc.grid.pad(a))[None])[0].T
    with torch.inference_mode():
        base = conv(x).numpy()
        for c in (0, 39, 40, 359, 360, 1234, 4000, 7999):
            y = x.copy()
            y[c] = 1.0
            changed = set(np.flatnonzero(np.abs(conv(y).numpy() - base).max(axis=1) > 0))
            assert changed == {g for g in range(25) if 320 * g - 40 <= c < 320 * g + 360}, c


# --- hub cache ---------------------------------------------------------------------------------


def test_resolve_model_folder_and_hub_cache(w2v_dir, empty_hub, tmp_path, monkeypatch):
    assert resolve_model(str(w2v_dir), "wav2vec2_model", "wav2vec2") == w2v_dir
    into_hub(empty_hub, "org/tiny-w2v", w2v_dir)
    snapshot = empty_hub / "models--org--tiny-w2v" / "snapshots" / "0123abcd"
    assert resolve_model("org/tiny-w2v", "wav2vec2_model", "wav2vec2") == snapshot
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(empty_hub.parent))  # $HF_HOME/hub
    assert resolve_model("org/tiny-w2v", "wav2vec2_model", "wav2vec2") == snapshot
    with pytest.raises(ModelNotFoundError, match=r"hf download org/other\).*wav2vec2_model"):
        resolve_model("org/other", "wav2vec2_model", "wav2vec2")
    with pytest.raises(ModelNotFoundError, match="is not a folder"):
        resolve_model(str(tmp_path / "nowhere"), "wav2vec2_model", "wav2vec2")


def test_missing_weights_name_what_to_download(tmp_path, monkeypatch):
    for keys, build, repo, key in [
        ({"content_backend": "wav2vec2"}, content_encoder, DEFAULT_MODELS["wav2vec2"],
         "wav2vec2_model"),
        ({"emotion_backend": "emotion2vec"}, emotion_encoder, DEFAULT_MODELS["emotion2vec"],
         "emotion2vec_model"),
        ({"text_backend": "roberta"}, text_encoder, DEFAULT_MODELS["roberta"], "roberta_model"),
    ]:
        with pytest.raises(ModelNotFoundError, match=rf"{repo}.*hf download {repo}.*{key}") as e:
            build(features_cfg(**keys))
        assert "\n" not in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match="cannot load wav2vec2"):
        content_encoder(features_cfg(content_backend="wav2vec2", wav2vec2_model=str(empty)))
    with pytest.raises(ModelNotFoundError, match="lacks config.yaml, model.pt"):
        emotion_encoder(features_cfg(emotion_backend="emotion2vec", emotion2vec_model=str(empty)))
    (empty / "configuration.json").write_text('{"file_path_metas": {"init_param": "e2v.pt"}}')
    with pytest.raises(ModelNotFoundError, match="lacks config.yaml, e2v.pt"):
        emotion_encoder(features_cfg(emotion_backend="emotion2vec", emotion2vec_model=str(empty)))
    (empty / "configuration.json").unlink()
    with pytest.raises(MedtalkError, match="content_backend = 'hubert'"):
        features_cfg(content_backend="hubert")
    (empty / "config.yaml").write_text("model: Emotion2vec\n")
    (empty / "model.pt").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "funasr", None)  # as if FunASR were not installed
    with pytest.raises(MedtalkError, match=r"emotion2vec needs FunASR.*pip install funasr"):
        emotion_encoder(features_cfg(emotion_backend="emotion2vec", emotion2vec_model=str(empty)))


# --- wav2vec2 ----------------------------------------------------------------------------------


def test_wav2vec2_features_from_folder_and_hub(w2v_dir, empty_hub, speech):
    from transformers import Wav2Vec2ForCTC

    x = speech[:16000]
    local = content_encoder(features_cfg(content_backend="wav2vec2", wav2vec2_model=str(w2v_dir)))
    into_hub(empty_hub, "org/tiny-w2v", w2v_dir)
    hub = content_encoder(features_cfg(content_backend="wav2vec2", wav2vec2_model="org/tiny-w2v"))
    f = local.encode(x)
    assert f.rate == 50 and f.values.dtype == np.float32
    assert f.values.shape == (50, W2V_HIDDEN) and np.isfinite(f.values).all()
    np.testing.assert_array_equal(local.encode(x).values, f.values)  # deterministic
    np.testing.assert_array_equal(hub.encode(x).values, f.values)
    # the saved weights, run directly on the normalised clip padded onto the grid
    model = Wav2Vec2ForCTC.from_pretrained(w2v_dir).wav2vec2.eval()
    z = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    with torch.inference_mode():
        direct = model(torch.from_numpy(np.pad(z, (40, 40)))[None]).last_hidden_state[0].numpy()
    np.testing.assert_allclose(f.values, direct, atol=1e-4)
    assert local.encode(np.zeros(0, np.float32)).values.shape == (0, W2V_HIDDEN)
    assert local.encode(x[:321]).values.shape == (2, W2V_HIDDEN)


def test_front_end_with_wav2vec2_on_rig_frames(w2v_dir, speech):
    cfg = features_cfg(content_backend="wav2vec2", wav2vec2_model=str(w2v_dir))
    fe = FrontEnd(cfg, text=False, transcriber=False)
    assert (fe.audio.content_dim, fe.audio.emotion_dim, fe.audio.dim) == (W2V_HIDDEN, 0, W2V_HIDDEN)
    x = speech[: 3 * 16000]
    feats = fe.audio(x).values
    frames = fe.audio_frames(x, 3 * rig.FPS)
    assert frames.shape == (180, W2V_HIDDEN) and frames.dtype == np.float32
    # rig frame i at i / 60 s lies between features j = floor(i * 50 / 60 - 0.5) and j + 1
    for i in (30, 90, 150):
        pos = i / rig.FPS * 50 - 0.5
        j, w = int(np.floor(pos)), pos - np.floor(pos)
        np.testing.assert_allclose(frames[i], (1 - w) * feats[j] + w * feats[j + 1], atol=1e-5)


def test_default_front_end_is_unchanged(speech):
    f = load_config().features
    assert backend_settings(f) == {}
    fe = AudioFrontEnd(f)
    assert (fe.content_dim, fe.emotion_dim, fe.dim) == (384, 0, 384)
    before = WhisperEncoder(f.whisper_encoder_model or None, f.window_s, f.hop_s, f.lookahead_s,
                            f.threads)
    np.testing.assert_array_equal(fe(speech[:16000]).values, before.encode(speech[:16000]).values)
    # feature caches made before the backends keep their names
    old = {k: getattr(f, k) for k in ("whisper_encoder_model", "window_s", "hop_s",
                                      "lookahead_s", "text_model")} | {"content_backend": None}
    old_key = hashlib.sha1(json.dumps(old, sort_keys=True).encode()).hexdigest()[:10]
    assert _frontend_key(f) == old_key
    assert _frontend_key(replace(f, content_backend="wav2vec2")) != old_key
    assert _frontend_key(replace(f, text_backend="roberta", roberta_model="/a")) != \
        _frontend_key(replace(f, text_backend="roberta", roberta_model="/b"))


# --- emotion2vec (FunASR) ----------------------------------------------------------------------


def test_emotion2vec_frames_from_folder_and_hub(e2v, empty_hub, speech):
    from medtalk_core.emotion2vec import Emotion2vecEncoder

    folder, model = e2v
    x = speech[16000:32000]
    local = emotion_encoder(features_cfg(emotion_backend="emotion2vec",
                                         emotion2vec_model=str(folder)))
    into_hub(empty_hub, "org/tiny-e2v", folder)
    hub = emotion_encoder(features_cfg(emotion_backend="emotion2vec",
                                       emotion2vec_model="org/tiny-e2v"))
    assert (local.grid.hop, local.grid.field, local.dim) == (320, 400, E2V_DIM)
    f = local.encode(x)
    assert f.rate == 50 and f.values.shape == (50, E2V_DIM) and f.values.dtype == np.float32
    np.testing.assert_array_equal(local.encode(x).values, f.values)
    np.testing.assert_array_equal(hub.encode(x).values, f.values)
    # the saved weights run directly (FunASR's layer norm of the input, extra tokens dropped)
    src = torch.from_numpy(np.pad(x, (40, 40)))
    with torch.inference_mode():
        src = torch.nn.functional.layer_norm(src, src.shape)[None]
        direct = model.extract_features(src, padding_mask=None)["x"][0].numpy()
    np.testing.assert_allclose(f.values, direct, atol=1e-4)
    windowed = Emotion2vecEncoder(str(folder), window_s=0.4, context_s=0.1)  # 5 FunASR runs
    long = windowed.encode(np.tile(x, 2)[:30000])
    assert long.values.shape == (94, E2V_DIM) and np.isfinite(long.values).all()


def test_front_end_joins_content_and_emotion(e2v, w2v_dir, speech):
    cfg = features_cfg(content_backend="wav2vec2", wav2vec2_model=str(w2v_dir),
                       emotion_backend="emotion2vec", emotion2vec_model=str(e2v[0]))
    fe = FrontEnd(cfg, text=False, transcriber=False)
    assert (fe.audio.content_dim, fe.audio.emotion_dim) == (W2V_HIDDEN, E2V_DIM)
    x = speech[: 2 * 16000]
    joined = fe.audio(x).values
    assert joined.shape == (100, W2V_HIDDEN + E2V_DIM)
    np.testing.assert_array_equal(joined[:, :W2V_HIDDEN], fe.audio.encoder.encode(x).values)
    np.testing.assert_array_equal(joined[:, W2V_HIDDEN:], fe.audio.emotion_encoder.encode(x).values)
    assert fe.audio_frames(x, 120).shape == (120, W2V_HIDDEN + E2V_DIM)
    assert _frontend_key(cfg) != _frontend_key(load_config().features)


# --- RoBERTa words -----------------------------------------------------------------------------


def test_roberta_word_and_sentence_features(bert_dir, empty_hub):
    from transformers import BertModel, BertTokenizer

    local = text_encoder(features_cfg(text_backend="roberta", roberta_model=str(bert_dir)))
    into_hub(empty_hub, "org/tiny-roberta", bert_dir)
    hub = text_encoder(features_cfg(text_backend="roberta", roberta_model="org/tiny-roberta"))
    words = ["the", "cats", "sat", "你好", "猫"]
    f = local.encode_words(words)
    assert local.dim == BERT_HIDDEN and f.shape == (5, BERT_HIDDEN) and f.dtype == np.float32
    np.testing.assert_array_equal(hub.encode_words(words), f)
    np.testing.assert_array_equal(local.encode_words(words), f)
    # one run over the plain sentence: [CLS] the cat ##s sat 你 好 猫 [SEP]
    tok, model = BertTokenizer.from_pretrained(bert_dir), BertModel.from_pretrained(bert_dir)
    batch = tok("the cats sat 你好 猫", return_tensors="pt")
    assert tok.convert_ids_to_tokens(batch["input_ids"][0])[1:-1] == \
        ["the", "cat", "##s", "sat", "你", "好", "猫"]
    with torch.inference_mode():
        h = model(**batch).last_hidden_state[0].numpy()
    expected = np.stack([h[1], h[2:4].mean(0), h[4], h[5:7].mean(0), h[7]])
    np.testing.assert_allclose(f, expected, atol=1e-5)
    s = local.encode_sentence("the cat sat on the mat")
    assert s.shape == (BERT_HIDDEN,) and abs(float(np.linalg.norm(s)) - 1) < 1e-5
    fe = FrontEnd(features_cfg(text_backend="roberta", roberta_model=str(bert_dir)), audio=False,
                  transcriber=False)
    assert fe.words([], []).features.shape == (0, BERT_HIDDEN)
