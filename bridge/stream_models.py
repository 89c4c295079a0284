"""The shipped stream models and the command-line options that pick one.

Kept apart from ``bridge/engine.py`` so that building the command line does not import torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "medtalk_core" / "weights"
STREAM_MODELS = {40: WEIGHTS / "stream.safetensors", 240: WEIGHTS / "stream_240ms.safetensors"}
"""The shipped stream fine-tunes of the default model (``medtalk train --plan stream``) by their
lookahead in ms (:func:`medtalk_core.streaming.ahead_s`): 40 ms meets the latency goal, 240 ms
the lip accuracy of offline inference (docs/results.md, "Streaming vs offline")."""
STREAM_CHECKPOINT = STREAM_MODELS[40]
"""The stream model the engine runs unless told otherwise."""


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint P`` or ``--lookahead-ms {40,240}`` (a shipped stream model), not both."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--checkpoint", type=Path, metavar="P",
                       help="stream model checkpoint (default: [live] checkpoint of the config, "
                            "else the shipped 40 ms one)")
    group.add_argument("--lookahead-ms", type=int, choices=sorted(STREAM_MODELS),
                       help="run the shipped stream model with this lookahead (ms): 40 for the "
                            "lowest latency (default), 240 for the lips of offline inference")


def chosen_checkpoint(args: argparse.Namespace) -> Path | None:
    """The checkpoint :func:`add_model_arguments` asked for; None: ``[live] checkpoint`` or the
    shipped default."""
    if args.lookahead_ms is not None:
        return STREAM_MODELS[args.lookahead_ms]
    return args.checkpoint
