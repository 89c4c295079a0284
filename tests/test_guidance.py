"""Guidance encoders (MiniLM, CLIP through open_clip), the corpus descriptions, the RAVDESS loader.

The open_clip tests build a tiny randomly initialised CLIP, save it and load it back the ways a
user's weights are found (checkpoint file, hub cache); they skip when open_clip cannot be imported
(it needs torchvision; see docs/guidance.md). Everything else always runs.
"""

import importlib.util
import json
import sys

import numpy as np
import pytest

from medtalk_core import rig, rigio
from medtalk_core.config import load_config
from medtalk_core.errors import MedtalkError, ModelNotFoundError
from medtalk_core.guidance import ClipGuidance, SentenceGuidance, load_guidance
from train import ravdess
from train.corpus import descriptions as D


def _open_clip_importable() -> bool:
    if importlib.util.find_spec("open_clip") is None:
        return False
    try:
        import open_clip  # noqa: F401
    except (ImportError, RuntimeError):  # e.g. torchvision built for another torch
        return False
    return True


needs_open_clip = pytest.mark.skipif(not _open_clip_importable(),
                                     reason="open_clip (and a matching torchvision) not importable")


# ---------------------------------------------------------------- MiniLM sentence guidance


@pytest.fixture(scope="module")
def sentence():
    return SentenceGuidance()


def test_sentence_guidance_shapes_norm_and_meaning(sentence):
    z = sentence.encode_text(["a broad smile with raised cheeks", "a happy smiling face",
                              "sad, with the mouth corners pulled down"])
    assert z.shape == (3, 384) and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    assert z[0] @ z[1] > z[0] @ z[2]
    np.testing.assert_allclose(sentence.encode_text(["a happy smiling face"])[0], z[1], atol=1e-6)
    assert sentence.encode_text([]).shape == (0, 384)


def test_load_guidance_reads_the_config():
    cfg = load_config()
    assert cfg.guidance.text_encoder == "sentence"
    assert isinstance(load_guidance(None, cfg.guidance, cfg.features.text_model),
                      SentenceGuidance)
    with pytest.raises(MedtalkError, match="unknown guidance encoder 'bert'"):
        load_guidance("bert", cfg.guidance)


# ---------------------------------------------------------------- CLIP errors (no open_clip needed)


def test_missing_checkpoint_names_the_file_and_config_key(tmp_path):
    missing = tmp_path / "clip.safetensors"
    with pytest.raises(ModelNotFoundError) as e:
        ClipGuidance(checkpoint=missing)
    msg = str(e.value)
    assert str(missing) in msg and "[guidance] clip_checkpoint" in msg and "\n" not in msg


def test_missing_open_clip_says_how_to_install(tmp_path, monkeypatch):
    ckpt = tmp_path / "clip.safetensors"
    ckpt.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "open_clip", None)  # import open_clip -> ImportError
    with pytest.raises(MedtalkError) as e:
        ClipGuidance(checkpoint=ckpt)
    msg = str(e.value)
    assert "pip install 'medtalk-live[clip]'" in msg and "torchvision" in msg and "\n" not in msg
    assert not isinstance(e.value, ModelNotFoundError)


def test_mismatched_torchvision_is_one_line(tmp_path, monkeypatch):
    class Broken:  # what importing torchvision beside another torch build raises
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "open_clip":
                raise RuntimeError("operator torchvision::nms does not exist\nmore")

    ckpt = tmp_path / "clip.safetensors"
    ckpt.write_bytes(b"x")
    monkeypatch.delitem(sys.modules, "open_clip", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken, *sys.meta_path])
    with pytest.raises(MedtalkError, match="torchvision::nms does not exist.*torch==2.14.1") as e:
        ClipGuidance(checkpoint=ckpt)
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------- CLIP through open_clip

TINY = "medtalk-tiny-clip"
TINY_CFG = {
    "embed_dim": 24,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised tiny CLIP saved as safetensors; returns its path."""
    import open_clip
    import torch
    from safetensors.torch import save_model

    folder = tmp_path_factory.mktemp("tinyclip")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    torch.manual_seed(0)
    model = open_clip.create_model(TINY, pretrained=None)
    path = folder / "tiny.safetensors"
    save_model(model, str(path))
    return path


@pytest.fixture(scope="module")
def face_images(tmp_path_factory):
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("faces")
    paths = []
    for i in range(2):
        paths.append(folder / f"face{i}.png")
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(paths[-1])
    return paths


def _check(g: ClipGuidance, images) -> None:
    from PIL import Image

    text = g.encode_text(["a broad smile with raised cheeks", "a scowl"])
    assert text.shape == (2, 24) and text.dtype == np.float32 and g.dim == 24
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(text[0], text[1])
    again = g.encode_text(["a broad smile with raised cheeks", "a scowl"])
    np.testing.assert_array_equal(again, text)
    np.testing.assert_allclose(g.encode_text(["a scowl"])[0], text[1], atol=1e-6)  # batch of one
    img = g.encode_image([images[0], Image.open(images[1])])
    assert img.shape == (2, 24) and img.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(g.encode_image([images[0], Image.open(images[1])]), img)
    np.testing.assert_allclose(g.encode_image([images[1]])[0], img[1], atol=1e-6)
    assert not np.allclose(img[0], img[1])


@needs_open_clip
def test_clip_from_checkpoint_file(tiny_checkpoint, face_images):
    g = ClipGuidance(checkpoint=tiny_checkpoint, model_name=TINY, pretrained="none")
    _check(g, face_images)
    again = ClipGuidance(checkpoint=tiny_checkpoint, model_name=TINY, pretrained="none")
    np.testing.assert_array_equal(again.encode_text(["a scowl"]), g.encode_text(["a scowl"]))


@needs_open_clip
def test_clip_from_hub_cache(tiny_checkpoint, face_images, tmp_path, monkeypatch):
    import shutil

    import open_clip

    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY,
                        {"rand": {"hf_hub": "medtalk-test/tiny-clip/", "quick_gelu": False}})
    # huggingface_hub cache layout: models--ORG--NAME/{refs/main, snapshots/<rev>/<file>}
    repo = tmp_path / "hub" / "models--medtalk-test--tiny-clip"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    shutil.copy(tiny_checkpoint, repo / "snapshots" / "0123abcd" / "open_clip_model.safetensors")
    g = ClipGuidance(model_name=TINY, pretrained="rand", cache_dir=tmp_path / "hub")
    _check(g, face_images)
    assert g.source.endswith("snapshots/0123abcd/open_clip_model.safetensors")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # the user's cache, from the env
    assert ClipGuidance(model_name=TINY, pretrained="rand").source == g.source
    direct = ClipGuidance(checkpoint=tiny_checkpoint, model_name=TINY, pretrained="rand")
    np.testing.assert_array_equal(g.encode_image(face_images), direct.encode_image(face_images))


@needs_open_clip
def test_clip_empty_hub_cache_names_the_download(tmp_path):
    with pytest.raises(ModelNotFoundError) as e:
        ClipGuidance(cache_dir=tmp_path)  # ViT-B-32 / openai
    msg = str(e.value)
    assert "timm/vit_base_patch32_clip_224.openai" in msg and "open_clip_model.safetensors" in msg
    assert "[guidance] clip_checkpoint" in msg and "\n" not in msg
    with pytest.raises(MedtalkError, match="no pretrained tag 'nope'"):
        ClipGuidance(pretrained="nope", cache_dir=tmp_path)


@needs_open_clip
def test_clip_unusable_checkpoint_is_one_line(tiny_checkpoint, tmp_path):
    import open_clip

    wide = {**TINY_CFG, "embed_dim": 40}
    (tmp_path / "medtalk-tiny-wide.json").write_text(json.dumps(wide))
    open_clip.add_model_config(tmp_path / "medtalk-tiny-wide.json")
    with pytest.raises(MedtalkError, match="cannot load CLIP medtalk-tiny-wide") as e:
        ClipGuidance(checkpoint=tiny_checkpoint, model_name="medtalk-tiny-wide")
    assert "\n" not in str(e.value)
    for name, data in (("bad.safetensors", b"x" * 20), ("bad.bin", b"garbage"), ("bad.pt", b"")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(MedtalkError, match=f"cannot load CLIP {TINY} from .*{name}"):
            ClipGuidance(checkpoint=tmp_path / name, model_name=TINY)


@needs_open_clip
def test_clip_bad_image_is_one_line(tiny_checkpoint, tmp_path):
    bad = tmp_path / "face.png"
    bad.write_text("not an image")
    g = ClipGuidance(checkpoint=tiny_checkpoint, model_name=TINY, pretrained="none")
    with pytest.raises(MedtalkError, match="cannot read image"):
        g.encode_image([bad])


# ---------------------------------------------------------------- descriptions


def test_descriptions_cover_every_emotion_with_valid_mixes():
    assert len({d.text for d in D.DESCRIPTIONS}) == len(D.DESCRIPTIONS)
    for e in rig.EMOTIONS:
        group = D.for_emotion(e)
        assert len(group) >= 8, e
        assert {D.split(d) for d in group} == {"train", "test"}, e
        if e != "neutral":
            assert len({d.degree for d in group if len(d.mix) == 1}) >= 3, e
    mixes = [d for d in D.DESCRIPTIONS if len(d.mix) > 1]
    assert len(mixes) >= 14
    for d in D.DESCRIPTIONS:
        assert abs(sum(d.mix.values()) - 1.0) < 1e-6 and 0 < d.degree <= 1.5
    assert [D.split(d) for d in D.DESCRIPTIONS] == [D.split(d) for d in D.DESCRIPTIONS]
    with pytest.raises(ValueError):
        D.Description("x", {"happy": 0.5, "sad": 0.4}, 1.0)
    with pytest.raises(ValueError):
        D.Description("x", {"happy": 0.5, "sad": 0.5}, 1.0)
    with pytest.raises(ValueError):
        D.Description("x", {"calm": 1.0}, 1.0)
    assert D.describe("sad", 1.3).degree == 1.3 and D.describe("sad", 1.3).mix == {"sad": 1.0}


def test_held_out_descriptions_land_nearest_their_emotion(sentence):
    z = sentence.encode_text([d.text for d in D.DESCRIPTIONS])
    label = np.array([d.dominant for d in D.DESCRIPTIONS])
    test = np.array([D.split(d) == "test" for d in D.DESCRIPTIONS])
    centroids = np.stack([z[(label == e) & ~test].mean(0) for e in rig.EMOTIONS])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    guess = np.array(rig.EMOTIONS)[(z[test] @ centroids.T).argmax(1)]
    accuracy = float(np.mean(guess == label[test]))
    print(f"held-out description accuracy {accuracy:.3f} over {test.sum()} phrasings")
    assert test.sum() >= 20 and accuracy >= 0.65  # chance is 1/7


# ---------------------------------------------------------------- RAVDESS


def _clip(root, stem, *, image=".png", rig_frames=5, extra=()):
    from PIL import Image

    folder = root / f"Actor_{stem[-2:]}"
    folder.mkdir(parents=True, exist_ok=True)
    rigio.write_rig(folder / f"{stem}.txt", np.full((rig_frames, 174), 0.1, np.float32))
    if image:
        Image.new("RGB", (8, 8), (200, 150, 120)).save(folder / f"{stem}{image}")
    for name in extra:
        (folder / name).write_bytes(b"")
    return folder


def test_ravdess_layout(tmp_path):
    _clip(tmp_path, "01-01-03-02-01-01-01", extra=["01-01-03-02-01-01-01.mp4",
                                                  "03-01-03-02-01-01-01.wav"])
    _clip(tmp_path, "02-01-02-01-02-01-01", image=".jpg")           # calm, video only
    _clip(tmp_path, "01-01-05-01-01-02-12", extra=["01-01-05-01-01-02-12.mp4"])
    (tmp_path / "descriptions.csv").write_text(
        "stem,description\n01-01-05-01-01-02-12,\"a tight-lipped glare, brows down\"\n")
    samples = ravdess.load_ravdess(tmp_path)
    assert [s.stem for s in samples] == ["01-01-03-02-01-01-01", "02-01-02-01-02-01-01",
                                         "01-01-05-01-01-02-12"]
    happy, calm, angry = samples
    assert (happy.emotion, happy.intensity, happy.actor) == ("happy", 2, 1)
    assert happy.audio.name == "03-01-03-02-01-01-01.wav" and happy.image.suffix == ".png"
    assert happy.description in {d.text for d in D.for_emotion("happy")}
    assert calm.emotion == "neutral" and calm.audio is None and calm.image.suffix == ".jpg"
    assert angry.description == "a tight-lipped glare, brows down" and angry.actor == 12
    assert angry.audio.name == "01-01-05-01-01-02-12.mp4"
    assert happy.frames().shape == (5, 174)


@pytest.mark.parametrize("stem, folder, match", [
    ("01-01-09-01-01-01-01", "Actor_01", "not a RAVDESS name"),      # emotion 09
    ("01-01-03-01-01-01", "Actor_01", "not a RAVDESS name"),         # six fields
    ("01-01-03-01-01-01-02", "Actor_01", "actor 02 is not that of its folder Actor_01"),
])
def test_ravdess_malformed_names(tmp_path, stem, folder, match):
    (tmp_path / folder).mkdir()
    rigio.write_rig(tmp_path / folder / f"{stem}.txt", np.zeros((2, 174), np.float32))
    with pytest.raises(MedtalkError, match=match) as e:
        ravdess.load_ravdess(tmp_path)
    assert stem in str(e.value)


def test_ravdess_errors(tmp_path):
    with pytest.raises(MedtalkError, match="RAVDESS folder not found"):
        ravdess.load_ravdess(tmp_path / "nope")
    with pytest.raises(MedtalkError, match="no rig files"):
        ravdess.load_ravdess(tmp_path)
    _clip(tmp_path, "01-01-04-01-01-01-03", image=None)
    with pytest.raises(MedtalkError, match="no reference frame 01-01-04-01-01-01-03.png"):
        ravdess.load_ravdess(tmp_path)
    _clip(tmp_path, "01-01-04-01-01-01-03")
    (tmp_path / "descriptions.csv").write_text("file,text\nx,y\n")
    with pytest.raises(MedtalkError, match="descriptions.csv: the header must be"):
        ravdess.load_ravdess(tmp_path)
