"""The case record's own identifiers, and every way they are commonly written.

A name is matched word by word (so any order, "Ellison, Margaret A" as well as "Margaret Ann Ellison"),
then a run of its words, initials and a title in front is joined into one finding.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache

from meetings.anonymise.patterns import Candidate, parse_dates
from meetings.anonymise.vocabulary import (
    CLINICAL_ABBREVIATIONS, COMMON_WORDS, GENERIC_SITE_WORDS, NOT_A_NAME, PERSON_VERBS, TITLES,
)


@dataclass(frozen=True)
class Known:
    """What the case record itself says about who and where; any field may be empty."""

    patient_name: str = ""
    nhs_number: str = ""
    hospital_number: str = ""
    date_of_birth: date | None = None
    accession_number: str = ""
    reporter_name: str = ""
    referrer_name: str = ""
    site_name: str = ""
    site_code: str = ""
    examination_date: date | None = None
    # Anyone else the case names who must not be recognised: the submitter, say.
    other_names: tuple[str, ...] = ()
    # For a regional case, every site of the network as (name, code): no site may be recognisable there.
    network_sites: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: dict) -> Known:
        """Build from a JSON object (dates as YYYY-MM-DD); raise ValueError on anything else."""
        if not isinstance(data, dict):
            raise ValueError('"known" must be an object')
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f'unknown key in "known": {unknown[0]}')
        values = {}
        for key, value in data.items():
            if value is None:
                continue
            if key in ("date_of_birth", "examination_date"):
                try:
                    values[key] = date.fromisoformat(value)
                except (TypeError, ValueError):
                    raise ValueError(f'"{key}" must be a date written YYYY-MM-DD') from None
            elif key == "other_names" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                values[key] = tuple(value)
            elif key == "network_sites" and isinstance(value, list) and all(
                    isinstance(v, list) and len(v) == 2 and all(isinstance(p, str) for p in v) for v in value):
                values[key] = tuple(tuple(v) for v in value)
            elif isinstance(value, str) and key not in ("other_names", "network_sites"):
                values[key] = value
            else:
                raise ValueError(f'"{key}" must be a string')
        return cls(**values)


_TITLE_WORDS = frozenset(t.lower() for t in TITLES)
_PARTICLE = r"(?i:ap|ab|[oó]|n[ií]|nic|de|da|di|du|van|von|der|den|le|la|bin|bint)"
_BEFORE_NAME = re.compile(rf"(?:\b(?:{'|'.join(TITLES)}|{'|'.join(t.upper() for t in TITLES)})\.?\s+)?"
                          rf"(?:(?<![A-Za-z])[A-Z]\.\s*|(?<![A-Za-z])[A-Z]\s+){{0,3}}(?:\b{_PARTICLE}\s+){{0,2}}$")
# Between two words of one name: a comma, a full stop, or a particle ("Pádraig Ó Súilleabháin").
_JOINER = re.compile(rf"[ \t,.]{{0,3}}(?:{_PARTICLE}[ \t]+){{0,2}}")
_AGE_AFTER = re.compile(r",?\s*\(?\d{1,3}\s?(?:yo|y/o|yrs?|years?|[MF]\b|-year)")
_MIDDLE_NAME = re.compile(r"[ \t]+(?:[A-Z][a-z'’-]+|[A-Z]{2,})[ \t]+")
# Runs of letters and digits that a single space, slash, dot or dash may split: "999 000 1234", "RX-12 34".
_CODE_SEPARATORS = re.compile(r"[ /.-]")
# "on 23/03": the record's own examination day, written without its year.
_DAY_MONTH = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})(?![\w/]|\.\d)")


@dataclass(frozen=True)
class _Name:
    kind: str
    # Each word of the name, folded, mapped to whether it must be capitalised to count (an ordinary word).
    words: dict[str, bool]
    initials: frozenset[str]


@dataclass(frozen=True)
class RecordPatterns:
    """A record's identifiers made ready for matching. Nothing here is compiled per record: with one
    record per text, as in a batch, compiling would cost more than the matching."""

    names: tuple[_Name, ...]
    codes: tuple[tuple[str, str], ...]  # (kind, letters and digits upper-cased)
    site_names: tuple[str, ...]  # whole names, folded as the text is
    site_words: dict[str, bool]
    dates: frozenset[date]
    patient_initials: frozenset[tuple[str, bool]] = frozenset()


def _name_words(name: str) -> list[str]:
    words = re.findall(r"[^\W\d_](?:[\w'’-]*\w)?", name)
    return [w for w in words if w.lower() not in _TITLE_WORDS and len(w) > 1]


def _accent_table() -> dict[int, str]:
    """Latin letters to their unaccented base, one character for one, so offsets are kept."""
    table = {ord(c): b for c, b in zip("łŁøØđĐħĦı", "lLoOdDhHi")}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFKD", chr(code))
        if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
            table[code] = decomposed[0]
    return table


# A record's "Dvořák" is often typed "DVORAK", and "Róisín" "Roisin".
_ACCENTS = _accent_table()


def _fold(word: str) -> str:
    return word.replace("’", "'").lower().translate(_ACCENTS)


def _word_table(words: list[str]) -> dict[str, bool]:
    """Name words (and the parts of hyphenated ones), each with whether only a capitalised use counts."""
    table = {}
    for word in words:
        for piece in [word] + (word.split("-") if "-" in word else []):
            if len(piece) >= 2:
                table[_fold(piece)] = piece.lower() in COMMON_WORDS or len(piece) <= 3
    return table


def _code(value: str) -> str | None:
    code = "".join(c for c in value if c.isalnum()).upper()
    return code if len(code) >= 3 else None


def _date_forms(day: date) -> Iterator[str]:
    """Compact spellings the general date patterns do not read: 03041956, 030456, 19560403."""
    yield day.strftime("%d%m%Y")
    yield day.strftime("%d%m%y")
    yield day.strftime("%Y%m%d")


def _site_words(site_name: str, site_code: str) -> dict[str, bool]:
    words = _name_words(site_name)
    distinctive = [w for w in words if w.lower().rstrip("'’s") not in GENERIC_SITE_WORDS and len(w) > 2]
    # "Elsewhere's" is written "Elsewhere" as often as not.
    distinctive += [re.sub(r"['’]s$", "", w) for w in distinctive if re.search(r"['’]s$", w)]
    acronym = "".join(w[0] for w in words if w[0].isupper() and w.lower() not in ("of", "and", "the"))
    table = {_fold(w): True for w in distinctive}
    for code in (acronym, site_code.strip()):
        if len(code) >= 2:
            table[_fold(code)] = True
    return table


@lru_cache(maxsize=256)
def patterns_for(known: Known) -> RecordPatterns:
    names = []
    people = [("patient", known.patient_name), ("name", known.reporter_name), ("name", known.referrer_name)]
    for kind, value in people + [("name", other) for other in known.other_names]:
        words = _name_words(value)
        if words:
            names.append(_Name(kind, _word_table(words), frozenset(w[0].upper() for w in words)))
    codes = [(kind, code) for kind, value in (("nhs_number", known.nhs_number),
                                              ("hospital_number", known.hospital_number),
                                              ("accession_number", known.accession_number))
             if (code := _code(value))]
    own_dates = frozenset(d for d in (known.date_of_birth, known.examination_date) if d)
    codes += [("date", form) for day in own_dates for form in _date_forms(day)]
    sites = [(known.site_name, known.site_code), *known.network_sites]
    site_names = tuple(dict.fromkeys(_fold(" ".join(name.split())) for name, _ in sites if name.strip()))
    site_words = {}
    for name, code in sites:
        site_words |= _site_words(name, code)
    return RecordPatterns(tuple(names), tuple(codes), site_names, site_words, own_dates,
                          _initials_of(known.patient_name))


def _initials_of(name: str) -> frozenset[tuple[str, bool]]:
    """The patient's initials ("XT", written also "X.T."), each with whether it spells something clinical."""
    words = _name_words(name)
    if len(words) < 2:
        return frozenset()
    forms = {"".join(w[0] for w in words).upper(), (words[0][0] + words[-1][0]).upper()}
    return frozenset((f, f.lower() in NOT_A_NAME or f in CLINICAL_ABBREVIATIONS) for f in forms)


def find(text: str, known: Known) -> Iterator[Candidate]:
    record = patterns_for(known)
    if record.codes:
        yield from _codes(text, record.codes)
    if record.dates:
        for start, end, parsed in parse_dates(text):
            if parsed in record.dates:
                yield Candidate("date", start, end, own=True)
        days = {(d.day, d.month) for d in record.dates}
        for m in _DAY_MONTH.finditer(text):
            if (int(m.group(1)), int(m.group(2))) in days:
                yield Candidate("date", m.start(), m.end(), own=True)
    lowered = _fold(text)
    if len(lowered) != len(text):  # a letter whose lower case is longer ("İ"): fold letter by letter instead
        lowered = "".join(_fold(c)[0] for c in text)
    for site_name in record.site_names:
        at = lowered.find(site_name)
        while at != -1:
            yield Candidate("site", at, at + len(site_name), own=True)
            at = lowered.find(site_name, at + 1)
    if record.site_words:
        for start, end, _ in _matches(text, lowered, record.site_words):
            start, end = _site_short_form(text, start, end)
            yield Candidate("site", start, end, weak=True, own=True)
    for name in record.names:
        yield from _name_runs(text, name, _matches(text, lowered, name.words, loose=True))
    for initials, clinical in record.patient_initials:
        for form in (initials, ".".join(initials) + "."):
            at = text.find(form)
            while at != -1:
                end = at + len(form)
                if (at == 0 or not (text[at - 1].isalnum() or text[at - 1] == ".")) and \
                        (end == len(text) or not (text[end].isalnum() or (text[end] == "." and form == initials))):
                    # "RT" is also radiotherapy: as initials only when an age follows ("RT, 74yo").
                    if not clinical or _AGE_AFTER.match(text, end):
                        yield Candidate("patient", at, end, own=True)
                at = text.find(form, end)


_SITE_BEFORE = re.compile(r"(?:\b(?:St\.?|Saint|North|South|East|West|Royal|Queen|Princess|King|Prince|New|Old|Great"
                          r"|Little|Upper|Lower|The)\s+)+$", re.I)
_SITE_AFTER = re.compile(r"(?:\s+(?:General|Royal|District|Community|University|Teaching|Memorial|Children['’]?s"
                         r"|Women['’]?s|Hospitals?|Infirmary|Trust|DGH|GH|UH|CH|DH|RI|TC|GUH|UHB)\b)+", re.I)


def _site_short_form(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen "Inverkell" to "St Inverkell's", "North Inverkell", "Inverkell General", "Inverkell DGH"."""
    before = _SITE_BEFORE.search(text, max(0, start - 40), start)
    after = _SITE_AFTER.match(text, end)
    return (before.start() if before else start), (after.end() if after else end)


def _matches(text: str, lowered: str, table: dict[str, bool], *, loose: bool = False) -> list[tuple[int, int, bool]]:
    """Where the words in `table` stand as whole words ("Hill", not the "Hill" of "Hill-Sachs"), each with
    whether it is written as a name. With `loose`, ordinary words in lower case ("guy") are kept too, for a
    run of the name to vouch for ("guy adeyemi")."""
    found = []
    for key, capitalised_only in table.items():
        at = lowered.find(key)
        while at != -1:
            end = at + len(key)
            if _whole_word(lowered, at, end):
                word = text[at:end]
                as_name = not capitalised_only or (word[0].isupper() and (word[1:].islower() or word.isupper()))
                if as_name or loose:
                    found.append((at, end, as_name))
            at = lowered.find(key, end)
    found.sort()
    return found


def _whole_word(lowered: str, start: int, end: int) -> bool:
    if start > 0 and (lowered[start - 1].isalnum() or lowered[start - 1] in "'-"):
        return False
    after = lowered[end:end + 3]
    if not after or not (after[0].isalnum() or after[0] in "'-"):
        return True
    # A possessive is still the name: "Ellison's". "Hill-Sachs" and "O'Connor" are other words.
    return after[:2] == "'s" and not after[2:3].isalnum()


def _codes(text: str, codes: tuple[tuple[str, str], ...]) -> Iterator[Candidate]:
    """Numbers and codes however they are spaced: searched in the text with its spaces, slashes, dots and
    dashes taken out, and each hit mapped back to where it starts and ends in the text."""
    squeezed = _CODE_SEPARATORS.sub("", text).upper()
    shifts = None
    for kind, code in codes:
        at = squeezed.find(code)
        while at != -1:
            if shifts is None:
                # For each separator taken out, its position less the separators before it: so the text
                # offset of squeezed position k is k plus how many of these are at or before k.
                shifts = [m.start() - n for n, m in enumerate(_CODE_SEPARATORS.finditer(text))]
            start = at + bisect_right(shifts, at)
            end = at + len(code) - 1
            end = end + bisect_right(shifts, end) + 1
            if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
                yield Candidate(kind, start, end, own=True)
            at = squeezed.find(code, at + 1)


def _name_runs(text: str, name: _Name, spans: list[tuple[int, int, bool]]) -> Iterator[Candidate]:
    """Each stretch of the name's words, with the initials and title around them, as one candidate.

    Words of the name may be joined by a middle name the record does not hold ("Mark Louise Kovalenko").
    A run needs one word written as a name; then "tiago lim" counts as well as "Tiago Lim".
    """
    runs: list[list] = []
    for start, end, as_name in spans:
        if runs and (_JOINER.fullmatch(text, runs[-1][1], start) or _MIDDLE_NAME.fullmatch(text, runs[-1][1], start)):
            runs[-1][1] = end
            runs[-1][2] += 1
            runs[-1][3] = runs[-1][3] or as_name
        else:
            runs.append([start, end, 1, as_name])
    for start, end, count, written_as_name in runs:
        if not written_as_name:
            continue
        before = _BEFORE_NAME.search(text, max(0, start - 30), start)
        widened = bool(before and before.group() and _initials_fit(before.group(), name.initials))
        if count == 1 and not widened and _reads_as_a_word(text, start, end, name):
            continue
        if widened:
            start = before.start()
        end += _trailing_initials(text[end:end + 12], name.initials, surname_first="," in text[start:end])
        yield Candidate(name.kind, start, end, weak=count == 1 and not widened, own=True)


_SENTENCE_START = re.compile(r"(?:^|[.:;!?]\s+|\n\s*|^\s*)$")


def _reads_as_a_word(text: str, start: int, end: int, name: _Name) -> bool:
    """Mrs Small, alone and unadorned: is "Small" here the word ("Small volume free fluid", "MRI BRAIN")?

    Only for names that are ordinary words, only when nothing marks them as a person: in capitals in a
    heading, or opening a sentence and followed by a word that is not something a person does.
    """
    word = text[start:end]
    if not name.words.get(_fold(word)):  # not an ordinary word, so the name however it stands
        return False
    if text[max(0, start - 3):start].rstrip().endswith(":"):
        return False  # "SURNAME: HILL" is a field of the record
    following = re.match(r"['’]s\b|\s+([A-Za-z]+)", text[end:end + 30])
    if following and following.group(0)[0] in "'’":
        return False  # "Stone's wife" is a person
    next_word = following.group(1) if following else ""
    if word.isupper() and len(word) > 1:
        # In a heading of capitals ("MRI BRAIN", "XR LEFT HAND AND WRIST") the neighbours are capitals too.
        previous = re.search(r"([A-Za-z]+)\W*$", text[max(0, start - 20):start])
        in_heading = any(w and len(w) > 1 and w.isupper() for w in (next_word, previous and previous.group(1)))
        return in_heading and next_word.lower() not in PERSON_VERBS
    opens = _SENTENCE_START.search(text, max(0, start - 3), start) is not None
    return opens and next_word.islower() and next_word not in PERSON_VERBS


_AFTER_NAME = re.compile(r",?\s?(?:[A-Z](?![A-Za-z])\.?\s?){1,3}(?![\w&])")


def _trailing_initials(following: str, initials: frozenset[str], surname_first: bool) -> int:
    """How much of "ELLISON, M A (..." after the name is the person's initials; 0 for "Ellison A big"."""
    after = _AFTER_NAME.match(following)
    if not after or not _initials_fit(after.group(), initials):
        return 0
    if not (surname_first or "," in after.group()) and re.match(r"\s*[a-z]", following[after.end():]):
        return 0
    return len(after.group().rstrip())


def _initials_fit(prefix: str, initials: frozenset[str]) -> bool:
    """Is "M. A. " (or a title) in front of a surname made of this person's initials?"""
    letters = re.findall(r"\b([A-Z])\b", prefix)
    return all(letter in initials for letter in letters)
