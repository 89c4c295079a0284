"""One phone set for every engine: ARPAbet (lower case, no stress digits) plus ``sil`` and ``pau``.

eSpeak NG reports its own phoneme mnemonics, Piper the IPA symbols of its espeak phonemizer, and
Flite ARPAbet already; each is mapped here so that visemes and alignments use one inventory.
``sil`` is the padding before and after an utterance, ``pau`` a pause inside it.
"""

from __future__ import annotations

VOWELS = frozenset(
    "aa ae ah ao aw ax ay eh er ey ih iy ow oy uh uw".split()
)
PHONES = VOWELS | frozenset(
    "b ch d dh f g hh jh k l m n ng p r s sh t th v w y z zh sil pau".split()
)

# eSpeak NG English mnemonics (phsource/ph_english*). Longest prefix wins, see ``from_espeak``.
_ESPEAK = {
    "_": "pau", "@": "ax", "@2": "ax", "@5": "ax", "@L": "ax", "3": "er", "3:": "er", "@r": "er",
    "a": "ae", "a#": "ax", "aa": "aa", "A:": "aa", "A@": "aa", "A": "aa", "aI": "ay", "aI@": "ay",
    "aI3": "ay", "aU": "aw", "aU@": "aw", "0": "ao", "0:": "ao", "O": "ao", "O:": "ao", "O@": "ao",
    "o@": "ao", "OI": "oy", "oU": "ow", "o": "ow", "e": "eh", "e@": "eh", "eI": "ey", "E": "eh",
    "i": "iy", "i:": "iy", "i@": "ih", "i@3": "ih", "I": "ih", "I#": "ih", "I2": "ih", "u": "uw",
    "u:": "uw", "U": "uh", "U@": "uh", "V": "ah",
    "p": "p", "b": "b", "m": "m", "f": "f", "v": "v", "T": "th", "D": "dh", "t": "t", "d": "d",
    "n": "n", "l": "l", "s": "s", "z": "z", "S": "sh", "Z": "zh", "tS": "ch", "dZ": "jh", "k": "k",
    "g": "g", "N": "ng", "h": "hh", "r": "r", "w": "w", "j": "y", "x": "hh", "?": "t", "t#": "t",
    "d#": "d", "z#": "z", "r-": "r", "n-": "n", "m-": "m", "l/": "l", "W": "w", "C": "hh",
}

# IPA symbols of Piper's espeak phonemizer (en-us).
_IPA = {
    "ə": "ax", "ɚ": "er", "ɜ": "er", "ɐ": "ah", "æ": "ae", "a": "aa", "ɑ": "aa", "ɒ": "ao",
    "ɔ": "ao", "o": "ow", "e": "ey", "ɛ": "eh", "i": "iy", "ɪ": "ih", "ᵻ": "ih", "u": "uw",
    "ʊ": "uh", "ʌ": "ah", "p": "p", "b": "b", "m": "m", "f": "f", "v": "v", "θ": "th",
    "ð": "dh", "t": "t", "d": "d", "n": "n", "l": "l", "s": "s", "z": "z", "ʃ": "sh", "ʒ": "zh",
    "k": "k", "ɡ": "g", "g": "g", "ŋ": "ng", "h": "hh", "ɹ": "r", "r": "r", "ɾ": "d", "w": "w",
    "j": "y", "ʔ": "t", "x": "hh", "ç": "hh", "ʤ": "jh", "ʧ": "ch", "ɬ": "l", "ɫ": "l", "n̩": "n",
}
IPA_STRESS = frozenset("ˈˌ")
IPA_EXTEND = frozenset("ːˑ̩̃‿-")
"""Piper tokens that lengthen or modify the phone before them."""


def from_espeak(mnemonic: str) -> str:
    """ARPAbet phone for an eSpeak NG phoneme mnemonic (``"oU"`` -> ``"ow"``), ``pau`` if unknown."""
    m = mnemonic.strip().lstrip("',%=")
    if m.startswith("_") or not m:
        return "pau"
    for k in range(len(m), 0, -1):
        if m[:k] in _ESPEAK:
            return _ESPEAK[m[:k]]
    return "pau"


def from_ipa(symbol: str) -> str | None:
    """ARPAbet phone for one IPA symbol of Piper, ``None`` if it is not a speech sound."""
    return _IPA.get(symbol)


def from_flite(name: str) -> str:
    """ARPAbet phone for a Flite segment name (already ARPAbet; ``pau`` for its pauses)."""
    return name if name in PHONES else "pau"
