"""Training plans: the phase sequence of each ``medtalk train --plan`` (phases in
:data:`train.stages.PHASES`), and the schedule of the FaceFormer-style baseline's plan.

Kept apart from :mod:`train.stages` so that building the command line does not import torch.
"""

from __future__ import annotations

from dataclasses import replace

from medtalk_core.config import AblationsConfig, TrainConfig

PLANS = {
    "medtalk": ("self", "overlap", "cycle", "acm", "fim", "guide"),
    "guide": ("guide",),
    "e2e": ("e2e",),
    "stream": ("stream",),
    "finetune": ("finetune",),
    "faceformer": ("faceformer",),
}
"""Phase sequences: the MEDTalk stages 1-4, stage 4 alone on a trained model (needs ``--init``),
the end-to-end baseline, the fine-tune of a trained model for the live stream (``--init``), the
fine-tune of a trained model on a folder of your own takes (``--init``), and the FaceFormer-style
baseline."""


def faceformer_schedule(train: TrainConfig, ablations: AblationsConfig) -> TrainConfig:
    """``[train]`` with the ``faceformer`` phase's epochs and learning rate from
    ``[ablations]``."""
    return replace(train, epochs={**train.epochs, "faceformer": ablations.faceformer_epochs},
                   lr={**train.lr, "faceformer": ablations.faceformer_lr})
