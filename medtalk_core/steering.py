"""What the emotion of an animation is asked to be: a label, a text description or a reference
image, turned into the label-space embedding FIM's norm adjustment reads (paper eq. 9).

* label: FIM's label embedding of one of :data:`medtalk_core.rig.EMOTIONS`;
* text: the description's embedding by the encoder the model's stage 4 was trained with (the
  checkpoint's ``guidance`` settings: the shipped MiniLM sentence encoder by default), through
  P_text (eq. 13);
* image: the reference image's CLIP embedding through P_image (eq. 13).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rig
from .config import Config, override
from .errors import MedtalkError

KINDS = ("label", "text", "image")


@dataclass(frozen=True)
class EmotionSpec:
    """An emotion request: ``kind`` one of :data:`KINDS`, ``value`` the label, the description or
    the image path."""

    kind: str
    value: str

    def describe(self, width: int = 40) -> str:
        """Short text for logs and the live state: the label, ``"text: ..."`` or ``"image: NAME"``."""
        if self.kind == "label":
            return self.value
        v = self.value if self.kind == "text" else self.value.rsplit("/", 1)[-1]
        return f"{self.kind}: {v if len(v) <= width else v[:width - 1] + '…'}"


def add_emotion_arguments(parser: argparse.ArgumentParser, at_start: bool = False) -> None:
    """The required choice of ``--emotion``, ``--text`` and ``--image`` (``medtalk infer`` and
    ``medtalk stream``, where it is the emotion at start)."""
    when = " at start" if at_start else ""
    g = parser.add_mutually_exclusive_group(required=True)
    g.add_argument("--emotion", metavar="LABEL",
                   help=f"emotion label{when}, one of: " + ", ".join(rig.EMOTIONS))
    g.add_argument("--text", metavar="DESCRIPTION",
                   help=f'the expression{when} in words, e.g. "a broad smile with raised cheeks" '
                        "(P_text)")
    g.add_argument("--image", metavar="PATH",
                   help=f"a reference face image for the expression{when} (P_image: needs a "
                        "model trained with image guidance)")


def spec_from_args(emotion: str | None, text: str | None, image: str | None) -> EmotionSpec:
    """The one of ``--emotion``, ``--text`` and ``--image`` that is given.

    Raises:
        MedtalkError: none or several given, an unknown label, an empty description, a missing
            image file.
    """
    given = [(k, v) for k, v in zip(KINDS, (emotion, text, image)) if v is not None]
    if len(given) != 1:
        raise MedtalkError("give exactly one of --emotion LABEL, --text DESCRIPTION, --image PATH")
    kind, value = given[0]
    if kind == "label" and value not in rig.EMOTIONS:
        raise MedtalkError(f"unknown emotion {value!r}; choose one of: " + ", ".join(rig.EMOTIONS))
    if kind == "text" and not value.strip():
        raise MedtalkError("--text: the description is empty")
    if kind == "image" and not Path(value).is_file():
        raise MedtalkError(f"--image: no such file: {value}")
    return EmotionSpec(kind, str(value))


class Steering:
    """Label-space embeddings of emotion requests for one loaded model; the guidance encoders load
    on first use and stay loaded (the live control port calls this for every request).

    Args:
        model: a :class:`medtalk_core.model.MEDTalk` (eval mode).
        meta: its checkpoint metadata (``guidance``: the encoders stage 4 was trained with).
        cfg: the configuration (``[guidance]`` model paths, ``[features] text_model``; the
            checkpoint's guidance settings win).

    Raises:
        ConfigError: the checkpoint records unknown or mistyped guidance settings.
    """

    def __init__(self, model, meta: dict, cfg: Config):
        self.model, self.text_model = model, cfg.features.text_model
        recorded = {k: v for k, v in meta.get("guidance", {}).items() if k != "image_encoder"}
        # image_encoder records whether training used images; the model's projections say it too
        self.guidance = override(cfg.guidance, recorded, "checkpoint guidance")
        self._encoders: dict[str, object] = {}

    def _encoder(self, name: str):
        from .guidance import load_guidance

        if name not in self._encoders:
            self._encoders[name] = load_guidance(name, self.guidance, self.text_model)
        return self._encoders[name]

    def prepare(self, spec: EmotionSpec):
        """Check that ``spec`` can be served and load its guidance encoder (once); returns the
        encoder, or None for a label.

        Raises:
            ValueError: an unknown label.
            MedtalkError: the model has no projection for the kind (not trained with stage 4 of
                that kind), a guidance encoder that cannot load.
        """
        if spec.kind == "label":
            rig.emotion_id(spec.value)
            return None
        if spec.kind not in self.model.guidance:
            raise MedtalkError(f"this model has no {spec.kind} guidance (P_{spec.kind}); "
                               f"use a model trained with stage 4 on {spec.kind} guidance")
        return self._encoder(self.guidance.text_encoder if spec.kind == "text"
                             else "clip")

    def embedding(self, spec: EmotionSpec) -> np.ndarray:
        """float32 ``(H,)`` label-space embedding of ``spec``.

        Raises:
            ValueError, MedtalkError: as :meth:`prepare`; MedtalkError also for an unreadable
                image.
        """
        import torch

        encoder = self.prepare(spec)
        if encoder is None:
            w = self.model.fim.label_embedding.weight[rig.emotion_id(spec.value)]
            return w.detach().numpy().astype(np.float32)
        if spec.kind == "text":
            g = encoder.encode_text([spec.value])
        else:
            g = encoder.encode_image([spec.value])
        with torch.inference_mode():
            out = self.model.project(spec.kind, torch.as_tensor(np.asarray(g, np.float32)))
        return out[0].numpy().astype(np.float32)
