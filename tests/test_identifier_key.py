"""Identifiers sealed at rest with IDENTIFIER_KEY: nothing identifiable in the database in plain text,
Lightbox running (and saying so) without the key, key rotation, and the migration that sealed them."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from meetings import config, create_app, demo
from meetings.cases import review
from meetings.extensions import db as _db
from meetings.operations import rekey
from meetings.models import (
    Attendance, AuditEvent, Case, CaseIdentifiers, CaseStatus, Feedback, LibraryEntry, LiveState, Meeting, MeetingStatus,
    MinutesVersion, Poll, Register, Role, utcnow,
)
from tests.conftest import IDENTIFIER_KEY, approve_for_room, signed_in
from tests.factories import make_case, make_meeting, make_user, png
from tests.test_backup import app_on, every_row
from tests.test_cases import case_form, only_case, submit
from tests.test_register import guest_signs, register_action

HX = {"HX-Request": "true"}
PATIENT = {"patient_name": "Quillon Vantablack", "nhs_number": "943 476 5919", "hospital_number": "QVH4471122",
           "date_of_birth": "1950-02-03", "accession_number": "ACCQV99881", "examination_date": "2026-01-10",
           "reporter_name": "Dr Orsolya Pemberton", "reporter_email": "orsolya.pemberton@test.example.org",
           "referrer_name": "Dr Ignatius Threnody"}
# How each would be found in a table: the NHS number is kept as digits.
CANARIES = ("Quillon", "Vantablack", "9434765919", "QVH4471122", "1950-02-03", "ACCQV99881", "Orsolya",
            "orsolya.pemberton", "Threnody")


def database_text(url: str) -> str:
    """Every row of every table at `url`, as text (binary columns included, decoded loosely)."""
    return "\n".join(value.decode("latin-1") if isinstance(value, bytes) else str(value)
                     for rows in every_row(url).values() for row in rows for value in row)


def sealed_token(case_id: int) -> str:
    return _db.session.execute(text("SELECT sealed FROM case_identifiers WHERE case_id = :id"), {"id": case_id}).scalar()


@pytest.fixture
def keys(app, monkeypatch):
    """Set the server's identifier keys for one test: `keys([])` is a server without IDENTIFIER_KEY."""
    def use(fernets: list[Fernet]) -> None:
        monkeypatch.setitem(app.extensions, "identifier_key", fernets)
    return use


@pytest.fixture
def submitted_case(client, login_as):
    member = login_as(Role.MEMBER)
    response = submit(client, case_form(member.home_site_id, **PATIENT))
    assert response.status_code == 303, response.get_data(as_text=True)
    return only_case()


def test_identifiers_are_sealed_in_the_database_and_opened_for_those_allowed(app, client, submitted_case):
    case = submitted_case
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Quillon Vantablack" in page and "943 476 5919" in page and "Dr Ignatius Threnody" in page

    # Nowhere in the database, the audit of that view included, is any of them in plain text.
    _db.session.commit()
    everything = database_text(app.config["SQLALCHEMY_DATABASE_URI"])
    assert [canary for canary in CANARIES if canary in everything] == []
    token = sealed_token(case.id)
    held = json.loads(Fernet(IDENTIFIER_KEY).decrypt(token.encode()))
    assert held["patient_name"] == "Quillon Vantablack" and held["nhs_number"] == "9434765919"

    # Saving what is there already leaves the token alone (no review goes stale); a change reseals it.
    identifiers = _db.session.get(CaseIdentifiers, case.id)
    identifiers.patient_name, identifiers.referrer_name = "Quillon Vantablack", "Dr Ignatius Threnody"
    _db.session.commit()
    assert sealed_token(case.id) == token
    identifiers.hospital_number = "QVH4471123"
    _db.session.commit()
    assert sealed_token(case.id) != token
    _db.session.expire_all()
    assert _db.session.get(CaseIdentifiers, case.id).hospital_number == "QVH4471123"


@pytest.fixture
def room(app, client, login_as):
    """A started meeting at its learning points, the case's naming the patient; `client` is its chair."""
    chair = login_as(Role.CHAIR)
    meeting = make_meeting(chair=chair, title="Chest REAL meeting")
    case = make_case(chair, meeting, {"patient_name": "Quillon Vantablack", "hospital_number": "QVH4471122"},
                     clinical_question="Breathless. ?PE", learning_points="Mr Vantablack's arteries: check them.")
    _db.session.commit()
    assert approve_for_room(client, case).status_code == 303
    for command, fields in (("start", {}), ("stage", {"stage": 4})):
        assert client.post(f"/meetings/{meeting.id}/live/{command}", data=fields, headers=HX).status_code == 200
    return meeting, case


def test_without_the_key_lightbox_runs_and_says_identifiers_are_unavailable(app, client, room, keys):
    meeting, case = room
    token, viewed = sealed_token(case.id), _db.session.query(AuditEvent).filter_by(action="case.identifiers_viewed").count()
    keys([])

    # The room goes on: approved text is shown, and notes that cannot be checked are withheld, not shown raw.
    projector = client.get(f"/meetings/{meeting.id}/projector")
    shown = projector.get_data(as_text=True)
    assert projector.status_code == 200 and "Breathless. ?PE" in shown
    assert "Withheld: Lightbox cannot check this for identifiers just now" in shown and "Vantablack" not in shown

    # The case page says so in place of the identifiers, and records no view of what it did not show.
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "Identifiers unavailable" in page.get_data(as_text=True)
    assert "Vantablack" not in page.get_data(as_text=True)
    assert _db.session.query(AuditEvent).filter_by(action="case.identifiers_viewed").count() == viewed

    learning = case.learning_points

    # What needs them says why it cannot go on, and writes nothing: reviewing, the minutes' editor (its forms
    # would carry the placeholder into a later save), saving their wording, and asking the room a poll
    # whose question and answers nobody could read.
    client.post(f"/meetings/{meeting.id}/live/stage", data={"stage": 1}, headers=HX)
    for refused in (client.get(f"/cases/{case.id}/review"),
                    client.post(f"/cases/{case.id}/review", data={"action": "approve", "seen": "x"}),
                    client.get(f"/meetings/{meeting.id}/minutes"),
                    client.post(f"/meetings/{meeting.id}/live/open-poll", headers=HX, data={
                        "preset": "free_text", "question": "What would you have said?"}),
                    client.post(f"/meetings/{meeting.id}/minutes/cases/{case.id}", headers=HX,
                                data={f"case{case.id}-learning_points": "Typed while the key was missing."})):
        body = refused.get_data(as_text=True)
        assert refused.status_code == 503 and "Patient identifiers are unavailable" in body, body[:300]
    _db.session.expire_all()
    assert _db.session.get(Case, case.id).learning_points == learning
    _db.session.add(Feedback(case_id=case.id, meeting_id=meeting.id, recipient_email="r@test.example.org",
                             sent_at=utcnow() - timedelta(days=200), acknowledged_at=utcnow() - timedelta(days=199)))
    _db.session.commit()
    purged = app.test_cli_runner().invoke(args=["purge-identifiers"])
    assert purged.exit_code == 1 and "no identifier key" in purged.output
    assert _db.session.get(CaseIdentifiers, case.id).purged_at is None

    assert _db.session.query(Poll).count() == 0

    # A new case is refused with the reason, keeping everything typed and uploaded; nothing is stored in
    # plain text.
    form = client.get("/cases/new").get_data(as_text=True)
    assert "Cases cannot be saved just now" in form
    response = submit(client, case_form(case.site_id, **PATIENT, clinical_question="Headache. ?Bleed"),
                      files=[("head.png", png(), "Axial CT, no contrast")])
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "no identifier key" in body
    assert 'value="Quillon Vantablack"' in body and "Headache. ?Bleed" in body and "Axial CT, no contrast" in body
    assert _db.session.scalar(select(Case).where(Case.clinical_question == "Headache. ?Bleed")) is None
    assert sealed_token(case.id) == token

    # A key that did not seal them is no better than none.
    keys([Fernet(Fernet.generate_key())])
    assert "Identifiers unavailable" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    keys([Fernet(IDENTIFIER_KEY)])
    assert "Quillon Vantablack" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_rotating_the_key_reseals_every_case_and_keeps_approvals(app, db, keys, monkeypatch):
    chair = make_user(Role.CHAIR)
    meeting = make_meeting(chair=chair, status=MeetingStatus.ENDED, days_ahead=-30)
    presented = make_case(chair, meeting, PATIENT | {"date_of_birth": None, "examination_date": None},
                          status=CaseStatus.PRESENTED, learning_points="Window the lungs.")
    waiting = make_case(chair, None, {"patient_name": "Perpetua Quince"})
    db.session.commit()
    assert approve_for_room(signed_in(app.test_client(), chair), presented).status_code == 303
    assert db.session.get(LibraryEntry, presented.id) is not None
    before = {case.id: sealed_token(case.id) for case in (presented, waiting)}

    old, new = Fernet(IDENTIFIER_KEY), Fernet(Fernet.generate_key())
    keys([new, old])
    monkeypatch.setattr(rekey, "BATCH", 1)  # a batch (and a commit) for each case
    result = app.test_cli_runner().invoke(args=["rotate-identifier-key"])
    assert result.exit_code == 0, result.output
    assert "Resealed 2 cases with the first key (0 already were; 1 current approval kept)." in result.output
    for case_id, token in before.items():
        after = sealed_token(case_id)
        assert after != token and new.decrypt(after.encode())
        with pytest.raises(InvalidToken):
            old.decrypt(after.encode())
    event = db.session.scalars(select(AuditEvent).filter_by(action="identifiers.resealed")).first()
    assert event.subject_type == "lightbox" and event.detail["resealed"] == 2 and event.detail["approvals_kept"] == 1
    again = app.test_cli_runner().invoke(args=["rotate-identifier-key"])
    assert "Resealed 0 cases with the first key (2 already were" in again.output

    # The old key retired: everything opens with the new one alone, and the approval and library entry stand.
    keys([new])
    db.session.expire_all()
    assert db.session.get(CaseIdentifiers, waiting.id).patient_name == "Perpetua Quince"
    case = db.session.get(Case, presented.id)
    assert review.state_of(case) is review.ReviewState.REVIEWED
    assert db.session.get(LibraryEntry, case.id) is not None

    # A case sealed with a key the server was not given is named, and the rest still rotate.
    stranger = Fernet(Fernet.generate_key()).encrypt(b'{"patient_name": "Someone Else"}').decode()
    db.session.execute(text("UPDATE case_identifiers SET sealed = :token WHERE case_id = :id"),
                       {"token": stranger, "id": waiting.id})
    db.session.commit()
    keys([Fernet(Fernet.generate_key()), new])
    stuck = app.test_cli_runner().invoke(args=["rotate-identifier-key"])
    assert stuck.exit_code == 1 and "Resealed 1 case" in stuck.output and f"C{waiting.id}" in stuck.output

    keys([])
    nothing = app.test_cli_runner().invoke(args=["rotate-identifier-key"])
    assert nothing.exit_code == 1 and "IDENTIFIER_KEY is not set" in nothing.output


def test_keys_come_from_the_environment_or_a_file_and_a_malformed_one_stops_the_app(monkeypatch, tmp_path, app):
    made = app.test_cli_runner().invoke(args=["new-identifier-key"])
    key = made.output.strip()
    assert made.exit_code == 0 and Fernet(key.encode())
    monkeypatch.delenv("IDENTIFIER_KEY", raising=False)
    monkeypatch.delenv("IDENTIFIER_KEY_FILE", raising=False)
    assert config.identifier_key() == ""
    (tmp_path / "key").write_text(f"{key},{IDENTIFIER_KEY}\n")
    monkeypatch.setenv("IDENTIFIER_KEY_FILE", str(tmp_path / "key"))
    assert config.identifier_key() == f"{key},{IDENTIFIER_KEY}"
    monkeypatch.setenv("IDENTIFIER_KEY", IDENTIFIER_KEY)
    assert config.identifier_key() == IDENTIFIER_KEY
    with pytest.raises(ValueError, match="IDENTIFIER_KEY: key 2 is not a Fernet key"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "IDENTIFIER_KEY": f"{IDENTIFIER_KEY},{IDENTIFIER_KEY[:-2]}"})


def identifiers_and_states() -> dict[int, tuple]:
    return {case.id: (review.state_of(case).value, ids.patient_name, ids.nhs_number, ids.date_of_birth,
                      ids.reporter_email, ids.reporter_id)
            for case in _db.session.scalars(select(Case).order_by(Case.id))
            if (ids := _db.session.get(CaseIdentifiers, case.id)) is not None}


def test_the_migration_seals_plain_identifiers_and_keeps_every_approval(empty_database, tmp_path, capfd):
    with app_on(empty_database, tmp_path, IDENTIFIER_KEY=IDENTIFIER_KEY, ALLOW_TEST_NHS_NUMBERS=True) as other:
        upgrade()
        demo.seed()
        _db.session.commit()
        sealed = identifiers_and_states()
        assert {state for state, *_ in sealed.values()} == {"reviewed", "not_reviewed"}

        # Each migration runs with no transaction of the app's open (on PostgreSQL, a read holds a lock the
        # migration's ALTER TABLE would wait for).
        _db.session.remove()
        downgrade(revision="3620c2b72ac6")  # identifiers in plain columns, fingerprinted as they were then
        _db.session.remove()
        plain = {row.case_id: row for row in _db.session.execute(text(
            "SELECT case_id, patient_name, nhs_number, reporter_email FROM case_identifiers"))}
        for case_id, (_, name, number, _, email, _) in sealed.items():
            assert (plain[case_id].patient_name, plain[case_id].nhs_number, plain[case_id].reporter_email) == (
                name, number, email)

        other.config["IDENTIFIER_KEY"] = ""
        _db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error and exits
            upgrade()
        assert "set IDENTIFIER_KEY first" in capfd.readouterr().err
        _db.session.remove()
        assert _db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == "3620c2b72ac6"
        # Nothing half done: the plain columns are all still there.
        assert "patient_name" in {column["name"] for column in inspect(_db.engine).get_columns("case_identifiers")}

        other.config["IDENTIFIER_KEY"] = IDENTIFIER_KEY
        _db.session.remove()
        upgrade()
        _db.session.remove()
        assert identifiers_and_states() == sealed
        everything = database_text(empty_database)
        assert not [name for _, name, *_ in sealed.values() if name and name in everything]


def test_no_case_identifier_attribute_is_a_plain_column():
    columns = set(CaseIdentifiers.__table__.columns.keys())
    assert columns == {"case_id", "reporter_id", "sealed", "purged_at"}


def test_without_the_key_the_register_closes_and_minutes_and_certificates_wait_for_it(app, client, room, keys):
    meeting, case = room
    code = _db.session.scalar(select(LiveState.join_code).where(LiveState.meeting_id == meeting.id))
    register_action(client, meeting, "open")
    assert guest_signs(app.test_client(), code, meeting).status_code == 303
    keys([])
    client.post(f"/meetings/{meeting.id}/live/end", headers=HX)  # the meeting ends as usual
    _db.session.expire_all()
    assert _db.session.get(Meeting, meeting.id).status == MeetingStatus.ENDED

    assert register_action(client, meeting, "close").status_code == 204  # closed, as with the key
    assert _db.session.get(Register, meeting.id).closed_at is not None
    attendance = _db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id))
    assert attendance.certificate_emailed_at is None  # not sent with its learning withheld
    published = client.post(f"/meetings/{meeting.id}/minutes/publish", data={"note": ""})
    assert published.status_code == 503 and "Identifiers unavailable" in published.get_data(as_text=True)
    assert _db.session.query(MinutesVersion).count() == 0

    # Its cases wait to go in the library: their notes cannot be checked. rebuild-library waits for the key.
    assert _db.session.get(LibraryEntry, case.id) is None
    rebuilt = app.test_cli_runner().invoke(args=["rebuild-library"])
    assert rebuilt.exit_code == 1 and "no identifier key" in rebuilt.output

    keys([Fernet(IDENTIFIER_KEY)])
    assert app.test_cli_runner().invoke(args=["rebuild-library"]).exit_code == 0
    assert _db.session.get(LibraryEntry, case.id) is not None
    sent = app.test_cli_runner().invoke(args=["send-certificates"])
    assert sent.exit_code == 0, sent.output
    _db.session.expire_all()
    assert _db.session.get(Attendance, attendance.id).certificate_emailed_at is not None
    assert client.post(f"/meetings/{meeting.id}/minutes/publish", data={"note": ""}).status_code == 303
