"""``medtalk devices``: the audio input devices ``medtalk stream --mic DEVICE`` can use."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: lists every input device."""


def run(args: argparse.Namespace) -> int:
    """Print one line per input device: index, name, channels, default rate, host API.

    Raises:
        MedtalkError: PortAudio is missing or cannot list devices.
    """
    from .sources import input_devices

    devices = input_devices()
    if not devices:
        print("no audio input devices found")
        return 0
    print(f"{'':2}{'index':>5}  {'channels':>8}  {'rate Hz':>8}  {'host API':<12}  name")
    for d in devices:
        print(f"{'*' if d['default'] else '':2}{d['index']:>5}  {d['channels']:>8}  "
              f"{d['rate']:>8.0f}  {d['hostapi']:<12}  {d['name']}")
    print("* default input; medtalk stream --mic INDEX (or part of the name)")
    return 0
