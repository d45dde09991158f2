"""Small factories for synthetic test data. Every value is invented."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from werkzeug.security import generate_password_hash

from meetings.extensions import db
from meetings.models import Action, Meeting, Role, Site, User

PASSWORD = "correct-horse-battery"
# Hashing is slow on purpose; one hash serves every factory-made user.
_PASSWORD_HASH = generate_password_hash(PASSWORD)
_counter = itertools.count(1)


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


def make_action(meeting: Meeting, owner: User, due_in_days: int = 14, **fields) -> Action:
    action = Action(
        meeting_id=meeting.id,
        owner_id=owner.id,
        description=fields.pop("description", "Update the reporting template to prompt a review of lung windows"),
        due_on=date.today() + timedelta(days=due_in_days),
        **fields,
    )
    db.session.add(action)
    db.session.flush()
    return action
