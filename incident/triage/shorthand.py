"""Dispatch shorthand: "DIFF BRE", "UNCN PSN", "CHST PNS" read as the vocabulary terms they shorten.

A computer-aided-dispatch screen cuts words to fit ("CARD ARR" for cardiac arrest, "HRT PROB" for
heart problem), and so do tired hands. A written word that is no word of English or Spanish is read
as a shortening of a vocabulary word when it keeps that word's first letter and the rest of its
letters in order ("psn" in "person", "bre" in "breathing"). A run of written words stands for a
term when each word is that term's word at its place or a shortening of it, at least one is a
shortening, and no term of another concept fits the same words: an ambiguous shortening is left
alone, and the screen questions do the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

_LONGEST = 3  # words in a term read from shorthand
_SHORTEST = 2  # letters in a shortened word
_ALONE = 4  # letters in a word read alone as a term: it must then begin the term's word, well cut ("uncon")


class Found(NamedTuple):
    start: int
    end: int
    concept: int


def _shortens(written: str, word: str) -> bool:
    """Whether `written` is `word` cut short: its first letter, then the rest of its letters in order."""
    if written == word:
        return True
    if len(written) < _SHORTEST or len(written) >= len(word) or written[0] != word[0]:
        return False
    letters = iter(word[1:])
    return all(letter in letters for letter in written[1:])


class Shorthand:
    """The vocabulary's terms indexed by their words' initials, to read shortened words by."""

    def __init__(self, terms: Iterable[tuple[tuple[str, ...], int]]) -> None:
        self.by_initials: dict[str, list[tuple[tuple[str, ...], int]]] = defaultdict(list)
        # A word read alone must begin its term's word: indexed by its first letters, not every term
        # of one initial (hundreds) tried for each unknown word.
        self.by_start: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for words, concept in terms:
            if 1 <= len(words) <= _LONGEST and all(word.isalpha() for word in words):
                self.by_initials["".join(word[0] for word in words)].append((words, concept))
                if len(words) == 1 and len(words[0]) > _ALONE:
                    self.by_start[words[0][:_ALONE]].append((words[0], concept))

    def find(self, surfaces: list[str], unknown: list[bool]) -> list[Found]:
        """The terms that runs of words containing a non-word stand for, longest first where they overlap."""
        count = len(surfaces)
        found: list[Found] = []
        covered = 0  # a shortening read as part of a longer term is not read again alone
        for start in range(count):
            if start < covered:
                continue
            for end in range(min(count, start + _LONGEST), start, -1):
                if not any(unknown[start:end]):
                    continue
                written = surfaces[start:end]
                if not all(written):
                    continue
                if end - start == 1:
                    cut = written[0]
                    if len(cut) < _ALONE:
                        continue
                    concepts = {
                        concept
                        for whole, concept in self.by_start.get(cut[:_ALONE], ())
                        if whole.startswith(cut) and len(cut) <= 0.75 * len(whole)
                    }
                else:
                    concepts = {
                        concept
                        for words, concept in self.by_initials.get("".join(word[0] for word in written), ())
                        if all(map(_shortens, written, words))  # the initials give the number of words
                    }
                if len(concepts) == 1:
                    found.append(Found(start, end, concepts.pop()))
                    covered = end
                    break
        return found
