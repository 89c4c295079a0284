"""Scores of a model on cached corpus utterances (:class:`train.dataset.Utterance`): its output,
its mean metrics (:mod:`medtalk_core.metrics`) and those of the mean-pose baseline."""

from __future__ import annotations

import numpy as np

from medtalk_core.metrics import mean_metrics


def predict(model, utt, ablate: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Model output for a cached corpus utterance: ``(rig (T, 174), I_hat (T,))`` float32.
    ``model``: MEDTalk or the FaceFormer-style baseline; ``ablate``: the FIM parts the model was
    trained without (checkpoint metadata ``ablate``, :data:`medtalk_core.forward.ABLATIONS`)."""
    from medtalk_core.forward import animate_clip

    return animate_clip(model, utt.audio, utt.words, utt.word_time, int(utt.emotion),
                        ablate=ablate)


def score(model, utts, ablate: dict | None = None) -> dict[str, float]:
    """Mean metrics of ``model`` over utterances (see :mod:`medtalk_core.metrics`)."""
    return mean_metrics([(predict(model, u, ablate)[0], u.rig) for u in utts])


def mean_pose_score(train_utts, utts) -> dict[str, float]:
    """The mean-pose baseline: every frame is the mean training frame."""
    mean = np.concatenate([u.rig for u in train_utts]).mean(0)
    return mean_metrics([(np.broadcast_to(mean, u.rig.shape), u.rig) for u in utts])
