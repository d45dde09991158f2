"""Config, the data layer, migrations, the CLI and the demo data."""
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from meetings import config, demo, nhs_number
from meetings.cli import create_user, seed_demo
from meetings.extensions import db as _db
from meetings.models import Attendance, Case, Meeting, Minutes, Role, User, person_key
from meetings.professions import registration_error
from tests.factories import make_meeting, make_user


def test_database_url_defaults_to_sqlite_and_names_psycopg(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert config.database_url(str(tmp_path)) == f"sqlite:///{tmp_path}/lightbox.db"
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal/lightbox")
    assert config.database_url(str(tmp_path)) == "postgresql+psycopg://u@db.internal/lightbox"


def test_secret_key_is_generated_once_and_kept_private(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config.secret_key(str(tmp_path))
    assert len(first) == 64 and config.secret_key(str(tmp_path)) == first
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert config.secret_key(str(tmp_path)) == "from-the-environment"


def test_migrations_build_exactly_the_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_sqlite_runs_with_wal_and_foreign_keys(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas apply to SQLite only")
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_times_are_stored_in_utc_and_come_back_aware(db):
    london = timezone(timedelta(hours=1))
    meeting = make_meeting()
    meeting.starts_at = datetime(2026, 6, 2, 12, 30, tzinfo=london)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting.id).starts_at
    assert stored == datetime(2026, 6, 2, 11, 30, tzinfo=timezone.utc) and stored.tzinfo is not None
    with pytest.raises(Exception):
        meeting.starts_at = datetime(2026, 6, 2, 12, 30)
        db.session.flush()
    db.session.rollback()


def test_one_signature_per_person_per_meeting_is_enforced_by_the_database(db):
    meeting = make_meeting()
    user = make_user()
    for _ in range(2):
        db.session.add(Attendance(meeting_id=meeting.id, user_id=user.id, person_key=person_key(user.id, None),
                                  name=user.name, profession="other"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert person_key(None, " Guest@Test.Example.org ") == person_key(None, "guest@test.example.org")


def test_a_person_may_hold_several_roles(db):
    user = make_user(Role.CHAIR, Role.RISK)
    db.session.commit()
    user.roles = [Role.RISK, Role.ADMIN]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == {Role.RISK, Role.ADMIN}


def test_identifiers_cannot_be_loaded_by_accident(app, db):
    with app.test_request_context():
        demo.seed()
    db.session.commit()
    case = db.session.scalars(_db.select(Case)).first()
    with pytest.raises(Exception, match="raise"):
        case.identifiers


@pytest.mark.parametrize(
    "body, number, ok",
    [("GMC", "7012345", True), ("GMC", "701234", False), ("HCPC", "ra12345", True), ("HCPC", "12345", False),
     ("HCPC", "", False), ("none", "", True), ("none", "7012345", False)],
)
def test_registration_numbers(body, number, ok):
    assert (registration_error(body, number) is None) is ok


def test_nhs_numbers_check_digit_and_synthetic_numbers_are_in_the_test_range():
    assert nhs_number.is_valid("943 476 5919") and not nhs_number.is_valid("943 476 5918")
    for seed in range(50):
        number = nhs_number.synthetic(seed * 37)
        assert nhs_number.is_valid(number) and nhs_number.is_test_number(number)


def test_create_user_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(create_user, ["--email", "First.Admin@test.example.org", "--name", "First Admin",
                                         "--role", "admin", "--role", "chair", "--password", "a-long-password-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(_db.select(User).filter_by(email="first.admin@test.example.org"))
    assert user.roles == {Role.ADMIN, Role.CHAIR} and user.check_password("a-long-password-1")
    again = runner.invoke(create_user, ["--email", "first.admin@test.example.org", "--name", "X", "--password", "a-long-password-1"])
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(create_user, ["--email", "b@test.example.org", "--name", "B", "--password", "short"])
    assert short.exit_code != 0 and "12 characters" in short.output


def test_seed_demo_is_idempotent_and_prints_working_sign_ins(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(seed_demo, [])
    assert first.exit_code == 0, first.output
    counts = lambda: [db.session.scalar(_db.select(_db.func.count()).select_from(m)) for m in (User, Meeting, Case, Attendance, Minutes)]
    after_first = counts()
    assert runner.invoke(seed_demo, []).exit_code == 0
    assert counts() == after_first
    assert "already has users" in runner.invoke(seed_demo, ["--if-empty"]).output
    users, meetings, cases, attendance, minutes = after_first
    # Three local meetings with cases, two regional ones, and next year's series of six.
    assert users >= 4 and meetings == 3 + 2 + 6 and cases >= 6 and attendance > 0 and minutes == 2
    for email, role in demo.DEMO_SIGN_INS:
        assert email in first.output
        user = db.session.scalar(_db.select(User).filter_by(email=email))
        assert Role(role) in user.roles and user.check_password(demo.DEMO_PASSWORD)
    upcoming = db.session.scalar(_db.select(Meeting).filter_by(status="scheduled", series_id=None, scope="local"))
    queue = db.session.scalars(_db.select(Case).filter_by(meeting_id=upcoming.id).order_by(Case.queue_position)).all()
    assert [c.queue_position for c in queue] == list(range(len(queue))) and len(queue) >= 3
