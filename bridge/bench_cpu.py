"""CPU time of a process tree by thread and by child process (Linux ``/proc``), for ``medtalk
bench latency``.

A thread's CPU time is ``utime + stime`` of ``/proc/self/task/TID/stat`` (fields 14 and 15, in
clock ticks of ``os.sysconf("SC_CLK_TCK")``), its name the kernel's ``comm`` of that thread. Python
does not give its threads kernel names, so :class:`TreeSampler` writes each
``threading.Thread``'s name (15 bytes at most) into ``/proc/self/task/TID/comm``
(:func:`name_python_threads`; the main thread keeps the process's name), and
:func:`name_workers_of` names the native threads a call makes work (a CTranslate2 model computes
in its own worker thread while the Python thread that called it waits).

A child process's CPU time is ``utime + stime + cutime + cstime`` of ``/proc/PID/stat`` (its own
reaped children included); the tree is every descendant of this process but those the caller
excludes (the benchmark's own processes).

Threads and children are sampled every ``interval_s``: a thread or child that ends between two
samples takes the CPU time it used after its last sample with it, and that time is reported as
``ended`` (the process totals, which keep the time of ended threads and reaped children, minus
what the samples saw).
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
"""s per clock tick of ``/proc/*/stat`` times."""
COMM_MAX = 15
"""Bytes of a kernel thread name (``TASK_COMM_LEN`` 16 with the NUL)."""


def _stat(path: Path) -> tuple[str, list[str]] | None:
    """``(comm, fields after comm)`` of a ``/proc`` stat file; None if it is gone."""
    try:
        text = path.read_text()
    except OSError:  # the thread or process has ended
        return None
    return text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()


def _ticks(fields: list[str], children: bool = False) -> int:
    """utime + stime (fields 14, 15), with ``children`` also cutime + cstime (16, 17), in ticks."""
    return sum(int(v) for v in fields[11:15 if children else 13])


def thread_times() -> dict[int, tuple[str, float, int]]:
    """``{tid: (kernel name, CPU s, niceness)}`` of every thread of this process now (Linux
    keeps a niceness per thread)."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        stat = _stat(task / "stat")
        if stat is not None:
            out[int(task.name)] = (stat[0], _ticks(stat[1]) * TICK_S, int(stat[1][16]))
    return out


def process_cpu_s(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads) in s.

    Raises:
        OSError: no process ``pid``.
    """
    stat = _stat(Path(f"/proc/{pid}/stat"))
    if stat is None:
        raise ProcessLookupError(f"no process {pid}")
    return _ticks(stat[1]) * TICK_S


def name_thread(tid: int, name: str) -> None:
    """Give thread ``tid`` of this process the kernel name ``name`` (cut to 15 bytes); a thread
    that has ended is skipped."""
    try:
        Path(f"/proc/self/task/{tid}/comm").write_bytes(name.encode()[:COMM_MAX])
    except OSError:
        pass


def name_python_threads() -> None:
    """Write every running ``threading.Thread``'s name into its kernel name (not the main
    thread's: that is the process's name in ``ps`` and ``top``)."""
    main = threading.main_thread().native_id
    for t in threading.enumerate():
        if t.native_id is not None and t.native_id != main:
            name_thread(t.native_id, t.name)


def name_workers_of(call: Callable[[], object], name: str, min_s: float = 0.05,
                    max_calls: int = 40) -> list[int]:
    """Name the native threads that ``call`` makes work: run it (at most ``max_calls`` times)
    until the threads other than the caller gained ``min_s`` s of CPU; every thread that gained
    at least half of the most any gained is named ``name``. Returns their tids (empty if none
    worked: ``call`` ran in the caller or in another process)."""
    me = threading.get_native_id()
    before = {tid: s for tid, (_, s, _) in thread_times().items()}
    for _ in range(max_calls):
        call()
        gain = {tid: s - before.get(tid, 0.0) for tid, (_, s, _) in thread_times().items()
                if tid != me}
        top = max(gain.values(), default=0.0)
        if top >= min_s:
            tids = [tid for tid, g in gain.items() if g >= top / 2]
            for tid in tids:
                name_thread(tid, name)
            return tids
    return []


def descendants(pid: int, exclude: set[int]) -> list[int]:
    """The pids of every descendant process of ``pid`` now, without ``exclude`` and theirs."""
    parent = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and (stat := _stat(proc / "stat")) is not None:
            parent[int(proc.name)] = int(stat[1][1])
    out, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in exclude]
        out += kids
        frontier = kids
    return out


def _peak_rss_kb(pid: int) -> int:
    """VmHWM (peak resident set) of process ``pid`` in KiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Usage:
    """CPU s of one thread or child process over a sampled window, and its niceness as last
    sampled."""

    id: int
    name: str
    cpu_s: float
    nice: int | None = None


@dataclass
class TreeCpu:
    """CPU of the process tree over the window of a :class:`TreeSampler`.

    Attributes:
        wall_s: s from start to stop.
        cpu_s: CPU s of the whole tree (the kernel's process totals: this process with its
            ended threads and reaped children, and the children alive at the end).
        threads: this process's threads that ran in the window (CPU s each).
        children: the descendant processes (their CPU s including their reaped children).
        peak_rss_kb: this process's peak resident memory plus each child's peak, KiB.
    """

    wall_s: float
    cpu_s: float
    threads: list[Usage] = field(default_factory=list)
    children: list[Usage] = field(default_factory=list)
    peak_rss_kb: int = 0

    @property
    def ended_s(self) -> float:
        """CPU s of threads and children after their last sample (they ended): the total minus
        what the samples saw (0 when the kernel's rounding makes it negative)."""
        seen = sum(u.cpu_s for u in self.threads) + sum(u.cpu_s for u in self.children)
        return max(0.0, self.cpu_s - seen)


class TreeSampler:
    """Samples this process's threads and descendant processes every ``interval_s`` from
    :meth:`start` to :meth:`stop`, naming the Python threads as it goes.

    Args:
        exclude: pids of processes (and their subtrees) that are not part of the tree.
        interval_s: s between samples.
    """

    def __init__(self, exclude: Callable[[], set[int]], interval_s: float = 0.2):
        self.exclude, self.interval_s = exclude, interval_s
        self._pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)
        self._threads: dict[int, tuple[str, float, int]] = {}
        self._children: dict[int, tuple[str, float, int]] = {}
        self._base_threads: dict[int, float] = {}
        self._base_children: dict[int, float] = {}
        self._base_self = (0, 0)
        self._wall0 = 0.0

    def _self_ticks(self) -> tuple[int, int]:
        """(utime + stime of every thread, ended ones too; cutime + cstime), this process."""
        fields = _stat(Path("/proc/self/stat"))[1]
        return _ticks(fields), _ticks(fields, children=True) - _ticks(fields)

    def _sample(self) -> None:
        name_python_threads()
        self._threads.update(thread_times())
        for pid in descendants(self._pid, self.exclude()):
            stat = _stat(Path(f"/proc/{pid}/stat"))
            if stat is not None:
                self._children[pid] = (stat[0], _ticks(stat[1], children=True) * TICK_S,
                                       int(stat[1][16]))

    def start(self) -> None:
        """Take the baseline and start sampling."""
        self._sample()
        self._base_threads = {tid: s for tid, (_, s, _) in self._threads.items()}
        self._base_children = {pid: s for pid, (_, s, _) in self._children.items()}
        self._base_self = self._self_ticks()
        self._wall0 = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def stop(self) -> TreeCpu:
        """Take the last sample; the CPU of the window by thread and by child."""
        self._stop.set()
        self._thread.join()
        self._sample()
        wall = time.monotonic() - self._wall0
        own, reaped = (now - base for now, base in zip(self._self_ticks(), self._base_self))
        threads = [Usage(tid, name, s - self._base_threads.get(tid, 0.0), nice)
                   for tid, (name, s, nice) in sorted(self._threads.items())]
        threads = [u for u in threads if u.cpu_s > 0]
        alive = set(descendants(self._pid, self.exclude()))
        children = [Usage(pid, name, s - self._base_children.get(pid, 0.0), nice)
                    for pid, (name, s, nice) in sorted(self._children.items())]
        total = (own + reaped) * TICK_S + sum(u.cpu_s for u in children if u.id in alive)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + sum(
            _peak_rss_kb(pid) for pid in alive)
        return TreeCpu(wall, total, threads, children, peak)
