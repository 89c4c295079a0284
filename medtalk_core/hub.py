"""Pretrained weights from a local folder or the user's Hugging Face hub cache, never downloaded.

A model setting (``config.toml`` ``[features]`` ``wav2vec2_model``, ``emotion2vec_model``,
``roberta_model``) is either a folder, or a hub id such as ``facebook/wav2vec2-base-960h`` that
an earlier ``hf download`` put in the hub cache
(``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``), laid out as
``models--ORG--NAME/refs/main`` (a revision) and ``models--ORG--NAME/snapshots/REVISION/...``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ModelNotFoundError


def hub_cache() -> str:
    """The hub cache folder from the environment as it is now (huggingface_hub reads it once, at
    import, so a later ``HF_HOME`` / ``HF_HUB_CACHE`` would otherwise be missed)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def resolve_model(spec: str, key: str, what: str) -> Path:
    """The folder of a model given as a local folder or a hub id in the hub cache.

    Args:
        spec: a folder (``~`` expanded), or a hub id ``ORG/NAME`` (the ``main`` revision).
        key: the ``[features]`` key that holds ``spec``, named in the error message.
        what: the model's name for messages, e.g. ``"wav2vec2"``.

    Returns:
        the folder (for a hub id, its snapshot folder in the cache).

    Raises:
        ModelNotFoundError: ``spec`` is neither a folder nor in the hub cache; the message says
            what to download and where to set it.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    hint = (f"download it into the hub cache (hf download {spec}), or set "
            f"[features] {key} to its local folder")
    if path.is_absolute() or spec.startswith(".") or spec.count("/") != 1:
        raise ModelNotFoundError(f"{what} model not found: {spec} is not a folder; {hint}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    cache = hub_cache()
    try:
        return Path(snapshot_download(spec, local_files_only=True, cache_dir=cache))
    except (LocalEntryNotFoundError, HFValidationError, OSError):
        raise ModelNotFoundError(
            f"{what} model not found: {spec} is neither a folder nor in the hub cache {cache}; "
            f"{hint}") from None


def find_in_hub_cache(repo: str, filenames: tuple[str, ...],
                      cache_dir: str | os.PathLike | None = None) -> str | None:
    """Path of the first of ``filenames`` already in the hub cache for ``repo``, else None.

    ``cache_dir`` None = :func:`hub_cache` (``$HF_HUB_CACHE``, else
    ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``). Only the local cache is read; nothing is
    downloaded.
    """
    from huggingface_hub import try_to_load_from_cache

    for name in filenames:
        path = try_to_load_from_cache(repo, name, cache_dir=cache_dir or hub_cache())
        if isinstance(path, str):
            return path
    return None
