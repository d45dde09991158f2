"""Scrub free text: identifiers out, typed placeholders in, clinical language untouched.

`scrub(text, known)` finds the record's own identifiers (meetings/anonymise/record.py) and anything that
looks like an identifier (meetings/anonymise/patterns.py), joins overlapping finds, and replaces each with a
placeholder such as [PATIENT] or [DATE]. The chair's review can add words to redact and restore false
positives, but never restore the record's own identifiers.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from meetings.anonymise import patterns, record
from meetings.anonymise.record import Known

__all__ = ["Finding", "Known", "PLACEHOLDERS", "Scrubbed", "pieces", "scrub"]

PLACEHOLDERS = {
    "patient": "[PATIENT]",
    "name": "[NAME]",
    "nhs_number": "[NHS NUMBER]",
    "hospital_number": "[HOSPITAL NUMBER]",
    "accession_number": "[ACCESSION NUMBER]",
    "identifier": "[ID]",
    "date": "[DATE]",
    "postcode": "[POSTCODE]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "address": "[ADDRESS]",
    "site": "[SITE]",
    "redacted": "[REDACTED]",
}
# When finds overlap, the joined finding is named after the most specific of them.
_PRECEDENCE = {kind: rank for rank, kind in enumerate(
    ["patient", "nhs_number", "hospital_number", "accession_number", "redacted", "name", "email", "phone",
     "postcode", "address", "date", "site", "identifier"])}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    own: bool = False

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]


@dataclass(frozen=True)
class Scrubbed:
    text: str
    findings: tuple[Finding, ...]


def scrub(text: str, known: Known | None = None, *, redact: Collection[str] = (),
          keep: Collection[str] = ()) -> Scrubbed:
    """Remove identifiers from `text`.

    `redact` lists further words the chair wants gone; `keep` lists words the chair has judged not to be
    identifiers. `keep` never restores anything the record itself names.
    """
    return scrub_against(text, [Choices(known, redact, keep)])


@dataclass(frozen=True)
class Choices:
    """One case's record and its chair's choices, for text about several cases at once."""

    known: Known | None
    redact: Collection[str] = ()
    keep: Collection[str] = ()


def scrub_against(text: str, cases: Sequence[Choices]) -> Scrubbed:
    """`scrub` for text about several cases (a meeting's other business, an action for the whole meeting):
    every case's own identifiers and redactions are taken out, in one pass, and a word found by its shape is
    kept only if every case's chair kept it, as scrubbing once per case would leave it."""
    if not text:
        return Scrubbed(text or "", ())
    candidates = [c for detector in patterns.DETECTORS for c in detector(text)]
    for case in cases:
        if case.known is not None:
            candidates += record.find(text, case.known)
        candidates += _chair_redactions(text, case.redact)
    candidates = _drop_clinical_words(text, candidates)
    kept = ({k.strip().casefold() for k in cases[0].keep}.intersection(
        *({k.strip().casefold() for k in case.keep} for case in cases[1:])) if cases else set())
    if kept:
        candidates = [c for c in candidates if c.own or text[c.start:c.end].strip().casefold() not in kept]
    findings = _join(text, candidates)
    return Scrubbed(_replace(text, findings), tuple(findings))


def _chair_redactions(text: str, redact: Collection[str]) -> list[patterns.Candidate]:
    found = []
    for phrase in redact:
        words = phrase.split()
        if not words:
            continue
        pattern = re.compile(r"(?<!\w)(?i:" + r"\s+".join(re.escape(w) for w in words) + r")(?!\w)")
        found += [patterns.Candidate("redacted", m.start(), m.end(), own=True) for m in pattern.finditer(text)]
    return found


def _drop_clinical_words(text: str, candidates: list[patterns.Candidate]) -> list[patterns.Candidate]:
    """A lone name word inside an eponym ("Baker" in "Baker's cyst") is the eponym, not the person; and
    nothing found by its shape inside "Sister Mary Joseph nodule" is a person."""
    phrases = list(patterns.clinical_phrases(text))
    if phrases:
        candidates = [c for c in candidates if c.own or not any(
            start <= c.start and c.end <= end for start, end in phrases)]
    return [c for c in candidates if not (c.weak and _inside_clinical_term(text, c))]


def _inside_clinical_term(text: str, candidate: patterns.Candidate) -> bool:
    # Looked for only around the word in question: eponym patterns are costly to run over a whole text.
    window = (max(0, candidate.start - 60), min(len(text), candidate.end + 60))
    return any(start <= candidate.start and candidate.end <= end and (end - start) > (candidate.end - candidate.start)
               for start, end in patterns.clinical_terms(text, *window))


_ADJOINING = frozenset({"patient", "name", "site"})


def _join(text: str, candidates: list[patterns.Candidate]) -> list[Finding]:
    """Overlapping finds become one; so do two of a person or a place with only a space between them
    ("[SITE] [SITE]" for "Queen Adelaide")."""
    findings: list[Finding] = []
    for c in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if c.end <= c.start:
            continue
        adjoining = (findings and c.kind in _ADJOINING and findings[-1].kind == c.kind
                     and text[findings[-1].end:c.start] in (" ", "\t"))
        if findings and (c.start < findings[-1].end or adjoining):
            last = findings[-1]
            kind = min(last.kind, c.kind, key=_PRECEDENCE.__getitem__)
            findings[-1] = Finding(kind, last.start, max(last.end, c.end), last.own or c.own)
        else:
            findings.append(Finding(c.kind, c.start, c.end, c.own))
    return findings


def _replace(text: str, findings: list[Finding]) -> str:
    pieces, cursor = [], 0
    for finding in findings:
        pieces += [text[cursor:finding.start], finding.placeholder]
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def pieces(text: str, findings: tuple[Finding, ...]) -> list[tuple[str, Finding | None]]:
    """`text` cut at its findings, for showing the original and the scrubbed version side by side."""
    out, cursor = [], 0
    for finding in findings:
        if finding.start > cursor:
            out.append((text[cursor:finding.start], None))
        out.append((text[finding.start:finding.end], finding))
        cursor = finding.end
    if cursor < len(text):
        out.append((text[cursor:], None))
    return out
