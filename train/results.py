"""Sections of a markdown results file (``docs/results.md``) that the evidence commands
(``medtalk eval --ablations`` and ``--disentangle``) write between their markers."""

from __future__ import annotations

import os
from pathlib import Path


def write_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between ``<!-- name:begin -->`` and ``<!-- name:end -->`` of the markdown file
    ``path`` (appended at the end if the markers are not there yet); the file is replaced
    atomically (temporary file + rename), so a reader never sees half a section.

    Raises:
        MedtalkError: the markers are malformed (one without the other, or end before begin).
    """
    from medtalk_core.errors import MedtalkError

    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.is_file() else ""
    i, j = text.find(begin), text.find(end)
    block = f"{begin}\n{body.strip()}\n{end}"
    if i < 0 and j < 0:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    elif i < 0 or j < i:
        raise MedtalkError(f"{path}: malformed {begin} ... {end} markers")
    else:
        text = text[:i] + block + text[j + len(end):]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
