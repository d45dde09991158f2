"""Identifiers found by their shape alone: NHS numbers, dates, postcodes, phone numbers, names after titles...

Each detector yields `Candidate`s; `text.scrub` decides which survive. The patterns lean towards recall: a
false positive costs the chair one click in review, a miss puts a patient on the projector.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from dataclasses import dataclass
from datetime import date

from meetings.anonymise.vocabulary import (
    BARE_EPONYMS, CLINICAL_PHRASES, DEPARTMENTS, EPONYM_HEADS, FAMILY, GREETINGS, EPONYM_NAMES, NAME_LIKE_WORDS, NOT_A_NAME, ROLE_PHRASES, TITLES, TRAILING_JOBS,
    TRAILING_ROLES,
)
from meetings.nhs_number import is_valid as is_valid_nhs_number


@dataclass(frozen=True)
class Candidate:
    kind: str
    start: int
    end: int
    # A weak candidate is one bare word that could also be clinical ("Baker" in "Baker's cyst"); it gives way
    # to a clinical term around it.
    weak: bool = False
    own: bool = False


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# --- dates ------------------------------------------------------------------------------------------

# "may" the verb is everywhere in reports, so the month is recognised only when capitalised.
MONTH = (r"(?P<month>(?i:january|february|march|april|june|july|august|september|october|november|december"
         r"|(?:jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?)|May|MAY)")
_DAY = r"(?P<day>0?[1-9]|[12]\d|3[01])(?i:st|nd|rd|th)?"
_YEAR = r"'?(?P<year>\d{4}|\d{2})"
_WEEKDAY_BEFORE = re.compile(r"(?<![\w/])(?i:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?i:day)?\.?,?\s+"
                             r"(?:the\s+)?$")
_DATE_PATTERNS = [
    # 03/04/1956, 3.4.56, 03-04-1956 (the same separator twice)
    re.compile(r"(?<![\w./-])(?=\d)(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/]|[.-]\d)"),
    # 1956-04-03, 1956/04/03, 1956.04.03
    re.compile(r"(?<![\w./-])(?=\d)(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?![\w/]|[.-]\d)"),
    # 3 April 1956, 3rd of April 1956, 03-Apr-1956, 3rd Apr '56 (a weekday before is added by `dates`)
    re.compile(rf"(?<![\w/])(?=\d){_DAY}(?:\s+(?i:of))?[\s/.-]*{MONTH}(?![a-z])(?:[\s/.,-]*{_YEAR}(?![\w/]))?"),
    # April 3, 1956; Apr 3rd 1956; April 3
    re.compile(rf"(?<![\w/])(?=[JFMASONDjfmasond]){MONTH}(?![a-z])\s+(?:the\s+)?{_DAY}(?![\w/:.]|\.\d)"
               rf"(?:,?\s+{_YEAR}(?![\w/]))?"),
    # April 1956, Apr '56
    re.compile(rf"(?<![\w/])(?=[JFMASONDjfmasond]){MONTH}(?![a-z]),?\s+(?:\d{{4}}|'\d{{2}})(?![\w/])"),
    # Tues 4th, Fri 22nd, Thurs 7/3: a weekday makes a day number a date
    re.compile(r"(?<![\w/])(?=[MTWFSmtwfs])(?i:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?i:day)?\.?,?\s+"
               r"(?:the\s+)?(?:\d{1,2}(?i:st|nd|rd|th)\b|\d{1,2}/\d{1,2}(?![/\d]))"),
    # "on 23/10", "dated the 19th,": a day without a year, where the words around say it is one
    re.compile(r"\b(?=[odipuswbaODIPUSWBA])(?i:on|dated|issued|performed|due|until|since|w/c|before|after)\s+"
               r"(?P<when>(?:the\s+)?"
               r"(?:(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\w/]|\.\d)|\d{1,2}(?i:st|nd|rd|th)\b))"),
    re.compile(r"\b(?=[tT])the\s+\d{1,2}(?i:st|nd|rd|th)(?=\s*(?:[.,;:()]|$)|\s+(?:at|in|from|to|with|when|by)\b)"),
    # 04/1956 (month and four-digit year; "6/12" and "2/52" are durations and stay)
    re.compile(r"(?<![\w./-])(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}(?![\w/])"),
]


_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


def _numeric_date_is_plausible(a: str, b: str) -> bool:
    """Day and month either way round (UK first, but a US-style date is still a date)."""
    x, y = int(a), int(b)
    return (1 <= x <= 31 and 1 <= y <= 12) or (1 <= x <= 12 and 1 <= y <= 31)


@lru_cache(maxsize=8)
def _date_matches(text: str) -> tuple[tuple[int, re.Match], ...]:
    """Every date pattern's matches in `text`; cached because the record's own dates are read from them too."""
    return tuple((index, m) for index, pattern in enumerate(_DATE_PATTERNS) for m in pattern.finditer(text))


def dates(text: str) -> Iterator[Candidate]:
    for index, m in _date_matches(text):
        if index == 0 and not _numeric_date_is_plausible(m.group(1), m.group(3)):
            continue
        if index == 1 and not _numeric_date_is_plausible(m.group(4), m.group(3)):
            continue
        if "when" in m.re.groupindex:
            if m.group("d") and not (1 <= int(m.group("d")) <= 31 and 1 <= int(m.group("m")) <= 12):
                continue
            yield Candidate("date", *m.span("when"))
            continue
        weekday = _WEEKDAY_BEFORE.search(text, max(0, m.start() - 16), m.start())
        yield Candidate("date", weekday.start() if weekday else m.start(), m.end())


def parse_dates(text: str) -> Iterator[tuple[int, int, date]]:
    """Dates in `text` that name a whole day, with where they are; for matching a record's own dates."""
    for index, m in _date_matches(text):
        if index == 0:
            for day, month in ((m.group(1), m.group(3)), (m.group(3), m.group(1))):
                parsed = _make_date(m.group(4), month, day)
                if parsed:
                    yield m.start(), m.end(), parsed
        elif index == 1:
            parsed = _make_date(m.group(1), m.group(3), m.group(4))
            if parsed:
                yield m.start(), m.end(), parsed
        elif index in (2, 3) and m.group("year"):
            parsed = _make_date(m.group("year"), str(_MONTHS[m.group("month")[:3].lower()]), m.group("day"))
            if parsed:
                yield m.start(), m.end(), parsed


def _make_date(year: str, month: str, day: str) -> date | None:
    y = int(year)
    if len(year) == 2:
        y += 1900 if y > 30 else 2000
    try:
        return date(y, int(month), int(day))
    except ValueError:
        return None


# --- numbers ----------------------------------------------------------------------------------------

_TEN_DIGITS = re.compile(r"(?<![\w.])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\w]|\.\d)")
_LONG_ID = re.compile(r"(?<![\w/.-])(?=[A-Za-z]{0,4}[-/]?\d)(?:[A-Za-z]{1,4}[-/]?)?\d{6,}[A-Za-z]?(?![\w/]|\.\d)")
_STUDY_ID = re.compile(r"(?<![\w/.-])\d{2}[A-Z]{1,4}\d{5,}(?![\w/])")
_YEARED_ID = re.compile(r"(?<![\w/.-])(?=[A-Z]{1,4}\d{0,4}[-/]\d)[A-Z]{1,4}\d{0,4}[-/]\d{5,}(?![\w/])")
_LETTERED_ID = re.compile(r"(?<![\w/.-])(?=[A-Z]{1,4}[-/]?\d)[A-Z]{1,4}[-/]?\d{5}[A-Z]?(?![\w/]|\.\d)")
_LABELLED_ID = re.compile(
    r"(?=[MmPpRrCcHhUuAaNnEeIiSsLl])(?i:\b(?:mrn|pid|rxh?|crn|chi|hosp(?:ital)?\.?\s*(?:no|number|num|id)|unit\s*(?:no|number)"
    r"|acc(?:ession)?\.?\s*(?:no|number|num)?|nhs\s*(?:no|number|num)|case\s*(?:no|number)|ref(?:erence)?"
    r"\.?\s*(?:no|number)?|episode\s*(?:no|number)?|patient\s*(?:id|no|number)|id|study\s*(?:id|no)"
    r"|lab\.?\s*(?:no|number)|specimen\s*(?:no|number)?|sample\s*(?:id|no|number))"
    r")\.?\s*(?:[:#]|is)?\s*(?P<id>[A-Za-z]{0,4}[-/]?\d[\dA-Za-z/-]{2,})"
)


def numbers(text: str) -> Iterator[Candidate]:
    for m in _TEN_DIGITS.finditer(text):
        kind = "nhs_number" if is_valid_nhs_number(m.group()) else "identifier"
        yield Candidate(kind, m.start(), m.end())
    for pattern in (_LONG_ID, _LETTERED_ID, _YEARED_ID, _STUDY_ID):
        for m in pattern.finditer(text):
            yield Candidate("identifier", m.start(), m.end())
    for m in _LABELLED_ID.finditer(text):
        yield Candidate("identifier", m.start("id"), m.end("id"))


# --- contact details -------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d(?:[\s)-]{0,2}\d){8,10}(?!\d)"
                    r"(?P<extension>[ \t]*\(?(?i:ext|extn|extension|x)\.?[ \t]*\d{2,6}\)?)?")
_EXTENSION = re.compile(r"(?=[EeBbPpTtMm])(?i:\b(?:ext|extn|extension|bleep|pager|tel|telephone|phone|mobile|mob|tel\.?\s*no)"
                        r"\.?\s*(?:no\.?)?\s*[:#]?\s*)(?P<number>\d{3,6})(?!\d)")
# Outward code, space, inward code; the inward letters never include C I K M O V, which spares "5 mm".
_POSTCODE = re.compile(r"(?<![\w-])(?i:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)\s*\d(?i:[ABD-HJLNP-UW-Z]{2})(?!\w)")
_ORDINAL_INCODE = re.compile(r"\d(?:st|nd|rd|th)$")
_STREET = (r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Cl|Way|Crescent|Cres|Place|Pl|Court|Ct"
           r"|Gardens|Gdns|Grove|Gr|Terrace|Terr|Hill|Park|Square|Sq|Mews|Row|Walk|Rise|View|Green|Vale"
           r"|Parade|Boulevard|Crossing|Meadow|Meadows|Fields|Heights|Wharf|Quay|Yard|Hollow|Chase|Fold|Wynd"
           r"|Gate|Croft|Garth|Brow|Bank|End|Lea|Nook|Dene|Glade|Spinney|Copse|Approach|Circus|Esplanade"
           r"|Promenade|Causeway|Path|Passage|Alley|Market|Side|Top|Heath|Moor|Common|Villas|Cottages"
           r"|Buildings|Estate|Mount|Orchard|Paddock|Gardens|Broadway|Wood|Vale)")
# Welsh and other streets named first: "4 Heol y Felin".
_STREET_FIRST = r"(?:Heol|Ffordd|Stryd|Lôn|Lon|Rhodfa|Maes|Cae|Bryn|Pen)"
_ADDRESS = re.compile(
    rf"(?=[FAUR\d])(?:\b(?:Flat|Apartment|Apt|Unit|Room)\s+\d+[A-Za-z]?,?\s+)?(?<![\w.])\d{{1,4}}[A-Za-z]?,?\s+"
    rf"(?:(?:[A-Z][A-Za-z'’-]+\s+){{1,3}}{_STREET}\b\.?|{_STREET_FIRST}(?:\s+(?:y|yr|'r|[A-Z][A-Za-z'’-]+)){{1,3}})"
    rf"(?:,\s*(?:[A-Z][A-Za-z'’-]+)(?:\s+[A-Z][A-Za-z'’-]+){{0,2}}(?=\s*,|\s*$|\s+[A-Z]{{1,2}}\d))*"
)
_NAMED_HOUSE = re.compile(r"\b(?:Flat|Apartment|Apt)\s+\d+[A-Za-z]?(?:,?\s*(?:\d{1,4}[A-Za-z]?\s+)?"
                          r"[A-Z][A-Za-z'’-]+(?:[ \t]+[A-Z][A-Za-z'’-]+)*)?")
_PLACE_BEFORE_POSTCODE = re.compile(r"(?:,?\s*[A-Z][A-Za-z'’-]+(?:\s+[A-Z][A-Za-z'’-]+){0,2}){1,3},?\s*$")


def contacts(text: str) -> Iterator[Candidate]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield Candidate("email", m.start(), m.end())
    for m in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in m.group()[:m.start("extension") - m.start()]) if m.group("extension") \
            else sum(c.isdigit() for c in m.group())
        if 10 <= digits <= 13:
            yield Candidate("phone", m.start(), m.end())
    for m in _EXTENSION.finditer(text):
        yield Candidate("phone", m.start("number"), m.end("number"))
    for m in _ADDRESS.finditer(text):
        yield Candidate("address", m.start(), m.end())
    for m in _NAMED_HOUSE.finditer(text):
        yield Candidate("address", m.start(), m.end())
    for m in _POSTCODE.finditer(text):
        if _ORDINAL_INCODE.search(m.group()):
            continue
        start = m.start()
        # The town before a postcode ("Westbrook, NG7 2UH") identifies as much as the postcode does.
        line_start = text.rfind("\n", 0, start) + 1
        place = _PLACE_BEFORE_POSTCODE.search(text, line_start, start)
        if place and "," in text[place.start():start]:
            town = place.group()
            yield Candidate("address", place.start() + len(town) - len(town.lstrip(", ")),
                            place.start() + len(town.rstrip(", \t")))
        yield Candidate("postcode", start, m.end())


# --- people and places ------------------------------------------------------------------------------

_SP = r"[^\S\n]"  # a space that does not cross a line: a name never runs on into the next heading
# Names are not only ASCII: Wiśniewski, García, Ó Súilleabháin.
_UP = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
_LOW = "a-zß-öø-ÿ\u0100-\u017f"
_NAME_WORD = (rf"(?:[OD]['’][{_UP}](?:[{_LOW}]+|[{_UP}]+)|[{_UP}][{_LOW}'’]+(?:[{_UP}][{_LOW}]+)?(?:-[{_UP}{_LOW}][{_LOW}'’]+)?"
              rf"|[{_UP}]{{2,}}(?:-[{_UP}]{{2,}})?)")
_INITIAL = r"(?:[A-Z]\.?)"
# Particles inside surnames: Ó Súilleabháin, ap Gwilym, de Silva, van der Merwe, bin Hassan.
_PARTICLE = r"(?:ap|ab|[OÓ]|N[ií]|Nic|de|De|da|di|du|van|Van|von|der|den|le|la|bin|Bin|bint)"
_SURNAME = rf"(?:(?:{_PARTICLE}{_SP}+){{0,2}}{_NAME_WORD})"
_TITLE = rf"(?:(?P<title>{_alternation(TITLES)}|{_alternation(t.upper() for t in TITLES)})\b\.?)"
_NAME = (rf"(?P<name>[{_UP}]{{2,}}(?:-[{_UP}]{{2,}})?,{_SP}*{_NAME_WORD}(?:{_SP}+{_INITIAL}(?![\w']))?"  # ZHOU, Ming
         rf"|(?:{_INITIAL}{_SP}*){{0,3}}{_SURNAME}(?:{_SP}+(?:{_INITIAL}{_SP}+)?{_SURNAME}){{0,2}})")
# Matched where a cue ends: a title ("Dr"), or a role phrase ("discussed with", "daughter").
_NAME_AFTER_TITLE = re.compile(rf"\.?{_SP}*{_NAME}")
_NAME_AFTER_ROLE = re.compile(rf"(?:\((?i:s)\))?{_SP}*[:,(-]?{_SP}*(?:{_TITLE}{_SP}*)?{_NAME}")
# Matched backwards from a trailing role: "Karen Hill (daughter)", "Karen Hill, next of kin".
_NAME_BEFORE_ROLE = re.compile(
    rf"(?P<name>(?:{_INITIAL}{_SP}*){{0,2}}{_SURNAME}(?:{_SP}+{_SURNAME}){{0,2}}(?:{_SP}+{_INITIAL}(?![\w'])){{0,2}})"
    rf"{_SP}*(?P<bracket>\(|,{_SP}*)"
    rf"(?:his|her|their|the{_SP}+)?{_SP}*(?:[A-Za-z]+{_SP}+)?$")
# A signature: the name under "Kind regards," or above a job title or letters after a name.
_POST_NOMINALS = r"(?:MRCP|FRCR|FRCS|FRCP|MBBS|MBChB|BMBS|MB|BCh|MD|PhD|BSc|MSc|DCR|DMRD|EDiR|FRCPath|RN|HCPC)"
_JOB_LINE = (r"(?:Consultant|Specialty|Specialist|Radiology|Radiologist|Registrar|Radiographer|Sonographer"
             r"|Clinical|Lead|Associate|Advanced|Reporting|Trainee|Fellow|Professor|Senior|Superintendent|Nurse"
             r"|Director|Chair|Manager|Coordinator|Practitioner|Interventional|Neuroradiologist|Head\s+of)")
_SIGNATURE = re.compile(
    rf"(?im:^[ \t]*(?:thanks|many\s+thanks|thank\s+you|kind\s+regards|best\s+regards|warm\s+regards|regards"
    rf"|best\s+wishes|best|cheers|yours\s+sincerely|yours\s+faithfully|yours|with\s+thanks|all\s+the\s+best)"
    rf"[ \t]*[,.!]?[ \t]*(?:\n(?:[ \t]*\n)*)?|^[ \t]*--[ \t]*)[ \t]*(?:{_TITLE}{_SP}*)?{_NAME}(?=[ \t]*(?:\n|$))"
)
_LET_KNOW = re.compile(rf"\b(?=[LlAaTtCc])(?i:let|ask|tell|thank|thanks\s+to|cc)[ \t]+{_NAME}[ \t]+(?i:know|to|for|if|and|who)\b")
_NAME_OVER_JOB = re.compile(
    rf"(?m:^)[ \t]*(?:--[ \t]*)?(?:{_TITLE}{_SP}*)?(?P<name>{_SURNAME}(?:{_SP}+(?:{_INITIAL}{_SP}+)?{_SURNAME}){{1,2}})"
    rf"(?:[ \t,]+{_POST_NOMINALS}\b(?:[ \t,]+{_POST_NOMINALS}\b)*[ \t]*(?m:$)|[ \t]*,?[ \t]*\n[ \t]*{_JOB_LINE}\b)"
)
# "2. Hazel Crabtree KV1208844 74F", "Jan Nowak, 67 yo": a name then an age and sex. The age is found first
# and the name looked for just before it, which costs far less than trying every capital in the text.
_AGE_AND_SEX = re.compile(r"\(?\d{1,3}[ \t]?(?:[MF]|yo|y/o|yrs?|years?(?:[ -]old)?)\b")
_NAME_BEFORE_AGE = re.compile(
    rf"(?P<name>{_SURNAME}(?:{_SP}+{_SURNAME}){{1,2}}),?{_SP}+(?:[A-Z]{{1,4}}\d{{5,}}{_SP}+)?$")
_CUE_WORD = re.compile(r"[A-Za-z][A-Za-z/]*")
# "Present: Guy Hargreaves (radiology); R. Demir (oncology)": every entry on the line is a person.
_ATTENDANCE_WORDS = frozenset({"present", "attendees", "attending", "attendance", "apologies", "panel", "faculty"})
_LIST_ITEM = re.compile(rf"[:,;]{_SP}*(?:{_TITLE}{_SP}*)?{_NAME}")
_TITLE_WORDS = frozenset(TITLES) | frozenset(t.upper() for t in TITLES)


@dataclass(frozen=True)
class _Cue:
    """What a word may begin: a role phrase before a name, or a role after one ("(daughter)", "(Dr)")."""

    before_name: tuple[re.Pattern, ...] = ()
    after_name: tuple[re.Pattern, ...] = ()
    after_name_in_brackets: tuple[re.Pattern, ...] = ()


def _cues() -> dict[str, _Cue]:
    """Each cue phrase filed under its first word, longest first; words may be split by a space or a hyphen."""
    table: dict[str, dict[str, list[str]]] = {}
    for field, phrases in (("before_name", ROLE_PHRASES), ("after_name", TRAILING_ROLES),
                           ("after_name_in_brackets", TRAILING_JOBS + DEPARTMENTS)):
        for phrase in phrases:
            table.setdefault(phrase.split()[0], {}).setdefault(field, []).append(phrase)
    return {first: _Cue(**{field: tuple(re.compile(r"[ \t-]+".join(map(re.escape, p.split())) + r"(?![\w/])", re.I)
                                         for p in sorted(phrases, key=len, reverse=True))
                           for field, phrases in fields.items()})
            for first, fields in table.items()}


_CUES = _cues()
_ANY_CUE = frozenset(_CUES) | {t.lower() for t in TITLES} | _ATTENDANCE_WORDS
_HOSPITAL_WORD = r"(?:St\.?|Saint|[A-Z][A-Za-z'’&-]*)"
_HOSPITAL = re.compile(
    r"(?<![\w'’&-])(?=[A-Z(])(?:"
    rf"(?:{_HOSPITAL_WORD}{_SP}+){{1,5}}(?:Hospitals?|Infirmary|Medical\s+Centre|Health\s+Centre|Medical\s+Practice"
    rf"|Medical\s+Group|Health\s+Group|Family\s+Practice|Practice|Partnership"
    rf"|Hospice|Health\s+Park|Treatment\s+Centre|Surgery|Clinic|HOSPITALS?|INFIRMARY|MEDICAL\s+CENTRE"
    rf"|HEALTH\s+CENTRE|MEDICAL\s+PRACTICE|SURGERY|HOSPICE|Diagnostic\s+Centre|Imaging\s+Centre|Cancer\s+Centre"
    rf"|DIAGNOSTIC\s+CENTRE|TREATMENT\s+CENTRE|General|GENERAL|DGH|CH|GH|UH|RI)\b(?:\s+of\s+[A-Z][a-z]+(?:\s+(?:and|&)\s+[A-Z][a-z]+)?)?"
    rf"(?:\s+(?:NHS\s+)?(?:Foundation\s+)?(?:Trust|FT))?"
    rf"|(?:{_HOSPITAL_WORD}{_SP}+){{1,5}}NHS\s+(?:Foundation\s+)?Trust"
    rf"|(?:(?:Dr|Drs)\.?{_SP}+)?{_NAME_WORD}(?:{_SP}+(?:and|&){_SP}+{_NAME_WORD})?{_SP}+(?:&|and){_SP}+Partners\b"
    rf"|\bRoyal{_SP}+(?!College|Society|Academy|Mail|Navy|Air\b|Family|Institute|Colleges)[A-Z][a-z'’]+"
    rf"|\b(?:Ysbyty|Meddygfa|Canolfan\s+Iechyd)(?:['’]r)?(?:{_SP}+(?:y|yr|[A-Z][a-z'’]+)){{1,3}}"
    r")"
)
# Endings that also close ordinary phrases ("Day Surgery", "Acute General"): the words before must be a name.
_SERVICE_SUFFIX = re.compile(r"(?:Surgery|Clinic|General|GENERAL|DGH|CH|GH|UH|RI)$")
_EPONYM = re.compile(
    rf"\b(?P<possessive>[A-Z][a-z]+['’]s)\s+(?i:{_alternation(EPONYM_HEADS)})\b"
    rf"|\b[A-Z][a-z]+(?:[-\s][A-Z][a-z]+)?\s+(?i:{_alternation(EPONYM_HEADS)})\b"
    # Grades and types named after people: Weber B, Garden IV, Marsh 3, Schatzker II.
    rf"|\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\s+(?:I{{1,3}}V?|IV|VI{{0,3}}|[A-D]|\d[a-c]?)(?:[A-F]{{0,2}})\b(?![.:/]\d)"
    rf"|\b[A-Z][a-z]+-[A-Z][a-z]+\b"
    rf"|\b(?:{_alternation(BARE_EPONYMS)})['’]s?(?!\w)"
)


def _name_words_span(text: str, start: int, end: int, *, after_title: bool) -> tuple[int, int] | None:
    """Trim a run of capitalised words at the first that is not a name ("Karen Radiology" -> "Karen").

    Initials count as part of a name ("Dr A Thomas") but a run of initials alone is not one. After a title
    any capitalised word may be a surname ("Dr Hand"); after a weaker cue, a word like "Head" alone is not
    taken for a person unless it closes off in brackets or a comma ("daughter (June)").
    """
    name_end, plain_names = None, 0
    for word in re.finditer(r"\S+", text[start:end]):
        token = word.group()
        if _INITIAL_TOKEN.fullmatch(token):
            if name_end is not None:  # "STERLING R": an initial after the name is part of it
                name_end = start + word.end()
            continue
        bare = token.strip(".,;:()").lower()
        if bare.endswith(("'s", "’s")):
            bare = bare[:-2]
        if bare in NOT_A_NAME or not bare or bare.endswith(_JOB_ENDINGS):
            break
        plain_names += bare not in NAME_LIKE_WORDS
        name_end = start + word.end()
        if token.endswith(("'s", "’s")):
            name_end -= 2  # the possessive stays: "[NAME]'s team"
    if name_end is None:
        return None
    if not after_title and not plain_names and not re.match(r"\s*[),]", text[name_end:name_end + 2]):
        return None
    return start, name_end


# "Consultant Neuroradiologist", "Senior Sonographer": jobs, not surnames.
_JOB_ENDINGS = ("ologist", "ologists", "ographer", "ographers", "iatrician", "iatrist")
_INITIAL_TOKEN = re.compile(r"[A-Z]\.?(?:[A-Z]\.?)?")


def _attendees(text: str, start: int) -> Iterator[Candidate]:
    line_end = text.find("\n", start)
    for m in _LIST_ITEM.finditer(text, start, len(text) if line_end == -1 else line_end):
        span = _name_words_span(text, m.start("name"), m.end("name"), after_title=True)
        if span:
            yield Candidate("name", m.start("title") if m.group("title") else span[0], span[1])


def people(text: str) -> Iterator[Candidate]:
    """Names after a title or a role phrase, or before a trailing role; found by scanning the words once,
    since trying every role phrase at every character would cost more than all the other detectors."""
    for word_match in _CUE_WORD.finditer(text):
        word = word_match.group()
        folded = word.lower()
        if folded not in _ANY_CUE:
            continue
        start, end = word_match.start(), word_match.end()
        if word in _TITLE_WORDS:
            m = _NAME_AFTER_TITLE.match(text, end)
            if m and not (len(word) > 1 and word.isupper() and not m.group("name").isupper()):  # "MR Brain"
                span = _name_words_span(text, m.start("name"), m.end("name"), after_title=True)
                if span:
                    yield Candidate("name", start, span[1])
        if folded in _ATTENDANCE_WORDS and text[end:end + 2].lstrip().startswith(":"):
            yield from _attendees(text, text.index(":", end))
        cue = _CUES.get(folded)
        if cue is None:
            continue
        for phrase in cue.before_name:
            if said := phrase.match(text, start):
                m = _NAME_AFTER_ROLE.match(text, said.end())
                if m:
                    strong = bool(m.group("title")) or said.group().lower() in FAMILY | GREETINGS
                    span = _name_words_span(text, m.start("name"), m.end("name"), after_title=strong)
                    if span:
                        yield Candidate("name", *span)
                break
        for phrases, brackets_only in ((cue.after_name, False), (cue.after_name_in_brackets, True)):
            if any(phrase.match(text, start) for phrase in phrases):
                m = _NAME_BEFORE_ROLE.search(text, max(0, start - 80), start)
                if m and not (brackets_only and m.group("bracket") != "("):
                    span = _name_words_span(text, m.start("name"), m.end("name"), after_title=False)
                    if span:
                        yield Candidate("name", *span)
    for m in _LET_KNOW.finditer(text):
        span = _name_words_span(text, m.start("name"), m.end("name"), after_title=False)
        if span:
            yield Candidate("name", *span)
    for pattern in (_SIGNATURE, _NAME_OVER_JOB):
        for m in pattern.finditer(text):
            span = _name_words_span(text, m.start("name"), m.end("name"), after_title=True)
            if span:
                yield Candidate("name", m.start("title") if m.group("title") else span[0], span[1])
    for age in _AGE_AND_SEX.finditer(text):
        m = _NAME_BEFORE_AGE.search(text, max(0, age.start() - 70), age.start())
        if m and "'" not in m.group("name") and "’" not in m.group("name"):
            span = _name_words_span(text, m.start("name"), m.end("name"), after_title=False)
            if span:
                yield Candidate("name", *span)


_LEADING_FUNCTION_WORDS = re.compile(
    r"^(?:(?:At|To|From|In|Into|A|An|And|Or|Of|On|By|For|With|Under|Our|Her|His|Their|Via|Seen|Scanned|"
    r"Imaged|Attended|Reported|Treated|Sent|Moved|Transferred|Admitted|Discharged|Referred|Patient|Previously|"
    r"Also|Then|Now|Known|Followed|Presented|Returned)\s+)+")


# "transferred to KGH", "(QAUH)", "LOC: BCH": a hospital's initials, where the words around make it a place.
_HOSPITAL_INITIALS = re.compile(r"(?<![\w-])[A-Z]{1,4}(?:GH|UH|CH|H|HT|FT|RI|TC)\b")
_PLACE_WORD_BEFORE = re.compile(r"(?:\b(?i:at|to|from|in|via|loc:|site:|hospital:)\s+(?:the\s+)?|\()$")
_CLINICAL_H = frozenset({"SAH", "SDH", "EDH", "ICH", "IVH", "LVH", "RVH", "BPH", "IIH", "NPH", "FNH", "CAH", "PPH",
                         "DISH", "AAH", "ADH", "GH", "TSH", "FSH", "LH", "PTH", "ACTH", "HRT"})


def places(text: str) -> Iterator[Candidate]:
    for m in _HOSPITAL.finditer(text):
        yield from _place(text, m)
    for m in _HOSPITAL_INITIALS.finditer(text):
        if m.group() not in _CLINICAL_H and _PLACE_WORD_BEFORE.search(text, max(0, m.start() - 16), m.start()):
            yield Candidate("site", m.start(), m.end())


def _place(text: str, m: re.Match) -> Iterator[Candidate]:
    matched = m.group()
    lead = _LEADING_FUNCTION_WORDS.match(matched)
    start = m.start() + (lead.end() if lead else 0)
    words = [w.lower() for w in text[start:m.end()].split()[:-1]]
    if not words:
        return
    if _SERVICE_SUFFIX.search(matched.rstrip()):
        # "Fracture Clinic" and "Day Surgery" are services; "Mill Lane Surgery" is a place.
        if any(w in NOT_A_NAME or w in _SERVICE_WORDS for w in words):
            return
    yield Candidate("site", start, m.end())


_SERVICE_WORDS = frozenset("""
fracture rapid access day pain outpatient outpatients eye dental fertility antenatal memory sleep diabetes
diabetic chest heart lung bone spinal spine hand foot knee hip shoulder skin plastic minor major injuries
injury walk-in urgent care treatment private one-stop one stop virtual nurse-led led joint lymphoedema
vascular breast colorectal thyroid voice swallow falls specialist
""".split())


_CLINICAL_PHRASES_LOWER = tuple(phrase.lower() for phrase in CLINICAL_PHRASES)


def clinical_phrases(text: str) -> Iterator[tuple[int, int]]:
    """Clinical names that look like people or places; nothing but the record's own is found inside."""
    lowered = text.lower()
    for phrase in _CLINICAL_PHRASES_LOWER:
        at = lowered.find(phrase)
        while at != -1:
            yield at, at + len(phrase)
            at = lowered.find(phrase, at + 1)


def clinical_terms(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Spans of eponyms and similar clinical names, which a bare name word must not be cut out of."""
    for m in _EPONYM.finditer(text, start, len(text) if end is None else end):
        possessive = m.group("possessive")
        if possessive and possessive[:-2].lower() not in EPONYM_NAMES:
            continue  # "Quillfeather's nodule" belongs to a patient
        yield m.start(), m.end()


DETECTORS = (dates, numbers, contacts, people, places)
