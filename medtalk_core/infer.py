"""``medtalk infer``: an audio file -> 174 face-board controls at 60 fps, written as EmoFace TXT,
CSV or JSON by the output's extension (see :mod:`medtalk_core.rigio`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .steering import add_emotion_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("audio", type=Path, help="WAV, FLAC or OGG; any sample rate; mono or stereo")
    add_emotion_arguments(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="OUT.txt, OUT.csv or OUT.json")
    p.add_argument("--checkpoint", type=Path, help="model (default: the shipped default model)")
    p.add_argument("--language",
                   help="spoken language for the transcript: en (Whisper tiny.en), a Whisper code "
                        "such as zh, or auto (multilingual Whisper base); default: config")
    p.add_argument("--intensity", type=float, default=1.0,
                   help="scale of the predicted emotion intensity (default 1)")


def run(args) -> int:
    from .audio import load_audio
    from .config import load_config
    from .errors import MedtalkError
    from .inference import Animator
    from .rigio import check_format, write_rig
    from .steering import spec_from_args

    check_format(args.output)
    spec = spec_from_args(args.emotion, args.text, args.image)
    if not args.output.parent.is_dir():
        raise MedtalkError(f"output folder does not exist: {args.output.parent}")
    audio = load_audio(args.audio)
    cfg = load_config(args.config)
    if args.language:
        cfg["features"]["language"] = args.language
    animator = Animator.load(args.checkpoint, cfg)
    animator.steering.prepare(spec)  # a model without this guidance fails before the transcript
    t0 = time.perf_counter()
    anim = animator.animate(audio, spec, intensity_scale=args.intensity)
    elapsed = time.perf_counter() - t0
    write_rig(args.output, anim.frames)
    dur = len(audio) / 16000
    print(f"{args.output}: {len(anim.frames)} frames ({dur:.2f} s, {spec.describe()}); "
          f"transcript: {' '.join(anim.transcript.words) or '(none)'}; "
          f"RTF {elapsed / max(dur, 1e-9):.3f}")
    return 0

