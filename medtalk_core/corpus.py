"""Reading a corpus in the EmoFace layout (``medtalk synth``): its manifest and word alignments.

Layout: ``manifest.csv`` (id, emotion, transcript, voice, family, split, sentence, duration_s),
``wav/{id}.wav``, ``rig/{id}.txt`` (60 fps, 174 columns), ``align/{id}.json`` (word and phone
times in seconds). Training and the live benchmark ``medtalk bench skew`` read it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .errors import MedtalkError

MANIFEST_COLUMNS = ("id", "emotion", "transcript", "voice", "family", "split", "sentence")


def read_manifest(data_dir: Path) -> list[dict]:
    """Rows of ``manifest.csv``.

    Raises:
        MedtalkError: no manifest, or a manifest without the expected columns.
    """
    path = Path(data_dir) / "manifest.csv"
    if not path.is_file():
        raise MedtalkError(f"{data_dir} is not a corpus: no manifest.csv (make one: medtalk synth)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in MANIFEST_COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise MedtalkError(f"{path}: empty or missing columns {missing}")
    return rows


def evenly_spaced(rows: list[dict], count: int) -> list[dict]:
    """At most ``count`` of ``rows``, every ``len(rows) // count``-th from the first (the
    utterances ``medtalk bench skew`` and ``benchmarks/lookahead_floor.py`` score)."""
    return rows[::max(1, len(rows) // count)][:count]


def read_alignment(data_dir: Path, uid: str) -> dict:
    """``align/{uid}.json`` as a dict with ``words`` and ``phones`` lists."""
    with open(Path(data_dir) / "align" / f"{uid}.json") as f:
        return json.load(f)
