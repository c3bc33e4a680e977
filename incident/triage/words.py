"""A call's words: tokens, the language, and the keys each word is matched by.

Every word is matched by its lemma in the call's language (simplemma: "seizures", "seizing" and
"seized" meet "seize"; "convulsiones" meets "convulsionar"), with accents and case folded away so
"cardíaco" and "cardiaco" meet. A word written as no English or Spanish word at all ("unconcious",
"siezure") is corrected against the vocabulary by a spelling library (SymSpell), unless it is a
name: a street or place the gazetteer knows, a word before a street suffix ("Trappe Rd"), a
capitalised word in a text written in mixed case, or a word just after "on", "at" or a directional.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

import simplemma
from symspellpy import SymSpell, Verbosity

from geo.normalize import DIRECTIONALS, SUFFIXES

# Words, and the punctuation that ends a clause (".", "!", …) or a phrase (",", ":") or joins two
# street names ("&", "/").
TOKEN = re.compile(r"[#@][^\W_]+|[^\W_]+(?:['’][^\W\d_]+)?|[.;!?\n]|[,:]|[&/]")
SENTENCE_ENDS = frozenset(".;!?\n")
CLAUSE_ENDS = frozenset(",:")
JOINERS = frozenset("&/")

# Skipped when matching, in terms and calls alike: "pain in my chest" meets "pain in chest".
DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "its",
        "this",
        "these",
        "those",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "mi",
        "mis",
        "tu",
        "tus",
        "su",
        "sus",
        "nuestro",
        "nuestra",
        "nuestros",
        "nuestras",
    ]
)
# "her" is a possessive before a noun ("hit her head": skipped) and an object before one of these or
# at the end ("hitting her", "get her out": kept), which matters where "his" and "him" differ.
_PARTICLES = frozenset(
    [
        "up",
        "down",
        "out",
        "in",
        "on",
        "off",
        "over",
        "with",
        "again",
        "now",
        "and",
        "but",
        "or",
        "to",
        "for",
        "at",
        "from",
        "so",
    ]
)
# Where a name follows: "on Hertel", "at S Trappe", "en la calle Niagara".
_LOCATORS = frozenset(
    ["on", "at", "near", "off", "of", "onto", "from", "to", "en", "calle", "avenida", "esquina"]
)
# Street suffixes a word is rarely anything else than: the word before one is a street's name.
_STRONG_SUFFIXES = frozenset(
    [
        "st",
        "street",
        "ave",
        "av",
        "avenue",
        "rd",
        "road",
        "blvd",
        "boulevard",
        "pkwy",
        "parkway",
        "hwy",
        "highway",
        "expy",
        "expressway",
        "ln",
        "ct",
        "cir",
        "ter",
        "pl",
        "tpke",
    ]
)
_CONTRACTIONS = re.compile(r"['’](s|d|ll|re|ve|m|ed)$")
# Spanish clitic pronouns: the lemmatiser reads "se" and "le" as "el", which would make "se cayó un
# árbol" (a tree fell) the same words as "le cayó un árbol" (a tree fell on someone).
_PATIENT = re.compile(r"\d{1,3}(?:yo[afm]?|y/?o[fm]|yrs?|[mf])|yo[afm]")
# Medical Priority Dispatch determinant codes: protocol 1–37, level Ω/A–E (O for omega), number, suffix.
_DETERMINANT = re.compile(r"(?:[1-9]|[12][0-9]|3[0-7])[oabcde](?:0?[1-9]|[1-2][0-9])[a-z]?")
_CLITICS = frozenset(["se", "le", "les", "lo", "me", "te", "nos", "os"])
# Words before a street suffix that are no name ("no way", "lying in street", "across road").
_NOT_NAMES = frozenset(["and", "y", "no", "not", "cant", "can", "in", "into", "across", "onto", "middle"])
# Numbers written as words are numbers too ("one" and "uno" are not: "no one", "uno de ellos").
_NUMBER_WORDS = frozenset(
    [
        *("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
        *("thirteen", "fourteen", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "hundred"),
        *("dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce"),
        *("trece", "catorce", "quince", "veinte", "treinta", "cuarenta", "cincuenta", "sesenta", "cien"),
    ]
)
_MIN_CORRECTED = 5  # shorter words are too often something else to be corrected
# Dispatch catalogues write acronyms with dots ("E.P.O.C.", "O.V.A.C.E.") and split compounds with a
# hyphen or a space ("CARDIO-RESPIRATORIO", "POLI TRAUMATIZADO"); read as the one word they stand for.
_DOTTED = re.compile(r"\b(?:[^\W\d_]\.){2,}(?![^\W\d_])")
_PREFIXES = ("poli", "bronco", "pre", "cardio", "cerebro", "neumo", "hemo", "auto", "semi", "electro")
_SPACED = tuple(f"{prefix} " for prefix in _PREFIXES)  # what a split must contain ("pre" alone is everywhere)
_SPLIT = re.compile(
    r"\b([^\W\d_]{3,})-([^\W\d_]{3,})\b"
    rf"|\b({'|'.join(_PREFIXES)}) ([^\W\d_]{{4,}})\b",
    re.IGNORECASE,
)
_VOWELS = frozenset("aeiouáéíóú")


def fold(text: str) -> str:
    """Lower case, no accents, no apostrophes: what keys are made of."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in text if not unicodedata.combining(char)).replace("'", "").replace("’", "")


WORD, SENTENCE_END, CLAUSE_END, JOINER = range(4)
NUMBER = "0"  # the lemma of every number written in digits


class Word(NamedTuple):
    """What one written token is, computed once per distinct token."""

    kind: int  # WORD, or the punctuation it is
    surface: str  # folded as written ("burns")
    lemma: tuple[str, str]  # folded lemma in English and in Spanish ("burn", "burns")
    key: tuple[str, str]  # what it is matched by in an English and in a Spanish call
    known: tuple[bool, bool]  # a word of English, of Spanish
    language: int  # +1 a word of Spanish alone, -1 of English alone, 0 of both or neither
    upper: bool  # written in capitals, two letters or more ("CO", "SOB")
    capital: bool  # begins with a capital letter
    alpha: bool
    determiner: bool
    correctable: bool  # no word of either language: perhaps a misspelling
    suffix: int  # 2: a street suffix rarely anything else ("St", "Ave"); 1: one often something else ("Way")
    directional: bool  # "N", "South", …


@functools.lru_cache(maxsize=200_000)
def word(token: str) -> Word:
    """The analysis of one token as written (cached: calls repeat the same few thousand words)."""
    if token in SENTENCE_ENDS or token in CLAUSE_ENDS or token in JOINERS:
        kind = SENTENCE_END if token in SENTENCE_ENDS else CLAUSE_END if token in CLAUSE_ENDS else JOINER
        return Word(
            kind,
            token,
            (token, token),
            (token, token),
            (False, False),
            0,
            False,
            False,
            False,
            False,
            False,
            0,
            False,
        )
    if token[0] in "#@":  # a hashtag or a handle labels a post; it is not what happened
        return Word(
            WORD, "", ("", ""), ("", ""), (True, True), 0, False, False, False, False, False, 0, False
        )
    bare = _CONTRACTIONS.sub("", token)  # "he's" is "he", "OD'd" is "OD"; "can't" is "cant"
    lower = bare.lower().replace("’", "").replace("'", "")  # "isn't" and "isnt" meet (not "be")
    if lower in _CLITICS:
        lemma = (lower, lower)
    elif _PATIENT.fullmatch(lower):  # "82yof", "69m": a patient in dispatch shorthand
        lemma = ("patient", "paciente")
    elif _DETERMINANT.fullmatch(lower):  # "26A01", "13A1": an emergency medical dispatch determinant
        lemma = ("medic", "medic")
    elif lower.isdigit() or lower in _NUMBER_WORDS:  # a number: "0 dead" meets "60 dead" and "nine dead"
        lemma = (NUMBER, NUMBER)
    else:
        lemma = (fold(simplemma.lemmatize(lower, lang="en")), fold(simplemma.lemmatize(lower, lang="es")))
    known = (simplemma.is_known(lower, lang="en"), simplemma.is_known(lower, lang="es"))
    # A word of the other language alone is read in that language: a mixed call ("mi abuela can't breathe").
    key = (
        lemma[1] if known[1] and not known[0] else lemma[0],
        lemma[0] if known[0] and not known[1] else lemma[1],
    )
    surface = fold(lower)
    return Word(
        kind=WORD,
        surface=surface,
        lemma=lemma,
        key=key,
        known=known,
        language=(known[1] and not known[0]) - (known[0] and not known[1]),
        upper=len(bare) >= 2 and bare.isupper(),
        capital=bare[:1].isupper(),
        alpha=bare.isalpha(),
        determiner=surface in DETERMINERS,
        correctable=not known[0] and not known[1] and bare.isalpha() and len(surface) >= _MIN_CORRECTED,
        suffix=(2 if surface in _STRONG_SUFFIXES else 1) if surface.upper() in SUFFIXES else 0,
        directional=surface.upper() in DIRECTIONALS,
    )


def skipped(surface: str, following: str | None) -> bool:
    """Whether a word is left out of matching: a determiner, or "her" used as one."""
    if surface not in DETERMINERS:
        return False
    return surface != "her" or (following is not None and following not in _PARTICLES)


def term_keys(phrase: str, lang: int, *, exact: bool) -> tuple[str, ...]:
    """The keys a vocabulary phrase is indexed by: lemmas in its language, or the words as written."""
    tokens = [analysed for token in TOKEN.findall(phrase) if (analysed := word(token)).kind == WORD]
    keys = []
    for index, analysed in enumerate(tokens):
        following = tokens[index + 1].surface if index + 1 < len(tokens) else None
        if skipped(analysed.surface, following):
            continue
        keys.append(analysed.surface if exact else analysed.lemma[lang])
    return tuple(keys)


class Speller:
    """Corrects a misspelt word to the nearest word of the vocabulary (SymSpell, edit distance ≤ 2)."""

    def __init__(self, words: Iterable[tuple[str, int]]) -> None:
        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        self.lang: dict[str, int] = {}
        for text, lang in words:
            if len(text) >= _MIN_CORRECTED and text.isalpha() and text not in self.lang:
                self.lang[text] = lang
                self.symspell.create_dictionary_entry(text, 1)
        self.cache: dict[str, str | None] = {}

    def correct(self, surface: str) -> str | None:
        """The lemma of the one vocabulary word nearest to `surface`, or None."""
        if surface in self.cache:
            return self.cache[surface]
        distance = 1 if len(surface) < 7 else 2
        found = self.symspell.lookup(surface, Verbosity.CLOSEST, max_edit_distance=distance)
        lemmas = {word(item.term).lemma[self.lang[item.term]] for item in found}
        answer = lemmas.pop() if len(lemmas) == 1 else None  # two words as near: too unsure to pick one
        self.cache[surface] = answer
        return answer


class Text(NamedTuple):
    """A call's words ready to match: one key per kept word, and where each word stands."""

    keys: list[str]  # lemma keys (corrected where misspelt; "" for a name, which matches nothing)
    surfaces: list[str]  # keys as written
    upper: list[bool]
    unknown: list[bool]  # no word of either language (a misspelling, shorthand or a name)
    written: list[str]  # the words as the caller wrote them, for reasons
    clause: list[int]  # clause number (",", ":" and sentence ends start a new one)
    sentence: list[int]
    lang: str  # "en" or "es"


Places = dict[str, list[tuple[str, ...]]]  # a place name's first word → the names it begins, longest first


def analyse(text: str, speller: Speller | None, streets: frozenset[str], places: Places) -> Text:
    """Split a call into the words matching uses; names of streets and places are blanked out."""
    if "." in text:
        # The last dot may end the sentence too ("since 8 a.m. Smoke …"): it stays.
        text = _DOTTED.sub(lambda found: found.group().replace(".", "") + ".", text)
    lowered = text.lower()
    if "-" in text or any(prefix in lowered for prefix in _SPACED):
        text = _SPLIT.sub(functools.partial(_compound, speller), text)
    tokens = TOKEN.findall(text)
    analysed = [word(token) for token in tokens]
    # The call's language: whichever more of its words belong to alone (English when even).
    lang = 1 if sum(item.language for item in analysed) > 0 else 0
    words = [item for item in analysed if item.kind == WORD]
    mixed_case = any(item.alpha and not item.upper for item in words) and any(item.capital for item in words)
    names = _names(tokens, analysed, mixed_case, streets, places) if words else set()
    keys: list[str] = []
    surfaces: list[str] = []
    upper: list[bool] = []
    unknown: list[bool] = []
    written: list[str] = []
    clauses: list[int] = []
    sentences: list[int] = []
    clause = sentence = 0
    last = len(tokens) - 1
    for index, item in enumerate(analysed):
        kind = item.kind
        if kind:
            if kind == SENTENCE_END:
                clause, sentence = clause + 1, sentence + 1
            elif kind == CLAUSE_END:
                # "EMS: CARDIAC ARREST", "Fire: FIRE POLICE NEEDED": a word before a colon is a label (the
                # kind of unit or call), not what happened.
                if item.surface == ":" and keys and analysed[index - 1].kind == WORD:
                    keys[-1] = surfaces[-1] = ""
                clause += 1
            continue
        if item.determiner and skipped(
            item.surface,
            analysed[index + 1].surface if index < last and analysed[index + 1].kind == WORD else None,
        ):
            continue
        odd = False
        if index in names:
            key = surface = ""
        else:
            key, surface = item.key[lang], item.surface
            odd = (
                not item.known[0]
                and not item.known[1]
                and item.alpha
                and not (mixed_case and item.capital)
                and not (written and written[-1].lower() in _LOCATORS)
            )
            if odd and item.correctable and speller is not None:
                key = speller.correct(surface) or key
        keys.append(key)
        surfaces.append(surface)
        upper.append(item.upper)
        unknown.append(odd)
        written.append(tokens[index])
        clauses.append(clause)
        sentences.append(sentence)
    return Text(keys, surfaces, upper, unknown, written, clauses, sentences, "es" if lang else "en")


def _compound(speller: Speller | None, found: re.Match[str]) -> str:
    """Two written parts as one word when that is a word ("cardio-respiratorio": "cardiorrespiratorio")."""
    first, second = (found.group(1), found.group(2)) if found.group(1) else (found.group(3), found.group(4))
    joined = [first + second]
    # Spanish doubles an r after a prefix ending in a vowel: cardio + respiratorio.
    if first[-1].lower() in _VOWELS and second[0].lower() == "r" and second[1:2].lower() != "r":
        joined.append(first + second[0] + second)
    for candidate in joined:
        lower = candidate.lower()
        known = simplemma.is_known(lower, lang="es") or simplemma.is_known(lower, lang="en")
        if known or (speller is not None and fold(lower) in speller.lang):
            return candidate
    return found.group()


def _names(
    tokens: list[str], analysed: list[Word], mixed_case: bool, streets: frozenset[str], places: Places
) -> set[int]:
    """The token positions that are part of a street's or a place's name, not what happened there.

    A word before a street suffix ("Trappe Rd", "Burns Ave"), a street the gazetteer knows written
    after "on", "at" or a directional, and any place the gazetteer knows by name ("Erie County
    Medical Center").
    """
    names: set[int] = set()
    for index, item in enumerate(analysed):
        if index == 0:
            continue
        before = analysed[index - 1]
        if item.suffix:
            name = before.surface
            if (
                (before.alpha or name.isdigit())
                and not before.determiner
                and name not in _LOCATORS
                and name not in _NOT_NAMES
                and (item.suffix == 2 or name in streets or (mixed_case and before.capital))
            ):
                start = index - 1
                if start > 0 and (analysed[start - 1].directional or analysed[start - 1].surface in streets):
                    start -= 1  # "S Trappe Rd", and two-word names: "South Park Ave"
                names.update(range(start, index + 1))
        elif (
            item.surface in streets
            and (before.surface in _LOCATORS or before.directional or before.kind == JOINER)
            and (not (item.known[0] or item.known[1]) or (mixed_case and item.capital))
        ):
            names.add(index)
            if before.directional:
                names.add(index - 1)
    if places:
        surfaces = [item.surface for item in analysed]
        for index, surface in enumerate(surfaces):
            for place in places.get(surface, ()):
                if tuple(surfaces[index : index + len(place)]) == place:
                    names.update(range(index, index + len(place)))
                    break
    return names
