"""Small factories for synthetic test data. Every value is invented."""
from __future__ import annotations

import io
import itertools
from datetime import date, datetime, timedelta, timezone

from PIL import Image
from werkzeug.security import generate_password_hash

from meetings.extensions import db
from meetings.cases.images import check_upload
from meetings.models import Action, ActionEvent, Case, CaseIdentifiers, CaseImage, CaseStatus, Meeting, Role, Site, User

PASSWORD = "correct-horse-battery"
# Hashing is slow on purpose; one hash serves every factory-made user.
_PASSWORD_HASH = generate_password_hash(PASSWORD)
_counter = itertools.count(1)


def png(size: tuple[int, int] = (64, 48), shade: int = 128) -> bytes:
    """A plain grey PNG, as a key image."""
    out = io.BytesIO()
    Image.new("L", size, shade).save(out, "PNG")
    return out.getvalue()


def make_site(**fields) -> Site:
    n = next(_counter)
    site = Site(name=fields.pop("name", f"Test Site {n} Hospital"), code=fields.pop("code", f"TS{n}"), **fields)
    db.session.add(site)
    db.session.flush()
    return site


def make_user(*roles: Role, **fields) -> User:
    n = next(_counter)
    site = fields.pop("home_site", None) or make_site()
    user = User(
        email=fields.pop("email", f"person{n}@test.example.org"),
        name=fields.pop("name", f"Test Person {n}"),
        password_hash=fields.pop("password_hash", _PASSWORD_HASH),
        home_site=site,
        **fields,
    )
    user.roles = roles or (Role.MEMBER,)
    db.session.add(user)
    db.session.flush()
    return user


def make_meeting(chair: User | None = None, days_ahead: int = 7, **fields) -> Meeting:
    chair = chair or make_user(Role.CHAIR)
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=days_ahead)
    meeting = Meeting(
        title=fields.pop("title", "Test REAL meeting"),
        site=fields.pop("site", chair.home_site),
        chair=chair,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=90),
        **fields,
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def make_action(meeting: Meeting, owner: User | None, due_in_days: int = 14, **fields) -> Action:
    """An action agreed at `meeting`, for its site unless `sites` or `all_sites` say otherwise."""
    action = Action(
        meeting=meeting,
        owner=owner,
        description=fields.pop("description", "Update the reporting template to prompt a review of lung windows"),
        due_on=fields.pop("due_on", date.today() + timedelta(days=due_in_days)),
        sites=fields.pop("sites", [] if fields.get("all_sites") else [meeting.site]),
        history=[ActionEvent(by_name="Test chair", to_status=fields.get("status", "open"))],
        **fields,
    )
    db.session.add(action)
    db.session.flush()
    return action


def make_case(submitter: User, meeting: Meeting | None = None, identifiers: dict | None = None,
              images: tuple[tuple[bytes, str], ...] = (), **fields) -> Case:
    """A case (scheduled into `meeting` when given) with identifiers and (image bytes, caption) pairs."""
    fields.setdefault("status", CaseStatus.SCHEDULED if meeting else CaseStatus.ACCEPTED)
    case = Case(
        submitter_id=submitter.id, site_id=fields.pop("site_id", meeting.site_id if meeting else submitter.home_site_id),
        meeting_id=meeting.id if meeting else None,
        queue_position=fields.pop("queue_position", 0 if meeting else None),
        kind=fields.pop("kind", "discrepancy"), modality=fields.pop("modality", "CT"),
        body_region=fields.pop("body_region", "Chest"),
        clinical_question=fields.pop("clinical_question", "Cough for six weeks. ?Mass"),
        report_text=fields.pop("report_text", "No focal lung lesion."),
        outcome_text=fields.pop("outcome_text", "A 14 mm nodule in the right upper lobe on the follow-up CT."),
        **fields,
    )
    case.identifiers = CaseIdentifiers(**(identifiers or {}))
    db.session.add(case)
    db.session.flush()
    for position, (data, caption) in enumerate(images):
        checked = check_upload(data, max_bytes=20 * 1024 * 1024, max_pixels=40_000_000)
        db.session.add(CaseImage(case_id=case.id, uploaded_by_id=submitter.id, kind=checked.kind,
                                 content_type=checked.content_type, width=checked.width, height=checked.height,
                                 byte_size=len(data), caption=caption, position=position, original=data))
    db.session.flush()
    db.session.expire(case, ["images"])
    return case
