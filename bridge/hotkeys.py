"""Hotkeys of a live stream: single keys from a terminal on standard input -> the control state.

Takes key presses (cbreak mode, restored on close); emits nothing but changes of
:class:`bridge.state.LiveState` (:meth:`~bridge.state.LiveState.key` lists the keys).
"""

from __future__ import annotations

import os
import select
import sys
import threading

from .state import LiveState


class Hotkeys:
    """Reads single keys from a terminal on standard input (cbreak mode, restored on close)."""

    def __init__(self, state: LiveState):
        self.state = state
        self._fd = sys.stdin.fileno()
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="hotkeys", daemon=True)
        self._thread.start()

    @staticmethod
    def available() -> bool:
        """True if standard input is a terminal."""
        try:
            return os.isatty(sys.stdin.fileno())
        except (OSError, ValueError):
            return False

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if ready:
                ch = os.read(self._fd, 1).decode("latin-1")
                if not ch:
                    break
                self.state.key(ch)

    def close(self) -> None:
        import termios

        self._stop.set()
        self._thread.join()
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
