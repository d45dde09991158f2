"""AnonymisedCase: the only shape in which a case reaches an audience.

Projector, audience view, minutes, certificates and exports render this and never the ORM case, so a
template cannot reach an identifier however it is written. It is built from a chair-approved review; the
text written during the meeting (discussion, learning points) is scrubbed as it is built.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meetings.anonymise.text import Known, scrub
from meetings.models import Case, CaseReview, Modality

# The case texts the chair reviews, in the order a meeting meets them.
REVIEWED_FIELDS = ("clinical_question", "report_text", "outcome_text", "suggested_learning", "body_region")
FIELD_LABELS = {
    "clinical_question": "Clinical question",
    "report_text": "Original report",
    "outcome_text": "What was found later",
    "suggested_learning": "Suggested learning",
    "body_region": "Body region",
}


@dataclass(frozen=True)
class AnonymisedImage:
    url: str
    caption: str


@dataclass(frozen=True)
class AnonymisedCase:
    case_id: int
    number: int | None
    modality: str
    body_region: str
    kind_label: str
    clinical_question: str
    report_text: str
    outcome_text: str
    suggested_learning: str
    discussion_notes: str
    learning_points: str
    discrepancy_type: str | None
    images: tuple[AnonymisedImage, ...]

    @property
    def title(self) -> str:
        return f"{self.modality} {self.body_region.lower()}".strip()


# In place of text written since the review when the identifiers it must be checked against cannot be
# opened (no identifier key): unchecked, it could name the patient.
WITHHELD = "[Withheld: Lightbox cannot check this for identifiers just now]"


def scrub_live(text: str, review: CaseReview, known: Known | None) -> str:
    """Text written after the review (notes, poll answers), scrubbed with the chair's approved choices;
    withheld when `known` is None (the case's identifiers cannot be opened, so it cannot be checked)."""
    if known is None:
        return WITHHELD if text else text
    approved = review.approved
    return scrub(text, known, redact=approved.get("redact", ()), keep=approved.get("keep", ())).text


def build(case: Case, review: CaseReview, known: Known | None, image_url: Callable[[int], str]) -> AnonymisedCase:
    """The audience's case from an approved review; the caller has checked the review is current.
    `known` is None when the case's identifiers are unavailable: the approved texts are shown, and text
    written since is withheld."""
    approved = review.approved
    captions = approved.get("captions", {})

    def live(text: str) -> str:
        return scrub_live(text, review, known)

    return AnonymisedCase(
        case_id=case.id,
        number=None if case.queue_position is None else case.queue_position + 1,
        modality=Modality(case.modality).label,
        body_region=approved.get("body_region", ""),
        kind_label=case.kind_label,
        clinical_question=approved.get("clinical_question", ""),
        report_text=approved.get("report_text", ""),
        outcome_text=approved.get("outcome_text", ""),
        suggested_learning=approved.get("suggested_learning", ""),
        discussion_notes=live(case.discussion_notes),
        learning_points=live(case.learning_points),
        discrepancy_type=case.discrepancy_type,
        images=tuple(AnonymisedImage(image_url(image.id), captions.get(str(image.id), ""))
                     for image in case.images),
    )
