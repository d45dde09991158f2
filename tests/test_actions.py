"""Actions: capture from the console, the register, status moves and their history, conflicts, reminders."""
from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from meetings.actions import service
from meetings.extensions import db
from meetings.models import Action, ActionEvent, ActionStatus, Notice, Role
from tests.conftest import is_fragment, signed_in
from tests.factories import make_action, make_case, make_meeting, make_site, make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def meeting(login_as):
    """A live meeting with one case on screen; the client is its chair."""
    chair = login_as(Role.CHAIR, name="Dr Chair Person")
    meeting = make_meeting(chair=chair, title="Chest REAL meeting")
    make_case(chair, meeting, {"patient_name": "Ottoline Gravesend", "nhs_number": None},
              clinical_question="Mrs Ottoline Gravesend, breathless.")
    db.session.commit()
    return meeting


def _capture(client, meeting, **fields):
    data = {"action-description": "Add a lung-window check to the CTPA reporting template",
            "action-case_id": "", "action-owner": str(meeting.chair_id), "action-owner_name": "",
            "action-owner_email": "", "action-due_on": (date.today() + timedelta(days=30)).isoformat(),
            "action-priority": "high", "action-sites": [str(meeting.site_id)]}
    data.update(fields)
    return client.post(f"/meetings/{meeting.id}/actions", data=data, headers=HX)


# --- capture ------------------------------------------------------------------------------------

def test_the_console_offers_the_action_form_on_the_case_on_screen(client, meeting):
    client.post(f"/meetings/{meeting.id}/live/start")
    page = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert 'id="console-actions"' in page and "Add the action" in page
    case_id = meeting_case_id(meeting)
    assert re.search(rf'<option selected value="{case_id}">|<option value="{case_id}" selected>', page)


def meeting_case_id(meeting) -> int:
    from meetings.models import Case
    return db.session.scalar(select(Case.id).where(Case.meeting_id == meeting.id))


def test_capture_without_owner_or_date_explains_and_keeps_what_was_typed(client, meeting):
    response = _capture(client, meeting, **{"action-owner": "", "action-due_on": ""})
    assert response.status_code == 422 and is_fragment(response.data)
    body = response.get_data(as_text=True)
    assert "Choose who owns the action" in body and "Enter the date it is due" in body
    assert 'name="action-owner_email"' in body, "the named owner's fields are always there"
    assert "Add a lung-window check to the CTPA reporting template" in body, "the description typed is kept"
    assert db.session.scalar(select(Action.id)) is None


@pytest.mark.parametrize("description, message", [
    ("Discuss at the next meeting", "not what will be talked about"),
    ("Look into it", "not what will be talked about"),
    ("Fix template", "at least 4 words"),
    ("", "Say what will be done"),
])
def test_vague_actions_are_refused(client, meeting, description, message):
    response = _capture(client, meeting, **{"action-description": description})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_an_owner_without_an_account_needs_a_name_and_an_email(client, meeting):
    response = _capture(client, meeting, **{"action-owner": "", "action-owner_name": "Dr Visiting Locum"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter the owner&#39;s email address" in body
    assert 'value="Dr Visiting Locum"' in body
    response = _capture(client, meeting, **{"action-owner": "", "action-owner_name": "Dr Visiting Locum",
                                            "action-owner_email": "locum@agency.example.org"})
    assert response.status_code == 200
    action = db.session.scalar(select(Action))
    assert action.owner is None and action.owner_display == "Dr Visiting Locum"
    assert action.owner_address == "locum@agency.example.org"


def test_an_owner_who_names_the_patient_is_refused(client, meeting):
    response = _capture(client, meeting, **{"action-owner": "", "action-owner_name": "Mrs O. Gravesend",
                                            "action-owner_email": "ottoline.gravesend@home.example.org"})
    assert response.status_code == 422 and b"That names the patient" in response.data
    assert db.session.scalar(select(Action.id)) is None


def test_a_past_due_date_and_no_sites_are_refused(client, meeting):
    response = _capture(client, meeting, **{"action-due_on": (date.today() - timedelta(days=1)).isoformat(),
                                            "action-sites": []})
    body = response.get_data(as_text=True)
    assert "must be today or later" in body and "Choose the sites it applies to" in body


def test_capture_records_the_action_its_case_sites_and_history(client, meeting):
    case_id = meeting_case_id(meeting)
    other = make_site(name="Other Site Hospital")
    db.session.commit()
    response = _capture(client, meeting, **{
        "action-case_id": str(case_id),
        "action-description": "Remind reporters that Mrs Ottoline Gravesend's CTPA needs lung windows reviewed",
        "action-sites": [str(meeting.site_id), str(other.id)]})
    assert response.status_code == 200 and is_fragment(response.data)
    action = db.session.scalar(select(Action))
    body = response.get_data(as_text=True)
    assert f"Added {action.reference}" in body and "Identifiers were taken out" in body
    assert "Gravesend" not in action.description and "Ottoline" not in action.description
    assert action.case_id == case_id and action.priority == "high" and action.status == "open"
    assert {s.id for s in action.sites} == {meeting.site_id, other.id} and not action.all_sites
    [created] = action.history
    assert created.to_status == "open" and created.from_status is None and created.by_name == "Dr Chair Person"
    # The panel lists it and offers a fresh form.
    assert action.reference in body
    assert re.search(r'name="action-description"[^>]*>\s*</textarea>', body), "a fresh form for the next one"


def test_all_sites_in_the_network(client, meeting):
    assert _capture(client, meeting, **{"action-sites": ["all", str(meeting.site_id)]}).status_code == 200
    action = db.session.scalar(select(Action))
    assert action.all_sites and action.sites == [] and action.sites_label == "All sites in the network"


def test_capture_without_javascript(client, meeting):
    data = {"action-description": "Add a lung-window check to the CTPA reporting template", "action-case_id": "",
            "action-owner": "", "action-due_on": "", "action-priority": "medium",
            "action-sites": [str(meeting.site_id)]}
    response = client.post(f"/meetings/{meeting.id}/actions", data=data)
    assert response.status_code == 422 and b"<html" in response.data and b"Choose who owns the action" in response.data
    data.update({"action-owner": str(meeting.chair_id), "action-due_on": date.today().isoformat()})
    response = client.post(f"/meetings/{meeting.id}/actions", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("#console-actions")


def test_only_those_who_take_notes_capture(app, meeting):
    member = signed_in(app.test_client(), make_user(Role.MEMBER, home_site=meeting.site))
    db.session.commit()
    assert _capture(member, meeting).status_code == 404


# --- moving an action on ------------------------------------------------------------------------

@pytest.fixture
def risk(app, db):
    site = make_site(name="Risk Site Hospital")
    user = make_user(Role.RISK, name="Rita Risk", home_site=site)
    meeting = make_meeting(chair=make_user(Role.CHAIR, home_site=site), days_ahead=-30)
    owner = make_user(Role.MEMBER, name="Owen Owner", home_site=site)
    action = make_action(meeting, owner, due_in_days=-3)
    db.session.commit()
    return {"client": signed_in(app.test_client(), user), "user": user, "action": action, "owner": owner,
            "meeting": meeting, "site": site}


def _move(client, action, to, note="", version=None, view="row"):
    return client.post(f"/actions/{action.id}/status", headers=HX, data={
        "to": to, "note": note, "version": action.version if version is None else version, "view": view})


def test_open_to_in_progress_to_done_with_evidence(risk):
    client, action = risk["client"], risk["action"]
    response = _move(client, action, "in_progress")
    assert response.status_code == 200 and is_fragment(response.data)
    assert "In progress" in response.get_data(as_text=True)
    db.session.refresh(action)
    response = _move(client, action, "done", note="Template changed on 3 March; audit of 50 reports attached.")
    assert response.status_code == 200
    db.session.refresh(action)
    assert action.status == "done" and action.closed_at is not None
    assert action.closing_note.startswith("Template changed")
    moves = [(e.from_status, e.to_status, e.by_name) for e in action.history]
    assert moves == [(None, "open", "Test chair"), ("open", "in_progress", "Rita Risk"),
                     ("in_progress", "done", "Rita Risk")]


@pytest.mark.parametrize("to, message", [("done", "the evidence"), ("cancelled", "reason for cancelling")])
def test_closing_needs_a_note_and_keeps_what_was_chosen(risk, to, message):
    client, action = risk["client"], risk["action"]
    response = _move(client, action, to, note="   ")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert f'value="{to}" checked' in response.get_data(as_text=True)
    db.session.refresh(action)
    assert action.status == "open" and len(action.history) == 1


def test_reopening_needs_a_reason_and_moves_outside_the_rules_are_refused(risk):
    client, action = risk["client"], risk["action"]
    assert _move(client, action, "cancelled", note="Superseded by the regional protocol").status_code == 200
    db.session.refresh(action)
    assert _move(client, action, "in_progress").status_code == 422
    assert b"Say why this action is being reopened" in _move(client, action, "open").data
    assert _move(client, action, "open", note="The regional protocol was withdrawn").status_code == 200
    db.session.refresh(action)
    assert action.status == "open" and action.closed_at is None and action.closing_note == ""
    assert [e.to_status for e in action.history] == ["open", "cancelled", "open"]


def test_the_history_is_append_only(risk):
    event_row = db.session.scalar(select(ActionEvent))
    event_row.note = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(ActionEvent)))
    with pytest.raises(ValueError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_the_second_of_two_updates_gets_a_conflict_and_nothing_is_overwritten(app, risk):
    action = risk["action"]
    seen = action.version
    owner = signed_in(app.test_client(), risk["owner"])
    assert _move(owner, action, "done", note="Done by the owner: template live", version=seen).status_code == 200
    response = _move(risk["client"], action, "cancelled", note="Cancelling: no longer needed", version=seen)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed" in body and "It is now <strong>done</strong>" in body
    assert "Done by the owner: template live" in body, "the current state is shown"
    assert "Cancelling: no longer needed" in body, "what the second person typed is kept"
    db.session.refresh(action)
    assert action.status == "done" and action.closing_note == "Done by the owner: template live"
    assert len(action.history) == 2


def test_a_move_that_loses_the_race_to_the_database_is_a_conflict_too(risk):
    """Both requests read version 1 and pass the check; the database lets only the first UPDATE through."""
    from sqlalchemy.orm.attributes import set_committed_value

    action = risk["action"]
    with db.engine.begin() as other_request:
        other_request.execute(db.update(Action).where(Action.id == action.id)
                              .values(version=Action.version + 1, status="in_progress"))
    db.session.expire_all()
    set_committed_value(action, "version", 1)  # as this request read it, just before the other wrote
    set_committed_value(action, "status", "open")
    with pytest.raises(service.ActionConflict):
        service.change_status(action, "done", "Evidence here", risk["user"], seen_version=1)
    db.session.rollback()
    db.session.refresh(action)
    assert action.status == "in_progress" and action.version == 2 and len(action.history) == 1


def test_the_detail_page_shows_where_the_action_came_from_and_its_history(risk):
    client, action = risk["client"], risk["action"]
    _move(client, action, "in_progress", note="Started: draft with the CT lead")
    db.session.refresh(action)
    page = client.get(f"/actions/{action.id}").get_data(as_text=True)
    assert action.description in page and risk["meeting"].title in page
    assert "The meeting as a whole" in page and "Started: draft with the CT lead" in page
    assert "Open to in progress" in page and "Rita Risk" in page and ">Agreed<" in page
    response = _move(client, action, "done", note="Live since Monday", view="detail")
    assert b'id="action-detail"' in response.data and b"Saved." in response.data
    assert f'/meetings/{risk["meeting"].id}/register'.encode() in response.data, "the page keeps its links"


def test_without_javascript_a_move_returns_to_the_page_it_came_from(risk):
    client, action = risk["client"], risk["action"]
    response = client.post(f"/actions/{action.id}/status", data={
        "to": "in_progress", "note": "", "version": action.version, "next": "/actions/?overdue=yes"})
    assert response.status_code == 303 and response.headers["Location"] == "/actions/?overdue=yes"
    response = client.post(f"/actions/{action.id}/status", data={
        "to": "done", "note": "", "version": action.version + 1, "next": "//evil.example.org/"})
    assert response.status_code == 422 and b"<html" in response.data


def test_who_may_see_and_move_an_action(app, risk):
    action = risk["action"]
    stranger = signed_in(app.test_client(), make_user(Role.MEMBER))
    elsewhere = signed_in(app.test_client(), make_user(Role.RISK))
    colleague = signed_in(app.test_client(), make_user(Role.MEMBER, home_site=risk["site"]))
    db.session.commit()
    for client in (stranger, elsewhere):
        assert client.get(f"/actions/{action.id}").status_code == 404
        assert _move(client, action, "in_progress").status_code == 404
    assert colleague.get(f"/actions/{action.id}").status_code == 200
    assert _move(colleague, action, "in_progress").status_code == 404, "seeing is not moving"
    owner = signed_in(app.test_client(), risk["owner"])
    assert _move(owner, action, "in_progress").status_code == 200


def test_risk_staff_move_only_their_own_sites_actions(app, risk):
    regional = make_meeting(chair=risk["meeting"].chair, title="Regional peer learning", scope="regional", site=None)
    theirs = make_action(regional, risk["owner"], sites=[risk["site"]], description="Share the new vetting guide here")
    elsewhere = signed_in(app.test_client(), make_user(Role.RISK))
    db.session.commit()
    assert elsewhere.get(f"/actions/{theirs.id}").status_code == 200, "a regional meeting's actions are seen"
    assert _move(elsewhere, theirs, "cancelled", note="Not ours").status_code == 404, "but not moved"
    assert _move(risk["client"], theirs, "cancelled", note="Superseded").status_code == 200


def test_an_owner_starts_and_finishes_but_does_not_cancel(app, risk):
    owner = signed_in(app.test_client(), risk["owner"])
    page = owner.get("/actions/mine").get_data(as_text=True)
    assert 'value="done"' in page and 'value="cancelled"' not in page
    response = _move(owner, risk["action"], "cancelled", note="I would rather not")
    assert response.status_code == 422 and b"Only risk staff or the meeting" in response.data
    assert 'value="cancelled"' in risk["client"].get("/actions/").get_data(as_text=True)


def test_junk_in_the_filters_is_ignored(risk):
    for args in ({"site": "\u00b2"}, {"due_within": "\u00b2"}, {"owner": "1" * 30}, {"page": "x"}):
        assert risk["client"].get("/actions/", query_string=args).status_code == 200


def test_an_action_for_every_site_reaches_every_sites_risk_staff(app, risk):
    make_action(risk["meeting"], risk["owner"], all_sites=True, description="Roll out the new vetting guide to all sites")
    elsewhere = signed_in(app.test_client(), make_user(Role.RISK))
    db.session.commit()
    page = elsewhere.get("/actions/").get_data(as_text=True)
    assert "Roll out the new vetting guide" in page and risk["action"].description not in page


# --- the register -------------------------------------------------------------------------------

def _register(client, **args):
    response = client.get("/actions/", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _refs(page: str) -> list[str]:
    return re.findall(r'<a href="/actions/\d+">(A\d+)</a>', page)


def test_filters(app, risk):
    client, site, meeting = risk["client"], risk["site"], risk["meeting"]
    other_owner = make_user(Role.MEMBER, home_site=site, name="Olive Other")
    later = make_meeting(chair=meeting.chair, days_ahead=-10, title="Later REAL meeting")
    overdue = risk["action"]
    soon = make_action(later, other_owner, due_in_days=5, description="Add scaphoid views to the wrist protocol")
    far = make_action(meeting, other_owner, due_in_days=60, description="Audit fifty CTPA reports for lung windows")
    done = make_action(meeting, risk["owner"], due_in_days=-40, status=ActionStatus.DONE,
                       description="Brief every sonographer on the side-check step")
    db.session.commit()
    refs = lambda **args: set(_refs(_register(client, **args)))  # noqa: E731
    assert refs() == {overdue.reference, soon.reference, far.reference}
    assert refs(status="all") == {overdue.reference, soon.reference, far.reference, done.reference}
    assert refs(status="done") == {done.reference}
    assert refs(overdue="yes") == {overdue.reference}
    assert refs(due_within="7") == {overdue.reference, soon.reference}
    assert refs(owner=str(other_owner.id)) == {soon.reference, far.reference}
    assert refs(meeting=str(later.id)) == {soon.reference}
    assert refs(q="SCAPHOID") == {soon.reference}
    assert refs(q="Olive") == {soon.reference, far.reference}, "the owner's name is searched"
    assert refs(q="100%_") == set(), "LIKE wildcards are searched as text"
    assert refs(site=str(site.id)) == {overdue.reference, soon.reference, far.reference}
    assert refs(site="999999") == set()
    assert _refs(_register(client, sort="due_desc")) == [far.reference, soon.reference, overdue.reference]
    assert refs(status="nonsense", sort="nonsense", due_within="x") == refs(), "junk is ignored"
    page = _register(client, overdue="yes")
    assert 'lb-row--overdue' in page and "Overdue" in page


def test_filters_answer_htmx_with_the_results_only(risk):
    response = risk["client"].get("/actions/?overdue=yes", headers=HX | {"HX-Target": "action-results"})
    assert is_fragment(response.data) and b'id="action-results"' in response.data
    assert b"<form" not in response.data.split(b'id="action-results"')[0]
    assert "HX-Request" in response.headers["Vary"]


def test_the_register_pages_through_many_actions(risk):
    for n in range(service.PAGE_SIZE + 5):
        make_action(risk["meeting"], risk["owner"], due_in_days=n, description=f"Step {n} of the template rollout plan")
    db.session.commit()
    first, second = _register(risk["client"]), _register(risk["client"], page="2")
    assert len(_refs(first)) == service.PAGE_SIZE and len(_refs(second)) == 6
    assert "page 1 of 2" in first and "page=2" in first


@contextmanager
def _counting_queries():
    counted = []
    engine = db.engine

    def count(*_):
        counted.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_register_makes_the_same_number_of_queries_however_many_rows(app, risk):
    client = risk["client"]

    def queries(**args) -> int:
        with _counting_queries() as counted:
            _register(client, **args)
        return len(counted)

    few = queries(), queries(status="all", q="a")
    sites = [make_site() for _ in range(6)]
    for n in range(45):
        meeting = make_meeting(chair=risk["meeting"].chair, days_ahead=-n)
        owner = make_user(Role.MEMBER, home_site=sites[n % 6])
        case = make_case(owner, meeting) if n % 3 else None
        make_action(meeting, owner, due_in_days=n - 20, case=case, sites=[sites[n % 6], risk["site"]],
                    description=f"Action number {n} for the regional rollout")
    db.session.commit()
    many = queries(), queries(status="all", q="a")
    assert many == few, f"queries grew with the rows: {few} -> {many}"


def test_csv_export_of_a_filtered_view(risk):
    client = risk["client"]
    make_action(risk["meeting"], risk["owner"], due_in_days=9, description="=HYPERLINK(\"http://x\") check template")
    db.session.commit()
    response = client.get("/actions/export.csv?overdue=yes")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Reference", "Action", "Status"] and len(rows) == 2
    assert rows[1][0] == risk["action"].reference and rows[1][8] == "yes"
    everything = list(csv.reader(io.StringIO(client.get("/actions/export.csv?status=all").get_data(as_text=True))))
    assert any(row[1].startswith("'=HYPERLINK") for row in everything), "formulas are escaped"


def test_my_actions(app, risk):
    owner = signed_in(app.test_client(), risk["owner"])
    make_action(risk["meeting"], None, owner_name="Owen Owner", owner_email=risk["owner"].email.upper(),
                description="Send the revised vetting guide to the referrers")
    make_action(risk["meeting"], make_user(Role.MEMBER), description="Somebody else's action entirely here")
    db.session.commit()
    home = owner.get("/").get_data(as_text=True)
    assert "You own 2 open actions, <strong>1 overdue</strong>" in home
    page = owner.get("/actions/mine").get_data(as_text=True)
    assert risk["action"].description in page and "revised vetting guide" in page
    assert "Somebody else" not in page
    assert owner.get("/actions/").status_code == 403, "members do not see the whole register"
    assert _move(owner, risk["action"], "done", note="Template updated").status_code == 200
    assert risk["action"].description not in owner.get("/actions/mine").get_data(as_text=True)
    assert risk["action"].description in owner.get("/actions/mine?show=all").get_data(as_text=True)


def test_todos_for_the_calendar(app, risk):
    action = risk["action"]
    with app.test_request_context():
        [todo] = service.todos_for(risk["owner"])
    assert todo.url.endswith(f"/actions/{action.id}")
    assert todo.uid == f"action-{action.id}@lightbox" and todo.due == action.due_on
    assert todo.status == "NEEDS-ACTION" and todo.priority == 5 and todo.summary.startswith(action.reference)


# --- reminders ----------------------------------------------------------------------------------

def _remind(app, today: date) -> str:
    result = app.test_cli_runner().invoke(args=["send-action-reminders", "--today", today.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def test_reminders_are_sent_once_a_day_and_digests_once_a_week(app, risk, smtp_server):
    today = date.today()
    named = make_action(risk["meeting"], None, owner_name="Dr Visiting Locum", owner_email="locum@agency.example.org",
                        due_in_days=6, description="Send the locum reporting guide to the agency")
    make_action(risk["meeting"], risk["owner"], due_in_days=30, description="Not due for a month: no reminder yet")
    db.session.commit()
    assert "sent: 3" in _remind(app, today)
    by_recipient = {m["To"]: m for m in smtp_server.messages}
    assert set(by_recipient) == {risk["owner"].email, "locum@agency.example.org", risk["user"].email}
    owner_mail = by_recipient[risk["owner"].email]
    assert "1 overdue" in owner_mail["Subject"]
    text = owner_mail.get_body(("plain",)).get_content()
    assert risk["action"].reference in text and "Not due for a month" not in text and "/actions/mine" in text
    assert named.reference in by_recipient["locum@agency.example.org"].get_body(("plain",)).get_content()
    digest = by_recipient[risk["user"].email].get_body(("plain",)).get_content()
    assert "Open: 3" in digest and "Overdue: 1" in digest and risk["action"].reference in digest

    assert "sent: 0; sent before: 3" in _remind(app, today), "a second run the same day sends nothing"
    assert len(smtp_server.messages) == 3
    tomorrow = today + timedelta(days=1)
    same_week = tomorrow.isocalendar()[1] == today.isocalendar()[1]
    _remind(app, tomorrow)
    assert len(smtp_server.messages) == 5 + (0 if same_week else 1), "owners again the next day; the digest weekly"


def test_a_failed_send_is_tried_again_by_the_next_run(app, risk, smtp_server):
    app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]  # nothing listens on port 1
    try:
        result = app.test_cli_runner().invoke(args=["send-action-reminders"])
    finally:
        app.config["MAIL_PORT"] = port
    assert result.exit_code == 1 and "failed (will be tried again): 2" in result.output
    assert db.session.scalar(select(Notice.id)) is None, "failed claims are given back"
    assert "sent: 2" in _remind(app, date.today()) and len(smtp_server.messages) == 2


def test_a_claim_left_by_a_run_that_died_expires(app, risk, smtp_server):
    from meetings.actions import reminders
    from meetings.models import utcnow
    today = date.today()
    db.session.add(Notice(kind="action-reminder", key=today.isoformat(), recipient=risk["owner"].email,
                          claimed_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    _remind(app, today)
    assert risk["owner"].email not in {m["To"] for m in smtp_server.messages}, "someone else is sending it"
    db.session.execute(db.update(Notice).values(claimed_at=utcnow() - reminders.CLAIM_EXPIRES * 2))
    db.session.commit()
    _remind(app, today)
    assert risk["owner"].email in {m["To"] for m in smtp_server.messages}
