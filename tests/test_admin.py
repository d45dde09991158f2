from meetings.extensions import db as _db
from meetings.models import AuditEvent, Role, Site, User
from tests.conftest import is_fragment
from tests.factories import make_site, make_user

HX = {"HX-Request": "true"}


def invite_data(site_id, **changes):
    data = {
        "name": "Dr Nia Test", "email": "nia.test@test.example.org", "roles": ["member"],
        "home_site_id": str(site_id), "profession": "trainee_radiologist", "professional_body": "GMC",
        "registration_number": "1234567",
    }
    data.update(changes)
    return data


def test_invite_errors_sit_beside_fields_and_keep_what_was_typed(client, login_as):
    admin = login_as(Role.ADMIN)
    response = client.post(
        "/admin/users/invite",
        data=invite_data(admin.home_site_id, email="not-an-email", professional_body="HCPC", registration_number="12345"),
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "There is a problem" in body
    assert 'id="email-error"' in body and "Enter an email address like" in body
    assert 'id="registration_number-error"' in body and "RA then digits" in body
    assert 'value="Dr Nia Test"' in body and 'value="not-an-email"' in body and 'value="12345"' in body
    assert 'value="trainee_radiologist" selected' in body or 'selected value="trainee_radiologist"' in body
    assert _db.session.scalar(_db.select(User).filter_by(name="Dr Nia Test")) is None


def test_invite_refuses_a_duplicate_email_whatever_its_case(client, login_as):
    admin = login_as(Role.ADMIN)
    existing = make_user(email="taken@test.example.org")
    _db.session.commit()
    response = client.post("/admin/users/invite", data=invite_data(admin.home_site_id, email="TAKEN@test.example.org"))
    assert response.status_code == 422
    assert "Someone already has this email address" in response.get_data(as_text=True)
    assert existing.name != "Dr Nia Test"


def test_invite_writes_the_outbox_when_no_smtp_server_is_set(app, client, login_as, tmp_path):
    admin = login_as(Role.ADMIN)
    app.config["MAIL_OUTBOX"] = str(tmp_path)
    response = client.post("/admin/users/invite", data=invite_data(admin.home_site_id))
    assert response.status_code == 303
    [eml] = list(tmp_path.glob("*.eml"))
    assert b"nia.test@test.example.org" in eml.read_bytes() and b"/auth/invite/" in eml.read_bytes()
    user = _db.session.scalar(_db.select(User).filter_by(email="nia.test@test.example.org"))
    assert not user.has_accepted_invite
    assert _db.session.scalar(_db.select(AuditEvent).filter_by(action="user.invited", subject_id=user.id))


def test_edit_user_changes_roles_and_site(client, login_as):
    admin = login_as(Role.ADMIN)
    person = make_user(Role.MEMBER)
    other_site = make_site(name="Other Test Hospital")
    _db.session.commit()
    page = client.get(f"/admin/users/{person.id}/edit")
    assert page.status_code == 200 and person.email in page.get_data(as_text=True)
    response = client.post(
        f"/admin/users/{person.id}/edit",
        data=invite_data(other_site.id, name=person.name, email=person.email, roles=["chair", "risk"],
                         professional_body="none", registration_number=""),
    )
    assert response.status_code == 303
    _db.session.refresh(person)
    assert person.roles == {Role.CHAIR, Role.RISK} and person.home_site_id == other_site.id
    assert admin.roles == {Role.ADMIN}


def test_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(client, login_as):
    admin = login_as(Role.ADMIN)
    response = client.post(
        f"/admin/users/{admin.id}/edit",
        data=invite_data(admin.home_site_id, name=admin.name, email=admin.email, roles=["member"],
                         professional_body="none", registration_number=""),
    )
    assert response.status_code == 422 and "cannot remove your own admin role" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, headers=HX)
    assert is_fragment(response.data) and "cannot deactivate your own account" in response.get_data(as_text=True)
    _db.session.refresh(admin)
    assert admin.active and Role.ADMIN in admin.roles


def test_deactivate_and_reactivate_inline_with_htmx(client, login_as):
    login_as(Role.ADMIN)
    person = make_user()
    _db.session.commit()
    response = client.post(f"/admin/users/{person.id}/active", data={"active": "0"}, headers=HX)
    assert response.status_code == 200 and is_fragment(response.data)
    assert response.data.lstrip().startswith(b"<tr") and b"Deactivated" in response.data and b"Reactivate" in response.data
    assert "HX-Request" in response.headers["Vary"]
    _db.session.refresh(person)
    assert not person.active
    # Without JavaScript the same form posts and comes back to the list.
    response = client.post(f"/admin/users/{person.id}/active", data={"active": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    _db.session.refresh(person)
    assert person.active


def test_user_search_returns_the_table_fragment_for_htmx(client, login_as):
    login_as(Role.ADMIN, name="Admin Person")
    make_user(name="Dr Findable Person", email="findable@test.example.org")
    make_user(name="Someone Else")
    _db.session.commit()
    fragment = client.get("/admin/users?q=findable", headers=HX)
    assert is_fragment(fragment.data) and b'id="user-table"' in fragment.data
    assert b"Dr Findable Person" in fragment.data and b"Someone Else" not in fragment.data
    full = client.get("/admin/users?q=FINDABLE")
    assert b"<html" in full.data and b"Dr Findable Person" in full.data and b'value="FINDABLE"' in full.data


def test_resend_invite_only_for_people_still_invited(client, login_as, smtp_server):
    login_as(Role.ADMIN)
    invited = make_user(password_hash=None)
    accepted = make_user()
    _db.session.commit()
    assert client.post(f"/admin/users/{invited.id}/resend-invite", headers=HX).status_code == 200
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["To"] == invited.email
    response = client.post(f"/admin/users/{accepted.id}/resend-invite", headers=HX)
    assert b"already set a password" in response.data and len(smtp_server.messages) == 1


def test_add_site_with_htmx_returns_the_panel_with_errors_or_the_new_row(client, login_as):
    login_as(Role.ADMIN)
    make_site(name="Existing Test Hospital", code="ETH")
    _db.session.commit()
    response = client.post("/admin/sites", data={"name": "Another Test Hospital", "code": "eth"}, headers=HX)
    assert response.status_code == 422 and is_fragment(response.data)
    assert b"Another site already has this code" in response.data and b'value="Another Test Hospital"' in response.data
    response = client.post("/admin/sites", data={"name": "Another Test Hospital", "code": "ath"}, headers=HX)
    assert response.status_code == 200 and is_fragment(response.data)
    assert b"Added Another Test Hospital" in response.data and b"<td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Code </span>ATH" in response.data
    assert _db.session.scalar(_db.select(Site).filter_by(code="ATH")) is not None


def test_edit_site_inline_and_without_javascript(client, login_as):
    login_as(Role.ADMIN)
    site = make_site(name="Old Name Hospital", code="ONH")
    _db.session.commit()
    row = client.get(f"/admin/sites/{site.id}/edit", headers=HX)
    assert is_fragment(row.data) and b'value="Old Name Hospital"' in row.data
    saved = client.post(f"/admin/sites/{site.id}/edit", data={"name": "New Name Hospital", "code": "NNH"}, headers=HX)
    assert saved.status_code == 200 and b"New Name Hospital" in saved.data and b"<form" in saved.data
    page = client.get(f"/admin/sites/{site.id}/edit")
    assert b"<html" in page.data and b"Edit New Name Hospital" in page.data
    bad = client.post(f"/admin/sites/{site.id}/edit", data={"name": "", "code": "NNH"})
    assert bad.status_code == 422 and b"Enter the site&#39;s name" in bad.data
    assert not _db.session.get(Site, site.id).radpeer_enabled  # grading is off unless a site asks
    graded = client.post(f"/admin/sites/{site.id}/edit", data={"name": "New Name Hospital", "code": "NNH",
                                                               "radpeer_enabled": "y"}, headers=HX)
    assert b"RADPEER grading on" in graded.data
    _db.session.expire_all()
    assert _db.session.get(Site, site.id).radpeer_enabled
    off = client.post(f"/admin/sites/{site.id}/active", data={"active": "0"}, headers=HX)
    assert b"Inactive" in off.data


def test_a_site_sets_its_minutes_distribution_and_whether_minutes_name_people(client, login_as, db):
    login_as(Role.ADMIN)
    site = make_site(name="Distribution General", code="DGH")
    db.session.commit()
    refused = client.post(f"/admin/sites/{site.id}/edit", data={
        "name": site.name, "code": site.code, "risk_distribution": "risk@dgh.example.org\nnot an address"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "“not an address” is not an email address" in body
    assert "risk@dgh.example.org\nnot an address" in body, "what was typed is kept"
    saved = client.post(f"/admin/sites/{site.id}/edit", data={
        "name": site.name, "code": site.code, "risk_distribution": " risk@dgh.example.org \n\nteam@dgh.example.org"})
    assert saved.status_code == 303
    db.session.expire_all()
    site = db.session.get(Site, site.id)
    assert site.risk_addresses == ["risk@dgh.example.org", "team@dgh.example.org"]
    assert site.minutes_list_names is False, "the box was left unticked"
