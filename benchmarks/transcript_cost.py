"""CPU cost and word lag of the live transcript alone, one revision of bridge/transcribe.py.

The input of ``medtalk bench latency`` (the codec2 speech looped to ``--minutes``) is fed to
that revision's ``StreamingTranscriber`` ``[live] asr_step_s`` at a time, as the live stream
does, and each step's committed words get their MiniLM prefix features (the transcript process's
whole work). Nothing else runs in the process, so its CPU time does not depend on other load.

Figures: CPU s per audio s (``time.process_time``; 1.0 = one core busy), Whisper passes, words
committed, and the lag of a word in a real-time run on a free core: from its centre to the end
of the step that committed it, plus that step's compute time (p50 / p95, ms).

    python benchmarks/transcript_cost.py [--rev REV] [--buffer-s S] [--minutes M] [--pause-s P]

``--pause-s`` puts P s of silence after each of the codec2 recordings (a talk with pauses).

``--rev`` reads ``bridge/transcribe.py`` of a git revision (default: the working tree).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def transcribe_module(rev: str | None):
    """``bridge/transcribe.py`` of ``rev`` (None: the working tree) as a module."""
    if rev is None:
        import bridge.transcribe

        return bridge.transcribe
    source = subprocess.run(["git", "show", f"{rev}:bridge/transcribe.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"transcribe_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:bridge/transcribe.py", "exec"), module.__dict__)
    return module


def talk(minutes: float, pause_s: float) -> np.ndarray:
    """The codec2 recordings, each followed by ``pause_s`` of silence, looped to ``minutes``."""
    from bridge.bench import CODEC2
    from medtalk_core.audio import load_audio

    files = sorted((CODEC2 / "wav").glob("*.wav")) + [CODEC2 / "raw" / "speech_orig_16k.wav"]
    pause = np.zeros(int(pause_s * 16000), np.float32)
    one = np.concatenate([part for f in files for part in (load_audio(f), pause)])
    return np.resize(one, int(minutes * 60 * 16000)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="git revision of bridge/transcribe.py (default: working tree)")
    parser.add_argument("--buffer-s", type=float, help="buffer_s (default: [live] asr_buffer_s)")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--pause-s", type=float, default=0.0)
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    from medtalk_core.asr import Transcriber
    from medtalk_core.backbones import text_encoder
    from medtalk_core.config import load_config
    from medtalk_core.streaming import prefix_word_features

    torch.set_num_threads(1)
    threadpool_limits(1)
    cfg = load_config()
    lc, f = cfg.live, cfg.features
    stt = transcribe_module(args.rev).StreamingTranscriber(
        Transcriber.from_config(f), args.buffer_s or lc.asr_buffer_s, lc.asr_beam_size,
        lc.vad_threshold)
    text = text_encoder(f)
    stt.warm_up()
    text.encode_words(["hello"])
    audio, step = talk(args.minutes, args.pause_s), int(lc.asr_step_s * 16000)
    lags, passes, context = [], 0, []
    cpu0 = time.process_time()
    for pos in range(0, len(audio), step):
        t = time.perf_counter()
        result = stt.step(audio[pos:pos + step])
        if result.words:
            texts = [w.text for w in context + result.words]
            prefix_word_features(text, texts, lc.word_context, first=len(context))
            context = (context + result.words)[-lc.word_context:]
        done = min(pos + step, len(audio)) / 16000 + time.perf_counter() - t
        lags += [done - (w.start + w.end) / 2 for w in result.words]
        passes += result.ran
    cpu = time.process_time() - cpu0
    seconds = len(audio) / 16000
    p50, p95 = (1000 * np.percentile(lags, q) for q in (50, 95))
    print(f"revision {args.rev or 'working tree'}, buffer {stt.buffer_s:g} s, {seconds:.0f} s of "
          f"audio: CPU {cpu / seconds:.3f} s per audio s, {passes} Whisper passes, "
          f"{len(lags)} words, lag p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
