"""The external receiver of ``medtalk bench latency``: a separate process that subscribes to the
stream's ZeroMQ PUB (docs/protocol.md) and records when each frame arrives.

    python -m bridge.bench_receiver ENDPOINT OUT.npz

It connects a SUB socket to ``ENDPOINT`` (subscribed to every topic), prints ``joined`` on its
standard output at the first message it receives (the benchmark sends names until then), and
for every ``frame`` message records the header's frame index, ``t`` and ``t0`` and its arrival
time, ``time.monotonic()`` read as the message is received. On Linux ``time.monotonic()`` is
``CLOCK_MONOTONIC``, one clock for every process of the machine, so arrival times compare with
the stream process's send deadlines and audio entry times. A message that does not decode
(:func:`bridge.protocol.decode_zmq_frame`: a malformed header, non-finite values) is counted as
rejected. When its standard input closes, it reads what is still queued (until 0.5 s pass
without a message), writes ``OUT.npz`` (a temporary file renamed: ``arrivals`` float64
``(n, 4)``, ``rejected`` int) and exits.

:class:`ExternalReceiver` runs it from the benchmark.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DRAIN_S = 0.5
"""s without a message after which a closing receiver stops reading."""


def receive(endpoint: str, out: Path) -> int:
    """Run the receiver (see the module); returns the number of frames recorded."""
    import zmq

    from medtalk_core.rigio import atomic_path

    from .protocol import ZMQ_FRAME_TOPIC, ProtocolError, decode_zmq_frame

    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVHWM, 0)  # queue without limit: the benchmark counts every frame
    sub.connect(endpoint)
    stdin = sys.stdin.fileno()
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    poller.register(stdin, zmq.POLLIN)
    rows, rejected, joined, closing = [], 0, False, False
    while True:
        events = dict(poller.poll(1000 * DRAIN_S if closing else None))
        if closing and not events:
            break
        if events.get(stdin) and not os.read(stdin, 4096):
            closing = True
            poller.unregister(stdin)
        while sub in events:
            try:
                parts = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            arrival = time.monotonic()
            if not joined:
                print("joined", flush=True)
                joined = True
            if parts[0] != ZMQ_FRAME_TOPIC:
                continue
            try:
                header, _ = decode_zmq_frame(parts)
            except ProtocolError:
                rejected += 1
                continue
            rows.append((header["frame"], header["t"], header["t0"], arrival))
    sub.close(linger=0)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, arrivals=np.array(rows, np.float64).reshape(-1, 4), rejected=rejected)
    return len(rows)


@dataclass(frozen=True)
class Arrivals:
    """What the receiver recorded, in arrival order: ``index`` int64 ``(n,)`` frame indices,
    ``t`` and ``t0`` float64 ``(n,)`` the headers' times (s), ``arrival`` float64 ``(n,)`` the
    receiver's ``time.monotonic()`` (s); ``rejected`` messages that did not decode."""

    index: np.ndarray
    t: np.ndarray
    t0: np.ndarray
    arrival: np.ndarray
    rejected: int


class ExternalReceiver:
    """The receiver process, started on ``endpoint`` (a bound ZeroMQ PUB), writing into
    ``folder``.

    Raises:
        OSError: the process cannot be started.
    """

    def __init__(self, endpoint: str, folder: Path):
        self.out = folder / "arrivals.npz"
        here = str(Path(__file__).resolve().parents[1])  # the child imports this very package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (here, os.environ.get("PYTHONPATH")) if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.bench_receiver", endpoint, str(self.out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def join(self, send_names: Callable[[], None], timeout_s: float = 60.0) -> None:
        """Call ``send_names`` every 0.1 s until the receiver has received a message (its
        subscription reached the publisher: ZeroMQ's slow joiner).

        Raises:
            RuntimeError: it did not say so within ``timeout_s`` (or it ended).
        """
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and self.proc.poll() is None:
            send_names()
            if select.select([self.proc.stdout], [], [], 0.1)[0]:
                if self.proc.stdout.readline().strip() == b"joined":
                    return
        raise RuntimeError(f"the benchmark's receiver did not join the stream in {timeout_s} s")

    def finish(self, timeout_s: float = 30.0) -> Arrivals:
        """Close its input, wait for it to write its records; returns them.

        Raises:
            RuntimeError: it failed or did not end within ``timeout_s``.
        """
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"the benchmark's receiver did not end in {timeout_s} s") from None
        if code != 0 or not self.out.is_file():
            raise RuntimeError(f"the benchmark's receiver failed (exit code {code})")
        with np.load(self.out) as f:
            rows, rejected = f["arrivals"], int(f["rejected"])
        return Arrivals(rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2], rows[:, 3],
                        rejected)

    def kill(self) -> None:
        """End the process at once (the benchmark failed)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    receive(sys.argv[1], Path(sys.argv[2]))
