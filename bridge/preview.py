"""The preview server: the live preview page over HTTP and its frames over a WebSocket, on one
port (``medtalk stream --preview``, ``medtalk preview``).

``GET /`` serves the page (``bridge/preview_static/``: ``index.html``, ``preview.js``,
``preview.css``, no build step, nothing fetched from elsewhere), ``GET /audio`` the audio of a
played result (byte ranges, for seeking), and ``/ws`` is the WebSocket. On connecting, a
client first receives the ``hello`` message (:func:`hello`), then JSON text messages, one per
frame (:func:`frame_message`); it may send JSON messages, handed to ``on_message`` (the live
stream's controls, a played result's frame requests).

The server (the ``websockets`` library's asyncio server) runs on its own thread with its own
event loop. Frames come in through :meth:`PreviewServer.offer`: a one-slot, latest-frame-wins
hand-off that never blocks the caller (the stream's 60 fps clock); each client, too, has a
one-slot outbox, so a slow or dead browser only misses frames. Client errors, a failed bind
(when not ``required``) and undecodable messages are logged once per kind and counted
(:class:`bridge.sinks.ProblemLog`); the stream goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from importlib import resources
from typing import Any, Callable

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.face2d import VIEW_H, VIEW_W, face_shapes, shapes_to_json

from .sinks import ProblemLog, parse_udp_address

log = logging.getLogger(__name__)
_WS_LOG = logging.getLogger(f"{__name__}.websockets")
_WS_LOG.setLevel(logging.WARNING)  # not a line per HTTP request and connection

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/preview.js": ("preview.js", "text/javascript; charset=utf-8"),
          "/preview.css": ("preview.css", "text/css; charset=utf-8")}
START_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 1.0  # s a closing connection waits for the client (a stalled one: no longer)

_GROUPS = (  # (group, substrings of the control name) in face-board order
    ("brows", ("_brow_",)),
    ("eyes", ("_eye", "_eyelashes", "lookAtSwitch")),
    ("cheeks", ("cheekRaise", "nasolabial", "suckBlow", "lipsBlow")),
    ("nose", ("_nose",)),
    ("ears", ("_ear_",)),
    ("mouth", ("_mouth",)),
    ("jaw", ("_jaw",)),
    ("teeth", ("_teeth",)),
    ("tongue", ("_tongue",)),
    ("neck", ("neck",)),
)
_MATCH_ORDER = ("cheeks", "brows", "eyes", "nose", "ears", "mouth", "jaw", "teeth", "tongue",
                "neck")  # cheekRaise is an eye control by name, a cheek on the board


def board_groups(names=rig.CONTROL_NAMES) -> list[dict]:
    """The controls grouped as on the MetaHuman face board: ``[{"group": "brows", "controls":
    [column index, ...]}, ...]`` in board order (brows, eyes, cheeks, nose, ears, mouth, jaw,
    teeth, tongue, neck), every column in exactly one group."""
    groups: dict[str, list[int]] = {g: [] for g, _ in _GROUPS}
    parts = dict(_GROUPS)
    for i, name in enumerate(names):
        group = next((g for g in _MATCH_ORDER if any(p in name for p in parts[g])), "neck")
        groups[group].append(i)
    return [{"group": g, "controls": idx} for g, idx in groups.items() if idx]


def hello(mode: str, *, control: bool = False, frames: int = 0, audio: bool = False,
          title: str = "") -> dict:
    """The first message of every connection.

    Args:
        mode: ``"live"`` (a stream: frames are pushed) or ``"playback"`` (a written result: the
            page asks for frames ``{"type": "get", "frame": i}``).
        control: the page may send control messages (the stream has a control port).
        frames: number of frames of a played result (60 fps).
        audio: a played result has audio at ``/audio``.
        title: what is shown (the audio file or the result's name).
    """
    return {"type": "hello", "mode": mode, "fps": rig.FPS, "names": list(rig.CONTROL_NAMES),
            "groups": board_groups(), "emotions": list(rig.EMOTIONS),
            "ranges": rig.RANGES.tolist(), "view": [VIEW_W, VIEW_H], "control": control,
            "frames": frames, "audio": audio, "title": title}


def frame_message(index: int, t: float, values: np.ndarray, emotion: str | None,
                  intensity: float, transcript: str = "", state: dict | None = None) -> str:
    """One frame as the JSON text sent to the page.

    Args:
        index: frame number (60 fps); t: s, audio time of the frame.
        values: float ``(174,)`` finite face-board values in rig order.
        emotion: the emotion (a label or a description), None if unknown (a played result).
        intensity: the frame's emotion intensity.
        transcript: the committed words (the transcript's tail).
        state: more of the stream's state (intensity_scale, frozen, blinks).
    Returns:
        ``{"type": "frame", "frame", "t", "emotion", "intensity", "transcript", "values": [174],
        "face": shapes_to_json(face_shapes(values)), "state"}`` as compact JSON; the values are
        rounded to 1e-4 and the face drawn from the rounded values.
    Raises:
        ValueError: a value or the intensity is NaN or infinite (nothing non-finite is sent).
    """
    values = np.round(np.asarray(values, np.float64).reshape(rig.NUM_CONTROLS), 4)
    msg = {"type": "frame", "frame": int(index), "t": round(float(t), 6), "emotion": emotion,
           "intensity": round(float(intensity), 5), "transcript": transcript,
           "values": values.tolist(), "face": shapes_to_json(face_shapes(values)),
           "state": state or {}}
    return json.dumps(msg, separators=(",", ":"), allow_nan=False)


class _Client:
    """One WebSocket connection's one-slot outbox (latest message wins)."""

    def __init__(self, ws: ServerConnection):
        self.ws, self.latest, self.ready = ws, None, asyncio.Event()

    def offer(self, text: str) -> None:
        self.latest = text
        self.ready.set()

    async def pump(self) -> None:
        try:
            while True:
                await self.ready.wait()
                self.ready.clear()
                text, self.latest = self.latest, None
                await self.ws.send(text)
        except ConnectionClosed:
            pass


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of a ``Range: bytes=a-b`` header within ``size`` bytes; None: none or
    unusable (the whole body is sent)."""
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not m or not (m[1] or m[2]) or size == 0:
        return None
    if not m[1]:
        return max(0, size - int(m[2])), size - 1
    first, last = int(m[1]), min(size - 1, int(m[2])) if m[2] else size - 1
    return (first, last) if first <= last else None


class PreviewServer:
    """HTTP page and files plus the ``/ws`` WebSocket on one port, served from a thread.

    Args:
        address: ``[HOST:]PORT`` (a bare port is on 127.0.0.1).
        hello: the first message to every client (:func:`hello`).
        encode: ``encode(item) -> str``, a JSON frame message of what :meth:`offer` was given;
            run on the server's thread (None: nothing is offered).
        on_message: ``on_message(message: dict) -> str | None``, run on the server's thread for
            every JSON object a client sends; a returned text is sent back to that client.
        files: more paths to serve, ``{"/audio": (body, content type)}``.
        required: a port that cannot be bound raises (else it is logged and counted, and the
            server does nothing).
        consequence: what the log of a problem says happens next.
    Raises:
        MedtalkError: a malformed address; with ``required``, a port that cannot be bound.
    """

    def __init__(self, address: str, hello: dict, encode: Callable[[Any], str] | None = None,
                 on_message: Callable[[dict], str | None] | None = None,
                 files: dict[str, tuple[bytes, str]] | None = None, required: bool = False,
                 consequence: str = "the stream goes on"):
        self.host, self.port = parse_udp_address(address, "--preview")
        self.name = f"preview http://{self._url_host()}:{self.port}"
        self.problems = ProblemLog(self.name, consequence)
        self.connections = 0
        self._hello = json.dumps(hello, separators=(",", ":"))
        self._encode, self._on_message = encode, on_message
        self._files = self._load_files(files or {})
        self._clients: set[_Client] = set()
        self._slot, self._pending = None, False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="preview", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self._error = OSError("the server did not start")
        if self._error is not None:
            reason = os.strerror(self._error.errno) if self._error.errno else self._error
            what = f"{self.host}:{self.port}: cannot bind: {reason}"
            if required:
                self.close()
                raise MedtalkError(f"preview address {what}")
            self.problems.note("cannot bind the preview port", what)

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` of the page."""
        return f"http://{self._url_host()}:{self.port}/"

    @property
    def serving(self) -> bool:
        """Whether the port is bound and served."""
        return self._error is None and self._loop is not None

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @staticmethod
    def _load_files(extra: dict[str, tuple[bytes, str]]) -> dict[str, tuple[bytes, str]]:
        static = resources.files("bridge").joinpath("preview_static")
        files = {path: (static.joinpath(name).read_bytes(), kind)
                 for path, (name, kind) in STATIC.items()}
        return {**files, **extra}

    # -- the caller's thread
    def offer(self, item) -> None:
        """Hand ``item`` (anything ``encode`` takes) to the clients; never blocks. An item not
        yet encoded when the next comes is dropped (latest wins); nothing is kept without
        clients."""
        loop = self._loop
        if loop is None or not self._clients or self._encode is None:
            return
        self._slot = item
        if not self._pending:
            self._pending = True
            try:
                loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop has closed
                pass

    def close(self) -> None:
        """Stop serving: clients are disconnected, the port released."""
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        self._thread.join(START_TIMEOUT_S)

    # -- the server's thread
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop))
        finally:
            loop.close()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wake, self._stop = asyncio.Event(), asyncio.Event()
        try:
            server = await serve(self._connection, self.host, self.port, compression=None,
                                 close_timeout=CLOSE_TIMEOUT_S,
                                 process_request=self._http, max_size=2**16,
                                 logger=_WS_LOG)
        except OSError as e:
            self._error = e
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self.name = f"preview http://{self._url_host()}:{self.port}"
        self.problems.name = self.name
        self._loop = loop
        self._ready.set()
        pump = asyncio.create_task(self._pump())
        async with server:
            await self._stop.wait()
        pump.cancel()
        self._loop = None

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._pending = False
            item, self._slot = self._slot, None
            if item is None or not self._clients:
                continue
            try:
                text = self._encode(item)
            except (ValueError, TypeError) as e:
                self.problems.note("frame not encodable (skipped)", str(e))
                continue
            for client in self._clients:
                client.offer(text)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/ws":
            return None
        if path not in self._files:
            self.problems.note("request for an unknown path (404)", path)
            return connection.respond(404, "not found\n")
        body, kind = self._files[path]
        headers = Headers([("Content-Type", kind), ("Cache-Control", "no-store"),
                           ("Accept-Ranges", "bytes")])
        span = _byte_range(request.headers.get("Range"), len(body))
        status, reason = 200, "OK"
        if span is not None:
            status, reason = 206, "Partial Content"
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{len(body)}"
            body = body[span[0]:span[1] + 1]
        headers["Content-Length"] = str(len(body))
        return Response(status, reason, headers, body)

    async def _connection(self, ws: ServerConnection) -> None:
        client = _Client(ws)
        self._clients.add(client)
        self.connections += 1
        outbox = asyncio.create_task(client.pump())
        try:
            client.offer(self._hello)
            async for text in ws:
                reply = self._receive(text)
                if reply is not None:
                    client.offer(reply)
        except ConnectionClosed as e:
            if e.rcvd is None:
                self.problems.note("a client went away without closing")
        finally:
            self._clients.discard(client)
            outbox.cancel()

    def _receive(self, text) -> str | None:
        try:
            message = json.loads(text)
        except (TypeError, ValueError):
            message = None
        if not isinstance(message, dict) or self._on_message is None:
            self.problems.note("a client message that is not a JSON object (ignored)")
            return None
        try:
            return self._on_message(message)
        except (ValueError, TypeError, KeyError) as e:
            self.problems.note("a client message that cannot be applied (ignored)", str(e))
            return None

