"""CPU hogs for ``medtalk bench latency --hog N``: ``N`` processes that spin on the CPU (a pure
Python busy loop, no system calls) while the stream runs, to measure the live path on a machine
where other work competes for the cores.

The hogs are forked (``multiprocessing``, ``fork`` start method: no interpreter start-up, no
helper process) and inherit the benchmark's niceness, so they compete with the stream at the same
priority. They end with :meth:`Hogs.stop` (SIGTERM, then SIGKILL after ``timeout_s``) and are
reaped, so none outlives the benchmark.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from .bench_cpu import process_cpu_s


def spin() -> None:
    """Burn one core until killed."""
    while True:
        pass


class Hogs:
    """``count`` busy processes, started by :meth:`start`, ended by :meth:`stop`.

    Raises:
        ValueError: ``count`` is negative.
    """

    def __init__(self, count: int):
        if count < 0:
            raise ValueError(f"hog count {count} is negative")
        ctx = multiprocessing.get_context("fork")
        self._procs = [ctx.Process(target=spin, name=f"hog-{k}", daemon=True)
                       for k in range(count)]
        self.cpu_s: list[float] = []
        """CPU s each hog used, read just before it was ended."""
        self.niceness: list[int] = []
        """Each hog's niceness while it ran."""

    @property
    def pids(self) -> set[int]:
        """Process ids of the hogs that were started."""
        return {p.pid for p in self._procs if p.pid is not None}

    def start(self) -> None:
        for p in self._procs:
            p.start()
        self.niceness = [os.getpriority(os.PRIO_PROCESS, p.pid) for p in self._procs]

    def stop(self, timeout_s: float = 5.0) -> None:
        """Read each started hog's CPU time, end it and reap it."""
        started = [p for p in self._procs if p.pid is not None]
        self.cpu_s = [process_cpu_s(p.pid) for p in started]
        for p in started:
            p.terminate()
        for p in started:
            p.join(timeout_s)
            if p.is_alive():
                p.kill()
                p.join()

    @property
    def gone(self) -> bool:
        """True once every hog has ended and been reaped (no ``/proc`` entry left)."""
        return all(not p.is_alive() and not Path(f"/proc/{p.pid}").exists()
                   for p in self._procs)
