"""The model a training plan starts from: MEDTalk or the FaceFormer-style baseline."""

from __future__ import annotations


def new_model(plan: tuple[str, ...], cfg: dict):
    """A freshly initialised model for ``plan``: the FaceFormer-style baseline (sizes from
    ``[ablations] faceformer``, reading the whole audio input of ``[model]``) or MEDTalk."""
    from medtalk_core.baselines import PLAN, FaceFormer, FaceFormerConfig
    from medtalk_core.model import MEDTalk, ModelConfig

    if tuple(plan) == (PLAN,):
        m = cfg["model"]
        width = m.get("audio_dim", 384) + m.get("emotion_audio_dim", 0)
        return FaceFormer(FaceFormerConfig.from_dict({**cfg["ablations"]["faceformer"],
                                                      "audio_dim": width}))
    return MEDTalk(ModelConfig.from_dict(cfg["model"]))
