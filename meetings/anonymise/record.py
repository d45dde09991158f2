"""The case record's own identifiers, and every way they are commonly written.

A name is matched word by word (so any order, "Ellison, Margaret A" as well as "Margaret Ann Ellison"),
then a run of its words, initials and a title in front is joined into one finding.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache

from meetings.anonymise.patterns import Candidate, parse_dates
from meetings.anonymise.vocabulary import COMMON_WORDS, GENERIC_SITE_WORDS, TITLES


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
            elif isinstance(value, str):
                values[key] = value
            else:
                raise ValueError(f'"{key}" must be a string')
        return cls(**values)


_TITLE_WORDS = frozenset(t.lower() for t in TITLES)
_BEFORE_NAME = re.compile(rf"(?:\b(?:{'|'.join(TITLES)}|{'|'.join(t.upper() for t in TITLES)})\.?\s+)?"
                          r"(?:(?<![A-Za-z])[A-Z]\.\s*|(?<![A-Za-z])[A-Z]\s+){0,3}$")
_JOINER = re.compile(r"^[\s,.]{0,3}$")


@dataclass(frozen=True)
class _Name:
    kind: str
    words: re.Pattern | None
    initials: frozenset[str]


@dataclass(frozen=True)
class RecordPatterns:
    names: tuple[_Name, ...]
    exact: tuple[tuple[str, re.Pattern], ...]
    site_words: re.Pattern | None
    dates: frozenset[date]


def _name_words(name: str) -> list[str]:
    words = re.findall(r"[^\W\d_](?:[\w'’-]*\w)?", name)
    return [w for w in words if w.lower() not in _TITLE_WORDS and len(w) > 1]


def _word_pattern(words: list[str]) -> re.Pattern | None:
    """One pattern for all the words of a name: any case, unless the word is also an ordinary word."""
    parts = set()
    for word in words:
        pieces = [word] + (word.split("-") if "-" in word else [])
        for piece in pieces:
            if len(piece) < 2:
                continue
            lowered = piece.lower()
            escaped = "".join("['’]" if c in "'’" else re.escape(c) for c in piece)
            if lowered in COMMON_WORDS or len(piece) <= 3:
                parts.add(re.escape(piece[0].upper() + piece[1:].lower()))
                parts.add(re.escape(piece.upper()))
            else:
                parts.add(f"(?i:{escaped})")
    if not parts:
        return None
    alternation = "|".join(sorted(parts, key=len, reverse=True))
    # A name's letters may be followed by a possessive but not by more word, nor by "-Sachs".
    return re.compile(rf"(?<![\w'’-])(?:{alternation})(?![\w]|-\w|['’](?!s\b))")


def _exact_pattern(value: str) -> re.Pattern | None:
    """A number or code, with any spaces, dashes or slashes a person might type between its characters."""
    chars = [c for c in value if c.isalnum()]
    if len(chars) < 3:
        return None
    body = r"[\s/.-]?".join(re.escape(c) for c in chars)
    return re.compile(rf"(?<![A-Za-z0-9])(?i:{body})(?![A-Za-z0-9])")


def _date_forms(day: date) -> Iterator[str]:
    """Compact spellings the general date patterns do not read: 03041956, 030456, 19560403."""
    yield day.strftime("%d%m%Y")
    yield day.strftime("%d%m%y")
    yield day.strftime("%Y%m%d")


def _site_pattern(site_name: str, site_code: str) -> re.Pattern | None:
    words = _name_words(site_name)
    distinctive = [w for w in words if w.lower().rstrip("'’s") not in GENERIC_SITE_WORDS and len(w) > 2]
    # "Elsewhere's" is written "Elsewhere" as often as not.
    distinctive += [re.sub(r"['’]s$", "", w) for w in distinctive if re.search(r"['’]s$", w)]
    acronym = "".join(w[0] for w in words if w[0].isupper() and w.lower() not in ("of", "and", "the"))
    parts = {re.escape(w) for w in distinctive} | {re.escape(w.upper()) for w in distinctive}
    for code in (acronym, site_code.strip()):
        if len(code) >= 2:
            parts.add(re.escape(code.upper()))
    if not parts:
        return None
    alternation = "|".join(sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<![\w'’-])(?:{alternation})(?![\w]|-\w)")


@lru_cache(maxsize=256)
def patterns_for(known: Known) -> RecordPatterns:
    names = []
    for kind, value in (("patient", known.patient_name), ("name", known.reporter_name),
                        ("name", known.referrer_name)):
        words = _name_words(value)
        if words:
            names.append(_Name(kind, _word_pattern(words), frozenset(w[0].upper() for w in words)))
    exact = []
    for kind, value in (("nhs_number", known.nhs_number), ("hospital_number", known.hospital_number),
                        ("accession_number", known.accession_number), ("site", known.site_name)):
        pattern = _exact_pattern(value) if kind != "site" else None
        if kind == "site" and value.strip():
            pattern = re.compile(r"(?i:" + r"\s+".join(re.escape(w) for w in value.split()) + r")")
        if pattern:
            exact.append((kind, pattern))
    own_dates = frozenset(d for d in (known.date_of_birth, known.examination_date) if d)
    for day in own_dates:
        for form in _date_forms(day):
            exact.append(("date", re.compile(rf"(?<!\d){form}(?!\d)")))
    return RecordPatterns(tuple(names), tuple(exact), _site_pattern(known.site_name, known.site_code), own_dates)


def find(text: str, known: Known) -> Iterator[Candidate]:
    record = patterns_for(known)
    for kind, pattern in record.exact:
        for m in pattern.finditer(text):
            yield Candidate(kind, m.start(), m.end(), own=True)
    for start, end, parsed in parse_dates(text):
        if parsed in record.dates:
            yield Candidate("date", start, end, own=True)
    if record.site_words:
        for m in record.site_words.finditer(text):
            yield Candidate("site", m.start(), m.end(), weak=True, own=True)
    for name in record.names:
        if name.words:
            yield from _name_runs(text, name)


def _name_runs(text: str, name: _Name) -> Iterator[Candidate]:
    """Each stretch of the name's words, with the initials and title around them, as one candidate."""
    spans = [(m.start(), m.end()) for m in name.words.finditer(text)]
    runs: list[list[int]] = []
    for start, end in spans:
        if runs and _JOINER.match(text[runs[-1][1]:start]):
            runs[-1][1] = end
            runs[-1][2] += 1
        else:
            runs.append([start, end, 1])
    for start, end, count in runs:
        before = _BEFORE_NAME.search(text, max(0, start - 30), start)
        widened = bool(before and before.group() and _initials_fit(before.group(), name.initials))
        if widened:
            start = before.start()
        end += _trailing_initials(text[end:end + 12], name.initials, surname_first="," in text[start:end])
        yield Candidate(name.kind, start, end, weak=count == 1 and not widened, own=True)


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
