"""``--record OUT.(txt|csv|json)``: every frame the stream sends, written as it goes.

A sink like the network ones (``bridge.sinks``): takes the :class:`bridge.protocol.Frame` the
sender sends (already finite, :class:`bridge.guard.FiniteGuard`), so it sees exactly the frames
that were sent; emits nothing. The file follows :mod:`medtalk_core.rigio`'s formats (EmoFace TXT,
CSV with a ``time`` column, JSON ``{"fps", "names", "frames"}``).

Frames go to a temporary file in the target's folder (:attr:`Recorder.temp_path`, flushed after
every frame: TXT and CSV are complete after every line), renamed onto the target by
:meth:`Recorder.close` (the stream calls it at the end of the file, on ``q``, Ctrl-C and SIGTERM).
:meth:`Recorder.discard` (a stream that failed to start) removes it: a failed start creates
nothing and leaves an existing recording as it was. A write error (disk full) stops the
recording (the temporary file is removed, the target left as it was), is logged and counted; the
stream goes on.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.rigio import check_format, current_umask

from .frames import LiveFrame
from .protocol import Frame
from .sinks import ProblemLog


class Recorder:
    """Writes sent frames to ``path`` (format by extension) through a temporary file.

    Raises:
        MedtalkError: unknown extension, or a file that cannot be created in the folder.
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
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.tmp-",
                                       suffix=self.ext)  # hidden, same format
        except OSError as e:
            raise MedtalkError(f"--record {self.path}: cannot create: {e.strerror or e}") from None
        os.fchmod(fd, 0o666 & ~current_umask())
        self.temp_path = Path(tmp)
        """The file being written until :meth:`close` renames it onto :attr:`path`."""
        self._f = os.fdopen(fd, "w", encoding="ascii", newline="")
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
            self._fail(e)

    def _fail(self, e: OSError) -> None:
        self._log.note(f"write failed, recording stopped: {e.strerror or e}")
        f, self._f = self._f, None
        try:
            f.close()
        except OSError:
            pass
        self.temp_path.unlink(missing_ok=True)

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

    def send_state(self, frame: LiveFrame) -> None:
        """The state is not recorded."""

    def close(self) -> None:
        """Complete the file (JSON: close the document) and rename it onto :attr:`path`."""
        if self.ext == ".json":
            self._write("\n]}\n")
        if self._f is None:
            return
        f, self._f = self._f, None
        try:
            f.close()
            os.replace(self.temp_path, self.path)
        except OSError as e:
            self._f = f
            self._fail(e)

    def discard(self) -> None:
        """Drop the recording (a stream that did not start): the target is left as it was."""
        if self._f is not None:
            f, self._f = self._f, None
            f.close()
        self.temp_path.unlink(missing_ok=True)
