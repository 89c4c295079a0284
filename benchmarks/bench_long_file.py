"""Offline inference of a long recording: wall time, CPU time, real-time factor and peak memory
of ``medtalk infer`` on a 10-minute file.

Run: ``python benchmarks/bench_long_file.py [--minutes 10] [--repeats 3]``. The recording is the
real English speech of Debian's codec2-examples (``/usr/share/codec2/wav/*.wav``, 16 kHz and
8 kHz clips resampled to 16 kHz) joined and looped to ``--minutes``. Each run is a fresh
``medtalk infer REC.wav --emotion happy -o OUT.txt`` process (model loading included), measured
from outside: wall seconds, CPU seconds (user + system of the process and its children) and
peak resident memory (``ru_maxrss``). Prints each run and the medians; RTF = wall / audio.
"""

from __future__ import annotations

import argparse
import glob
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from medtalk_core.audio import load_audio

SPEECH = "/usr/share/codec2/wav/*.wav"


def long_recording(path: Path, minutes: float) -> float:
    """Write the looped codec2 speech to ``path`` (16 kHz WAV); returns its seconds."""
    parts = [load_audio(p) for p in sorted(glob.glob(SPEECH))]
    speech = np.concatenate([p for p in parts if len(p) > 16000])
    n = int(minutes * 60 * 16000)
    sf.write(path, np.resize(speech, n), 16000)
    return n / 16000


def one_run(audio: Path, out: Path) -> tuple[float, float, float]:
    """``(wall s, CPU s, peak RSS MB)`` of one ``medtalk infer`` process."""
    exe = shutil.which("medtalk") or sys.executable
    cmd = [exe] if exe != sys.executable else [exe, "-m", "medtalk.cli"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([*cmd, "infer", str(audio), "--emotion", "happy", "-o", str(out)],
                   check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "long.wav"
        seconds = long_recording(audio, args.minutes)
        runs = []
        for i in range(args.repeats):
            runs.append(one_run(audio, Path(tmp) / "out.txt"))
            wall, cpu, rss = runs[-1]
            print(f"run {i + 1}: wall {wall:.1f} s  CPU {cpu:.1f} s  RTF {wall / seconds:.3f}  "
                  f"peak RSS {rss:.0f} MB", flush=True)
    wall, cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
    print(f"{seconds / 60:.1f} min of audio, median of {len(runs)}: wall {wall:.1f} s "
          f"(RTF {wall / seconds:.3f}), CPU {cpu:.1f} s ({cpu / seconds:.3f} CPU s per audio s), "
          f"peak RSS {max(r[2] for r in runs):.0f} MB (largest)")


if __name__ == "__main__":
    main()
