"""The words a staff search finds an incident by: what its callers said and where, folded.

Whole words, lower-cased with accents dropped ("Café" is "cafe"), without the commonest small words;
a ticket or a callback number is looked up by its own index, not here.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 80  # per call: a long narrative is still found by its first eighty distinct words
_WORD = re.compile(r"[^\W_]+")
_COMMON = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "de",
        "el",
        "en",
        "es",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "la",
        "los",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "there",
        "they",
        "this",
        "to",
        "un",
        "una",
        "was",
        "we",
        "with",
        "y",
        "you",
    ]
)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_words(*texts: str | None) -> list[str]:
    """The distinct words of `texts` to index (or to look for), in order of appearance."""
    found: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(fold(text or "")):
            if word not in _COMMON and (len(word) > 1 or word.isdigit()):
                found[word] = None
                if len(found) == MAX_WORDS:
                    return list(found)
    return list(found)
