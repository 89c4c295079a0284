"""Corpus sentences per language: English (:mod:`train.corpus.text`) and everyday streaming
talk in Mandarin Chinese, Japanese, Korean, Spanish, Portuguese and French, one module each,
written for this project in each language's own script.
"""

from __future__ import annotations

from .. import text
from . import es, fr, ja, ko, pt, zh

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": text.SENTENCES, "zh": zh.SENTENCES, "ja": ja.SENTENCES, "ko": ko.SENTENCES,
    "es": es.SENTENCES, "pt": pt.SENTENCES, "fr": fr.SENTENCES,
}
"""Language code (ISO 639-1) -> its sentences."""
LANGUAGES = tuple(SENTENCES)


def pick(language: str, n: int) -> tuple[str, ...]:
    """The first ``n`` sentences of ``language``.

    Raises:
        ValueError: an unknown language, or ``n`` not in ``1 .. len(SENTENCES[language])``.
    """
    if language not in SENTENCES:
        raise ValueError(f"unknown language {language!r}; choose from: {', '.join(LANGUAGES)}")
    if language == "en":
        return text.pick(n)
    if not 1 <= n <= len(SENTENCES[language]):
        raise ValueError(f"sentences must be between 1 and {len(SENTENCES[language])} "
                         f"for {language}, got {n}")
    return SENTENCES[language][:n]
