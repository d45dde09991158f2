"""The audit log viewer: admins filter and export who did what; nothing in the app changes an entry."""
from __future__ import annotations

import csv
import io

import pytest

from meetings.extensions import db
from meetings.models import AuditEvent, Role
from tests.conftest import signed_in
from tests.factories import PASSWORD, make_case, make_user
from tests.test_admin import invite_data


@pytest.fixture
def history(app, client, login_as):
    """A sign-in, a view of a case's identifiers, and a role change, by three people."""
    admin = login_as(Role.ADMIN, name="Dr Ada Auditor")
    chair = make_user(Role.CHAIR, name="Dr Chloe Chair", email="chloe.chair@test.example.org")
    member = make_user(home_site=chair.home_site, name="Sam Member")
    case = make_case(member, None, {"patient_name": "Zebedee Quartermaine"})
    db.session.commit()
    assert app.test_client().post("/auth/sign-in", data={"email": chair.email, "password": PASSWORD}).status_code == 303
    assert signed_in(app.test_client(), chair).get(f"/cases/{case.id}").status_code == 200
    response = client.post(f"/admin/users/{member.id}/edit", data=invite_data(
        member.home_site_id, name=member.name, email=member.email, roles=["member", "risk"]))
    assert response.status_code == 303
    return admin, chair, member, case


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_admins_filter_the_log_by_what_who_and_when(client, history):
    admin, chair, member, case = history
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert "case.identifiers_viewed" in everything and "user.signed_in" in everything and "user.updated" in everything
    viewed = client.get("/admin/audit?category=identifiers").get_data(as_text=True)
    assert "case.identifiers_viewed" in viewed and "user.signed_in" not in viewed
    assert "Dr Chloe Chair &lt;chloe.chair@test.example.org&gt;" in viewed and f"case {case.id}" in viewed
    roles = client.get("/admin/audit?category=roles").get_data(as_text=True)
    assert "roles: member, risk" in roles and "case.identifiers_viewed" not in roles
    by_chair = client.get("/admin/audit?actor=chloe", headers={"HX-Request": "true", "HX-Target": "audit-results"})
    body = by_chair.get_data(as_text=True)
    assert b"<html" not in by_chair.data and "user.signed_in" in body and "user.updated" not in body
    assert "0 entries match" in client.get("/admin/audit?from=2000-01-01&to=2000-12-31").get_data(as_text=True)
    assert "0 entries" not in client.get(f"/admin/audit?subject_type=case&subject_id={case.id}").get_data(as_text=True)
    assert client.get("/admin/audit?from=not-a-date&subject_id=99999999999&category=<script>").status_code == 200


def test_the_log_exports_as_csv_and_the_export_is_logged(client, history):
    response = client.get("/admin/audit.csv?category=identifiers")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = _rows(response)
    assert rows[0] == ["When", "Who", "Action", "Subject", "Subject id", "Detail"]
    assert [row[2] for row in rows[1:]] == ["case.identifiers_viewed"]
    assert rows[1][1] == "Dr Chloe Chair <chloe.chair@test.example.org>"
    exported = db.session.query(AuditEvent).filter_by(action="audit.exported").one()
    assert exported.detail == {"filters": {"category": "identifiers"}}


def test_entries_cannot_be_changed_or_deleted(app, history):
    event = db.session.query(AuditEvent).filter_by(action="case.identifiers_viewed").one()
    event.action = "nothing.happened"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    # Nor is there a route that could: the log's only routes read it.
    routes = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert routes and all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in routes)


def test_only_admins_read_the_log(app, history):
    _, chair, member, _ = history
    for person in (chair, member):
        viewer = signed_in(app.test_client(), person)
        assert viewer.get("/admin/audit").status_code == 403 and viewer.get("/admin/audit.csv").status_code == 403
