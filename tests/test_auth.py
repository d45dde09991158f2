import re
from urllib.parse import urlsplit

import pytest
from flask import url_for

from meetings.extensions import db as _db
from meetings.models import AuditEvent, Role, User
from tests.factories import PASSWORD, make_user


def sign_in(client, email, password=PASSWORD, **query):
    return client.post(
        url_for("auth.sign_in", **query), data={"email": email, "password": password}
    )


@pytest.mark.parametrize(
    "roles, home",
    [
        ((Role.ADMIN,), "/admin/users"),
        ((Role.CHAIR,), "/"),
        ((Role.RISK,), "/actions/"),
        ((Role.MEMBER,), "/"),
        ((Role.RISK, Role.CHAIR), "/"),
    ],
)
def test_sign_in_lands_on_the_role_home(app, client, db, roles, home):
    user = make_user(*roles)
    db.session.commit()
    with app.test_request_context():
        response = sign_in(client, user.email.upper())
    assert response.status_code == 303
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="user.signed_in", subject_id=user.id).count() == 1


def test_wrong_password_and_unknown_email_look_the_same(app, client, db):
    user = make_user()
    db.session.commit()
    with app.test_request_context():
        wrong_password = sign_in(client, user.email, "not-the-password")
        unknown_email = sign_in(client, "nobody@test.example.org", "not-the-password")
    assert wrong_password.status_code == unknown_email.status_code == 401

    def page_without(body: bytes, email: str) -> str:
        # The typed email is echoed back and CSRF tokens differ per response; all else must match.
        return re.sub(r"[\w.-]{40,}", "TOKEN", body.decode().replace(email, "EMAIL"))

    assert page_without(wrong_password.data, user.email) == page_without(unknown_email.data, "nobody@test.example.org")
    assert "email address or password is not right" in wrong_password.get_data(as_text=True)
    # What the person typed is kept; the password is not echoed back.
    assert user.email in wrong_password.get_data(as_text=True)
    assert "not-the-password" not in wrong_password.get_data(as_text=True)


def test_deactivated_and_invited_people_cannot_sign_in(app, client, db):
    inactive = make_user(active=False)
    invited = make_user(password_hash=None)
    db.session.commit()
    with app.test_request_context():
        assert sign_in(client, inactive.email).status_code == 401
        assert sign_in(client, invited.email, "any-password-at-all").status_code == 401
        assert sign_in(client, invited.email, "").status_code == 422


def test_next_is_followed_only_within_the_site(app, client, db):
    user = make_user(Role.RISK)
    db.session.commit()
    with app.test_request_context():
        assert sign_in(client, user.email, next="/actions/?page=2").headers["Location"] == "/actions/?page=2"
        client.post(url_for("auth.sign_out"))
        assert sign_in(client, user.email, next="//evil.example.com/").headers["Location"] == "/actions/"
        client.post(url_for("auth.sign_out"))
        assert sign_in(client, user.email, next="https://evil.example.com/").headers["Location"] == "/actions/"


def test_anonymous_page_request_is_sent_to_sign_in_and_htmx_gets_401(client):
    response = client.get("/actions/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in?next=/actions/")
    response = client.get("/actions/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/sign-in")


def test_sign_out_is_a_post_and_ends_the_session(client, login_as):
    login_as(Role.MEMBER)
    assert client.get("/auth/sign-out").status_code == 405
    assert client.post("/auth/sign-out").status_code == 303
    assert client.get("/").status_code == 302


def test_deactivation_ends_existing_sessions(client, login_as, db):
    user = login_as(Role.MEMBER)
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_password_change_signs_out_other_devices(app, client, login_as, db):
    user = login_as(Role.MEMBER)
    user.set_password("a-brand-new-password")
    db.session.commit()
    assert client.get("/").status_code == 302


def test_sign_in_is_rate_limited(app, client, db):
    user = make_user()
    db.session.commit()
    app.config["SIGN_IN_RATE_LIMIT"] = "3 per minute"
    try:
        with app.test_request_context():
            codes = [sign_in(client, user.email, "wrong-password").status_code for _ in range(4)]
            assert codes == [401, 401, 401, 429]
            # Even the right password waits: the limit is on attempts, so guessing gains nothing.
            assert sign_in(client, user.email).status_code == 429
        assert "Too many attempts" in client.post("/auth/sign-in", data={}).get_data(as_text=True)
    finally:
        app.config["SIGN_IN_RATE_LIMIT"] = "1000 per minute"


def test_invitation_by_real_email_sets_a_password_once(app, client, login_as, db, smtp_server):
    admin = login_as(Role.ADMIN)
    response = client.post(
        "/admin/users/invite",
        data={
            "name": "Dr Test Invitee", "email": "Invitee@Test.Example.org", "roles": ["member", "chair"],
            "home_site_id": str(admin.home_site_id), "profession": "consultant_radiologist",
            "professional_body": "GMC", "registration_number": "7654321",
        },
    )
    assert response.status_code == 303
    [message] = smtp_server.messages
    assert message["To"] == "invitee@test.example.org"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://\S+/auth/invite/\S+", body).group(0)
    assert link.startswith(app.config["BASE_URL"] + "/auth/invite/")
    path = urlsplit(link).path

    client.post("/auth/sign-out")
    page = client.get(path)
    assert page.status_code == 200 and "Dr Test Invitee" in page.get_data(as_text=True)
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "Use at least 12 characters" in short.get_data(as_text=True)
    done = client.post(path, data={"password": "a-long-enough-password", "confirm": "a-long-enough-password"})
    assert done.status_code == 303 and done.headers["Location"] == "/"
    invitee = _db.session.scalar(_db.select(User).filter_by(email="invitee@test.example.org"))
    assert invitee.check_password("a-long-enough-password")
    assert invitee.roles == {Role.MEMBER, Role.CHAIR}
    assert invitee.registration_number == "7654321"
    # The link is spent once used.
    client.post("/auth/sign-out")
    assert client.get(path).status_code == 404
