"""A server that has lost its identifier key: the chair's meeting goes on, what cannot be checked is
withheld, and an action typed in the console is refused with the reason and kept, not lost."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from meetings.extensions import db
from meetings.models import Action, Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in
from tests.conftest import IDENTIFIER_KEY, approve_for_room, signed_in
from tests.factories import PASSWORD, make_case, make_meeting, make_user

pytestmark = pytest.mark.browser


def test_without_the_key_the_meeting_goes_on_and_nothing_typed_is_lost(app, browser, live_server, page, monkeypatch):
    chair = make_user(Role.CHAIR, name="Dr Chair Person")
    make_user(Role.MEMBER, name="Dr Owner Person", home_site=chair.home_site)  # the action's owner
    meeting = make_meeting(chair=chair, title="Chest REAL meeting")
    case = make_case(chair, meeting, {"patient_name": "Quillon Vantablack"}, body_region="Chest",
                     learning_points="Mr Vantablack's nodule: window the lungs.")
    db.session.commit()
    assert approve_for_room(signed_in(app.test_client(), chair), case).status_code == 303

    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}/console")
    page.get_by_role("button", name="Start the meeting").click()
    monkeypatch.setitem(app.extensions, "identifier_key", [])

    panel = page.locator("#console-actions")
    panel.get_by_label("What will be done").fill("Add a lung-window check to the CTPA template")
    panel.get_by_label("Owner", exact=True).select_option(label=f"Dr Owner Person ({chair.home_site.name})")
    panel.get_by_label("Due date").fill((date.today() + timedelta(days=28)).isoformat())
    panel.get_by_role("button", name="Add the action").click()
    alert = page.locator("#request-error [aria-live]")
    expect(alert).to_contain_text("Patient identifiers are unavailable")
    expect(alert).to_contain_text("Nothing you typed has been lost")
    expect(panel.get_by_label("What will be done")).to_have_value("Add a lung-window check to the CTPA template")
    assert db.session.query(Action).count() == 0
    assert_accessible(page)
    expect(page.get_by_role("button", name="Dismiss")).to_be_visible()
    # htmx logs the refusal it was sent; that one was expected.
    page.errors[:] = [error for error in page.errors if f"503 from /meetings/{meeting.id}/actions" not in error]

    # The room, on a phone, still sees the approved case; its learning points wait for the key.
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    projector = context.new_page()
    sign_in(projector, chair.email, PASSWORD)
    projector.goto(f"/meetings/{meeting.id}/projector")
    expect(projector.locator("main")).to_contain_text("Chest")
    assert "Vantablack" not in projector.content()
    context.close()

    # The key is back: the same words go through, and the alert clears.
    monkeypatch.setitem(app.extensions, "identifier_key", [Fernet(IDENTIFIER_KEY)])
    panel.get_by_role("button", name="Add the action").click()
    expect(panel.get_by_role("status")).to_contain_text("Added")
    expect(alert).to_be_empty()
    expect(page.get_by_role("button", name="Dismiss")).to_be_hidden()
    assert db.session.query(Action).filter_by(description="Add a lung-window check to the CTPA template").count() == 1
