"""Offline inference speed: real-time factor of `medtalk infer`'s pipeline on real speech.

Run: ``python benchmarks/bench_infer.py [AUDIO] [--repeats 5]``. Prints the median wall time of
``Animator.animate`` (transcription included, and with a given transcript), and its real-time
factor (RTF = processing time / audio duration). The model and front-ends are loaded once,
outside the timing, as they are in a long-running process.
"""

from __future__ import annotations

import argparse

from medtalk_core.audio import load_audio
from timing import median_seconds
from medtalk_core.inference import Animator

DEFAULT_AUDIO = "/usr/share/codec2/raw/speech_orig_16k.wav"




def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("audio", nargs="?", default=DEFAULT_AUDIO)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    audio = load_audio(args.audio)
    dur = len(audio) / 16000
    animator = Animator.load()
    transcript = animator.frontend.transcribe(audio)
    full = median_seconds(lambda: animator.animate(audio, "happy"), args.repeats)
    given = median_seconds(lambda: animator.animate(audio, "happy", transcript), args.repeats)
    asr = median_seconds(lambda: animator.frontend.transcribe(audio), args.repeats)
    print(f"{args.audio}: {dur:.2f} s of audio, median of {args.repeats} runs")
    print(f"  infer with transcription : {full * 1000:7.1f} ms  RTF {full / dur:.3f}")
    print(f"  infer, transcript given  : {given * 1000:7.1f} ms  RTF {given / dur:.3f}")
    print(f"  transcription alone      : {asr * 1000:7.1f} ms  RTF {asr / dur:.3f}")


if __name__ == "__main__":
    main()
