"""Key rotation: every case's identifiers resealed with the first key in IDENTIFIER_KEY.

Put a new key in front of the old one, run `flask --app app rotate-identifier-key`, then remove the old
key. A case sealed with the new key already is left alone, so running it twice changes nothing; an
approval that was current stays current (the review fingerprint digests the sealed token).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from meetings import identifier_key
from meetings.cases import review
from meetings.extensions import db
from meetings.models import Case, CaseIdentifiers


@dataclass
class Rotation:
    resealed: int = 0
    already: int = 0
    approvals_kept: int = 0
    # Cases sealed with a key that is not in IDENTIFIER_KEY: left as they are, and named.
    unopenable: list[int] = field(default_factory=list)


def rotate() -> Rotation:
    """Reseal every case that is not sealed with the first key. The caller commits."""
    if not identifier_key.configured():
        raise identifier_key.IdentifiersUnavailable("IDENTIFIER_KEY is not set, so there is no key to rotate to")
    rotation = Rotation()
    held = db.session.scalars(select(CaseIdentifiers).where(CaseIdentifiers.sealed != "")
                              .order_by(CaseIdentifiers.case_id)).all()
    for identifiers in held:
        try:
            token = identifier_key.resealed(identifiers.sealed)
        except identifier_key.IdentifiersUnavailable:
            rotation.unopenable.append(identifiers.case_id)
            continue
        if token is None:
            rotation.already += 1
            continue
        case = db.session.get(Case, identifiers.case_id)
        was_current = review.state_of(case) is review.ReviewState.REVIEWED
        identifiers.sealed = token
        rotation.resealed += 1
        if was_current:
            review.approval_stands(case)
            rotation.approvals_kept += 1
    return rotation
