"""The live meeting: moving the room, the sync protocol, notes that never lose text, outcomes and polls."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask import template_rendered
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from meetings import create_app
from meetings.extensions import db
from meetings.models import Case, CaseStatus, LiveState, Meeting, Poll, PollVote, Role, utcnow
from tests.conftest import Client, approve_for_room, is_fragment, signed_in
from tests.factories import make_case, make_meeting, make_user

HX = {"HX-Request": "true"}


def fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


@pytest.fixture
def room(app, client, login_as):
    """A meeting of three approved cases; `client` is its chair, `phone` an attendee with no account."""
    chair = login_as(Role.CHAIR)
    meeting = make_meeting(chair=chair, title="Chest REAL meeting")
    cases = [
        make_case(chair, meeting, {"patient_name": "Ottilie Wrenfield"}, modality=modality, body_region=region,
                  clinical_question=f"{question} Mrs Wrenfield, breathless.", report_text=f"Report {n}.",
                  outcome_text=f"Outcome {n}.", learning_points="")
        for n, (modality, region, question) in enumerate(
            [("CT", "Chest", "?PE."), ("MR", "Knee", "?Meniscal tear."), ("XR", "Wrist", "?Scaphoid.")], 1)
    ]
    for position, case in enumerate(cases):
        case.queue_position = position
    db.session.commit()
    for case in cases:
        assert approve_for_room(client, case).status_code == 303
    console = client.get(f"/meetings/{meeting.id}/console")
    assert console.status_code == 200
    code = fresh(LiveState, meeting.id).join_code
    phone = app.test_client()
    assert phone.get(f"/j/{code}").status_code == 200
    return {"chair": chair, "meeting": meeting, "cases": cases, "code": code, "phone": phone, "client": client}


def command(client, meeting, name, **fields):
    return client.post(f"/meetings/{meeting.id}/live/{name}", data=fields, headers=HX)


def follow(phone, code, version):
    return phone.get(f"/j/{code}/live?v={version}", headers=HX)


def version_of(meeting) -> int:
    return fresh(LiveState, meeting.id).version


def test_the_chair_moves_the_room_case_by_case_and_stage_by_stage(room):
    client, meeting, cases, phone, code = room["client"], room["meeting"], room["cases"], room["phone"], room["code"]
    waiting = follow(phone, code, 0).get_data(as_text=True)
    assert "The meeting will start soon" in waiting and "3 cases" in waiting

    assert command(client, meeting, "start").status_code == 200
    state = fresh(LiveState, meeting.id)
    assert fresh(Meeting, meeting.id).status == "live" and state.case_id == cases[0].id and state.stage == 1
    assert fresh(Case, cases[0].id).status == CaseStatus.PRESENTED

    slide = follow(phone, code, 0).get_data(as_text=True)
    assert "CT chest" in slide and "?PE." in slide and "Report 1." not in slide  # stage 1 keeps the report back
    assert "Wrenfield" not in slide

    for stage, shown in ((2, "Report 1."), (3, "Outcome 1.")):
        assert command(client, meeting, "stage", stage=stage).status_code == 200
        assert shown in follow(phone, code, 0).get_data(as_text=True)

    assert command(client, meeting, "next").status_code == 200
    state = fresh(LiveState, meeting.id)
    assert (state.case_id, state.stage) == (cases[1].id, 1)
    assert command(client, meeting, "jump", case_id=cases[2].id).status_code == 200
    refused = command(client, meeting, "next")
    assert refused.status_code == 409 and "That was the last case" in refused.get_data(as_text=True)
    assert command(client, meeting, "previous").status_code == 200
    assert fresh(LiveState, meeting.id).case_id == cases[1].id
    assert command(client, meeting, "stage", stage=9).status_code == 409

    assert command(client, meeting, "end").status_code == 200
    ended = follow(phone, code, 0).get_data(as_text=True)
    # Phones slow down after the end (the register may yet open for them) and stop once it has closed.
    assert "The meeting has ended" in ended and 'hx-trigger="every 10s"' in ended


def test_moves_are_refused_before_the_meeting_starts_and_for_people_who_do_not_run_it(app, room):
    client, meeting = room["client"], room["meeting"]
    refused = command(client, meeting, "next")
    assert refused.status_code == 409 and "Start the meeting first" in refused.get_data(as_text=True)

    member = signed_in(app.test_client(), make_user(Role.MEMBER, home_site=room["chair"].home_site))
    other_chair = signed_in(app.test_client(), make_user(Role.CHAIR))
    db.session.commit()
    for outsider in (member, other_chair):
        assert outsider.get(f"/meetings/{meeting.id}/console").status_code == 404
        assert outsider.get(f"/meetings/{meeting.id}/projector").status_code == 404
        assert command(outsider, meeting, "start").status_code == 404
    assert fresh(Meeting, meeting.id).status == "scheduled"


def test_a_wrong_join_code_finds_nothing(room):
    phone = room["phone"]
    for path in ("/j/zzzzzzzz", "/j/zzzzzzzz/live?v=1", "/j/zzzzzzzz/images/1", "/j/zzzzzzzz/polls/1"):
        assert phone.get(path).status_code == 404


def test_an_unchanged_poll_is_204_from_one_query_with_no_template_and_no_user(app, room):
    client, meeting, phone, code = room["client"], room["meeting"], room["phone"], room["code"]
    command(client, meeting, "start")
    version = version_of(meeting)
    statements, templates = [], []
    signed_in(phone, room["chair"])  # even a signed-in follower's poll loads no user

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def rendered(sender, template, context, **extra):
        templates.append(template.name)

    event.listen(Engine, "before_cursor_execute", count)  # every engine, the followers' own included
    try:
        with template_rendered.connected_to(rendered, app):
            response = follow(phone, code, version)
            poll_statements, poll_templates = list(statements), list(templates)
            client.get(f"/meetings/{meeting.id}/console")
            assert "live/console.html" in templates  # the spy does see templates
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert response.status_code == 204 and response.data == b""
    assert poll_templates == []
    assert len(poll_statements) == 1 and "FROM live_state" in poll_statements[0]
    assert "user" not in poll_statements[0]

    command(client, meeting, "stage", stage=2)
    changed = follow(phone, code, version)
    assert changed.status_code == 200 and is_fragment(changed.data)
    assert f"v={version + 1}" in changed.get_data(as_text=True)
    assert changed.headers["Cache-Control"] == "no-store"


def test_the_state_survives_a_restart_and_a_late_follower_catches_up(app, room):
    client, meeting, code = room["client"], room["meeting"], room["code"]
    command(client, meeting, "start")
    command(client, meeting, "next")
    command(client, meeting, "stage", stage=3)
    # A second app on the same database stands for a restarted server or another host.
    other = create_app({"TESTING": True, "SECRET_KEY": app.secret_key, "IDENTIFIER_KEY": app.config["IDENTIFIER_KEY"],
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    other.test_client_class = Client
    with other.app_context():
        late = other.test_client().get(f"/j/{code}/live?v=1", headers=HX).get_data(as_text=True)
    assert "MR knee" in late and "Outcome 2." in late
    with other.app_context():
        db.engine.dispose()
    other.wsgi_app.engine.dispose()  # the followers' own connections


def test_an_unapproved_case_is_held_back_from_the_room(app, room):
    client, meeting, cases, phone, code = room["client"], room["meeting"], room["cases"], room["phone"], room["code"]
    cases_now = fresh(Case, cases[0].id)
    cases_now.report_text = "Reported by Dr Humphrey Dankworth."
    db.session.commit()  # an edit after approval needs a new review
    command(client, meeting, "start")
    slide = follow(phone, code, 0).get_data(as_text=True)
    assert "This case is being prepared" in slide and "Dankworth" not in slide
    console = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert "its anonymisation is not approved" in console
    image_refused = phone.get(f"/j/{code}/images/1")
    assert image_refused.status_code == 404

    # Approved again while on screen: the room sees the case without the chair moving.
    version = version_of(meeting)
    assert approve_for_room(client, cases_now).status_code == 303
    slide = follow(phone, code, version).get_data(as_text=True)
    assert "CT chest" in slide and "being prepared" not in slide and "Dankworth" not in slide


def test_the_timer_banks_each_cases_time_and_counts_a_return(room):
    client, meeting, cases = room["client"], room["meeting"], room["cases"]
    command(client, meeting, "start")
    state = fresh(LiveState, meeting.id)
    state.case_shown_at = utcnow() - timedelta(minutes=4)
    db.session.commit()
    command(client, meeting, "next")
    assert 239 <= fresh(Case, cases[0].id).presented_seconds <= 245
    command(client, meeting, "previous")
    page = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert re.search(r'data-elapsed="24\d" data-allowance="600"', page)


# --- notes --------------------------------------------------------------------------------------

def note_form(client, meeting) -> tuple[str, str]:
    page = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    base = re.search(r'id="note-\d+-discussion_notes-meta">\s*<input type="hidden" name="base" value="(\w+)"', page)
    return page, base.group(1)


def save(client, meeting, case, text, base, field="discussion_notes", **extra):
    return client.post(f"/meetings/{meeting.id}/cases/{case.id}/notes/{field}",
                       data={field: text, "base": base, **extra}, headers=HX)


def test_notes_autosave_and_a_stale_save_is_refused_with_both_versions(app, room):
    client, meeting, case = room["client"], room["meeting"], room["cases"][0]
    command(client, meeting, "start")
    minute_taker = make_user(Role.MEMBER, home_site=room["chair"].home_site)
    fresh(Meeting, meeting.id).minute_taker_id = minute_taker.id
    db.session.commit()
    taker = signed_in(app.test_client(), minute_taker)

    _, chair_base = note_form(client, meeting)
    _, taker_base = note_form(taker, meeting)
    saved = save(client, meeting, case, "Subtle filling defect in a segmental artery.", chair_base)
    assert saved.status_code == 200 and "Saved" in saved.get_data(as_text=True) and is_fragment(saved.data)

    stale = save(taker, meeting, case, "Windowing matters.", taker_base)
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Someone else saved the discussion notes" in body and "Subtle filling defect" in body
    assert fresh(Case, case.id).discussion_notes == "Subtle filling defect in a segmental artery."
    theirs = re.search(r'name="theirs" value="(\w+)"', body).group(1)

    merged = save(taker, meeting, case, "Windowing matters.", taker_base, resolve="both", theirs=theirs)
    assert merged.status_code == 200 and merged.headers["HX-Retarget"] == f"#note-{case.id}-discussion_notes"
    assert fresh(Case, case.id).discussion_notes == "Subtle filling defect in a segmental artery.\n\nWindowing matters."

    # The chair's copy is now stale too; "keep mine" replaces, but only against the version it was shown.
    stale = save(client, meeting, case, "Mine only.", chair_base)
    theirs = re.search(r'name="theirs" value="(\w+)"', stale.get_data(as_text=True)).group(1)
    assert save(client, meeting, case, "Mine only.", chair_base, resolve="mine", theirs=theirs).status_code == 200
    assert fresh(Case, case.id).discussion_notes == "Mine only."

    # The minute-taker writes notes but does not move the room.
    assert command(taker, meeting, "next").status_code == 404


def test_notes_without_javascript_keep_what_was_typed_on_a_conflict(room):
    client, meeting, case = room["client"], room["meeting"], room["cases"][0]
    command(client, meeting, "start")
    _, base = note_form(client, meeting)
    assert client.post(f"/meetings/{meeting.id}/cases/{case.id}/notes/discussion_notes",
                       data={"discussion_notes": "First.", "base": base}).status_code == 303
    page = client.post(f"/meetings/{meeting.id}/cases/{case.id}/notes/discussion_notes",
                       data={"discussion_notes": "Second, typed offline.", "base": base})
    text = page.get_data(as_text=True)
    assert page.status_code == 409 and "Second, typed offline." in text and "First." in text


def test_learning_points_reach_the_room_at_stage_four_scrubbed(room):
    client, meeting, case, phone, code = room["client"], room["meeting"], room["cases"][0], room["phone"], room["code"]
    command(client, meeting, "start")
    command(client, meeting, "stage", stage=4)
    _, base = note_form(client, meeting)
    page = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    base = re.search(r'id="note-\d+-learning_points-meta">\s*<input type="hidden" name="base" value="(\w+)"', page).group(1)
    version = version_of(meeting)
    save(client, meeting, case, "Check the pulmonary arteries, as Mrs Wrenfield's scan showed.", base,
         field="learning_points")
    assert version_of(meeting) == version  # typing is not sent to the room as it happens
    assert command(client, meeting, "refresh").status_code == 200
    slide = follow(phone, code, version).get_data(as_text=True)
    assert "Check the pulmonary arteries" in slide and "Wrenfield" not in slide


# --- outcome ------------------------------------------------------------------------------------

def test_the_outcome_is_saved_and_radpeer_is_offered_only_where_the_site_grades(room):
    client, meeting, case = room["client"], room["meeting"], room["cases"][0]
    command(client, meeting, "start")
    url = f"/meetings/{meeting.id}/cases/{case.id}/outcome"
    data = {"discrepancy_type": "satisfaction_of_search", "clinical_significance": "moderate",
            "great_pickup": "yes", "radpeer_grade": "2b"}
    response = client.post(url, data=data, headers=HX)
    assert response.status_code == 200 and "Outcome saved" in response.get_data(as_text=True)
    saved = fresh(Case, case.id)
    assert (saved.discrepancy_type, saved.clinical_significance, saved.great_pickup, saved.radpeer_grade) == (
        "satisfaction_of_search", "moderate", True, None)
    assert "RADPEER" not in client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)

    saved.site.radpeer_enabled = True
    db.session.commit()
    client.post(url, data=data | {"discrepancy_type": "not-a-type"}, headers=HX)
    saved = fresh(Case, case.id)
    assert (saved.discrepancy_type, saved.radpeer_grade) == (None, "2b")
    assert "RADPEER-style grade" in client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)


# --- polls --------------------------------------------------------------------------------------

def vote(phone, code, poll_id, **answer):
    return phone.post(f"/j/{code}/polls/{poll_id}", data=answer, headers=HX)


def test_a_poll_takes_one_anonymous_answer_per_device_and_the_chair_reveals_the_results(app, room):
    client, meeting, phone, code = room["client"], room["meeting"], room["phone"], room["code"]
    command(client, meeting, "start")
    command(client, meeting, "stage", stage=2)
    refused = command(client, meeting, "open-poll", preset="called_it")
    assert refused.status_code == 409 and "stage 1" in refused.get_data(as_text=True)
    command(client, meeting, "stage", stage=1)
    assert command(client, meeting, "open-poll", preset="interpretation",
                   options="Pulmonary embolus\nNo abnormality\nPneumonia").status_code == 200
    poll = db.session.scalar(select(Poll).where(Poll.meeting_id == meeting.id))

    slide = follow(phone, code, 0).get_data(as_text=True)
    assert "What is your interpretation?" in slide and f"/j/{code}/polls/{poll.id}" in slide
    form = phone.get(f"/j/{code}/polls/{poll.id}", headers=HX).get_data(as_text=True)
    assert "Pulmonary embolus" in form and "Your answer is anonymous" in form

    assert "Choose one of the answers" in vote(phone, code, poll.id).get_data(as_text=True)
    assert vote(phone, code, poll.id, choice="²").status_code == 422  # a digit int() cannot read
    thanks = vote(phone, code, poll.id, choice="0")
    assert "your answer is in" in thanks.get_data(as_text=True)
    vote(phone, code, poll.id, choice="2")  # a second tap on the same phone does not count
    others = [app.test_client() for _ in range(3)]
    for other, choice in zip(others, ("0", "0", "1")):
        other.get(f"/j/{code}")
        vote(other, code, poll.id, choice=choice)

    rows = db.session.scalars(select(PollVote).where(PollVote.poll_id == poll.id)).all()
    assert sorted(r.choice for r in rows) == [0, 0, 0, 1]
    assert {c.name for c in PollVote.__table__.columns} == {"id", "poll_id", "device", "choice", "answer", "created_at"}
    cookie = phone.get_cookie("lightbox_device").value
    assert all(cookie not in r.device for r in rows)

    console = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert "4 answers" in console
    command(client, meeting, "close-poll")
    assert "This poll has closed" in vote(app.test_client(), code, poll.id, choice="1").get_data(as_text=True)
    command(client, meeting, "show-results")
    projector = client.get(f"/meetings/{meeting.id}/projector").get_data(as_text=True)
    assert re.search(r"Pulmonary embolus</span>\s*<progress[^>]*value=\"75\"", projector)
    assert "3 (75%)" in projector and "1 (25%)" in projector and "0 (0%)" in projector
    assert "3 (75%)" in follow(phone, code, 0).get_data(as_text=True)

    command(client, meeting, "next")  # the poll stays with its case, and leaves the screen with it
    assert db.session.scalar(select(Poll.case_id).where(Poll.id == poll.id)) == room["cases"][0].id
    assert "Poll" not in follow(phone, code, 0).get_data(as_text=True)
    assert "Ask the room" in client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)

    command(client, meeting, "end")
    assert command(client, meeting, "show-results").status_code == 409  # nothing moves after the end


def test_free_text_answers_are_scrubbed_before_the_room_sees_them(app, room):
    client, meeting, phone, code = room["client"], room["meeting"], room["phone"], room["code"]
    command(client, meeting, "start")
    command(client, meeting, "open-poll", preset="free_text")
    poll = db.session.scalar(select(Poll).where(Poll.meeting_id == meeting.id))
    assert "Type a short answer" in vote(phone, code, poll.id, answer="  ").get_data(as_text=True)
    vote(phone, code, poll.id, answer="PE, like Mrs Wrenfield's last scan")
    console = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert "PE, like" in console and "Wrenfield" not in console  # the chair reads them before the room
    command(client, meeting, "show-results")
    shown = follow(phone, code, 0).get_data(as_text=True)
    assert "PE, like" in shown and "Wrenfield" not in shown


def test_the_projector_polls_for_answers_while_a_poll_is_open(room):
    client, meeting = room["client"], room["meeting"]
    command(client, meeting, "start")
    command(client, meeting, "open-poll", preset="called_it")
    # The poll URL exactly as the projector page holds it.
    page = client.get(f"/meetings/{meeting.id}/projector").get_data(as_text=True)
    url = html.unescape(re.search(r'hx-get="([^"]*/projector/live[^"]*)"', page).group(1))
    assert "votes=0" in url
    assert client.get(url, headers=HX).status_code == 204
    poll = db.session.scalar(select(Poll).where(Poll.meeting_id == meeting.id))
    vote(room["phone"], room["code"], poll.id, choice="1")
    changed = client.get(url, headers=HX)
    assert changed.status_code == 200 and "1 answer so far" in changed.get_data(as_text=True)
