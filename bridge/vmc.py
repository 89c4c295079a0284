"""VMC protocol blendshapes (OSC over UDP) for VRM avatars: VSeeFace, Warudo, VNyan (docs/vmc.md).

Per frame, one ``/VMC/Ext/Blend/Val ,sf`` message (name, value in [0, 1]) for each of the 52
perfect-sync ARKit names (:data:`medtalk_core.arkit.ARKIT_NAMES`) and each VRM expression preset
(:data:`PRESETS`), then one ``/VMC/Ext/Blend/Apply``. The messages go in OSC bundles (time tag
"immediately"), as many as fit in :data:`DATAGRAM_MAX` bytes each, in order; the last bundle ends
with ``Apply``, so a receiver applies a whole frame at once.

VRM presets from the ARKit values (each clipped to [0, 1]): with ``open = jawOpen``,
``round = max(mouthPucker, mouthFunnel)``, ``spread`` = the mean of ``mouthStretch`` and
``mouthSmile`` left and right:

    A = open * (1 - round),  I = spread * (1 - open),  U = mouthPucker * (1 - open),
    E = spread * open,       O = round * open

(VRM 1.0: ``aa ih ou ee oh``); ``Blink_L/R`` (``blinkLeft/Right``) = ``eyeBlinkLeft/Right``; the
emotion preset of the frame's emotion (:data:`EMOTION_PRESETS`) = its intensity clipped to
[0, 1], the other emotion presets 0.
"""

from __future__ import annotations

import struct

import numpy as np

from medtalk_core.arkit import ARKIT_NAMES

VAL_ADDRESS = "/VMC/Ext/Blend/Val"
APPLY_ADDRESS = "/VMC/Ext/Blend/Apply"
DATAGRAM_MAX = 1400
"""Largest bundle in bytes: under a 1500-byte Ethernet MTU with IP and UDP headers."""

VOWELS = {0: ("A", "I", "U", "E", "O"), 1: ("aa", "ih", "ou", "ee", "oh")}
BLINKS = {0: ("Blink_L", "Blink_R"), 1: ("blinkLeft", "blinkRight")}
EMOTIONS = {0: ("Joy", "Angry", "Sorrow", "Fun"), 1: ("happy", "angry", "sad", "relaxed",
                                                      "surprised")}
EMOTION_PRESETS = {
    0: {"happy": "Joy", "angry": "Angry", "disgust": "Angry", "sad": "Sorrow", "fear": "Sorrow"},
    1: {"happy": "happy", "angry": "angry", "disgust": "angry", "sad": "sad",
        "fear": "surprised", "surprise": "surprised"},
}
"""Emotion label -> the VRM preset it drives, per VRM version (neutral, and VRM 0.x surprise,
drive none; ``Fun`` / ``relaxed`` is never driven and sent as 0)."""
PRESETS = {v: VOWELS[v] + BLINKS[v] + EMOTIONS[v] for v in (0, 1)}
"""The VRM preset names sent after the 52 ARKit names, per VRM version."""

_I = {n: i for i, n in enumerate(ARKIT_NAMES)}
_BUNDLE_HEAD = b"#bundle\0" + struct.pack(">Q", 1)  # time tag 1: immediately


def _osc_string(text: str) -> bytes:
    data = text.encode("utf-8") + b"\0"
    return data + b"\0" * (-len(data) % 4)


def _val_prefix(name: str) -> bytes:
    """A ``/VMC/Ext/Blend/Val`` message up to its float (4 bytes follow)."""
    return _osc_string(VAL_ADDRESS) + _osc_string(",sf") + _osc_string(name)


def presets(shapes: np.ndarray, emotion: str, intensity: float, vrm: int) -> np.ndarray:
    """float32 ``(len(PRESETS[vrm]),)`` in [0, 1], finite: the VRM presets of one frame (module
    docstring) from its 52 ARKit values ``shapes`` (ARKit order, in [0, 1])."""
    a = shapes
    jaw, round_ = a[_I["jawOpen"]], max(a[_I["mouthPucker"]], a[_I["mouthFunnel"]])
    spread = np.mean([a[_I[n]] for n in ("mouthStretchLeft", "mouthStretchRight",
                                         "mouthSmileLeft", "mouthSmileRight")])
    vowels = [jaw * (1 - round_), spread * (1 - jaw), a[_I["mouthPucker"]] * (1 - jaw),
              spread * jaw, round_ * jaw]
    blinks = [a[_I["eyeBlinkLeft"]], a[_I["eyeBlinkRight"]]]
    level = float(np.clip(np.nan_to_num(intensity, nan=0.0), 0.0, 1.0))
    chosen = EMOTION_PRESETS[vrm].get(emotion)
    moods = [level if name == chosen else 0.0 for name in EMOTIONS[vrm]]
    out = np.array(vowels + blinks + moods, np.float32)
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)


class BundleEncoder:
    """Encodes one frame's blendshapes as VMC bundles for VRM version ``vrm`` (0 or 1).

    Raises:
        ValueError: ``vrm`` not 0 or 1.
    """

    def __init__(self, vrm: int = 0):
        if vrm not in PRESETS:
            raise ValueError(f"--vrm {vrm}: must be 0 (VRM 0.x) or 1 (VRM 1.0)")
        self.vrm = vrm
        self.names: tuple[str, ...] = ARKIT_NAMES + PRESETS[vrm]
        """The names sent, in order."""
        self._prefixes = [_val_prefix(n) for n in self.names]
        self._apply = _osc_string(APPLY_ADDRESS) + _osc_string(",")

    def encode(self, shapes: np.ndarray, emotion: str, intensity: float) -> list[bytes]:
        """The datagrams of one frame, in order, each at most :data:`DATAGRAM_MAX` bytes.

        Args:
            shapes: float ``(52,)`` ARKit values in [0, 1] (ARKit order), finite.
            emotion: the frame's emotion label.
            intensity: the frame's emotion intensity.
        """
        values = np.concatenate([np.asarray(shapes, np.float32),
                                 presets(shapes, emotion, intensity, self.vrm)])
        messages = [p + struct.pack(">f", v) for p, v in zip(self._prefixes, values.tolist())]
        messages.append(self._apply)
        bundles, part, size = [], [], len(_BUNDLE_HEAD)
        for m in messages:
            if size + 4 + len(m) > DATAGRAM_MAX:
                bundles.append(_BUNDLE_HEAD + b"".join(part))
                part, size = [], len(_BUNDLE_HEAD)
            part.append(struct.pack(">i", len(m)) + m)
            size += 4 + len(m)
        bundles.append(_BUNDLE_HEAD + b"".join(part))
        return bundles
