"""Loading ``config.toml``, the one place that holds every default.

The file is looked up in this order: an explicit path (``--config``), ``$MEDTALK_CONFIG``, the
``config.toml`` at the root of the source tree this package was installed from.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import MedtalkError

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "config.toml"


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read the configuration as nested dicts (``cfg["model"]["hidden"]``).

    Raises:
        MedtalkError: the file is missing or is not valid TOML.
    """
    path = Path(path or os.environ.get("MEDTALK_CONFIG") or DEFAULT_PATH)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise MedtalkError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise MedtalkError(f"config file {path} is not valid TOML: {e}") from None
