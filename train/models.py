"""The model a training plan starts from: MEDTalk or the FaceFormer-style baseline."""

from __future__ import annotations

from dataclasses import replace

from medtalk_core.config import FaceFormerConfig, ModelConfig


def new_model(plan: tuple[str, ...], model: ModelConfig, faceformer: FaceFormerConfig):
    """A freshly initialised model for ``plan``: the FaceFormer-style baseline (sizes
    ``faceformer``, reading the whole audio input of ``model``) or MEDTalk (sizes ``model``)."""
    from medtalk_core.baselines import PLAN, FaceFormer
    from medtalk_core.model import MEDTalk

    if tuple(plan) == (PLAN,):
        width = model.audio_dim + model.emotion_audio_dim
        return FaceFormer(replace(faceformer, audio_dim=width))
    return MEDTalk(model)
