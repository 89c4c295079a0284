"""The Python side's record of a live ``medtalk stream``: a ZeroMQ SUB socket (pyzmq) that decodes
every message with ``bridge/protocol.py`` and writes one line per frame, in the format of the C++
``receiver``::

    INDEX TIME(float64 bits, hex) VALUE_0 ... VALUE_173 (float32 bits, hex)

Exits 0 once ``FRAMES`` frames 0..FRAMES-1 arrived in order with the rig's names, 1 otherwise.

    python record_zmq.py ENDPOINT FRAMES OUT READY [TIMEOUT_S]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import zmq

from bridge import protocol
from medtalk_core import rig


def frame_line(header: dict, values: np.ndarray) -> str:
    bits = np.asarray([header["t"]], np.float64).view(np.uint64)[0]
    hexes = " ".join(f"{b:08x}" for b in np.asarray(values, np.float32).view(np.uint32))
    return f"{header['frame']} {bits:016x} {hexes}\n"


def write_atomically(path: str, text: str) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main(endpoint: str, frames: int, out: str, ready: str, timeout_s: float = 120.0) -> int:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RECONNECT_IVL, 20)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(endpoint)
    write_atomically(ready, "connected\n")
    lines, names_ok, deadline = [], 0, time.monotonic() + timeout_s
    while len(lines) < frames and time.monotonic() < deadline:
        if not sub.poll(200):
            continue
        parts = sub.recv_multipart()
        if parts[0] == protocol.ZMQ_NAMES_TOPIC:
            names_ok += protocol.decode_zmq_names(parts) == list(rig.CONTROL_NAMES)
        else:
            lines.append(frame_line(*protocol.decode_zmq_frame(parts)))
    sub.close()
    write_atomically(out, "".join(lines))
    indices = [int(line.split()[0]) for line in lines]
    print(f"record_zmq: {len(lines)} frames, {names_ok} names messages with the rig's names")
    return 0 if indices == list(range(frames)) and names_ok > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__.splitlines()[-1].strip())
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4],
                  *map(float, sys.argv[5:])))
