"""The chair's anonymisation review of a case, and the anonymised case it approves for the room.

A review is current while the case is exactly as it was when approved; `fingerprint` says what "exactly"
covers. Services flush; views commit.
"""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable

from flask import url_for
from sqlalchemy import select

from meetings import audit
from meetings.anonymise import case as anonymised
from meetings.anonymise.images import Box, anonymise_image
from meetings.anonymise.text import Choices, Known, Scrubbed, scrub, scrub_against
from meetings.cases import service
from meetings.extensions import db
from meetings.identifier_key import IdentifiersUnavailable
from meetings.models import Case, CaseIdentifiers, CaseImage, CaseReview, Meeting, Site, User, utcnow
from meetings.models.base import LabelledEnum

MAX_BOXES = 50


class ReviewState(LabelledEnum):
    NOT_REVIEWED = "not_reviewed"
    REVIEWED = "reviewed"
    CHANGED = "changed_since_review"


class NotReviewed(Exception):
    """The case may not be shown to an audience until the chair reviews its anonymisation."""

    def __init__(self, case: Case, state: ReviewState):
        super().__init__(f"{case.short_title} cannot be presented: anonymisation {state.label.lower()}")
        self.case, self.state = case, state


def identifiers_of(case: Case) -> CaseIdentifiers:
    """Read for scrubbing, not for showing to anyone, so not an audited view."""
    return db.session.get(CaseIdentifiers, case.id) or CaseIdentifiers(case_id=case.id)


def known_for(case: Case) -> Known:
    """What scrubbing must take out of the case's texts. A regional case holds no identifiers of its own:
    its local case's are used, with the name of every site in the network, as no site may be recognised."""
    source = case.forwarded_from if case.is_regional else case
    ids = identifiers_of(source)
    submitters = tuple(dict.fromkeys((case.submitter.name, source.submitter.name)))
    network = tuple((name, code) for name, code in db.session.execute(select(Site.name, Site.code).order_by(Site.id))) \
        if case.is_regional else ()
    return Known(
        patient_name=ids.patient_name, nhs_number=ids.nhs_number, hospital_number=ids.hospital_number,
        date_of_birth=ids.date_of_birth, accession_number=ids.accession_number, reporter_name=ids.reporter_name,
        referrer_name=ids.referrer_name, site_name=case.site.name, site_code=case.site.code,
        examination_date=ids.examination_date, other_names=submitters, network_sites=network,
    )


def require_identifiers(cases) -> None:
    """Raise IdentifiersUnavailable unless every case's identifiers can be opened: for what shows text for
    editing, or keeps or sends it, where a withheld placeholder must never stand in for the real words."""
    for case in cases:
        known_for(case)


def known_or_none(case: Case) -> Known | None:
    """`known_for(case)`, or None when its identifiers cannot be opened, for pages that show approved text
    and withhold the rest. Whatever keeps or sends text must use `known_for`, and so refuse."""
    try:
        return known_for(case)
    except IdentifiersUnavailable:
        return None


def fingerprint(case: Case, *, images: bool = True) -> str:
    """A digest of everything about the case that could put an identifier in front of the room.

    Without `images`, the digest of what the review page shows as text: the page sends it back on
    approval, so a case edited while the chair was reading is not approved unseen.
    """
    ids = identifiers_of(case)
    content = {
        "fields": [getattr(case, field) for field in anonymised.REVIEWED_FIELDS],
        "site": case.site_id,
        # The sealed token, not what it holds, so a server without the identifier key can still tell an
        # approved case from a changed one. Resealing with a new key re-fingerprints current approvals.
        "identifiers": [ids.sealed or "", ids.reporter_id],
        "captions": [[image.id, image.caption] for image in case.images],
    }
    if images:
        content["boxes"] = [[image.id, image.redaction_boxes] for image in case.images]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def approval_stands(case: Case) -> None:
    """After a change to what a case holds that alters nothing the room saw (its identifiers purged, or
    resealed with a new key), its approval is fingerprinted again and it goes back in the library."""
    from meetings.governance import library  # it reads the minutes, which read this module

    db.session.flush()
    case.review.fingerprint = fingerprint(case)
    db.session.flush()
    library.record(case)


def state_of(case: Case) -> ReviewState:
    review = case.review
    if review is None or review.fingerprint is None:
        return ReviewState.NOT_REVIEWED
    return ReviewState.REVIEWED if review.fingerprint == fingerprint(case) else ReviewState.CHANGED


def review_of(case: Case) -> CaseReview:
    if case.review is None:
        case.review = CaseReview(redact=[], keep=[], approved={})
    return case.review


def reviewed_texts(case: Case) -> dict[str, str]:
    """Every text the chair reviews, as submitted; image captions keyed "caption-<image id>"."""
    texts = {field: getattr(case, field) for field in anonymised.REVIEWED_FIELDS}
    return texts | {f"caption-{image.id}": image.caption for image in case.images}


def preview(case: Case, redact: list[str], keep: list[str]) -> dict[str, Scrubbed]:
    """Every reviewed text, scrubbed as it would be approved."""
    known = known_for(case)
    return {key: scrub(text, known, redact=redact, keep=keep) for key, text in reviewed_texts(case).items()}


def clean_terms(lines: list[str] | str) -> list[str]:
    """The chair's list of words, one per line, without blanks or repeats, in the order given."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    seen, terms = set(), []
    for line in lines:
        term = " ".join(line.split())[:200]
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            terms.append(term)
    return terms


def save_choices(case: Case, redact: list[str], keep: list[str]) -> CaseReview:
    review = review_of(case)
    review.redact, review.keep = clean_terms(redact), clean_terms(keep)
    return review


class ChangedWhileReviewing(Exception):
    """The case was edited after the chair's page was drawn; they must see the new version first."""


def approve(case: Case, reviewer: User, redact: list[str], keep: list[str], seen: str) -> CaseReview:
    """Freeze the anonymised texts the chair has just seen (`seen`: their page's text fingerprint) as what
    the room will be shown."""
    if seen != fingerprint(case, images=False):
        raise ChangedWhileReviewing
    review = save_choices(case, redact, keep)
    scrubbed = preview(case, review.redact, review.keep)
    review.approved = {
        **{field: scrubbed[field].text for field in anonymised.REVIEWED_FIELDS},
        "captions": {str(image.id): scrubbed[f"caption-{image.id}"].text for image in case.images},
        # Text written later (discussion, learning points) is scrubbed with the choices approved here.
        "redact": review.redact, "keep": review.keep,
    }
    for image in case.images:
        anonymised_png(image)  # made now, so the first projector view does not wait for it
    review.fingerprint = fingerprint(case)
    review.reviewed_by_id, review.reviewed_at = reviewer.id, utcnow()
    db.session.flush()
    audit.record("case.anonymisation_reviewed", case,
                 findings=sum(len(s.findings) for s in scrubbed.values()), images=len(case.images))
    return review


def anonymised_case(case: Case, image_url: Callable[[int], str] | None = None) -> anonymised.AnonymisedCase:
    """What an audience may see of `case`; raises NotReviewed unless the current version was approved.

    Images link to the members' anonymised image route unless `image_url` says otherwise.
    """
    state = state_of(case)
    if state is not ReviewState.REVIEWED:
        raise NotReviewed(case, state)
    return anonymised.build(
        case, case.review, known_or_none(case),
        image_url or (lambda image_id: url_for("review.anonymised_image", case_id=case.id, image_id=image_id)),
    )


def room_text(case: Case, text: str) -> str:
    """Text the room wrote about an approved case (a poll answer), scrubbed as its notes are."""
    return anonymised.scrub_live(text, review_of(case), known_for(case))


def shown_room_text(case: Case, text: str) -> str:
    """`room_text` for a page, never for anything kept or sent: withheld while the case's identifiers
    cannot be opened, so the room carries on without the text being shown unchecked."""
    return anonymised.scrub_live(text, review_of(case), known_or_none(case))


def cases_about(meeting: Meeting, case: Case | None, queued: list[Case] | None = None) -> list[Case]:
    """The case an action or note is about, or every case of the meeting when it is about the meeting
    (`queued`, when the caller has the meeting's queue already)."""
    if case is not None:
        return [case]
    return queued if queued is not None else service.queue(meeting)


def meeting_text(text: str, meeting: Meeting, case: Case | None, queued: list[Case] | None = None) -> str:
    """Text about a case or a meeting with the identifiers of its cases taken out, as the room's notes are.

    Action descriptions and notes reach the minutes and risk staff; a chair typing in a hurry names people.
    """
    if not text:
        return text
    about = cases_about(meeting, case, queued)
    if len(about) == 1 and about[0].review is not None and about[0].review.approved:
        return room_text(about[0], text)
    return scrub_against(text, [choices_of(each) for each in about]).text


def choices_of(case: Case) -> Choices:
    """The case's record, with its chair's approved choices once there are some."""
    approved = case.review.approved if case.review is not None else {}
    return Choices(known_for(case), approved.get("redact", ()), approved.get("keep", ()))


# --- images -------------------------------------------------------------------------------------

def anonymised_png(image: CaseImage) -> bytes:
    if image.anonymised is None:
        boxes = [Box(*box) for box in image.redaction_boxes]
        image.anonymised = anonymise_image(image.kind, image.original, boxes).png
    return image.anonymised


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk, without decoding it."""
    return struct.unpack(">II", png[16:24])


def typed_box(existing: list, form, width: int, height: int) -> list[list[int]]:
    """The boxes after one typed in (x, y, width, height) or one removed (`remove` = its index)."""
    boxes = [list(box) for box in existing]
    if form.get("remove", "").isdigit():
        index = int(form["remove"])
        return boxes[:index] + boxes[index + 1:]
    try:
        box = [int(form.get(name, "")) for name in ("x", "y", "width", "height")]
    except ValueError:
        raise ValueError("Give the box's left, top, width and height in whole pixels") from None
    if box[2] <= 0 or box[3] <= 0 or box[0] >= width or box[1] >= height or box[0] < 0 or box[1] < 0:
        raise ValueError(f"The box must start inside the image ({width} × {height} pixels) "
                         "and have a width and height above 0")
    return parse_boxes(json.dumps(boxes + [box]), width, height)


def parse_boxes(raw: str, width: int, height: int) -> list[list[int]]:
    """Boxes from the browser's JSON ([[x, y, w, h], ...]); raise ValueError with a message otherwise."""
    try:
        boxes = json.loads(raw or "[]")
    except json.JSONDecodeError:
        raise ValueError("The boxes could not be read; draw them again") from None
    if not isinstance(boxes, list) or len(boxes) > MAX_BOXES:
        raise ValueError(f"Draw at most {MAX_BOXES} boxes on one image")
    cleaned = []
    for box in boxes:
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise ValueError("The boxes could not be read; draw them again")
        x, y, w, h = (round(v) for v in box)
        x, y = max(0, x), max(0, y)
        w, h = min(w, width - x), min(h, height - y)
        if w > 0 and h > 0:
            cleaned.append([x, y, w, h])
    return cleaned


def set_boxes(image: CaseImage, boxes: list[list[int]]) -> None:
    image.redaction_boxes = boxes
    image.anonymised = None
    anonymised_png(image)
    audit.record("case.image_redacted", image.case, image=image.id, boxes=len(boxes))
