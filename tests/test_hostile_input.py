"""Hostile input (issue #13): every form, search, filter and link driven with very long strings, control
characters, HTML and script, SQL fragments, invalid Unicode, wrong types (a file where text is expected, digits
int() refuses, numbers no column holds) and missing fields.

Each answer must be a 4xx that says what was wrong, or a clean success: never a 500, and never a script
reflected unescaped. Every POST route is found by walking the URL map and driven against a small world (a
site, people in every role, a live meeting, an ended one with its minutes and feedback, ...) built for it, so
that requests reach the route's own validation rather than a 404. The fields posted are the ones the route's
page renders (its forms are read from the HTML), starting from values that succeed, so that a hostile field
can get as far as the database: first each field alone through a fixed sweep, then hypothesis's random
combinations (derandomized: CI sees the same examples every time; HOSTILE_EXAMPLES=500 searches deeper).
Every GET route is then read with markup saved in every free-text field, and its query parameters and path
arguments swept and combined the same way.

The bugs found are in BUGS: the property tests step around them, and test_known_bugs shows each with its
smallest request, failing (xfail, strict) until it is fixed; then its entry goes, and the sweeps cover it again.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from html.parser import HTMLParser
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import delete, select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from meetings import create_app
from meetings.extensions import db, limiter
from meetings.feedback import links
from meetings.live import service as live
from meetings.models import (
    Attendance, AttendanceStatus, Case, CaseStatus, Feedback, LiveState, Meeting, MeetingStatus, Pat, PatReason, Poll,
    PollVote, Register, Role, User, person_key,
)
from meetings.auth.service import invite_token
from meetings.calendar import feeds
from meetings.nhs_number import synthetic
from meetings.register import presence
from tests.conftest import approve_for_room
from tests.factories import make_action, make_case, make_meeting, make_site, make_user, png

# Hypothesis keeps its example database and caches in a directory of its own, not in the checkout; the
# runs are derandomized, so CI sees the same examples every time.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "lightbox-hypothesis"))

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
# Random requests per route, on top of the sweep of every field; HOSTILE_EXAMPLES=500 searches deeper.
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "8"))
HOSTILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large, HealthCheck.filter_too_much])

# --- what hostile looks like ----------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "<svg/onload=alert(1)>"
# What must never come back unescaped in an HTML page.
REFLECTED = (SCRIPT, "onerror=alert(1)>", SVG, 'href="javascript:')

ATOMS = [
    "", " ", "\t\n", SCRIPT, IMG, SVG, "javascript:alert(1)", "javascript://example.org/%0aalert(1)",
    "' OR 1=1 --", "'; DROP TABLE \"case\"; --", "; DROP TABLE case;", "\" OR \"\"=\"", "%", "_", "\\", "%00",
    "{{ 7*7 }}", "{% raw %}", "${7*7}", "\x00", "a\x00b", "\x1b[2J", "\u202e", "\ufeff", "\u200b", "\r\n\r\n",
    "\x7f", "\x0b\x0c", "💥", "ｆｕｌｌ", "²", "١٢٣", "NaN", "Infinity", "-Infinity", "1e309", "-1", "0", "00",
    "-0", "1.5", "0x10", str(2**31), str(2**63), str(2**70), str(-2**70), "9" * 5000, "2027-02-30",
    "9999-12-31", "0001-01-01", "10000-01-01", "1970-01-01", "31/12/2027", "25:61", "23:59:60", "-01:00",
    "true", "false", "yes", "on", "null", "None", "[]", "{}", "[[1e999, 0, 5, 5]]", "[[NaN, 0, 5, 5]]",
    '{"__proto__": 1}', "[" * 3000, "../../etc/passwd", "http://example.org", "mailto:a@b.example.org",
    "a@b", "x@example.org" + SCRIPT, "name@hospital.nhs.uk\r\nBcc: everyone@example.org",
]
LONG_SEEDS = [SCRIPT, "A", "\u202e", "' OR 1=1 --", "💥", "x@example.org ", "\x1b"]
# Invalid UTF-8 (a lone surrogate as UTF-8 encodes it, an overlong "/", stray continuation bytes): only a
# raw body can carry it.
BAD_BYTES = [b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"\x80", b"abc\xe2\x82", b"%ff%fe"]
EXTRA_NAMES = ["id", "user_id", "is_admin", "role", "roles", "status", "next", "__proto__",
               SCRIPT, "a" * 300, "meeting_id", "case_id", "submit"]
NUL = "\x00"


def _text_alphabet():
    # Any character a browser can send; lone surrogates go as raw bytes instead (BAD_BYTES).
    return st.characters(exclude_categories=("Cs",))


def hostile_values(world_ids: list[str]):
    atoms = st.sampled_from(ATOMS + world_ids)
    return st.one_of(
        atoms,
        st.text(_text_alphabet(), max_size=30),
        st.builds(lambda seed, n: seed * n, st.sampled_from(LONG_SEEDS), st.integers(10_001, 12_000)).map(
            lambda s: s[:12_000]),
        st.builds(lambda a, b: a + b, atoms, atoms),
        st.sampled_from(BAD_BYTES),
    )


# --- reading a page's forms ---------------------------------------------------------------------------


class FormReader(HTMLParser):
    """The forms on a page: where each posts (or, for a search or filter, where it GETs), its field names, and
    the values the page gives them (as a browser would send them: checked boxes, selected options, textareas'
    text)."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[dict] = []
        self._open: list[dict] = []
        self._by_id: dict[str, dict] = {}
        self._textarea: tuple[dict, str] | None = None
        self._select: tuple[dict, str] | None = None
        self._select_has_selected = False

    def _new_form(self, url: str, method: str = "post") -> dict:
        form = {"url": urllib.parse.urlsplit(url).path, "method": method, "values": {}, "names": []}
        self.forms.append(form)
        return form

    def _field(self, form: dict, name: str, value: str | None = None) -> None:
        if name not in form["names"]:
            form["names"].append(name)
        if value is not None:
            form["values"].setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            method = "post" if a.get("hx-post") or a.get("method", "get").lower() == "post" else "get"
            # A form without an action posts to its own page.
            form = self._new_form(a.get("hx-post") or a.get("action") or self.page_url, method)
            self._open.append(form)
            if a.get("id"):
                self._by_id[a["id"]] = form
            return
        form = self._by_id.get(a["form"]) if a.get("form") else (self._open[-1] if self._open else None)
        url = a.get("formaction") or a.get("hx-post")
        if url:  # a button posting somewhere of its own: the enclosing form's fields, and its own name
            own = self._new_form(url)
            if form is not None:
                own["names"] = list(form["names"])
                own["values"] = {k: list(v) for k, v in form["values"].items()}
            if a.get("name"):
                self._field(own, a["name"], a.get("value", ""))
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                self._field(form, name, a.get("value", "on") if "checked" in a else None)
            elif kind in ("submit", "button", "image", "reset", "file"):  # sent only when used
                self._field(form, name)
            else:
                self._field(form, name, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = (form, name)
            form["values"][name] = [""]
            self._field(form, name)
        elif tag == "select" and name:
            self._select = (form, name)
            self._select_has_selected = False
            self._field(form, name)
        elif tag == "option" and self._select is not None:
            select_form, select_name = self._select
            if "selected" in a:
                if not self._select_has_selected:
                    select_form["values"][select_name] = []
                self._select_has_selected = True
                select_form["values"].setdefault(select_name, []).append(a.get("value", ""))
            elif not select_form["values"].get(select_name):
                select_form["values"][select_name] = [a.get("value", "")]  # a browser sends the first option
        elif tag == "button" and name:
            self._field(form, name)

    def handle_endtag(self, tag):
        if tag == "form" and self._open:
            self._open.pop()
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            form, name = self._textarea
            form["values"][name][0] += data


def forms_on(html: str, page_url: str) -> list[dict]:
    reader = FormReader(page_url)
    reader.feed(html)
    return reader.forms


# --- the world the routes act on ----------------------------------------------------------------------

PATIENT = {"patient_name": "Wilhelmina Hostile-Testperson", "nhs_number": synthetic(131_313),
           "hospital_number": "HT0001313", "accession_number": "ACC131313"}


class World:
    """One of everything the POST routes act on, made when first asked for: a route's test builds only what
    its route needs. `client` is the test client; `as_(user)` signs it in (None: signs it out)."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def as_(self, user: User | None):
        with self.client.session_transaction() as session:
            session.clear()
            if user is not None:
                session["_user_id"] = db.session.get(User, user.id).get_id()
                session["_fresh"] = True

    def fresh(self, model, key):
        db.session.expire_all()
        return db.session.get(model, key)

    # people and places

    @cached_property
    def site(self):
        site = make_site(name="Hostile Test Hospital", code="HTH", risk_distribution="risk@hostile.example.org")
        db.session.commit()
        return site

    @cached_property
    def other_site(self):
        site = make_site(name="Other Test Infirmary", code="OTI")
        make_user(Role.CHAIR, name="Dr Other Chair", home_site=site)
        db.session.commit()
        return site

    @cached_property
    def boss(self) -> User:
        """Admin, chair, regional chair and risk staff at once: every signed-in route is open to them."""
        user = make_user(Role.ADMIN, Role.CHAIR, Role.REGIONAL_CHAIR, Role.RISK, Role.MEMBER, name="Dr Bea Boss",
                         email="bea.boss@hostile.example.org", home_site=self.site)
        db.session.commit()
        return user

    @cached_property
    def member(self) -> User:
        user = make_user(Role.MEMBER, name="Dr Mo Member", email="mo.member@hostile.example.org",
                         home_site=self.site, profession="consultant_radiologist", professional_body="GMC",
                         registration_number="7654321")
        db.session.commit()
        return user

    @cached_property
    def invitee(self) -> User:
        user = make_user(Role.MEMBER, name="Dr Ivy Invited", email="ivy.invited@hostile.example.org",
                         home_site=self.site, password_hash=None)
        db.session.commit()
        return user

    # cases and meetings

    def _case(self, meeting=None, submitter=None, **fields):
        identifiers = dict(PATIENT, reporter_name="Dr Visiting Reporter",
                           reporter_email="visiting.reporter@insourcing.example.org")
        identifiers.update(fields.pop("identifiers", {}))
        return make_case(submitter or self.member, meeting, identifiers, **fields)

    @cached_property
    def submitted(self) -> Case:
        """Awaiting triage: the member may still edit it, the chair triages it."""
        self.upcoming  # noqa: B018 - the meeting it may be accepted into
        case = self._case(status=CaseStatus.SUBMITTED, site_id=self.site.id)
        db.session.commit()
        return case

    @cached_property
    def upcoming(self):
        """A meeting next week with two cases queued: its queue, its notices, its schedule."""
        meeting = make_meeting(chair=self.boss, title="Upcoming hostile REAL meeting", days_ahead=7,
                               location="Seminar room 1")
        self._upcoming_cases = [self._case(meeting, queue_position=n) for n in range(2)]
        db.session.commit()
        return meeting

    @cached_property
    def live(self):
        """A meeting in progress: two approved cases (the first with an image), the room on the first, a
        poll open and the register open."""
        self.boss  # noqa: B018
        meeting = make_meeting(chair=self.boss, title="Live hostile REAL meeting", days_ahead=0)
        cases = [self._case(meeting, queue_position=0, images=((png(shade=90), "Key image"),)),
                 self._case(meeting, queue_position=1)]
        db.session.commit()
        self.as_(self.boss)
        for case in cases:
            assert approve_for_room(self.client, case).status_code == 303
        assert self.client.get(f"/meetings/{meeting.id}/console").status_code == 200
        for command, data in (("start", {}), ("open-poll", {"preset": "called_it"})):
            assert self.client.post(f"/meetings/{meeting.id}/live/{command}", data=data).status_code == 303
        assert self.client.post(f"/meetings/{meeting.id}/register/open").status_code == 303
        self._live_cases = cases
        return meeting

    @property
    def upcoming_cases(self) -> list[Case]:
        self.upcoming  # noqa: B018
        return self._upcoming_cases

    @property
    def live_cases(self) -> list[Case]:
        self.live  # noqa: B018
        return self._live_cases

    @cached_property
    def code(self) -> str:
        """The live meeting's join code, for the room's phones."""
        return self.fresh(LiveState, self.live.id).join_code

    @cached_property
    def poll(self) -> Poll:
        return db.session.scalar(select(Poll).where(Poll.meeting_id == self.live.id))

    @property
    def entry(self) -> Attendance:
        """An entry on the live meeting's register (made again if a test removed it)."""
        meeting = self.live
        entry = db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                           Attendance.name == "Dr Paper Sheet"))
        if entry is None:
            entry = Attendance(meeting_id=meeting.id, person_key=person_key(None, None, "Dr Paper Sheet"),
                               name="Dr Paper Sheet", profession="consultant_radiologist",
                               status=AttendanceStatus.PRESENT, site_name="Hostile Test Hospital")
            db.session.add(entry)
            db.session.commit()
        return entry

    @cached_property
    def signature(self) -> Attendance:
        """This client's own signature on the live register, as a guest's phone, for its evaluation."""
        meeting = self.live
        self.as_(None)
        register = self.fresh(Register, meeting.id)
        response = self.client.post(f"/j/{self.code}/sign", data={
            "name": "Dr Gus Guest", "email": "gus.guest@visiting.example.org",
            "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "1234567",
            "site": "Farholm Teleradiology", "presence_code": presence.current_code(register)})
        assert response.status_code == 303, response.get_data(as_text=True)
        return db.session.scalar(select(Attendance).where(Attendance.email == "gus.guest@visiting.example.org"))

    @cached_property
    def ended(self):
        """A meeting that ended three days ago: three presented, approved cases (one reported by the member,
        one by a reporter without an account, one whose feedback is not sent yet), the member present, an
        action for the member and a pat on the back to them."""
        self.other_site  # noqa: B018 - another site for feedback to tell
        meeting = make_meeting(chair=self.boss, title="Ended hostile REAL meeting", days_ahead=-3,
                               status=MeetingStatus.ENDED)
        by_member = self._case(meeting, queue_position=0, status=CaseStatus.PRESENTED,
                               learning_points="Review the lung windows.",
                               identifiers={"reporter_id": self.member.id, "reporter_name": self.member.name,
                                            "reporter_email": self.member.email})
        by_guest = self._case(meeting, queue_position=1, status=CaseStatus.PRESENTED,
                              learning_points="Ask for scaphoid views.")
        unsent = self._case(meeting, queue_position=2, status=CaseStatus.PRESENTED,
                            learning_points="Compare with prior imaging.")
        db.session.add(Attendance(meeting_id=meeting.id, user_id=self.member.id,
                                  person_key=person_key(self.member.id, None, self.member.name),
                                  name=self.member.name, email=self.member.email,
                                  profession="consultant_radiologist", status=AttendanceStatus.PRESENT,
                                  site_name=self.site.name))
        self._action = make_action(meeting, self.member, description="Add a lung-window prompt to the template")
        db.session.add(Pat(sender_id=self.boss.id, recipient_id=self.member.id, reason=PatReason.GREAT_PICKUP,
                           message="Lovely spot on the scaphoid."))
        db.session.commit()
        self.as_(self.boss)
        for case in (by_member, by_guest, unsent):
            assert approve_for_room(self.client, case).status_code == 303
        for case in (by_member, by_guest):
            sent = self.client.post(f"/meetings/{meeting.id}/feedback/{case.id}",
                                    data={"message": "Thank you for the learning.", "home_site_id": "0"})
            assert sent.status_code == 303, sent.get_data(as_text=True)
        self._ended_cases = (by_member, by_guest, unsent)
        return meeting

    @property
    def ended_cases(self) -> tuple[Case, Case, Case]:
        self.ended  # noqa: B018
        return self._ended_cases

    @property
    def action(self):
        self.ended  # noqa: B018
        return self._action

    def feedback(self, case) -> Feedback:
        self.ended  # noqa: B018
        return db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))

    @property
    def link(self) -> str:
        """The current link of the feedback sent to the reporter without an account."""
        return links.token_for(self.fresh(Feedback, self.feedback(self.ended_cases[1]).id))

    @property
    def attendance(self) -> Attendance:
        self.ended  # noqa: B018
        return db.session.scalar(select(Attendance).where(Attendance.user_id == self.member.id))

    @property
    def pat(self) -> Pat:
        self.ended  # noqa: B018
        return db.session.scalar(select(Pat).where(Pat.recipient_id == self.member.id))

    def ids(self) -> list[str]:
        """Ids the world holds, as text: a select or a hidden id pointing at the wrong thing is hostile too."""
        found = set()
        for model in (User, Case, Attendance, Poll, Feedback, Pat):
            found.update(str(i) for i in db.session.scalars(select(model.id)))
        return sorted(found, key=int)[:20]


# --- the routes -----------------------------------------------------------------------------------------

DAY, PAST = ((date.today() + timedelta(days=days)).isoformat() for days in (30, -30))


@dataclass
class Route:
    """How to drive one POST route: its URL (built afresh for every example), who posts, the page whose
    form posts to it, values that would succeed, fields it reads that no page renders, its string path
    arguments' real values, and what to put back after each example so the next is still meaningful."""

    url: Callable[..., str]
    actor: str = "boss"
    page: Callable[[World], str] | None = None
    valid: Callable[[World], dict] = lambda w: {}
    fields: tuple[str, ...] = ()
    path: dict[str, list] = field(default_factory=dict)  # real values: text, or a function of the world
    reset: Callable[[World], None] | None = None


def _case_form(w: World) -> dict:
    return {"kind": "discrepancy", "came_to_light": "random_review", "modality": "CT", "body_region": "Chest",
            "clinical_question": "Breathless. ?PE", "report_text": "No pulmonary embolus.",
            "outcome_text": "Nodule seen on follow-up.", "suggested_learning": "Review lung windows.",
            "patient_name": "Testy McTestface", "nhs_number": "943 476 5919", "hospital_number": "TST0001",
            "date_of_birth": "1950-02-03", "accession_number": "ACCT0001", "examination_date": PAST,
            "site_id": str(w.site.id), "reporter_id": "0", "reporter_name": "Dr Visiting Tester",
            "reporter_email": "visiting.tester@test.example.org", "referrer_name": "Dr Referrer Test",
            "thanks": "", "upload_token": ""}


def _meeting_form(w: World) -> dict:
    return {"title": "Hostile REAL meeting", "scope": "local", "site_id": str(w.site.id), "day": DAY,
            "start_time": "12:30", "end_time": "14:00", "location": "Seminar room 2",
            "online_url": "https://teams.example.org/l/meetup/hostile", "reminder_minutes": "30", "listed": "y",
            "send_invitations": "y"}


def _series_form(w: World) -> dict:
    form = _meeting_form(w)
    del form["day"]
    return form | {"repeats": "monthly-2", "ordinal": "1", "weekday": "1", "starts_on": DAY,
                   "send_invitations": ""}


def _user_form(w: World) -> dict:
    return {"name": "Dr Nia Test", "email": "nia.test@test.example.org", "roles": ["member"],
            "home_site_id": str(w.site.id), "profession": "trainee_radiologist", "professional_body": "GMC",
            "registration_number": "1234567"}


def _registration() -> dict:
    return {"profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7654321"}


def _note_base(w: World, field_name: str) -> str:
    case = w.fresh(Case, w.live_cases[0].id)
    return live.note_digest(getattr(case, field_name) or "")


def _reset_submitted(w: World) -> None:
    case = w.fresh(Case, w.submitted.id)
    case.status, case.meeting_id, case.queue_position = CaseStatus.SUBMITTED, None, None
    db.session.commit()


def _reset_status(model, key: Callable[[World], int], status) -> Callable[[World], None]:
    def reset(w: World) -> None:
        row = w.fresh(model, key(w))
        row.status = status
        db.session.commit()
    return reset


def _reset_feedback(w: World) -> None:
    db.session.execute(delete(Feedback).where(Feedback.case_id == w.ended_cases[2].id))
    db.session.commit()


def _reset_invite(w: World) -> None:
    w.fresh(User, w.invitee.id).password_hash = None
    db.session.commit()


def _reset_votes(w: World) -> None:
    db.session.execute(delete(PollVote).where(PollVote.poll_id == w.poll.id))
    poll = w.fresh(Poll, w.poll.id)
    poll.is_open = True
    state = w.fresh(LiveState, w.live.id)
    state.meeting.status, state.poll_id = MeetingStatus.LIVE, poll.id
    db.session.commit()


def _reset_evaluation(w: World) -> None:
    w.fresh(Attendance, w.signature.id).evaluated = False
    db.session.commit()


def _reset_live(w: World) -> None:
    meeting = w.fresh(LiveState, w.live.id).meeting
    meeting.status = MeetingStatus.LIVE
    db.session.commit()


ROUTES: dict[str, Route] = {
    # --- signing in ---
    "auth.sign_in": Route(lambda w: "/auth/sign-in", actor="anonymous", page=lambda w: "/auth/sign-in",
                          valid=lambda w: {"email": w.member.email, "password": "correct-horse-battery"}),
    "auth.sign_out": Route(lambda w: "/auth/sign-out", page=lambda w: "/"),
    "auth.accept_invite": Route(lambda w, token: f"/auth/invite/{token}", actor="anonymous",
                                page=lambda w: f"/auth/invite/{invite_token(w.fresh(User, w.invitee.id))}",
                                valid=lambda w: {"password": "a-long-enough-password",
                                                 "confirm": "a-long-enough-password"},
                                path={"token": [lambda w: invite_token(w.fresh(User, w.invitee.id))]},
                                reset=_reset_invite),
    # --- admin ---
    "admin.invite_user": Route(lambda w: "/admin/users/invite", page=lambda w: "/admin/users/invite",
                               valid=_user_form),
    "admin.edit_user": Route(lambda w: f"/admin/users/{w.member.id}/edit",
                             page=lambda w: f"/admin/users/{w.member.id}/edit",
                             valid=lambda w: _user_form(w) | {"email": w.member.email}),
    "admin.set_user_active": Route(lambda w: f"/admin/users/{w.member.id}/active", page=lambda w: "/admin/users",
                                   valid=lambda w: {"active": "1"}),
    "admin.resend_invite": Route(lambda w: f"/admin/users/{w.invitee.id}/resend-invite",
                                 page=lambda w: "/admin/users"),
    "admin.sites": Route(lambda w: "/admin/sites", page=lambda w: "/admin/sites",
                         valid=lambda w: {"name": "Another Test Hospital", "code": "ATH",
                                          "risk_distribution": "risk@another.example.org\n"}),
    "admin.edit_site": Route(lambda w: f"/admin/sites/{w.other_site.id}/edit",
                             page=lambda w: f"/admin/sites/{w.other_site.id}/edit",
                             valid=lambda w: {"name": "Other Test Infirmary", "code": "OTI"}),
    "admin.set_site_active": Route(lambda w: f"/admin/sites/{w.other_site.id}/active",
                                   page=lambda w: "/admin/sites", valid=lambda w: {"active": "1"}),
    # --- calendar ---
    "calendar.reset": Route(lambda w: "/calendar/reset", page=lambda w: "/calendar"),
    # --- cases: submitting, triage, the queue, the notice ---
    "cases.submit": Route(lambda w: "/cases/new", page=lambda w: "/cases/new", valid=_case_form,
                          fields=("thank_reporter", "images-0-caption", "image-caption-1", "remove-image")),
    "cases.edit": Route(lambda w: f"/cases/{w.submitted.id}/edit", actor="member",
                        page=lambda w: f"/cases/{w.submitted.id}/edit", valid=_case_form,
                        fields=("image-caption-1", "remove-image"), reset=_reset_submitted),
    "cases.accept": Route(lambda w: f"/cases/{w.submitted.id}/accept", page=lambda w: "/cases/triage",
                          valid=lambda w: {f"c{w.submitted.id}-meeting_id": str(w.upcoming.id)},
                          reset=_reset_submitted),
    "cases.decline": Route(lambda w: f"/cases/{w.submitted.id}/decline", page=lambda w: "/cases/triage",
                           valid=lambda w: {f"d{w.submitted.id}-note": "Not one for the meeting, thank you."},
                           reset=_reset_submitted),
    "cases.more_info": Route(lambda w: f"/cases/{w.submitted.id}/more-info", page=lambda w: "/cases/triage",
                             valid=lambda w: {f"m{w.submitted.id}-note": "Which series was it on?"},
                             reset=_reset_submitted),
    "cases.forward": Route(lambda w: f"/cases/{w.ended_cases[2].id}/forward",
                           page=lambda w: f"/cases/{w.ended_cases[2].id}"),
    "cases.notice": Route(lambda w: f"/cases/{w.upcoming_cases[0].id}/notice",
                          page=lambda w: f"/cases/{w.upcoming_cases[0].id}/notice",
                          valid=lambda w: {"text": "Dear colleague,\n\nYour case is coming to the meeting."}),
    "cases.move": Route(lambda w: f"/meetings/{w.upcoming.id}/queue/{w.upcoming_cases[1].id}/move",
                        page=lambda w: f"/meetings/{w.upcoming.id}/queue", valid=lambda w: {"direction": "up"}),
    "cases.reorder": Route(lambda w: f"/meetings/{w.upcoming.id}/queue/order",
                           page=lambda w: f"/meetings/{w.upcoming.id}/queue",
                           valid=lambda w: {"case": [str(c.id) for c in reversed(w.upcoming_cases)]},
                           fields=("case",)),
    "cases.allowance": Route(lambda w: f"/meetings/{w.upcoming.id}/queue/{w.upcoming_cases[0].id}/allowance",
                             page=lambda w: f"/meetings/{w.upcoming.id}/queue",
                             valid=lambda w: {f"a{w.upcoming_cases[0].id}-minutes": "10"}),
    "cases.remove": Route(lambda w: f"/meetings/{w.upcoming.id}/queue/{w.upcoming_cases[1].id}/remove",
                          page=lambda w: f"/meetings/{w.upcoming.id}/queue",
                          reset=lambda w: _requeue(w)),
    # --- the anonymisation review ---
    "review.page": Route(lambda w: f"/cases/{w.live_cases[1].id}/review",
                         page=lambda w: f"/cases/{w.live_cases[1].id}/review",
                         valid=lambda w: {"redact": "Seminar\nroom", "keep": [], "action": "approve"},
                         fields=("keep",)),
    "review.boxes": Route(
        lambda w: f"/cases/{w.live_cases[0].id}/images/{w.live_cases[0].images[0].id}/boxes",
        page=lambda w: f"/cases/{w.live_cases[0].id}/review",
        valid=lambda w: {"x": "1", "y": "1", "width": "10", "height": "10"}, fields=("boxes", "remove")),
    # --- the live meeting ---
    "live.command": Route(lambda w, command: f"/meetings/{w.live.id}/live/{command}",
                          page=lambda w: f"/meetings/{w.live.id}/console",
                          valid=lambda w: {"case_id": str(w.live_cases[1].id), "stage": "2",
                                           "preset": "free_text", "question": "What do you see?",
                                           "options": "Yes\nNo"},
                          fields=("case_id", "stage", "preset", "question", "options"),
                          path={"command": ["next", "start", "end", "previous", "jump", "stage", "refresh",
                                            "open-poll", "close-poll", "show-results", "hide-results",
                                            "clear-poll"]},
                          reset=_reset_live),
    "live.save_note": Route(lambda w, field: f"/meetings/{w.live.id}/cases/{w.live_cases[0].id}/notes/{field}",
                            page=lambda w: f"/meetings/{w.live.id}/console",
                            valid=lambda w: {"discussion_notes": "Subtle on lung windows.",
                                             "learning_points": "Review lung windows.",
                                             "base": _note_base(w, "discussion_notes")},
                            fields=("discussion_notes", "learning_points", "base", "theirs", "resolve"),
                            path={"field": ["discussion_notes", "learning_points"]}),
    "live.save_outcome": Route(lambda w: f"/meetings/{w.live.id}/cases/{w.live_cases[0].id}/outcome",
                               page=lambda w: f"/meetings/{w.live.id}/console",
                               valid=lambda w: {"discrepancy_type": "perceptual", "great_pickup": "yes"},
                               fields=("discrepancy_type", "clinical_significance", "great_pickup",
                                       "radpeer_grade")),
    "actions.capture": Route(lambda w: f"/meetings/{w.live.id}/actions",
                             page=lambda w: f"/meetings/{w.live.id}/console",
                             valid=lambda w: {"action-description": "Add a lung-window check to the CTPA template",
                                              "action-case_id": "", "action-owner": str(w.member.id),
                                              "action-due_on": DAY, "action-priority": "high",
                                              "action-sites": [str(w.site.id)]}),
    "live.audience_vote": Route(lambda w, code: f"/j/{code}/polls/{w.poll.id}", actor="anonymous",
                                page=lambda w: f"/j/{w.code}/polls/{w.poll.id}", valid=lambda w: {"choice": "1"},
                                fields=("choice", "answer"), path={"code": [lambda w: w.code]},
                                reset=_reset_votes),
    # --- the register ---
    "register.sign": Route(lambda w, code: f"/j/{code}/sign", actor="anonymous",
                           page=lambda w: f"/j/{w.code}/sign",
                           valid=lambda w: {"name": "Dr Gail Guest", "email": "gail.guest@visiting.example.org",
                                            "site": "Farholm Teleradiology",
                                            "presence_code": presence.current_code(w.fresh(Register, w.live.id))}
                           | _registration(),
                           path={"code": [lambda w: w.code]}),
    "register.evaluate": Route(lambda w, code: f"/j/{code}/evaluate", actor="anonymous",
                               page=lambda w: (w.signature, f"/j/{w.code}/evaluate")[1],
                               valid=lambda w: {"usefulness": "5", "change_practice": "yes",
                                                "best": "The scaphoid case.", "improve": "More time."},
                               path={"code": [lambda w: w.code]}, reset=_reset_evaluation),
    "register.register_action": Route(lambda w, action: f"/meetings/{w.live.id}/register/{action}",
                                      page=lambda w: f"/meetings/{w.live.id}/register", fields=("back",),
                                      path={"action": ["close", "open", "presence-on", "presence-off"]},
                                      reset=lambda w: _reopen_register(w)),
    "register.add_by_hand": Route(lambda w: f"/meetings/{w.live.id}/register/add",
                                  page=lambda w: f"/meetings/{w.live.id}/register",
                                  valid=lambda w: {"status": "present", "member_id": "0", "name": "Dr Pieter Paper",
                                                   "email": "pieter.paper@visiting.example.org",
                                                   "site": "Farholm"} | _registration()),
    "register.set_times": Route(lambda w: f"/meetings/{w.live.id}/register/{w.entry.id}/times",
                                page=lambda w: (w.entry, f"/meetings/{w.live.id}/register")[1],
                                valid=lambda w: {"arrived": "", "left": ""}),
    "register.remove": Route(lambda w: f"/meetings/{w.live.id}/register/{w.entry.id}/remove",
                             page=lambda w: (w.entry, f"/meetings/{w.live.id}/register")[1]),
    "register.reflection": Route(lambda w: f"/cpd/{w.attendance.id}/reflection", actor="member",
                                 page=lambda w: f"/cpd/{w.attendance.id}/reflection",
                                 valid=lambda w: {"reflection": "I will look at the lung windows.", "minutes": "20"}),
    # --- scheduling ---
    "schedule.new_meeting": Route(lambda w: "/meetings/new", page=lambda w: "/meetings/new", valid=_meeting_form),
    "schedule.new_series": Route(lambda w: "/series/new", page=lambda w: "/series/new", valid=_series_form),
    "schedule.edit_meeting": Route(lambda w: f"/meetings/{w.upcoming.id}/edit",
                                   page=lambda w: f"/meetings/{w.upcoming.id}/edit",
                                   valid=lambda w: _meeting_form(w) | {"send_invitations": ""}),
    "schedule.cancel_meeting": Route(lambda w: f"/meetings/{w.upcoming.id}/cancel",
                                     page=lambda w: f"/meetings/{w.upcoming.id}/cancel",
                                     reset=_reset_status(Meeting, lambda w: w.upcoming.id, MeetingStatus.SCHEDULED)),
    "schedule.send_invitations": Route(lambda w: f"/meetings/{w.upcoming.id}/invitations",
                                       page=lambda w: f"/meetings/{w.upcoming.id}"),
    "schedule.retry_invitations": Route(lambda w: f"/meetings/{w.upcoming.id}/invitations/retry"),
    # --- minutes ---
    "minutes.save_section": Route(lambda w: f"/meetings/{w.ended.id}/minutes/cases/{w.ended_cases[0].id}",
                                  page=lambda w: f"/meetings/{w.ended.id}/minutes"),
    "minutes.save_other_business": Route(lambda w: f"/meetings/{w.ended.id}/minutes/other-business",
                                         page=lambda w: f"/meetings/{w.ended.id}/minutes",
                                         valid=lambda w: {"text": "The new PACS arrives in May."}),
    "minutes.publish": Route(lambda w: f"/meetings/{w.ended.id}/minutes/publish",
                             page=lambda w: f"/meetings/{w.ended.id}/minutes",
                             valid=lambda w: {"note": "Corrected the date of the next meeting."}),
    "minutes.retry": Route(lambda w: f"/meetings/{w.ended.id}/minutes/retry", fields=("x",)),
    # --- feedback and pats on the back ---
    "feedback.send_feedback": Route(lambda w: f"/meetings/{w.ended.id}/feedback/{w.ended_cases[2].id}",
                                    page=lambda w: f"/meetings/{w.ended.id}/feedback/{w.ended_cases[2].id}",
                                    valid=lambda w: {"message": "Thank you for the learning.",
                                                     "home_site_id": str(w.other_site.id)},
                                    fields=("preview",), reset=_reset_feedback),
    # Retrying is offered only once an email has failed: there is no form to read until then.
    "feedback.retry_feedback": Route(lambda w: f"/meetings/{w.ended.id}/feedback/{w.ended_cases[0].id}/retry"),
    "feedback.acknowledge": Route(lambda w: f"/feedback/{w.feedback(w.ended_cases[0]).id}/acknowledge",
                                  actor="member", page=lambda w: f"/feedback/{w.feedback(w.ended_cases[0]).id}"),
    "feedback.reflection": Route(lambda w: f"/feedback/{w.feedback(w.ended_cases[0]).id}/reflection",
                                 actor="member", page=lambda w: f"/feedback/{w.feedback(w.ended_cases[0]).id}",
                                 valid=lambda w: {"reflection": "I will review the lung windows.", "minutes": "15"}),
    "feedback.link_open": Route(lambda w, token: f"/f/{token}/open", actor="anonymous",
                                page=lambda w: f"/f/{w.link}", path={"token": [lambda w: w.link]}),
    "feedback.link_acknowledge": Route(lambda w, token: f"/f/{token}/acknowledge", actor="anonymous",
                                       page=lambda w: (_open_link(w), f"/f/{w.link}")[1],
                                       path={"token": [lambda w: w.link]}),
    "feedback.link_reflection": Route(lambda w, token: f"/f/{token}/reflection", actor="anonymous",
                                      page=lambda w: (_open_link(w), f"/f/{w.link}")[1],
                                      valid=lambda w: {"reflection": "I will ask for scaphoid views.",
                                                       "minutes": "10"},
                                      path={"token": [lambda w: w.link]}),
    # A new link is offered only on a link that expired or that another device holds.
    "feedback.new_link": Route(lambda w, token: f"/f/{token}/new-link", actor="anonymous",
                               path={"token": [lambda w: w.link]}),
    "feedback.new_pat": Route(lambda w: "/pats/new", page=lambda w: "/pats/new",
                              valid=lambda w: {"recipient_id": str(w.member.id), "reason": "great_pickup",
                                               "message": "Lovely spot on the scaphoid.", "case_id": "0"}),
    "feedback.keep_pat": Route(lambda w: f"/pats/{w.pat.id}/keep", actor="member",
                               page=lambda w: f"/pats/{w.pat.id}", valid=lambda w: {"keep": "yes"}),
    "actions.change_status": Route(
        lambda w: f"/actions/{w.action.id}/status", page=lambda w: (w.ended, f"/actions/{w.action.id}")[1],
        valid=lambda w: {"to": "in_progress", "note": "Started on it.",
                         "version": str(w.fresh(type(w.action), w.action.id).version), "view": "detail"},
        fields=("to", "note", "version", "view", "next", "show_owner")),
}


def _requeue(w: World) -> None:
    case = w.fresh(Case, w.upcoming_cases[1].id)
    case.meeting_id, case.queue_position, case.status = w.upcoming.id, 1, CaseStatus.SCHEDULED
    db.session.commit()


def _reopen_register(w: World) -> None:
    register = w.fresh(Register, w.live.id)
    register.closed_at = None
    db.session.commit()


def _open_link(w: World) -> None:
    """Open the feedback link on this client (its device claims it), as the reporter does first."""
    w.as_(None)
    assert w.client.post(f"/f/{w.link}/open").status_code == 303


def _walk_url_map() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every POST route and every GET route (endpoint, rule), read from the URL map when the tests are
    collected: a throwaway app, connected to nothing."""
    app = create_app({"TESTING": True, "SECRET_KEY": "collect-only", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    try:
        rules = [(rule.endpoint, rule.rule, rule.methods) for rule in app.url_map.iter_rules()]
    finally:
        app.wsgi_app.engine.dispose()
    return tuple(sorted({(endpoint, rule) for endpoint, rule, methods in rules if method in methods
                         and endpoint != "static"}) for method in ("POST", "GET"))


POST_ROUTES, GET_ROUTES = _walk_url_map()


def _generic(endpoint: str, rule: str) -> Route:
    """A route added since this table was written: the world's ids by their names, posted by the boss."""
    return Route(lambda w: rule_url(w, endpoint, rule)[0])


def rule_url(w: World, endpoint: str, rule: str, path_values: dict | None = None) -> tuple[str, list[str]]:
    """A rule's URL on the world's ids and real codes and links (string path arguments as given in
    `path_values`, percent-encoded), and the names of its string path arguments."""
    ints = {"meeting_id": lambda: w.live.id, "case_id": lambda: w.live_cases[0].id,
            "image_id": lambda: w.live_cases[0].images[0].id, "user_id": lambda: w.member.id,
            "site_id": lambda: w.site.id, "attendance_id": lambda: w.entry.id, "action_id": lambda: w.action.id,
            "feedback_id": lambda: w.feedback(w.ended_cases[0]).id, "pat_id": lambda: w.pat.id,
            "poll_id": lambda: w.poll.id}
    tokens = {"auth.accept_invite": lambda: invite_token(w.fresh(User, w.invitee.id)),
              "calendar.personal_feed": lambda: feeds.token_for(w.fresh(User, w.boss.id))}
    strings = {"code": lambda: w.site.code if endpoint == "calendar.site_feed" else w.code,
               "token": lambda: tokens.get(endpoint, lambda: w.link)()}
    named: list[str] = []

    def value(match):
        converter, name = match.group(1) or "", match.group(2)
        if "int" in converter:
            return str(ints.get(name, lambda: 1)())
        named.append(name)
        given_value = (path_values or {}).get(name)
        return urllib.parse.quote(given_value if given_value is not None else strings.get(name, lambda: "x")(),
                                  safe="")
    return re.sub(r"<(?:([a-z]+):)?([a-z_]+)>", value, rule), named


# --- driving a route -----------------------------------------------------------------------------------


def _visible_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return " ".join(re.sub(r"(?s)<[^>]+>", " ", html).split())


def check(response, what: str) -> None:
    """The answer to hostile input: a 4xx with a message a person can act on, or a clean success; never a
    500, and nothing sent reflected as live markup."""
    status = response.status_code
    data = response.get_data()  # a download streams: read it all, so its request context is closed now
    response.close()
    assert status < 500, f"{what}: {status}"
    if not response.mimetype.startswith("text/") or response.mimetype in ("text/csv", "text/calendar"):
        return  # an image, a PDF, a download: made by the app, not from what was sent
    body = data.decode("utf-8", "replace")
    if response.mimetype == "text/html":
        for marker in REFLECTED:
            assert marker not in body, f"{what}: {marker!r} reflected unescaped"
    if 400 <= status < 500:
        text = _visible_text(body)
        assert len(re.findall(r"[A-Za-z]{2,}", text)) >= 3, f"{what}: {status} without a message: {body[:300]!r}"
        if status == 422:  # the form again, with what was wrong beside it
            assert re.search(r'nhsuk-error|role="alert"', body), f"{what}: 422 without an error shown: {text[:300]!r}"


def _encode_raw(pairs: list[tuple[str, str | bytes]]) -> bytes:
    """A urlencoded body that may carry bytes that are not UTF-8 at all."""
    parts = []
    for name, value in pairs:
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        parts.append(urllib.parse.quote_from_bytes(name.encode("utf-8", "surrogatepass"), safe="").encode()
                     + b"=" + (raw if isinstance(value, bytes) else urllib.parse.quote_from_bytes(raw).encode()))
    return b"&".join(parts)


def send(client, url: str, pairs: list[tuple[str, str | bytes]], mode: str = "form", htmx: bool = False):
    """Post `pairs` as a browser's form ("form"), as multipart ("multipart"), as raw bytes that need not be
    UTF-8 ("raw"), or with a file where the field named after "file:" expects text."""
    headers = {"HX-Request": "true"} if htmx else {}
    if mode == "raw" or any(isinstance(v, bytes) for _, v in pairs):
        return client.post(url, data=_encode_raw(pairs), headers=headers,
                           content_type="application/x-www-form-urlencoded")
    data: dict[str, list] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    if mode.startswith("file:"):
        data[mode[5:]] = [(io.BytesIO(b"%PDF-1.4 not text " + SCRIPT.encode()), "hostile.pdf")]
    if mode != "form":
        return client.post(url, data=data, headers=headers, content_type="multipart/form-data")
    return client.post(url, data=data, headers=headers)


def _url(w: World, route: Route, path_values: dict | None = None) -> str:
    """The route's URL: its string path arguments as given (percent-encoded), else their real values."""
    args = {}
    for name, choices in route.path.items():
        value = (path_values or {}).get(name)
        if value is None:
            value = choices[0](w) if callable(choices[0]) else choices[0]
        args[name] = urllib.parse.quote(value, safe="")
    return route.url(w, **args)


def _actor(w: World, route: Route) -> User | None:
    return {"boss": lambda: w.boss, "member": lambda: w.member, "anonymous": lambda: None}[route.actor]()


@dataclass
class Driven:
    """A route ready to drive: every field name it takes, and the values its page would send."""

    endpoint: str
    route: Route
    names: list[str]
    defaults: dict[str, list]

    def baseline(self, w: World) -> dict[str, list]:
        values = {name: list(v) for name, v in self.defaults.items()}
        for name, value in self.route.valid(w).items():
            values[name] = value if isinstance(value, list) else [value]
        return values

    def before_each(self, w: World) -> None:
        """Put back what the last request changed, and sign in again as the route's actor."""
        limiter.reset()
        if self.route.reset is not None:
            self.route.reset(w)
        db.session.expire_all()
        w.as_(_actor(w, self.route))

    def post(self, w: World, changes=(), extras=(), path_values=None, mode="form", htmx=False):
        """Post the baseline with `changes` made; None when that would only show a known bug again."""
        self.before_each(w)
        url = _url(w, self.route, path_values)
        pairs = build_pairs(self.baseline(w), changes, extras)
        if known_bug(self.endpoint, pairs + [(f"<{k}>", v) for k, v in (path_values or {}).items() if v], mode):
            return None, url
        return send(w.client, url, pairs, mode, htmx), url


def drive(w: World, endpoint: str, rule: str, require_form: bool = True) -> Driven:
    """Sign in as the route's actor, read its page, and find the form (or button) that posts to it."""
    route = ROUTES.get(endpoint) or _generic(endpoint, rule)
    w.boss  # noqa: B018 - every world has its admin
    target = urllib.parse.urlsplit(_url(w, route)).path  # makes what the route acts on, before its page
    if route.reset is not None:
        route.reset(w)
    names: dict[str, None] = {}
    defaults: dict[str, list] = {}
    if route.page is not None:
        page_url = route.page(w)
        w.as_(_actor(w, route))
        page = w.client.get(page_url)
        assert page.status_code == 200, (endpoint, page_url, page.status_code)
        forms = [form for form in forms_on(page.get_data(as_text=True), page_url)
                 if form["url"] == target and form["method"] == "post"]
        assert forms or not require_form, f"{endpoint}: no form on {page_url} posts to {target}"
        for form in forms:
            # The client sends the session's CSRF token in a header (tests/test_security.py covers it).
            names.update((n, None) for n in form["names"] if not n.endswith("csrf_token"))
            for name, values in form["values"].items():
                if not name.endswith("csrf_token"):
                    defaults.setdefault(name, values)
    names.update((n, None) for n in list(route.valid(w)) + list(route.fields))
    return Driven(endpoint, route, list(names), defaults)


def build_pairs(base: dict[str, list], changes, extras) -> list[tuple[str, str | bytes]]:
    fields = {name: list(v) for name, v in base.items()}
    for name, op, value in changes:
        first = (fields.get(name) or [""])[0]
        if op == "drop":
            fields.pop(name, None)
        elif op == "twice":
            fields[name] = [value, *(fields.get(name) or [""])]
        elif op == "append" and isinstance(value, str) and isinstance(first, str):
            fields[name] = [first + value]
        else:
            fields[name] = [value]
    return [(name, value) for name, vs in fields.items() for value in vs] + list(extras)


@st.composite
def requests(draw, names: list[str], path: dict, world_ids: list[str]):
    """One hostile request: up to four fields changed (to a hostile value, dropped, sent twice, or with
    something hostile after a good value), unknown fields added, now and then a string path argument
    replaced, and how it is encoded."""
    values = hostile_values(world_ids)
    changes = draw(st.lists(st.tuples(st.sampled_from(names or ["field"]),
                                      st.sampled_from(["set", "set", "set", "drop", "twice", "append"]), values),
                            max_size=4))
    extra_names = st.one_of(st.sampled_from(EXTRA_NAMES), st.text(_text_alphabet(), max_size=12))
    extras = draw(st.lists(st.tuples(extra_names, values), max_size=2))
    # A string path argument: mostly its real value (None), else another real one or a hostile one, which
    # mostly finds nothing (a 404).
    path_values = {name: draw(st.sampled_from([None] * 5 + [c for c in choices if isinstance(c, str)] + [
        SCRIPT, "..", NUL, "x" * 300, "\u202e", "' OR 1=1 --"])) for name, choices in path.items()}
    mode = draw(st.sampled_from(["form", "form", "raw", "multipart", "file"]))
    if mode == "file":
        mode = "file:" + draw(st.sampled_from(names or ["field"]))
    htmx = draw(st.booleans())
    return changes, extras, path_values, mode, htmx


# Each field alone: empty, missing, a digit int() refuses ("²".isdigit() is true), digits too many for int(),
# and a file where text is expected; and a NUL on PostgreSQL, which cannot store one (SQLite can: there,
# hypothesis sends NULs now and then).
DIGITS = "9" * 5000
SWEEP = [("set", ""), ("drop", None), ("set", "²"), ("set", DIGITS), ("file", None)] + [
    ("set", "nul\x00byte")] * ON_POSTGRES


def free_text(value) -> bool:
    """A name, a title, a note: words and spaces, not an id, a number, a code or a choice."""
    return isinstance(value, str) and re.search(r"[A-Za-z]+\s+[A-Za-z]", value) is not None


def swept(names: list[str]) -> list[str]:
    """The fields to sweep one by one: of a numbered set (images-0-file, images-1-file, ...), the first."""
    seen, kept = set(), []
    for name in names:
        family = re.sub(r"-\d+-", "-n-", name)
        if family == name or family not in seen:
            kept.append(name)
        seen.add(family)
    return kept


@pytest.mark.parametrize("endpoint,rule", POST_ROUTES, ids=[e for e, _ in POST_ROUTES])
def test_every_form_survives_hostile_input(app, client, endpoint, rule):
    w = World(app, client)
    driven = drive(w, endpoint, rule)
    response, url = driven.post(w)
    # The baseline itself goes through, so the hostile requests below start from one that would.
    assert response.status_code < 400 or endpoint not in ROUTES, (url, response.status_code)
    check(response, f"{endpoint} {url} as its page sends it")

    baseline = driven.baseline(w)
    for n, (name, (op, value)) in enumerate((name, sweep) for name in swept(driven.names) for sweep in SWEEP):
        if value == DIGITS and free_text((baseline.get(name) or [""])[0]):
            continue  # digits in a note are words: the ones int() reads are ids, numbers and choices
        mode = f"file:{name}" if op == "file" else "form"
        response, url = driven.post(w, [] if op == "file" else [(name, op, value)], mode=mode, htmx=n % 2 == 1)
        if response is not None:
            check(response, f"{endpoint} {url}: {name} {op} {value!r}")

    # A route that takes no fields has only unknown fields and its path to vary: fewer examples do.
    @given(requests(driven.names, driven.route.path, w.ids()))
    @settings(HOSTILE, max_examples=EXAMPLES if driven.names else max(3, EXAMPLES // 3))
    def hostile(request):
        changes, extras, path_values, mode, htmx = request
        response, url = driven.post(w, changes, extras, path_values, mode, htmx)
        if response is None:
            reject()  # a known bug, shown by test_known_bugs
        check(response, f"{endpoint} {url} {mode}{' htmx' if htmx else ''}")

    hostile()
    # What was saved is shown back escaped too: the route's own page, read again.
    if driven.route.page is not None:
        driven.before_each(w)
        check(client.get(driven.route.page(w)), f"{endpoint}: its page after the hostile posts")


# --- bugs found, each kept failing until it is fixed --------------------------------------------------


def _first(pairs, name: str):
    return next((value for key, value in pairs if key == name), None)


def _as_text(value) -> str:
    return urllib.parse.unquote_to_bytes(value).decode("utf-8", "replace") if isinstance(value, bytes) else value




@dataclass
class Bug:
    reason: str
    endpoints: tuple[str, ...]  # "*": every POST route
    triggered: Callable[[list, str], bool]  # by the pairs posted, and how they were encoded
    # Per route shown ("*": any), the smallest request that shows it: changes to the route's baseline, extra
    # fields, the encoding ("query": a GET, the changes its query string), and string path arguments.
    demo: dict[str, tuple]
    raises: type[BaseException] = Exception
    postgres_only: bool = False

    def applies(self, endpoint: str) -> bool:
        return "*" in self.endpoints or endpoint in self.endpoints

    def shown_on(self) -> list[str]:
        return [e for e in self.demo if e != "*"] or list(self.endpoints)


def _nameless_part(pairs, mode: str) -> bool:
    """Whether werkzeug reads a field of this multipart body without a name (None)."""
    if not (mode == "multipart" or mode.startswith("file:")) or any(isinstance(v, bytes) for _, v in pairs):
        return False
    data: dict[str, list] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    environ = EnvironBuilder(method="POST", data=data, content_type="multipart/form-data").get_environ()
    return None in Request(environ).form



# The Flask-WTF forms: all read a file posted where they expect text (the sweep found each one).
FILE_FOR_TEXT = (
    "actions.capture", "admin.edit_site", "admin.edit_user", "admin.invite_user", "admin.sites",
    "auth.accept_invite", "auth.sign_in", "cases.decline", "cases.edit", "cases.more_info", "cases.notice",
    "cases.submit", "feedback.link_reflection", "feedback.new_pat", "feedback.reflection",
    "feedback.send_feedback", "minutes.publish", "minutes.save_other_business", "minutes.save_section",
    "register.add_by_hand", "register.evaluate", "register.reflection", "register.set_times", "register.sign",
    "schedule.edit_meeting", "schedule.new_meeting", "schedule.new_series",
)

BUGS = {
    "file-where-text-is-expected": Bug(
        "Bug: a file posted (multipart) where a form expects text is a 500 on every Flask-WTF form with a text "
        "field: Flask-WTF merges request.files into the form data, so the field's data is a FileStorage and "
        "Length (wtforms/validators.py:144), .strip() or the database driver fails on it.",
        FILE_FOR_TEXT, lambda pairs, mode: mode.startswith("file:"),
        {"auth.sign_in": ([], [], "file:email"), "register.sign": ([], [], "file:name"),
         "admin.sites": ([], [], "file:name"), "cases.submit": ([], [], "file:upload_token")}),
    "multipart-part-without-a-name": Bug(
        "Bug: any POST whose multipart body has a part without a readable name (Content-Disposition: form-data, "
        "no name=) is a 500 before the view runs, when the CSRF token comes in the X-CSRFToken header (as "
        "htmx sends it): werkzeug files the part under None and Flask-WTF's CSRFProtect._get_csrf_token "
        "calls None.endswith (flask_wtf/csrf.py:251).",
        ("*",), _nameless_part,
        {endpoint: ([], [("\n", "x")], "multipart") for endpoint in ("auth.sign_in", "calendar.reset")},
        AttributeError),
}


def known_bug(endpoint: str, pairs, mode: str = "form") -> str | None:
    return next((name for name, bug in BUGS.items() if bug.applies(endpoint) and bug.triggered(pairs, mode)),
                None)


@pytest.mark.parametrize("name,endpoint", [
    pytest.param(name, endpoint, id=f"{name}-{endpoint}", marks=pytest.mark.xfail(
        ON_POSTGRES or not bug.postgres_only, strict=True, raises=bug.raises, reason=bug.reason))
    for name, bug in BUGS.items() for endpoint in bug.shown_on()])
def test_known_bugs(app, client, name, endpoint):
    """Each bug found, shown by the smallest request: these fail (xfail, strict) until the bug is fixed."""
    w = World(app, client)
    bug = BUGS[name]
    changes, extras, mode, *path_values = bug.demo.get(endpoint) or bug.demo["*"]
    if mode == "query":
        url, _ = rule_url(w, endpoint, dict(GET_ROUTES)[endpoint], path_values[0] if path_values else None)
        w.as_(w.boss)
        query = urllib.parse.urlencode([(k, v) for k, _, v in changes])
        check(client.get(url, query_string=query), f"GET {url}?{query[:80]}")
        return
    driven = drive(w, endpoint, dict(POST_ROUTES)[endpoint])
    driven.before_each(w)
    pairs = build_pairs(driven.baseline(w), changes, extras)
    url = _url(w, driven.route, path_values[0] if path_values else None)
    check(send(client, url, pairs, mode, htmx=True), f"{endpoint} {url} {mode} {pairs}")


# --- searches, filters and links: hostile query strings and path arguments --------------------------------

# What each GET route reads from its query string (grep request.args); the pages' own search and filter
# forms are read too, so a filter added to a page is driven without being listed here.
QUERY_ARGS = {
    "actions.index": ("status", "site", "owner", "meeting", "overdue", "due_within", "q", "sort", "page"),
    "actions.export": ("status", "site", "owner", "meeting", "overdue", "due_within", "q", "sort"),
    "actions.mine": ("show",),
    "admin.users": ("q", "page"),
    "auth.sign_in": ("next",),
    "cases.submit": ("kind",),
    "feedback.new_pat": ("to", "for"),
    "governance.index": ("site", "year", "from", "to"),
    "governance.site": ("year", "from", "to"),
    "governance.network": ("year", "from", "to"),
    "governance.incident_export": ("year", "from", "to"),
    "governance.annual_report": ("year",),
    "library.index": ("q", "modality", "body_region", "kind", "discrepancy_type", "year", "page"),
    "live.console_room": ("v", "votes", "register", "case"),
    "live.projector_live": ("v", "votes", "register"),
    "live.audience_live": ("v",),
    "minutes.current_pdf": ("draft",),
    "register.my_cpd": ("year",),
    "register.cpd_pdf": ("year",),
    "register.signed": ("already", "evaluated"),
}
ANONYMOUS_GETS = {"auth.sign_in", "auth.accept_invite"}
GET_SWEEP = ["", "²", str(2**70), "9" * 5000, SCRIPT + IMG + "' OR 1=1 --\u202e"] + ["nul\x00byte"] * ON_POSTGRES
PATH_SWEEP = [SCRIPT + IMG, "' OR 1=1 --\u202e.." + "x" * 300] + ["nul\x00byte"] * ON_POSTGRES
SLOW = (".pdf", ".csv", ".ics")  # made afresh each time: driven by a few values, not by every one


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def store_markup(w: World) -> int:
    """Markup after the text of every form's free-text fields (names, titles, notes, messages), one field at a
    time, so that what is saved is shown on the pages read afterwards."""
    stored = 0
    for endpoint, rule in POST_ROUTES:
        if endpoint not in ROUTES:
            continue
        driven = drive(w, endpoint, rule, require_form=False)  # in one world, some forms have gone
        for name, values in driven.baseline(w).items():
            if values and free_text(values[0]):
                response, url = driven.post(w, [(name, "append", SCRIPT + IMG)], htmx=stored % 2 == 1)
                check(response, f"{endpoint} {url}: markup after {name}")
                stored += response.status_code < 400
    return stored


def test_every_page_search_and_link_survives_hostile_input(app, client):
    """Every GET route: read once the forms have saved markup in every free-text field (it must come back
    escaped); then each query parameter it reads (or its page's search form sends), and each string in its
    path (join codes, links, certificate numbers), given hostile values; then random combinations."""
    w = World(app, client)
    for part in ("live", "ended", "invitee", "entry", "signature", "other_site", "submitted"):
        getattr(w, part)
    assert store_markup(w) >= 30
    w.as_(w.boss)
    targets: list[tuple[str, str, str, list[str], list[str]]] = []  # endpoint, rule, url, params, path names
    showing = []  # the pages that show some of the markup saved (escaped)
    for endpoint, rule in GET_ROUTES:
        url, path_names = rule_url(w, endpoint, rule)
        params = list(QUERY_ARGS.get(endpoint, ()))
        if not url.endswith(SLOW):
            w.as_(None if endpoint in ANONYMOUS_GETS else w.boss)
            limiter.reset()
            page = client.get(url)
            check(page, f"GET {url}")
            if page.mimetype == "text/html" and "&lt;script&gt;alert(1)" in page.get_data(as_text=True):
                showing.append(endpoint)
            if page.mimetype == "text/html":
                for form in forms_on(page.get_data(as_text=True), url):
                    if form["method"] == "get" and form["url"] == urllib.parse.urlsplit(url).path:
                        params += [n for n in form["names"] if n not in params]
        if params or path_names:
            targets.append((endpoint, rule, url, params, path_names))
    assert len(targets) >= 25, [t[0] for t in targets]
    assert len(showing) >= 15, showing  # what was saved is on the pages read, so they were checked

    def get(endpoint, rule, query: list[tuple[str, str | bytes]], path_values=None, htmx=False):
        limiter.reset()
        db.session.expire_all()
        w.as_(None if endpoint in ANONYMOUS_GETS else w.boss)
        url, _ = rule_url(w, endpoint, rule, path_values)
        pairs = query
        if known_bug(endpoint, pairs + [(f"<{k}>", v) for k, v in (path_values or {}).items() if v], "query"):
            return  # a known bug: test_known_bugs shows it
        # Every byte percent-encoded, as a URL carries it (invalid UTF-8 included).
        query = "&".join(urllib.parse.quote_from_bytes(_bytes(k)) + "=" + urllib.parse.quote_from_bytes(_bytes(v))
                         for k, v in pairs)
        response = client.get(url, query_string=query, headers={"HX-Request": "true"} if htmx else {})
        check(response, f"GET {url}?{query[:200]}")

    for endpoint, rule, url, params, path_names in targets:
        slow = url.endswith(SLOW)
        for n, (name, value) in enumerate((p, v) for p in params for v in (GET_SWEEP[1:4] if slow else GET_SWEEP)):
            get(endpoint, rule, [(name, value)], htmx=n % 2 == 1)
        for name, value in ((p, v) for p in path_names for v in (PATH_SWEEP[:1] if slow else PATH_SWEEP)):
            get(endpoint, rule, [], {name: value})

    fast = [t for t in targets if not t[2].endswith(SLOW)]

    @given(st.data())
    @settings(HOSTILE, max_examples=EXAMPLES * 3)
    def hostile(data):
        endpoint, rule, url, params, path_names = data.draw(st.sampled_from(fast))
        values = hostile_values(w.ids())
        query = data.draw(st.lists(st.tuples(st.sampled_from(params + EXTRA_NAMES), values), max_size=4))
        path_values = {name: data.draw(st.one_of(st.none(), st.text(_text_alphabet(), max_size=20)))
                       for name in path_names}
        get(endpoint, rule, query, path_values, data.draw(st.booleans()))

    hostile()
