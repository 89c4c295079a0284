"""``medtalk``: one console command with sub-commands.

Each sub-command lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``. Building the parser imports every such module, so at top level they import
only light modules (no torch, which ``medtalk --help`` and ``medtalk devices`` must not load);
what a command needs beyond that it imports inside ``run``. A
:class:`~medtalk_core.errors.MedtalkError` ends the command with its one-line message and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = {
    "synth": ("train.corpus.synth", "make the synthetic training corpus (EmoFace layout)"),
    "train": ("train.run", "train MEDTalk (stages 1-4), its live fine-tune or a baseline"),
    "infer": ("medtalk_core.infer", "audio file -> 174 face-board controls at 60 fps"),
    "render": ("medtalk_core.render", "a take and its audio -> an MP4 of the 2-D face"),
    "stream": ("bridge.stream", "microphone or file -> face frames, live, over OSC / ZeroMQ"),
    "eval": ("train.evaluate", "MLE, MEE, EIE and FRD on a corpus split or one recording; "
                               "--ablations / --disentangle: the evidence of docs/results.md"),
    "preview": ("bridge.playback", "play a written result in the live preview page, with its "
                                   "audio in sync"),
    "devices": ("bridge.devices", "list the audio input devices for stream --mic"),
    "bench": ("bridge.bench", "benchmarks of the live path (bench latency, bench skew)"),
}


DESCRIPTION = ("MEDTalk Live: speech -> the 174 MetaHuman face-board controls at 60 fps, written "
               "to a file or streamed live to Unreal.")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="medtalk", description=DESCRIPTION)
    parser.add_argument("--config", metavar="TOML",
                        help="settings merged over the packaged defaults (medtalk_core/config.toml; "
                             "default: $MEDTALK_CONFIG, else none); names only what it changes; "
                             "give it before the command")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    from medtalk_core.errors import MedtalkError

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except MedtalkError as e:
        print(f"medtalk {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
