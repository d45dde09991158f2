"""A person signs in as each role and reaches their home page; an admin works the user list with htmx."""
import re

import pytest
from playwright.sync_api import expect

from meetings.models import Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in
from tests.factories import PASSWORD, make_action, make_meeting, make_user

pytestmark = pytest.mark.browser

HOMES = {
    Role.ADMIN: ("/admin/users", "Users"),
    Role.CHAIR: ("/", "Your meetings"),
    Role.REGIONAL_CHAIR: ("/", "Your meetings"),
    Role.RISK: ("/actions/", "Action register"),
    Role.MEMBER: ("/", "Upcoming meetings"),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_signs_in_and_reaches_its_home_page(page, db, live_server, role):
    user = make_user(role, name=f"Dr {role.label} Person")
    chair = user if role == Role.CHAIR else make_user(Role.CHAIR, home_site=user.home_site)
    meeting = make_meeting(chair=chair, site=user.home_site)
    make_action(meeting, user, due_in_days=-3)
    db.session.commit()

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/sign-in"))
    assert_accessible(page)
    sign_in(page, user.email, PASSWORD)

    path, heading = HOMES[role]
    expect(page).to_have_url(live_server + path)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(user.name)
    assert_accessible(page)


def test_wrong_password_keeps_the_email_and_says_what_to_fix(page, db):
    user = make_user()
    db.session.commit()
    sign_in(page, user.email, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("email address or password is not right")
    expect(page.get_by_label("Email address")).to_have_value(user.email)
    assert_accessible(page)


def test_admin_searches_and_deactivates_a_user_inline(page, db):
    admin = make_user(Role.ADMIN, name="Admin Person")
    make_user(name="Dr Deactivate Me", email="deactivate.me@test.example.org")
    make_user(name="Dr Stay Active")
    db.session.commit()
    sign_in(page, admin.email, PASSWORD)
    page.evaluate("() => { window.noReloadMarker = true; }")

    page.get_by_label("Search by name or email").fill("deactivate")
    expect(page.get_by_role("status").filter(has_text="matching")).to_contain_text("1 person")
    expect(page.get_by_text("Dr Stay Active")).to_have_count(0)

    page.get_by_role("button", name="Deactivate Dr Deactivate Me").click()
    row = page.locator("tr", has_text="Dr Deactivate Me")
    expect(row).to_contain_text("Deactivated")
    expect(row.get_by_role("button", name="Reactivate Dr Deactivate Me")).to_be_visible()
    assert page.evaluate("() => window.noReloadMarker === true"), "the page reloaded instead of swapping the row"
    assert "q=deactivate" in page.url
    assert_accessible(page)


def test_admin_adds_a_site_with_an_error_then_fixes_it(page, db):
    admin = make_user(Role.ADMIN)
    db.session.commit()
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("link", name="Sites").click()
    page.get_by_label("Site name").fill("Westbrook Test Hospital")
    page.get_by_role("button", name="Add site").click()
    expect(page.locator("#code-error")).to_contain_text("Enter a short code")
    expect(page.get_by_label("Site name")).to_have_value("Westbrook Test Hospital")
    assert_accessible(page)
    page.get_by_label("Short code").fill("wbt")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("row", name=re.compile("Westbrook Test Hospital"))).to_contain_text("WBT")
    expect(page.get_by_label("Site name")).to_have_value("")


def test_sign_in_fits_a_phone_screen(browser, live_server, db):
    user = make_user(Role.MEMBER)
    db.session.commit()
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, user.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Upcoming meetings")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    context.close()


def test_admin_invites_someone_who_then_sets_a_password(page, db, app, smtp_server, live_server):
    admin = make_user(Role.ADMIN)
    db.session.commit()
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Full name").fill("Dr Browser Invitee")
    page.get_by_label("Email address").fill("browser.invitee@test.example.org")
    page.get_by_label("Chair", exact=True).check()
    page.get_by_label("Professional body").select_option("GMC")
    page.get_by_label("Registration number").fill("12345")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#registration_number-error")).to_contain_text("7 digits")
    expect(page.get_by_label("Full name")).to_have_value("Dr Browser Invitee")
    expect(page.get_by_label("Chair", exact=True)).to_be_checked()
    assert_accessible(page)
    page.get_by_label("Home site").select_option(index=1)
    page.get_by_label("Registration number").fill("1234567")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#flashes")).to_contain_text("Invitation sent to browser.invitee@test.example.org")

    [message] = smtp_server.messages
    link = re.search(r"http://\S+/auth/invite/\S+", message.get_body(("plain",)).get_content()).group(0)
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server + "/auth/invite/" + link.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome to Lightbox, Dr Browser Invitee")
    assert_accessible(page)
    page.get_by_label("Choose a password").fill("browser-password-123")
    page.get_by_label("Type the password again").fill("browser-password-123")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your meetings")
