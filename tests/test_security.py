"""Walks every route: anonymous users are refused, CSRF is required, roles are enforced, headers are set."""
import pytest
from werkzeug.routing import IntegerConverter

from meetings.models import Role
from tests.factories import PASSWORD, make_user

# The room's short link and what hangs off it: anonymised only, reached by an unguessable join code
# (tests/test_live.py checks that a wrong code finds nothing).
JOIN_LINK_ENDPOINTS = {"live.audience", "live.audience_live", "live.audience_image", "live.audience_vote",
                       "register.sign", "register.signed", "register.evaluate"}
# A certificate is its attendee's (their device, no account needed) and is checked by anyone holding its
# unguessable number (tests/test_register.py checks both).
CERTIFICATE_ENDPOINTS = {"register.certificate", "register.verify"}
# Calendar apps fetch feeds without signing in: a person's by its signed link, a site's public one by its code
# (tests/test_calendar.py checks forged and reset links find nothing).
FEED_ENDPOINTS = {"calendar.personal_feed", "calendar.site_feed"}
# A reporter without an account reads their feedback by a signed link (tests/test_feedback.py).
FEEDBACK_LINK_ENDPOINTS = {"feedback.by_link", "feedback.link_open", "feedback.link_acknowledge",
                           "feedback.link_reflection", "feedback.link_pdf", "feedback.new_link"}
PUBLIC_ENDPOINTS = ({"static", "auth.sign_in", "auth.accept_invite"} | JOIN_LINK_ENDPOINTS | CERTIFICATE_ENDPOINTS
                    | FEED_ENDPOINTS | FEEDBACK_LINK_ENDPOINTS)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Which roles may use each feature's routes; anything not listed is open to every signed-in role.
ROUTE_ROLES = {
    "admin.": {Role.ADMIN},
    "actions.index": {Role.ADMIN, Role.CHAIR, Role.REGIONAL_CHAIR, Role.RISK},
    "actions.export": {Role.ADMIN, Role.CHAIR, Role.REGIONAL_CHAIR, Role.RISK},
    "cases.triage": {Role.ADMIN, Role.CHAIR, Role.REGIONAL_CHAIR},
    "schedule.new_": {Role.ADMIN, Role.CHAIR, Role.REGIONAL_CHAIR},
    "governance.network": {Role.ADMIN, Role.REGIONAL_CHAIR},
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        # Whole numbers where the route takes one (ids, version numbers), a word elsewhere.
        url = rule.build({arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x"
                          for arg in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_route_refuses_anonymous_users(app, client):
    checked = 0
    for endpoint, method, url in _routes(app):
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        response = client.open(url, method=method)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/auth/sign-in"), endpoint
        checked += 1
    assert checked >= 10


def test_every_unsafe_route_requires_a_csrf_token(app, client, login_as):
    login_as(Role.ADMIN, Role.CHAIR, Role.RISK, Role.MEMBER)
    client.auto_csrf = False
    unsafe = [(e, m, u) for e, m, u in _routes(app) if m in UNSAFE]
    assert unsafe, "no unsafe routes found"
    for endpoint, method, url in unsafe:
        response = client.open(url, method=method, headers={"HX-Request": "true"})
        assert response.status_code == 400, (endpoint, method)
        assert "form had expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", list(Role))
def test_every_route_enforces_its_roles(app, client, login_as, role):
    login_as(role)
    for endpoint, method, url in _routes(app):
        if method != "GET" or endpoint in PUBLIC_ENDPOINTS:
            continue
        allowed = next((roles for prefix, roles in ROUTE_ROLES.items() if endpoint.startswith(prefix)), set(Role))
        response = client.get(url)
        if role in allowed:
            assert response.status_code in (200, 404), (endpoint, role, response.status_code)
        else:
            assert response.status_code == 403, (endpoint, role, response.status_code)
            assert "You do not have access" in response.get_data(as_text=True)


def test_unsafe_admin_routes_refuse_other_roles(app, client, login_as):
    login_as(Role.CHAIR, Role.RISK, Role.MEMBER)
    for endpoint, method, url in _routes(app):
        if endpoint.startswith("admin.") and method in UNSAFE:
            assert client.open(url, method=method).status_code == 403, endpoint


def test_security_headers_and_cookie_flags(client, db):
    response = client.get("/auth/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    user = make_user()
    db.session.commit()
    response = client.post("/auth/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_carry_no_inline_script_or_style(client, login_as):
    login_as(Role.ADMIN)
    for url in ("/", "/admin/users", "/admin/sites", "/admin/users/invite", "/auth/sign-in"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>" not in body and " style=" not in body and "<style" not in body, url
        assert 'hx-headers=\'{"X-CSRFToken": "' in body or url == "/auth/sign-in"


def test_friendly_not_found_page(client, login_as):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert b"<html" not in response.data and b"Page not found" in response.data


def test_friendly_error_page_when_something_breaks(app, client, login_as, monkeypatch):
    from meetings.home import service

    def broken(*args, **kwargs):
        raise RuntimeError("database fell over")

    login_as(Role.MEMBER)
    monkeypatch.setattr(service, "upcoming_meetings", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Sorry, something went wrong" in body and "database fell over" not in body


def test_numbers_too_large_for_the_database_find_nothing(client, login_as):
    """An id or page past what the database holds is no such page, not an overflow (a 500)."""
    login_as(Role.ADMIN)
    huge = 2**63
    assert client.get(f"/cases/{huge}").status_code == 404
    assert client.get(f"/governance/?site={huge}").status_code == 404
    for url in ("/library/", "/actions/", "/admin/users"):
        assert client.get(f"{url}?page={huge}").status_code == 200, url


def test_sign_in_works_while_the_rate_limiters_redis_is_down(app, db):
    """Counts fall back to memory: an outage of Redis must not take sign-in down with it."""
    from meetings import create_app
    from meetings.extensions import limiter

    user = make_user()
    db.session.commit()
    cut_off = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production",
                          "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1", "WTF_CSRF_ENABLED": False,
                          "MAIL_SERVER": ""})
    client = cut_off.test_client()
    try:
        assert client.post("/auth/sign-in", data={"email": user.email, "password": "wrong"}).status_code == 401
        assert client.post("/auth/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 303
    finally:
        limiter.init_app(app)  # one limiter serves every app made in this process: give it back its storage
        with cut_off.app_context():
            db.engine.dispose()  # its own pool: closed now, not by the garbage collector at exit
