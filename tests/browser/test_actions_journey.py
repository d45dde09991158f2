"""The chair adds an action during the meeting without leaving the console; a risk manager filters the
overdue actions and closes one with its evidence, inline."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from meetings.extensions import db
from meetings.models import Action, Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in
from tests.factories import PASSWORD, make_action, make_case, make_meeting, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def people(db):
    chair = make_user(Role.CHAIR, name="Dr Chair Person")
    owner = make_user(Role.MEMBER, name="Dr Owner Person", home_site=chair.home_site)
    risk = make_user(Role.RISK, name="Rita Risk", home_site=chair.home_site)
    meeting = make_meeting(chair=chair, title="Chest REAL meeting")
    make_case(chair, meeting, {"patient_name": "Ottilie Wrenfield"}, body_region="Chest")
    past = make_meeting(chair=chair, title="Earlier REAL meeting", days_ahead=-60)
    make_action(past, owner, due_in_days=-10, description="Add scaphoid views to the wrist vetting guide")
    make_action(past, owner, due_in_days=20, description="Audit fifty CTPA reports for lung windows")
    db.session.commit()
    return {"chair": chair, "owner": owner, "risk": risk, "meeting": meeting}


def test_the_chair_adds_an_action_and_risk_closes_an_overdue_one(browser, live_server, page, people):
    chair, meeting = people["chair"], people["meeting"]
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}/console")
    page.get_by_role("button", name="Start the meeting").click()
    page.evaluate("() => { window.noReloadMarker = true; }")
    panel = page.locator("#console-actions")
    expect(panel.get_by_label("For")).to_have_value(str(meeting.id and _case_id(meeting)))

    # A hurried first try: no owner, no date. Nothing typed is lost.
    panel.get_by_label("What will be done").fill("Add a lung-window check to the CTPA reporting template")
    panel.get_by_role("button", name="Add the action").click()
    expect(panel.get_by_role("alert")).to_contain_text("Choose who owns the action")
    expect(panel.get_by_role("alert")).to_contain_text("Enter the date it is due")
    expect(panel.get_by_label("What will be done")).to_have_value("Add a lung-window check to the CTPA reporting template")
    assert_accessible(page)

    panel.get_by_label("Owner", exact=True).select_option(label=f"Dr Owner Person ({chair.home_site.name})")
    panel.get_by_label("Due date").fill((date.today() + timedelta(days=28)).isoformat())
    panel.get_by_label("High").check()
    panel.get_by_role("button", name="Add the action").click()
    expect(panel.get_by_role("status")).to_contain_text("Added A3 for Dr Owner Person")
    expect(panel.get_by_role("listitem").filter(has_text="lung-window check")).to_contain_text("Case 1")
    expect(panel.get_by_label("What will be done")).to_have_value("")
    assert page.evaluate("() => window.noReloadMarker === true"), "the console was not reloaded"
    action = db.session.query(Action).filter_by(description="Add a lung-window check to the CTPA reporting template").one()
    assert action.owner_id == people["owner"].id and action.priority == "high" and action.case_id == _case_id(meeting)

    # The risk manager, on a phone, filters the overdue actions and closes one with evidence.
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    sign_in(phone, people["risk"].email, PASSWORD)
    phone.goto("/actions/")
    expect(phone.get_by_role("heading", name="Action register")).to_be_visible()
    expect(phone.locator("#action-results")).to_contain_text("3 actions")
    phone.get_by_label("Overdue only").check()
    expect(phone.locator("#action-results")).to_contain_text("1 action match these filters")
    expect(phone).to_have_url(f"{live_server}/actions/?q=&status=open&site=&owner=&meeting=&due_within=&sort=due&overdue=yes")
    row = phone.locator("tr", has_text="scaphoid views")
    expect(row.get_by_text("Overdue")).to_be_visible()
    assert_accessible(phone)

    row.get_by_text("Update").click()
    row.get_by_label("Done").check()
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("alert")).to_contain_text("the evidence that closes this action")
    assert_accessible(phone)
    row.get_by_label("Note").fill("Vetting guide v3 published on the intranet; referrers told at the GP forum.")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("status")).to_contain_text("Saved")
    expect(row).to_contain_text("Done")

    row.get_by_role("link", name="A1").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("scaphoid views")
    history = phone.get_by_role("table", name="History")
    expect(history).to_contain_text("Open to done")
    expect(history).to_contain_text("Vetting guide v3 published")
    expect(history).to_contain_text("Rita Risk")
    assert_accessible(phone)
    context.close()


def _case_id(meeting) -> int:
    from meetings.models import Case
    return db.session.query(Case.id).filter_by(meeting_id=meeting.id).scalar()
