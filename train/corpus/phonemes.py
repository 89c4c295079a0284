"""One phone set for every engine: ARPAbet (lower case, no stress digits) plus ``sil`` and ``pau``.

eSpeak NG reports its own phoneme mnemonics, Piper the IPA symbols of its espeak phonemizer, and
Flite ARPAbet already; each is mapped here so that visemes and alignments use one inventory.
``sil`` is the padding before and after an utterance, ``pau`` a pause inside it.

The other corpus languages (Mandarin, Japanese, Korean, Spanish, Portuguese, French) map to the
same set, each phoneme to the phone whose viseme is nearest (no phone was added):
    * nasal vowels -> their oral vowel (French, Portuguese), nasal diphthongs -> the diphthong
      (Portuguese ``&U~`` -> ``aw``); tones and stress are not phonemes in eSpeak NG's events;
    * French front rounded vowels -> rounded vowels (``y`` -> ``uw``, ``Y`` [ø] -> ``uh``,
      ``W`` [œ] -> ``ao``), uvular ``r`` -> ``g`` (tongue back);
    * taps and trills (Spanish, Portuguese, Japanese, Korean) -> ``d`` (tongue tip, no English /r/
      rounding); Korean tense and aspirated stops -> the plain stop;
    * Japanese moraic n ``N\\`` and its nasal-vowel form ``u~`` -> ``ng``, ``u`` [ɯ] -> ``uh``,
      ``p\\`` [ɸ] -> ``w``;
    * Mandarin retroflexes ``s. ts. ts.h`` -> ``sh ch ch``, ``z.`` -> ``r``, alveolo-palatals
      ``S; tS; tS;h`` -> ``sh ch ch``, apical vowels ``i[`` -> ``ih`` and ``i.`` -> ``er``,
      rising and falling diphthongs -> glide + vowel (``iA`` -> ``y aa``, ``uo`` -> ``w ao``);
      aspirated stops -> the plain stop; ``ts`` -> ``t s``.
A phoneme that maps to two phones splits its time equally between them. ``_|`` (a syllable
boundary) is no phone: its time goes to the phone before it.
"""

from __future__ import annotations

from medtalk_core.errors import MedtalkError

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
    ";": "y",
}

_COMMON = {";": "y", "a": "aa", "b": "b", "d": "d", "f": "f", "g": "g", "h": "hh", "i": "iy",
           "j": "y", "k": "k", "l": "l", "m": "m", "n": "n", "p": "p", "s": "s", "t": "t",
           "u": "uw", "v": "v", "w": "w", "z": "z", "N": "ng", "S": "sh", "Z": "zh", "tS": "ch",
           "dZ": "jh", "ts": "t s", "x": "hh"}
_LANG = {
    "zh": {"@": "ax", "@r": "er", "A": "aa", "Au": "aw", "S;": "sh", "X": "hh", "ai": "ay",
           "ei": "ey", "i.": "er", "i[": "ih", "iA": "y aa", "iE": "y eh", "iou": "y ow",
           "kh": "k", "o": "ao", "o-": "ah", "ong": "uh ng", "ou": "ow", "ph": "p", "s.": "sh",
           "th": "t", "tS;": "ch", "tS;h": "ch", "ts.": "ch", "ts.h": "ch", "tsh": "t s",
           "u@": "w ao", "ua": "w aa", "uai": "w ay", "uei": "w ey", "uo": "w ao", "y": "uw",
           "y&": "uw eh", "yE": "uw eh", "yu": "uw", "z.": "r"},
    "ja": {"?": "t", "C": "hh", "N\\": "ng", "_j": "y", "d_z\\": "jh", "e": "eh", "o": "ow",
           "p\\": "w", "r`": "d", "s\\": "sh", "t_s": "t s", "t_s\\": "ch", "u": "uh", "u~": "ng"},
    "ko": {"*": "d", "@": "ah", "E": "eh", "L": "l", "dZ;": "jh", "e": "eh", "k-": "k", "kh": "k",
           "o": "ow", "p-": "p", "ph": "p", "q": "k", "q-": "k", "s-": "s", "t-": "t", "tS;": "ch",
           "tS;-": "ch", "u-": "ih"},
    "es": {"**": "d", "B": "b", "D": "dh", "E": "eh", "J^": "y", "Q": "g", "R2": "d", "T": "th",
           "aI": "ay", "e": "eh", "l^": "l", "n^": "n", "o": "ow", "oI": "oy", "r": "d"},
    "pt": {"&": "ah", "&U~": "aw", "&~": "ah", "*": "d", "@-": "ax", "A": "aa", "E": "eh",
           "EI": "ey", "O": "ao", "OI": "oy", "R": "hh", "U": "uh", "aI": "ay", "aU": "aw",
           "e": "ey", "eI": "ey", "eU": "eh w", "iU": "iy w", "l^": "l", "n^": "n", "o": "ow",
           "oI": "oy", "r": "d", "r-": "d", "s#": "s", "u~": "uw", "y": "ih"},
    "fr": {"@": "ax", "@-": "ax", "A~": "ao", "E": "eh", "E~": "eh", "O": "ao", "O~": "ow",
           "W": "ao", "W~": "ao", "Y": "uh", "a-": "aa", "e": "ey", "n^": "n", "o": "ow", "r": "g",
           "t2": "t", "y": "uw", "z2": "z"},
}
"""eSpeak NG mnemonics of each other corpus language -> phones (space-separated), over _COMMON."""
ESPEAK_LANGUAGES = {lang: {**_COMMON, **table} for lang, table in _LANG.items()}

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


def from_espeak(mnemonic: str, language: str = "en") -> tuple[str, ...]:
    """Phones for an eSpeak NG phoneme mnemonic of ``language`` (``"oU"`` -> ``("ow",)``,
    Mandarin ``"iA"`` -> ``("y", "aa")``); ``()`` for a syllable boundary, ``("pau",)`` for pauses.

    English takes the longest known prefix of the mnemonic; the other languages of
    :data:`ESPEAK_LANGUAGES` the mnemonic itself.

    Raises:
        MedtalkError: a mnemonic (or language) that has no mapping, naming both.
    """
    m = mnemonic.strip().lstrip("',%=")
    table = _ESPEAK if language == "en" else ESPEAK_LANGUAGES.get(language)
    if table is None:
        raise MedtalkError(f"no eSpeak NG phoneme table for language {language!r}")
    if m == "_|":
        return ()
    if language != "en" and m in table:
        return tuple(table[m].split())
    if m.startswith("_") or not m:
        return ("pau",)
    for k in range(len(m), 0, -1) if language == "en" else ():
        if m[:k] in table:
            return (table[m[:k]],)
    raise MedtalkError(f"eSpeak NG phoneme {mnemonic!r} of language {language!r} has no phone "
                       "in the corpus phone set (train/corpus/phonemes.py)")


def from_ipa(symbol: str) -> str | None:
    """ARPAbet phone for one IPA symbol of Piper, ``None`` if it is not a speech sound."""
    return _IPA.get(symbol)


def from_flite(name: str) -> str:
    """ARPAbet phone for a Flite segment name (already ARPAbet; ``pau`` for its pauses)."""
    return name if name in PHONES else "pau"
