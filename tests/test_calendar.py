"""Calendars: scheduling meetings and series, emailed invitations (REQUEST, updates, CANCEL), "Add to calendar",
personal and site feeds. Every .ics is read back with icalendar and with ical.js."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from meetings.calendar import feeds
from meetings.extensions import db
from meetings.models import (
    ActionStatus, Case, CaseStatus, Delivery, DeliveryStatus, Meeting, MeetingScope, MeetingStatus, Role,
)
from aiosmtpd.controller import Controller

from tests.conftest import Mailbox, _free_port, signed_in
from tests.factories import make_action, make_case, make_meeting, make_site, make_user
from tests.ics.reading import feed_path, invite_of, read_both, with_icaljs

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def site_people(client, login_as):
    """A chair signed in at a site with two members and a mailing list, and a member of another site."""
    site = make_site(name="Calder Vale Hospital", code="CVH")
    site.invite_distribution = "radiology-all@calder.example.org"
    chair = login_as(Role.CHAIR, home_site=site, name="Dr Ada Chair", email="ada.chair@calder.example.org")
    members = [make_user(Role.MEMBER, home_site=site, name=f"Member {n}", email=f"member{n}@calder.example.org")
               for n in (1, 2)]
    elsewhere = make_user(Role.MEMBER, name="Someone Elsewhere", email="else@other.example.org")
    db.session.commit()
    return {"site": site, "chair": chair, "members": members, "elsewhere": elsewhere}


def _meeting_form(site, day: date, **overrides) -> dict:
    form = {"title": "Calder Vale REAL meeting", "scope": "local", "site_id": site.id, "day": day.isoformat(),
            "start_time": "12:30", "end_time": "14:00", "location": "Seminar room 2",
            "online_url": "https://teams.example.org/l/meetup/calder", "reminder_minutes": "30", "listed": "y",
            "send_invitations": "y"}
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def _schedule(client, site, day: date, **overrides) -> Meeting:
    response = client.post("/meetings/new", data=_meeting_form(site, day, **overrides))
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalar(select(Meeting).order_by(Meeting.id.desc()))


def _by_recipient(messages) -> dict:
    return {message["To"]: message for message in messages}


def _event(ics: bytes):
    calendar, icaljs = read_both(ics)
    [event] = calendar.events
    [js] = icaljs["events"]
    return calendar, event, icaljs, js


# --- invitations ---------------------------------------------------------------------------------

def test_scheduling_a_meeting_emails_each_invitee_a_request(client, site_people, smtp_server):
    day = date.today() + timedelta(days=20)
    meeting = _schedule(client, site_people["site"], day)
    messages = _by_recipient(smtp_server.messages)
    # Members and the list; not the chair (the organizer), nobody from elsewhere.
    assert set(messages) == {"member1@calder.example.org", "member2@calder.example.org",
                             "radiology-all@calder.example.org"}
    message = messages["member1@calder.example.org"]
    assert message["Subject"].startswith("Invitation: Calder Vale REAL meeting")
    inline = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    assert inline.get_param("method") == "REQUEST"
    calendar, event, icaljs, js = _event(invite_of(message))

    assert calendar["METHOD"] == "REQUEST" and icaljs["method"] == "REQUEST"
    assert str(event["UID"]) == meeting.uid == js["uid"]
    assert event["SEQUENCE"] == 0 and js["sequence"] == 0 and js["status"] == "CONFIRMED"
    assert isinstance(event["DTSTAMP"].dt, datetime)
    # Local wall-clock time with the zone, agreed by both parsers, and the same instant as stored.
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.start.astimezone(LONDON).time() == time(12, 30)
    assert js["start"]["local"].endswith("T12:30:00") and js["start"]["zone"] == "Europe/London"
    assert datetime.fromisoformat(js["start"]["utc"].replace("Z", "+00:00")) == meeting.starts_at
    assert [tz["TZID"] for tz in calendar.timezones] == ["Europe/London"]
    # The organizer is the chair; the only attendee is the recipient, asked to reply.
    assert str(event["ORGANIZER"]).lower() == "mailto:ada.chair@calder.example.org"
    assert js["attendees"] == [{"address": "mailto:member1@calder.example.org", "cn": "Member 1",
                                "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE",
                                "cutype": "INDIVIDUAL"}]
    assert event["LOCATION"] == "Seminar room 2" and event["URL"] == meeting.online_url == js["url"]
    assert js["alarms"] == ["-PT30M"]
    description = str(event["DESCRIPTION"])
    assert "Agenda: cases to be confirmed." in description
    assert f"/meetings/{meeting.id}" in description and "Join online: https://teams.example.org" in description
    assert f"/j/{meeting_code(meeting)}/sign" in description

    # The list is a group: its members reply for themselves.
    _, group_event, _, group_js = _event(invite_of(messages["radiology-all@calder.example.org"]))
    assert group_js["attendees"][0]["cutype"] == "GROUP" and group_js["attendees"][0]["rsvp"] == "FALSE"


def meeting_code(meeting: Meeting) -> str:
    from meetings.live.service import state_of
    return state_of(meeting).join_code


def test_rescheduling_sends_an_update_with_the_same_uid_and_a_higher_sequence(client, site_people, smtp_server):
    day = date.today() + timedelta(days=20)
    meeting = _schedule(client, site_people["site"], day)
    uid = meeting.uid
    # Someone who joins the site after the invitation is invited with the update too.
    make_user(Role.MEMBER, home_site=site_people["site"], email="newcomer@calder.example.org")
    db.session.commit()
    smtp_server.messages.clear()

    response = client.post(f"/meetings/{meeting.id}/edit", data=_meeting_form(
        site_people["site"], day + timedelta(days=1), send_invitations=None, location="Lecture theatre"))
    assert response.status_code == 303
    db.session.refresh(meeting)
    assert meeting.uid == uid and meeting.ical_sequence == 1
    messages = _by_recipient(smtp_server.messages)
    assert set(messages) == {"member1@calder.example.org", "member2@calder.example.org",
                             "radiology-all@calder.example.org", "newcomer@calder.example.org"}
    message = messages["member2@calder.example.org"]
    assert message["Subject"].startswith("Updated invitation:")
    _, event, _, js = _event(invite_of(message))
    assert js["uid"] == uid and js["sequence"] == 1 and event["LOCATION"] == "Lecture theatre"
    assert js["start"]["local"] == f"{(day + timedelta(days=1)).isoformat()}T12:30:00"

    # A new title is sent without a new SEQUENCE (clients take the later DTSTAMP); an unchanged form sends nothing.
    smtp_server.messages.clear()
    client.post(f"/meetings/{meeting.id}/edit", data=_meeting_form(
        site_people["site"], day + timedelta(days=1), send_invitations=None, location="Lecture theatre",
        title="Calder Vale REAL meeting (CT focus)"))
    db.session.refresh(meeting)
    assert meeting.ical_sequence == 1 and len(smtp_server.messages) == 4
    smtp_server.messages.clear()
    client.post(f"/meetings/{meeting.id}/edit", data=_meeting_form(
        site_people["site"], day + timedelta(days=1), send_invitations=None, location="Lecture theatre",
        title="Calder Vale REAL meeting (CT focus)"))
    assert smtp_server.messages == []


def test_cancelling_sends_cancel_and_returns_the_queue_to_triage(client, site_people, smtp_server):
    meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=20))
    case = make_case(site_people["members"][0], meeting=meeting)
    db.session.commit()
    smtp_server.messages.clear()

    page = client.get(f"/meetings/{meeting.id}/cancel").get_data(as_text=True)
    assert "1 case queued for it go back to triage" in page
    assert client.post(f"/meetings/{meeting.id}/cancel").status_code == 303
    db.session.refresh(meeting)
    assert meeting.status == MeetingStatus.CANCELLED and meeting.ical_sequence == 1
    assert db.session.get(Case, case.id).status == CaseStatus.ACCEPTED

    messages = _by_recipient(smtp_server.messages)
    assert len(messages) == 3
    message = messages["member1@calder.example.org"]
    assert message["Subject"].startswith("Cancelled:")
    inline = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    assert inline.get_param("method") == "CANCEL"
    calendar, event, icaljs, js = _event(invite_of(message))
    assert calendar["METHOD"] == "CANCEL" and icaljs["method"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED" == js["status"] and js["uid"] == meeting.uid and js["sequence"] == 1
    assert js["alarms"] == []

    # A cancelled meeting cannot be changed.
    client.post(f"/meetings/{meeting.id}/edit", data=_meeting_form(site_people["site"], date.today()))
    db.session.refresh(meeting)
    assert meeting.ical_sequence == 1


def test_an_invitation_waiting_for_the_mail_server_goes_out_as_the_meeting_is_now(client, site_people, app):
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", _free_port()  # nobody listening
    try:
        meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=20))
        failed = db.session.scalars(select(Delivery).where(Delivery.kind == "invitation")).all()
        assert len(failed) == 3 and {d.status for d in failed} == {DeliveryStatus.FAILED}
        assert "3 failed" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
        client.post(f"/meetings/{meeting.id}/cancel")
    finally:
        app.config["MAIL_SERVER"] = ""

    mailbox, port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", port
    try:
        result = app.test_cli_runner().invoke(args=["send-pending-mail"])
        assert result.exit_code == 0, result.output
    finally:
        app.config["MAIL_SERVER"] = ""
        controller.stop()
    # Each recipient gets the invitation and the cancellation, both built now: both say CANCEL.
    methods = sorted(read_both(invite_of(message))[0]["METHOD"] for message in mailbox.messages)
    assert methods == ["CANCEL"] * 6


# --- series --------------------------------------------------------------------------------------

def _series_form(site, starts_on: date, **overrides) -> dict:
    form = {"title": "Calder Vale REAL meeting", "scope": "local", "site_id": site.id, "repeats": "monthly-2",
            "ordinal": "1", "weekday": "1", "starts_on": starts_on.isoformat(), "start_time": "12:30",
            "end_time": "14:00", "location": "Seminar room 2", "online_url": "", "reminder_minutes": "",
            "listed": "y"}
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def test_a_series_makes_the_year_of_meetings_from_its_rule(client, site_people, smtp_server):
    starts_on = date(date.today().year + 1, 1, 1)
    response = client.post("/series/new", data=_series_form(site_people["site"], starts_on, send_invitations="y"))
    assert response.status_code == 303
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    # Every second month on the first Tuesday: six meetings, the Royal College's minimum.
    assert len(meetings) == 6
    for meeting in meetings:
        local = meeting.starts_at.astimezone(LONDON)
        assert local.weekday() == 1 and local.day <= 7 and local.time() == time(12, 30)
        assert meeting.series_date == local.date() and meeting.series_id == meetings[0].series_id
    assert [m.starts_at.astimezone(LONDON).month for m in meetings] == [1, 3, 5, 7, 9, 11]
    assert len({meeting.uid for meeting in meetings}) == 6
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every second month on the first Tuesday, 12:30–14:00" in page
    # One invitation per meeting per invitee.
    assert len(smtp_server.messages) == 6 * 3


def test_a_series_keeps_its_local_time_across_the_clock_changes(client, site_people):
    """The last Tuesday of each month for a year: in March after the clocks go forward (BST) and in November
    (GMT)."""
    starts_on = date.today() + timedelta(days=1)
    client.post("/series/new", data=_series_form(site_people["site"], starts_on, repeats="monthly-1", ordinal="-1",
                                                 send_invitations=None))
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    assert len(meetings) == 12
    march = next(m for m in meetings if m.starts_at.astimezone(LONDON).month == 3)
    november = next(m for m in meetings if m.starts_at.astimezone(LONDON).month == 11)
    assert march.starts_at.astimezone(LONDON).utcoffset() == timedelta(hours=1)  # after the last Sunday of March
    assert march.starts_at.astimezone(timezone.utc).time() == time(11, 30)
    assert november.starts_at.astimezone(timezone.utc).time() == time(12, 30)

    # The member's feed, read by both parsers: 12:30 local in both months, the right instant in each.
    member = site_people["members"][0]
    with client.application.test_request_context():
        ics = feeds.personal_feed(member)
    calendar, icaljs = read_both(ics)
    by_uid = {event["uid"]: event for event in icaljs["events"]}
    for meeting in (march, november):
        js = by_uid[meeting.uid]
        assert js["start"]["local"].endswith("T12:30:00") and js["recurring"] is False
        assert datetime.fromisoformat(js["start"]["utc"].replace("Z", "+00:00")) == meeting.starts_at
    for event in calendar.events:
        assert event.start.astimezone(LONDON).time() == time(12, 30)
    # The zone is written as yearly rules (what Outlook reads), not as a list of dates.
    [zone] = calendar.timezones
    assert {str(part["RRULE"]["BYDAY"][0]) for part in zone.subcomponents} == {"-1SU"}


def test_one_meeting_of_a_series_moves_or_is_cancelled_alone(client, site_people):
    starts_on = date(date.today().year + 1, 1, 1)
    response = client.post("/series/new", data=_series_form(site_people["site"], starts_on, send_invitations=None))
    first, second, third, *_ = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    before = {m.id: (m.starts_at, m.ical_sequence) for m in (first, third)}
    moved_to = second.series_date + timedelta(days=2)
    client.post(f"/meetings/{second.id}/edit", data=_meeting_form(site_people["site"], moved_to, location="Seminar room 2",
                                                                  online_url="", reminder_minutes=""))
    client.post(f"/meetings/{third.id}/cancel")
    for meeting in (first, second, third):
        db.session.refresh(meeting)
    assert second.starts_at.astimezone(LONDON).date() == moved_to and second.ical_sequence == 1
    assert third.status == MeetingStatus.CANCELLED
    assert {m.id: (m.starts_at, m.ical_sequence) for m in (first,)} == {first.id: before[first.id]}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Moved from {second.series_date:%a} {second.series_date.day} {second.series_date:%b}" in page
    assert page.count("Cancelled") == 1


# --- forms ---------------------------------------------------------------------------------------

def test_bad_input_is_explained_and_nothing_typed_is_lost(client, site_people):
    response = client.post("/meetings/new", data=_meeting_form(
        site_people["site"], date.today() - timedelta(days=1), end_time="12:00", online_url="teams meeting"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "<title>Error:" in page
    assert "The end time must be after the start time" in page and "The date must be today or later" in page
    assert "Enter the full link, starting https://" in page
    assert 'value="Seminar room 2"' in page and 'value="teams meeting"' in page
    assert db.session.scalar(select(Meeting)) is None
    # A meeting keeps its date when edited, but cannot be moved into the past.
    meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=3), send_invitations=None)
    response = client.post(f"/meetings/{meeting.id}/edit", data=_meeting_form(
        site_people["site"], date.today() - timedelta(days=1), send_invitations=None))
    assert response.status_code == 422 and "The date must be today or later" in response.get_data(as_text=True)


def test_who_may_schedule(client, site_people, login_as):
    other = make_site(name="Other General", code="OGH")
    db.session.commit()
    # A chair cannot schedule for a site that is not theirs.
    response = client.post("/meetings/new", data=_meeting_form(other, date.today() + timedelta(days=3)))
    assert response.status_code == 422 and "Choose a site you schedule meetings for" in response.get_data(as_text=True)
    member = make_user(Role.MEMBER, home_site=site_people["site"])
    db.session.commit()
    signed_in(client, member)
    assert client.get("/meetings/new").status_code == 403
    assert client.get("/series/new").status_code == 403
    meeting = make_meeting(chair=site_people["chair"])
    db.session.commit()
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 404
    assert client.post(f"/meetings/{meeting.id}/cancel").status_code == 404


# --- downloads and feeds -------------------------------------------------------------------------

def test_add_to_calendar_and_the_invite_command(client, site_people, app, tmp_path):
    meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=9), send_invitations=None)
    assert "Add to calendar" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Add to calendar" in client.get(f"/meetings/{meeting.id}/queue").get_data(as_text=True)
    response = client.get(f"/meetings/{meeting.id}/calendar.ics")
    assert response.mimetype == "text/calendar"
    calendar, event, icaljs, js = _event(response.data)
    assert calendar["METHOD"] == "PUBLISH" and js["uid"] == meeting.uid and js["attendees"] == []
    # A member of another site cannot see the meeting.
    signed_in(client, site_people["elsewhere"])
    assert client.get(f"/meetings/{meeting.id}/calendar.ics").status_code == 404

    out = tmp_path / "invite.ics"
    result = app.test_cli_runner().invoke(args=["invite", str(meeting.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    calendar, event, icaljs, js = _event(out.read_bytes())
    assert calendar["METHOD"] == "REQUEST" and js["uid"] == meeting.uid
    assert {a["address"] for a in js["attendees"]} == {"mailto:member1@calder.example.org",
                                                       "mailto:member2@calder.example.org",
                                                       "mailto:radiology-all@calder.example.org"}
    assert app.test_cli_runner().invoke(args=["invite", "999999", "--out", str(out)]).exit_code != 0


def test_the_personal_feed_is_bounded_private_and_carries_open_actions(client, site_people, app):
    chair, member = site_people["chair"], site_people["members"][0]
    soon = make_meeting(chair=chair, days_ahead=10, title="Soon", online_url="https://teams.example.org/soon")
    recent = make_meeting(chair=chair, days_ahead=-30, title="Recent", status=MeetingStatus.ENDED)
    make_meeting(chair=chair, days_ahead=-200, title="Long ago")
    make_meeting(chair=chair, days_ahead=400, title="Too far ahead")
    regional = make_meeting(chair=site_people["elsewhere"], days_ahead=20, title="Network meeting",
                            scope=MeetingScope.REGIONAL, site=None)
    make_meeting(chair=make_user(Role.CHAIR), days_ahead=5, title="Another site's meeting")
    cancelled = make_meeting(chair=chair, days_ahead=15, title="Called off", status=MeetingStatus.CANCELLED)
    mine = make_action(recent, member, due_in_days=7, description="Audit lung window review on chest CT")
    make_action(recent, member, status=ActionStatus.DONE, description="Already done")
    db.session.commit()

    signed_in(client, member)
    path = feed_path(client)
    client.post("/auth/sign-out")
    response = app.test_client().get(path)  # a calendar app: no session
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    calendar, icaljs = read_both(response.data)
    assert calendar["METHOD"] == "PUBLISH" and icaljs["name"] == "Lightbox: my meetings and actions"
    assert icaljs["refresh"] == "PT1H" and b"X-PUBLISHED-TTL:PT1H" in response.data
    titles = {event["summary"] for event in icaljs["events"]}
    assert titles == {"Soon", "Recent", "Network meeting", "Cancelled: Called off"}
    assert all(event["attendees"] == [] for event in icaljs["events"])
    assert b"ATTENDEE" not in response.data
    by_title = {event["summary"]: event for event in icaljs["events"]}
    assert by_title["Cancelled: Called off"]["status"] == "CANCELLED" and by_title["Soon"]["url"] == soon.online_url
    assert str(cancelled.uid) == by_title["Cancelled: Called off"]["uid"] and regional.uid == by_title["Network meeting"]["uid"]
    [todo] = icaljs["todos"]
    assert todo["uid"] == f"action-{mine.id}@lightbox" and todo["due"]["local"] == mine.due_on.isoformat()
    assert todo["due"]["date_only"] and todo["status"] == "NEEDS-ACTION" and mine.reference in todo["summary"]
    assert [str(item["UID"]) for item in calendar.todos] == [todo["uid"]]


def test_resetting_the_feed_link_revokes_every_old_link(client, site_people, app):
    member = site_people["members"][0]
    signed_in(client, member)
    old = feed_path(client)
    calendar_app = app.test_client()
    assert calendar_app.get(old).status_code == 200
    assert client.post("/calendar/reset").status_code == 303
    new = feed_path(client)
    assert new != old
    assert calendar_app.get(old).status_code == 404
    assert calendar_app.get(new).status_code == 200
    # A forged link, or someone else's id under the same signature, finds nothing.
    token = new.rsplit("/", 1)[1].removesuffix(".ics")
    assert calendar_app.get(f"/calendar/feed/{token[:-2]}xx.ics").status_code == 404
    assert calendar_app.get("/calendar/feed/not-a-token.ics").status_code == 404
    # A closed account's feed stops.
    member.active = False
    db.session.commit()
    assert calendar_app.get(new).status_code == 404


def test_the_site_feed_is_public_and_shows_only_title_time_and_place(client, site_people, app):
    site, chair = site_people["site"], site_people["chair"]
    listed = make_meeting(chair=chair, days_ahead=10, title="Open REAL meeting", location="Seminar room 2",
                          online_url="https://teams.example.org/secret-link")
    make_meeting(chair=chair, days_ahead=12, title="Unlisted meeting", listed=False)
    make_meeting(chair=make_user(Role.CHAIR), days_ahead=12, title="Another site's meeting")
    db.session.commit()
    from meetings.live.service import state_of
    code = state_of(listed).join_code
    db.session.commit()

    response = app.test_client().get(f"/calendar/sites/{site.code.lower()}.ics")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    calendar, icaljs = read_both(response.data)
    assert [event["summary"] for event in icaljs["events"]] == ["Open REAL meeting"]
    [event] = icaljs["events"]
    assert event["location"] == "Seminar room 2" and event["attendees"] == []
    assert b"secret-link" not in response.data and code.encode() not in response.data
    assert b"ada.chair@" not in response.data  # the organizer is Lightbox's address, in the site's name
    assert icaljs["name"] == "Calder Vale Hospital: REAL meetings"
    assert app.test_client().get("/calendar/sites/NOPE.ics").status_code == 404


def test_a_case_count_is_all_a_calendar_says_of_the_agenda(client, site_people):
    meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=9), send_invitations=None)
    for _ in range(3):
        make_case(site_people["members"][0], meeting=meeting)
    db.session.commit()
    _, event, _, js = _event(client.get(f"/meetings/{meeting.id}/calendar.ics").data)
    assert "Agenda: 3 cases to discuss." in js["description"]
    case = db.session.scalar(select(Case).where(Case.meeting_id == meeting.id))
    assert case.clinical_question not in js["description"]


def test_icaljs_reads_times_through_the_files_own_zone():
    """ical.js has no zone data of its own: a wrong VTIMEZONE would show here as a wrong instant."""
    from meetings.calendar.ical import CalendarView, EventView, to_ics
    events = [EventView(uid=f"{month}@test", sequence=0, summary="x", description="",
                        starts_at=datetime(2027, month, 14, 12, 30, tzinfo=LONDON),
                        ends_at=datetime(2027, month, 14, 14, 0, tzinfo=LONDON)) for month in range(1, 13)]
    for zone in ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"):
        ics = to_ics(CalendarView("PUBLISH", events), ZoneInfo(zone), datetime.now(timezone.utc))
        for event, view in zip(with_icaljs(ics)["events"], events, strict=True):
            assert datetime.fromisoformat(event["start"]["utc"].replace("Z", "+00:00")) == view.starts_at, (zone, event)


def test_inviting_again_reaches_only_those_not_yet_invited(client, site_people, smtp_server):
    meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=20))
    assert len(smtp_server.messages) == 3
    smtp_server.messages.clear()
    page = client.post(f"/meetings/{meeting.id}/invitations", follow_redirects=True).get_data(as_text=True)
    assert "Everyone who should be invited already is" in page and smtp_server.messages == []
    make_user(Role.MEMBER, home_site=site_people["site"], email="newcomer@calder.example.org")
    db.session.commit()
    client.post(f"/meetings/{meeting.id}/invitations")
    assert [message["To"] for message in smtp_server.messages] == ["newcomer@calder.example.org"]
    # A new reminder alone is not worth an email.
    smtp_server.messages.clear()
    client.post(f"/meetings/{meeting.id}/edit", data=_meeting_form(site_people["site"], date.today() + timedelta(days=20),
                                                                   reminder_minutes="60", send_invitations=None))
    db.session.refresh(meeting)
    assert meeting.reminder_minutes == 60 and smtp_server.messages == []


def test_a_time_the_clocks_skip_is_refused(client, site_people):
    """01:30 does not happen on the morning the clocks go forward (the last Sunday of March)."""
    year = date.today().year + 1
    spring = max(date(year, 3, day) for day in range(25, 32) if date(year, 3, day).weekday() == 6)
    response = client.post("/meetings/new", data=_meeting_form(site_people["site"], spring, start_time="01:30",
                                                                end_time="03:00"))
    assert response.status_code == 422
    assert "The clocks go forward that night: 01:30 does not happen" in response.get_data(as_text=True)


def test_another_sites_chair_cannot_touch_the_meeting(client, site_people):
    meeting = _schedule(client, site_people["site"], date.today() + timedelta(days=20), send_invitations=None)
    series = client.post("/series/new", data=_series_form(site_people["site"], date.today() + timedelta(days=1)))
    signed_in(client, make_user(Role.CHAIR))
    db.session.commit()
    assert client.get(f"/meetings/{meeting.id}").status_code == 404
    for path in ("edit", "cancel", "invitations", "invitations/retry"):
        assert client.post(f"/meetings/{meeting.id}/{path}").status_code == 404, path
    assert client.get(series.headers["Location"]).status_code == 404


def test_the_public_feed_names_nobody_and_keeps_the_agenda_private(client, site_people, app):
    meeting = make_meeting(chair=site_people["chair"], days_ahead=10, title="Open REAL meeting", listed=True)
    make_case(site_people["members"][0], meeting=meeting)
    db.session.commit()
    _, icaljs = read_both(app.test_client().get(f"/calendar/sites/{site_people['site'].code}.ics").data)
    [event] = icaljs["events"]
    assert "Ada Chair" not in event["description"] and "case" not in event["description"].lower()
    assert event["organizer"]["cn"] == "Calder Vale Hospital" and "ada.chair" not in event["organizer"]["address"]


@pytest.mark.parametrize("zone_key, day", [
    ("Europe/London", date(2027, 3, 28)), ("Europe/London", date(2027, 10, 31)),  # the days the clocks change
    ("Europe/Dublin", date(2027, 1, 12)), ("Europe/Dublin", date(2027, 7, 12)),  # winter written as the exception
    ("Africa/Casablanca", date(2027, 2, 20)),  # Ramadan hours tzdata lists years ahead of its yearly rule
    ("America/Santiago", date(2026, 12, 15)), ("Asia/Jerusalem", date(2027, 6, 1)),  # rules icalendar cannot write
    ("Australia/Lord_Howe", date(2027, 1, 5)),  # a half-hour change
])
def test_a_single_invite_in_any_zone_reads_back_at_its_time(zone_key, day):
    from meetings.calendar.ical import CalendarView, EventView, to_ics
    zone = ZoneInfo(zone_key)
    view = EventView(uid="one@test", sequence=0, summary="x", description="",
                     starts_at=datetime.combine(day, time(12, 30), tzinfo=zone),
                     ends_at=datetime.combine(day, time(14, 0), tzinfo=zone))
    ics = to_ics(CalendarView("REQUEST", [view]), zone, datetime.now(timezone.utc))
    [event] = with_icaljs(ics)["events"]
    assert datetime.fromisoformat(event["start"]["utc"].replace("Z", "+00:00")) == view.starts_at
    assert event["start"]["local"].endswith("T12:30:00")
    [written] = [part for part in read_both(ics)[0].timezones]
    assert written.subcomponents, "a VTIMEZONE needs at least one STANDARD or DAYLIGHT part"


def test_the_migration_keeps_every_row_that_points_at_meetings(tmp_path):
    """On SQLite the calendar migration rebuilds the meeting table; the cases, live state and minutes that point
    at meetings must survive it, and foreign keys must be on again afterwards."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from meetings import create_app
    from meetings.extensions import db as database
    other = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"})
    with other.app_context():
        upgrade(revision="63c6731e9312")
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO site (id, name, code, active, radpeer_enabled, risk_distribution, "
                                    "minutes_list_names, created_at) VALUES (1, 'S', 'S', 1, 0, '', 1, '2026-01-01')"))
            connection.execute(text("INSERT INTO user (id, email, name, active, home_site_id, profession, "
                                    "professional_body, login_token, created_at) VALUES (1, 'c@x.org', 'C', 1, 1, "
                                    "'other', 'none', 't', '2026-01-01')"))
            connection.execute(text("INSERT INTO meeting (id, uid, title, scope, site_id, starts_at, ends_at, location, "
                                    "online_url, chair_id, status, ical_sequence, notes, created_at) VALUES (1, 'u', "
                                    "'M', 'local', 1, '2027-01-01', '2027-01-01', '', '', 1, 'ended', 0, '', "
                                    "'2026-01-01')"))
            connection.execute(text("INSERT INTO live_state (meeting_id, join_code, version, stage, audience_html) "
                                    "VALUES (1, 'abc', 1, 1, '')"))
        upgrade()
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM live_state")).scalar() == 1
            assert connection.execute(text("SELECT listed FROM meeting")).scalar() == 0
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        downgrade(revision="63c6731e9312")
        upgrade()
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM live_state")).scalar() == 1
        database.engine.dispose()
