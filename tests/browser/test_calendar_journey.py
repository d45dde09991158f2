"""A chair in a hurry schedules a year of REAL meetings as a series (a slip in the times is caught and nothing
typed is lost), the site's members are emailed calendar invitations, one meeting is moved and another cancelled
(their calendars are told, under the same UID). Then a member on a phone adds a meeting to their calendar,
subscribes to their own feed, and resets its link after sharing it by mistake."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from meetings.models import Meeting, MeetingSeries, Role
from meetings.schedule import service
from meetings.web import format_date, format_datetime, local_time, today_local
from tests.browser.conftest import assert_accessible, sign_in, watch_errors
from tests.factories import PASSWORD, make_user
from tests.ics.reading import calendar_parts, invite_of

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}
TITLE = "Chest REAL meeting"
ROOM = "Radiology seminar room 2"
ONLINE = "https://teams.example.org/l/meetup-join/chest-real"
TIMEZONE = "Europe/London"


@pytest.fixture
def site_people(db, app, live_server, monkeypatch):
    # Links in emails and the feed link on the calendar page are built on BASE_URL: point it at the live server
    # so the link the member copies is the one a calendar app would fetch.
    monkeypatch.setitem(app.config, "BASE_URL", live_server)
    chair = make_user(Role.CHAIR, name="Dr Chair Person", email="chair.person@test.example.org")
    members = [make_user(Role.MEMBER, name=f"Dr Member {n}", email=f"member.{n}@test.example.org",
                         home_site=chair.home_site) for n in (1, 2)]
    db.session.commit()
    return chair, members


def _first_of_next_month(today: date) -> date:
    # Starting on the 1st, every second month's first Tuesday falls in months 0, 2, ..., 10 of the year ahead
    # and the 12th month's is just past its end: always 6 meetings, whatever day the suite runs.
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def _invites(messages, method: str) -> dict[tuple[str, str], Calendar]:
    """The emailed invites of one method, by (recipient, meeting UID); each pair only once."""
    found = {}
    for message in messages:
        inline, _ = calendar_parts(message)
        part_method = inline.get_param("method")
        calendar = Calendar.from_ical(invite_of(message))
        assert str(calendar["METHOD"]) == part_method
        if part_method != method:
            continue
        [event] = calendar.walk("VEVENT")
        key = (message["To"], str(event["UID"]))
        assert key not in found, f"{key} was sent twice"
        found[key] = calendar
    return found


def _only_event(calendar: Calendar):
    [event] = calendar.walk("VEVENT")
    return event


def _assert_invite_for(event, member, chair, starts_on: date, sequence: int) -> None:
    attendee = event["ATTENDEE"]
    # Each copy names only its recipient, who is asked to reply.
    assert not isinstance(attendee, list), "an invite lists someone else's address"
    assert str(attendee).lower() == f"mailto:{member.email}"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "TRUE"
    assert str(event["ORGANIZER"]).lower() == f"mailto:{chair.email}"
    # Local wall-clock time with its zone, so 12:30 stays 12:30 either side of a clock change.
    assert event["DTSTART"].params["TZID"] == TIMEZONE
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime.combine(starts_on, time(12, 30))
    assert int(event["SEQUENCE"]) == sequence


def _fetch(url: str) -> bytes:
    """The feed as a calendar app fetches it: a plain GET with no session cookie."""
    with urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/calendar"
        return response.read()


def _meetings(db, series_id: int) -> list[Meeting]:
    db.session.rollback()  # see what the live server committed, not this session's older snapshot
    return service.series_meetings(db.session.get(MeetingSeries, series_id))


def test_a_chair_schedules_a_series_and_a_member_subscribes(browser, live_server, page, db, site_people,
                                                            smtp_server):
    chair, members = site_people
    starts_on = _first_of_next_month(today_local())

    # 1. The series form, filled in a hurry with the end before the start.
    sign_in(page, chair.email, PASSWORD)
    page.get_by_role("link", name="Schedule a series").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule a series of meetings")
    assert_accessible(page)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Repeats").select_option(label="Every second month")
    page.get_by_label("On the").select_option(label="first")
    page.get_by_label("Day", exact=True).select_option(label="Tuesday")
    page.get_by_label("First possible date").fill(starts_on.isoformat())
    page.get_by_label("Starts at").fill("12:30")
    page.get_by_label("Ends at").fill("12:00")
    page.get_by_label("Room").fill(ROOM)
    page.get_by_label("Online meeting link").fill(ONLINE)
    with page.expect_response(lambda r: r.url.endswith("/series/new") and r.request.method == "POST") as refused:
        page.get_by_role("button", name="Schedule the series").click()
    assert refused.value.status == 422
    expect(page).to_have_title(re.compile(r"^Error: "))
    # The summary at the top names the slip and takes the chair straight to the field.
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    summary.get_by_role("link", name="The end time must be after the start time").click()
    expect(page.get_by_label("Ends at")).to_be_focused()
    expect(page.get_by_label("Ends at")).to_have_accessible_description(
        re.compile("The end time must be after the start time"))
    # Nothing typed is lost, the slip included, so the chair corrects one field rather than start again.
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("Repeats").locator("option:checked")).to_have_text("Every second month")
    expect(page.get_by_label("On the").locator("option:checked")).to_have_text("first")
    expect(page.get_by_label("Day", exact=True).locator("option:checked")).to_have_text("Tuesday")
    expect(page.get_by_label("First possible date")).to_have_value(starts_on.isoformat())
    expect(page.get_by_label("Starts at")).to_have_value("12:30")
    expect(page.get_by_label("Ends at")).to_have_value("12:00")
    expect(page.get_by_label("Room")).to_have_value(ROOM)
    expect(page.get_by_label("Online meeting link")).to_have_value(ONLINE)
    expect(page.get_by_label("Email calendar invitations now")).to_be_checked()
    assert smtp_server.messages == []
    assert_accessible(page)

    page.get_by_label("Ends at").fill("14:00")
    page.get_by_role("button", name="Schedule the series").click()
    expect(page.locator("#flashes")).to_contain_text("6 meetings are scheduled and invitations are on their way")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_text("Every second month on the first Tuesday, 12:30–14:00")).to_be_visible()
    expect(page.locator("table caption")).to_have_text("6 meetings")
    series_url = page.url
    series_id = int(re.search(r"/series/(\d+)$", series_url).group(1))
    meetings = _meetings(db, series_id)
    dates = [local_time(meeting.starts_at).date() for meeting in meetings]
    assert len(dates) == 6 and all(day.weekday() == 1 and day.day <= 7 for day in dates), dates
    assert [(day.year * 12 + day.month) - (starts_on.year * 12 + starts_on.month) for day in dates] == [
        0, 2, 4, 6, 8, 10]

    # Each member was emailed each meeting's invite, theirs alone; the chair, who organises, none.
    invited = _invites(smtp_server.messages, "REQUEST")
    assert set(invited) == {(member.email, meeting.uid) for member in members for meeting in meetings}
    assert len(smtp_server.messages) == 12
    for member in members:
        for meeting, day in zip(meetings, dates):
            _assert_invite_for(_only_event(invited[(member.email, meeting.uid)]), member, chair, day, sequence=0)

    # 2. The second meeting moves to the Wednesday, same time.
    moved, moved_to = meetings[1], dates[1] + timedelta(days=1)
    page.get_by_role("link", name=format_datetime(moved.starts_at)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert_accessible(page)
    page.get_by_role("link", name="Change the time or place").click()
    expect(page.get_by_label("Starts at")).to_have_value("12:30")
    page.get_by_label("Date", exact=True).fill(moved_to.isoformat())
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#flashes")).to_contain_text("Changes saved; everyone invited is sent the update")
    expect(page.get_by_text(f"{format_date(moved_to, '%a %-d %b %Y')}, 12:30 to 14:00")).to_be_visible()

    assert len(smtp_server.messages) == 14
    updates = _invites(smtp_server.messages[12:], "REQUEST")
    # The same UID with a higher SEQUENCE: calendars move the meeting rather than add a second one.
    assert set(updates) == {(member.email, moved.uid) for member in members}
    for member in members:
        _assert_invite_for(_only_event(updates[(member.email, moved.uid)]), member, chair, moved_to, sequence=1)
    page.goto(series_url)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile(
        re.escape(format_date(moved_to, "%a %-d %b %Y")))))
    expect(row).to_contain_text(f"Moved from {format_date(dates[1], '%a %-d %b')}")

    # 3. The third meeting is cancelled, after a page that says what that does.
    cancelled = meetings[2]
    page.get_by_role("link", name=format_datetime(cancelled.starts_at)).click()
    page.get_by_role("link", name="Cancel the meeting").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Cancel {TITLE} on")
    expect(page.get_by_text("Everyone invited is sent a cancellation")).to_be_visible()
    assert_accessible(page)
    sent_before = len(smtp_server.messages)
    page.get_by_role("button", name="Cancel the meeting").click()
    expect(page.locator("#flashes")).to_contain_text(
        "The meeting is cancelled; everyone invited is sent the cancellation")
    expect(page.get_by_text("This meeting is cancelled.")).to_be_visible()
    cancellations = _invites(smtp_server.messages[sent_before:], "CANCEL")
    assert set(cancellations) == {(member.email, cancelled.uid) for member in members}
    assert len(smtp_server.messages) == sent_before + 2
    for calendar in cancellations.values():
        event = _only_event(calendar)
        assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1
    page.goto(series_url)
    expect(page.get_by_role("row").filter(has_text="Cancelled")).to_have_count(1)
    expect(page.locator("table caption")).to_have_text("6 meetings")

    # 4. A member on a phone: from the home page to the next meeting, and into their calendar.
    member = members[0]
    context = browser.new_context(base_url=live_server, viewport=PHONE_390, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    phone_errors = watch_errors(phone)
    sign_in(phone, member.email, PASSWORD)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Upcoming meetings")
    _no_sideways_scroll(phone)
    phone.get_by_role("link", name=TITLE).first.click()
    expect(phone).to_have_url(re.compile(rf"/meetings/{meetings[0].id}$"))
    expect(phone.get_by_text(format_datetime(meetings[0].starts_at))).to_be_visible()
    _no_sideways_scroll(phone)
    assert_accessible(phone)
    with phone.expect_download() as download:
        phone.get_by_role("link", name=re.compile(r"^Add to calendar")).click()
    assert download.value.suggested_filename == f"meeting-{meetings[0].id}.ics"
    added = Calendar.from_ical(Path(download.value.path()).read_bytes())
    assert str(added["METHOD"]) == "PUBLISH"
    assert str(_only_event(added)["UID"]) == meetings[0].uid

    phone.goto("/")
    phone.get_by_role("link", name="Put your meetings and actions in your calendar app").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your meetings in your calendar")
    _no_sideways_scroll(phone)
    assert_accessible(phone)
    old_link = phone.locator("#feed-link").input_value()
    assert old_link.startswith(f"{live_server}/calendar/feed/"), old_link
    feed = _fetch(old_link)
    # A feed is the member's alone, but still lists nobody's address.
    assert b"ATTENDEE" not in feed
    subscribed = Calendar.from_ical(feed)
    assert str(subscribed["METHOD"]) == "PUBLISH"
    assert str(subscribed["X-WR-CALNAME"]) == "Lightbox: my meetings and actions"
    events = {str(event["UID"]): event for event in subscribed.walk("VEVENT")}
    assert set(events) == {meeting.uid for meeting in meetings}
    # A subscribed calendar is replaced by the feed: the cancelled meeting stays in it, marked.
    assert str(events[cancelled.uid]["STATUS"]) == "CANCELLED"
    assert events[moved.uid].decoded("DTSTART").replace(tzinfo=None) == datetime.combine(moved_to, time(12, 30))

    # The link works without signing in, so once shared it must be possible to stop it.
    phone.get_by_role("button", name="Reset my calendar link").click()
    expect(phone.locator("#flashes")).to_contain_text("Your calendar link has changed")
    new_link = phone.locator("#feed-link").input_value()
    assert new_link != old_link and new_link.startswith(f"{live_server}/calendar/feed/")
    with pytest.raises(HTTPError) as gone:
        _fetch(old_link)
    gone.value.close()
    assert gone.value.code == 404
    assert {str(event["UID"]) for event in Calendar.from_ical(_fetch(new_link)).walk("VEVENT")} == set(events)
    _no_sideways_scroll(phone)
    assert_accessible(phone)
    context.close()
    assert not phone_errors, phone_errors


def _no_sideways_scroll(phone) -> None:
    # With is_mobile Chromium widens the layout viewport to fit overflowing content, so innerWidth proves
    # nothing: compare with the phone's own width.
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_390["width"], f"{phone.url} scrolls sideways on a phone: {width}px"
