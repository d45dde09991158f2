"""Key rotation: every case's identifiers resealed with the first key in IDENTIFIER_KEY.

Put a new key in front of the old one, run `flask --app app rotate-identifier-key`, then remove the old
key. A case sealed with the new key already is left alone, so running it twice changes nothing; an
approval that was current stays current (the review fingerprint digests the sealed token).

It works in batches, each committed, so Lightbox carries on serving meanwhile (SQLite's write lock is held
a batch at a time) and an interrupted rotation is finished by running it again. A case edited while its
batch is resealed keeps the edit: it is written only where the token is still the one that was read, and
an edit seals with the first key anyway.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from meetings import audit, identifier_key
from meetings.cases import review
from meetings.extensions import db
from meetings.models import Case, CaseIdentifiers

BATCH = 200


@dataclass
class Rotation:
    resealed: int = 0
    already: int = 0
    approvals_kept: int = 0
    # Cases sealed with a key that is not in IDENTIFIER_KEY: left as they are, and named.
    unopenable: list[int] = field(default_factory=list)


def rotate() -> Rotation:
    """Reseal every case that is not sealed with the first key, committing as it goes."""
    if not identifier_key.configured():
        raise identifier_key.IdentifiersUnavailable("IDENTIFIER_KEY is not set, so there is no key to rotate to")
    rotation = Rotation()
    held = db.session.scalars(select(CaseIdentifiers.case_id).where(CaseIdentifiers.sealed != "")
                              .order_by(CaseIdentifiers.case_id)).all()
    for start in range(0, len(held), BATCH):
        batch = held[start:start + BATCH]
        # On PostgreSQL the batch's rows are locked until it commits; an edit waits for a moment.
        for identifiers in db.session.scalars(select(CaseIdentifiers).where(CaseIdentifiers.case_id.in_(batch))
                                              .order_by(CaseIdentifiers.case_id).with_for_update()):
            _reseal(identifiers, rotation)
        db.session.commit()
    audit.record("identifiers.resealed", None, resealed=rotation.resealed, already=rotation.already,
                 approvals_kept=rotation.approvals_kept, unopenable=rotation.unopenable)
    db.session.commit()
    return rotation


def _reseal(identifiers: CaseIdentifiers, rotation: Rotation) -> None:
    old = identifiers.sealed
    try:
        token = identifier_key.resealed(old)
    except identifier_key.IdentifiersUnavailable:
        rotation.unopenable.append(identifiers.case_id)
        return
    if token is None:
        rotation.already += 1
        return
    case = db.session.get(Case, identifiers.case_id)
    was_current = review.state_of(case) is review.ReviewState.REVIEWED
    written = db.session.execute(
        update(CaseIdentifiers).where(CaseIdentifiers.case_id == identifiers.case_id, CaseIdentifiers.sealed == old)
        .values(sealed=token).execution_options(synchronize_session=False)).rowcount
    db.session.expire(identifiers, ["sealed"])
    if not written:  # edited since it was read, and so sealed with the first key already
        rotation.already += 1
        return
    rotation.resealed += 1
    if was_current:
        review.approval_stands(case)
        rotation.approvals_kept += 1
