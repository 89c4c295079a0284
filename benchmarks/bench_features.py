"""Speed of the feature front-ends on real speech (medians of repeated runs, this machine's CPU).

Figures: Whisper encoder seconds per second of audio (windowed ``encode``, 1 thread), text
features per transcript (words and sentence), transcription real-time factor (RTF = processing
time / audio duration) of English tiny.en and of the multilingual base on a Mandarin clip.

    python benchmarks/bench_features.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from timing import median_seconds

ENGLISH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # 10.8 s, Harvard sentences
MANDARIN = sorted((Path(__file__).resolve().parents[2] / "shared/data/real").glob("*.wav"))




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from medtalk_core.asr import Transcriber
    from medtalk_core.audio import load_audio
    from medtalk_core.features import WhisperEncoder
    from medtalk_core.text import TextEncoder

    audio = load_audio(ENGLISH)
    duration = len(audio) / 16000
    print(f"clip {ENGLISH.name}: {duration:.1f} s, {args.threads} thread(s), median of {args.repeats}")

    encoder = WhisperEncoder(threads=args.threads)
    t = median_seconds(lambda: encoder.encode(audio), args.repeats)
    print(f"whisper encoder (1.0 s windows, 0.5 s hop): {t / duration * 1000:.1f} ms per s of audio "
          f"(RTF {t / duration:.4f})")
    window = audio[:16000]
    t = median_seconds(lambda: encoder.encode_window(window), args.repeats * 4)
    print(f"whisper encoder, one live window: {t * 1000:.1f} ms")

    english = Transcriber("en", threads=args.threads)
    words = english.transcribe(audio)
    t = median_seconds(lambda: english.transcribe(audio), args.repeats)
    print(f"transcribe tiny.en: {t:.2f} s, RTF {t / duration:.3f} ({len(words)} words)")

    text = TextEncoder()
    tokens = [w.text for w in words]
    t = median_seconds(lambda: text.encode_words(tokens), args.repeats)
    print(f"text encode_words ({len(tokens)} words): {t * 1000:.1f} ms")
    sentence = " ".join(tokens)
    t = median_seconds(lambda: text.encode_sentence(sentence), args.repeats)
    print(f"text encode_sentence: {t * 1000:.1f} ms")

    if MANDARIN:
        zh = load_audio(MANDARIN[0])
        multilingual = Transcriber("zh", threads=args.threads)
        t = median_seconds(lambda: multilingual.transcribe(zh), args.repeats)
        print(f"transcribe multilingual base on {MANDARIN[0].name} ({len(zh) / 16000:.1f} s): "
              f"{t:.2f} s, RTF {t / (len(zh) / 16000):.3f}")


if __name__ == "__main__":
    main()
