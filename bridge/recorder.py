"""``--record OUT.(txt|csv|json)``: every frame the stream sends, written as it goes.

A sink like the network ones (``bridge.sinks``), so it sees exactly the frames that were sent.
The file follows :mod:`medtalk_core.rigio`'s formats (EmoFace TXT, CSV with a ``time`` column,
JSON ``{"fps", "names", "frames"}``) and is flushed after every frame. TXT and CSV are complete
after every line; the JSON document is closed by :meth:`Recorder.close`, which the stream calls
at the end of the file, on ``q``, Ctrl-C and SIGTERM. A write error (disk full) stops the
recording, is logged and counted; the stream goes on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.rigio import check_format

from .protocol import Frame
from .sinks import ProblemLog


class Recorder:
    """Writes sent frames to ``path`` (format by extension).

    Raises:
        MedtalkError: unknown extension, or a file that cannot be created.
    """

    def __init__(self, path: str | Path, fps: int = rig.FPS):
        self.path = Path(path)
        self.ext = check_format(self.path)
        self.name = f"record {self.path}"
        self.ready_at = time.monotonic()
        self._log = ProblemLog(self.name, "the stream goes on")
        self.problems: Counter = self._log.counts
        self.frames = 0
        try:
            self._f = open(self.path, "w", encoding="ascii", newline="")  # noqa: SIM115 (a stream)
        except OSError as e:
            raise MedtalkError(f"--record {self.path}: cannot create: {e.strerror or e}") from None
        head = {".txt": "",
                ".csv": "time," + ",".join(rig.CONTROL_NAMES) + "\n",
                ".json": f'{{"fps": {fps}, "names": {json.dumps(rig.CONTROL_NAMES)}, "frames": ['}
        self._write(head[self.ext])

    def _write(self, text: str) -> None:
        if self._f is None:
            return
        try:
            self._f.write(text)
            self._f.flush()
        except OSError as e:
            self._log.note(f"write failed, recording stopped: {e.strerror or e}")
            f, self._f = self._f, None
            try:
                f.close()
            except OSError:
                pass

    def send_frame(self, frame: Frame) -> None:
        row = ",".join(f"{v:.6f}" for v in np.asarray(frame.values, np.float64))
        if self.ext == ".txt":
            self._write(row + "\n")
        elif self.ext == ".csv":
            self._write(f"{frame.t:.6f},{row}\n")
        else:
            self._write(("\n[" if self.frames == 0 else ",\n[") + row + "]")
        self.frames += 1

    def send_names(self) -> None:
        """Names are in the file's header (CSV, JSON); nothing to do per interval."""

    def close(self) -> None:
        """Complete the file (JSON: close the document)."""
        if self.ext == ".json":
            self._write("\n]}\n")
        if self._f is not None:
            f, self._f = self._f, None
            try:
                f.close()
            except OSError as e:
                self._log.note(f"write failed, recording stopped: {e.strerror or e}")
