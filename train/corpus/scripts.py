"""What eSpeak NG is given to read for text in a script it cannot read itself.

eSpeak NG 1.51 as packaged by Debian reads Hangul and Latin-script languages directly, but not
Chinese characters (its ``cmn`` dictionary gives tone digits that are then spoken in English) nor
Japanese kanji (``ja`` reads kana only). So:
    * Mandarin: the text is cut into words with jieba, each word written in numbered pinyin by
      pypinyin (``ni3hao3``) and read by the ``cmn-latn-pinyin`` voice;
    * Japanese: pykakasi cuts the text into words and gives each in hiragana.
Punctuation is kept (as ``, . ! ?``) on the word before it, so eSpeak NG pauses where the text
does. Every space-separated token of the spoken text is one word of the original text.
"""

from __future__ import annotations

import logging
from functools import lru_cache

_PUNCT = {"，": ",", "、": ",", "。": ".", "！": "!", "？": "?", "…": ".", "；": ",", "：": ",",
          ",": ",", ".": ".", "!": "!", "?": "?"}
JOINER = {"zh": "", "ja": ""}
"""How the words of a language join into text (no spaces in Chinese and Japanese)."""


@lru_cache(maxsize=1)
def _kakasi():
    import pykakasi

    return pykakasi.kakasi()


def _zh_words(text: str) -> list[tuple[str, str]]:
    import jieba
    from pypinyin import Style, lazy_pinyin

    jieba.setLogLevel(logging.WARNING)
    return [(w, "".join(lazy_pinyin(w, style=Style.TONE3, neutral_tone_with_five=True)))
            for w in jieba.lcut(text)]


def _ja_words(text: str) -> list[tuple[str, str]]:
    return [(s["orig"], s["hira"]) for s in _kakasi().convert(text)]


def spoken(text: str, language: str) -> tuple[str, list[str] | None]:
    """The text for eSpeak NG and the original words, one per space-separated token of it.

    Returns ``(text, None)`` for the languages eSpeak NG reads as written.

    Raises:
        ImportError: jieba, pypinyin or pykakasi is not installed (``pip install -e .[synth]``).
    """
    split = {"zh": _zh_words, "ja": _ja_words}.get(language)
    if split is None:
        return text, None
    tokens, words = [], []
    for word, reading in split(text):
        word = word.strip()
        if not word:
            continue
        if all(c in _PUNCT for c in word):
            if tokens:
                tokens[-1] += _PUNCT[word[0]]
            continue
        tokens.append(reading.strip())
        words.append(word)
    return " ".join(tokens), words
