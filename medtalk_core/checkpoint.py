"""MEDTalk checkpoints: safetensors weights with the model and front-end configuration in the
file's metadata, and the shipped default model.

Metadata keys (strings, JSON-encoded values): ``model`` (:class:`ModelConfig` fields),
``features`` (the front-end settings the model was trained with: window, hop, lookahead, model
names), ``format`` (``"medtalk-live/1"``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


from .config import ConfigError, ModelConfig
from .errors import CheckpointError
from .model import MEDTalk

FORMAT = "medtalk-live/1"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "default.safetensors"
"""The shipped default model; its card is ``default.json`` beside it."""


def save(model: MEDTalk, path: str | os.PathLike, meta: dict) -> None:
    """Write ``model``'s weights and ``meta`` (JSON-able values, e.g. ``{"features": {...}}``)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    header = {k: json.dumps(v) for k, v in meta.items()}
    header.update(model=json.dumps(model.cfg.to_dict()), format=FORMAT)
    save_file(tensors, str(path), metadata=header)


def read_metadata(path: str | os.PathLike) -> dict:
    """The decoded metadata of a checkpoint.

    Raises:
        CheckpointError: the file is missing, not a safetensors file, or not ours.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), "pt") as f:
            raw = f.metadata() or {}
    except Exception as e:  # safetensors raises several types for a corrupt header
        raise CheckpointError(f"checkpoint {path} is not a readable safetensors file: {e}") from None
    if raw.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a MEDTalk Live checkpoint ({FORMAT})")
    return {k: json.loads(v) for k, v in raw.items() if k != "format"}


GUIDANCE_PREFIX = "guidance."
"""State-dict prefix of the stage-4 projections, which checkpoints of stages 1-3 lack."""


def load_weights(model: MEDTalk, path: str | os.PathLike, allow_missing: str | None = None) -> None:
    """Load weights into an existing model.

    Args:
        allow_missing: a state-dict prefix (e.g. :data:`GUIDANCE_PREFIX`) whose tensors the file
            may lack (they keep the model's values: a model trained up to stage 3 continuing with
            stage 4); every other tensor must be there.
    Raises:
        CheckpointError: missing file, a NaN or infinite weight, or tensors that do not match
            the model's.
    """
    from safetensors.torch import load_file

    read_metadata(path)
    tensors = load_file(str(path))
    check_finite(tensors, path)
    if allow_missing:
        tensors.update({k: v for k, v in model.state_dict().items()
                        if k.startswith(allow_missing) and k not in tensors})
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(f"checkpoint {path} does not match the model: "
                              f"{first[1].strip() if len(first) > 1 else first[0]}") from None


def check_finite(tensors: dict, path: str | os.PathLike) -> None:
    """Refuse weights that would animate NaN frames.

    Args:
        tensors: state-dict name -> tensor, as read from ``path`` (checked in name order).
    Raises:
        CheckpointError: naming ``path`` and the first tensor with a NaN or infinite value.
    """
    import torch

    for name in sorted(tensors):
        t = tensors[name]
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            kind = "NaN" if bool(torch.isnan(t).any()) else "infinite"
            raise CheckpointError(f"checkpoint {path}: tensor {name} has {kind} values")


def load_model(path: str | os.PathLike | None = None) -> tuple[MEDTalk, dict]:
    """Build the model a checkpoint describes and load it (eval mode).

    Args:
        path: a checkpoint; None for the shipped default model.
    Returns:
        ``(model, metadata)``.
    Raises:
        CheckpointError: as :func:`read_metadata` and :func:`load_weights`.
    """
    path = Path(path) if path else DEFAULT_CHECKPOINT
    meta = read_metadata(path)
    try:
        model = MEDTalk(ModelConfig.from_dict(meta["model"], "model"))
    except ConfigError as e:
        raise CheckpointError(f"checkpoint {path}: {e}") from None
    load_weights(model, path)
    return model.eval(), meta
