"""`flask --app app backup` and `restore`: a seeded database round-trips table by table, row by row; a backup
taken while the app writes is consistent; and every refusal leaves things as they were.

The tests run on the suite's database: SQLite, or PostgreSQL when TEST_DATABASE_URL says so (the restores
then go into a scratch database named lightbox_backup_..., created and dropped here). pg_dump and
pg_restore must be on PATH for the PostgreSQL run.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import LargeBinary, MetaData, create_engine, insert, make_url, select, text

from meetings import create_app, demo
from meetings.extensions import db as _db
from meetings.models import AuditEvent, utcnow
from meetings.operations.backup import libpq, schema_note
from tests.conftest import ON_POSTGRESQL, emptied

postgresql_only = pytest.mark.skipif(not ON_POSTGRESQL, reason="the suite runs on SQLite (set TEST_DATABASE_URL)")
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="the suite runs on PostgreSQL")


@contextmanager
def app_on(url: str, tmp_path: Path, **overrides):
    """A second Lightbox on `url`, its app context pushed, as on the host where a backup is restored."""
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production",
                        "SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": "", "MAIL_OUTBOX": str(tmp_path / "outbox")}
                       | overrides)
    try:
        with other.app_context():
            try:
                yield other
            finally:
                _db.session.remove()
                _db.engine.dispose()
    finally:
        other.wsgi_app.engine.dispose()  # the live followers' own engine


def cli(app, *args: str):
    """Run a flask command of `app` in its own app context, as `flask --app app ...` would."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def every_row(url: str) -> dict[str, list[tuple]]:
    """Each table of the database at `url`, reflected, with its rows in primary key order."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {name: [tuple(row) for row in connection.execute(
                        select(table).order_by(*(table.primary_key.columns or table.columns)))]
                    for name, table in metadata.tables.items()}
    finally:
        engine.dispose()


def binary_values(url: str) -> list[bytes]:
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return [value for table in metadata.tables.values() for column in table.columns
                    if isinstance(column.type, LargeBinary)
                    for value in connection.execute(select(column)).scalars() if value]
    finally:
        engine.dispose()


def seeded(db) -> None:
    demo.seed()
    db.session.commit()


def test_a_seeded_database_round_trips_through_backup_and_restore(app, db, empty_database, tmp_path):
    seeded(db)
    source_url = app.config["SQLALCHEMY_DATABASE_URI"]
    out = tmp_path / "lightbox.backup"
    made = cli(app, "backup", "--out", str(out))
    assert made.exit_code == 0, made.output
    source = every_row(source_url)
    assert f"backup to {out}:" in made.output and f"{len(source)} tables" in made.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lightbox.backup"]  # no temporary file left
    assert out.stat().st_mode & 0o077 == 0  # a backup holds identifiers: its owner's alone

    with app_on(empty_database, tmp_path) as other:
        restored = cli(other, "restore", str(out))
        assert restored.exit_code == 0, restored.output
        assert "Restored" in restored.output and "latest migration" in restored.output

        copy = every_row(empty_database)
        assert set(copy) == set(source) and "alembic_version" in copy
        for table, rows in source.items():
            assert copy[table] == rows, f"{table} differs after the round trip"
        assert sum(map(len, source.values())) > 100
        assert len(binary_values(empty_database)) >= 4  # the DICOM files were among the rows compared

        # The restored database carries on where the original left off (PostgreSQL's sequences too).
        event = AuditEvent(action="test.after_restore", subject_type="test", detail={})
        _db.session.add(event)
        _db.session.commit()
        assert event.id > max(row[0] for row in source["audit_event"])


def pairs_in(rows) -> tuple[set[int], set[int]]:
    firsts = {subject for subject, half in rows if half == "first"}
    seconds = {subject for subject, half in rows if half == "second"}
    return firsts, seconds


def test_a_backup_taken_while_the_app_writes_is_consistent(app, db, empty_database, tmp_path):
    """A writer commits pairs of audit events, each pair in one transaction, through its own connection;
    every backup taken meanwhile holds whole pairs 0..n-1: no torn transaction, no gap."""
    writer_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    stop, written, failures = threading.Event(), [], []

    def write() -> None:
        try:
            while not stop.is_set():
                number = len(written)
                with writer_engine.begin() as connection:
                    for half in ("first", "second"):
                        connection.execute(insert(AuditEvent.__table__).values(
                            at=utcnow(), action="test.write", subject_type="pair", subject_id=number,
                            detail={"half": half}))
                written.append(number)
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        deadline = time.monotonic() + 5
        while len(written) < 20 and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        backups = []
        for number in range(3):
            before = len(written)
            out = tmp_path / f"during-{number}.backup"
            made = cli(app, "backup", "--out", str(out))
            assert made.exit_code == 0, made.output
            backups.append((out, before, len(written)))
    finally:
        stop.set()
        writer.join(timeout=5)
        writer_engine.dispose()
    assert not failures, failures
    assert len(written) > backups[0][1]  # the writer went on while the backups ran

    for out, before, after in backups:
        if ON_POSTGRESQL:
            rows = rows_restored_from(out, empty_database, tmp_path)
        else:
            with sqlite3.connect(f"{out.as_uri()}?mode=ro", uri=True) as copy:
                assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                rows = copy.execute("SELECT subject_id, json_extract(detail, '$.half') FROM audit_event "
                                    "WHERE action = 'test.write'").fetchall()
        firsts, seconds = pairs_in(rows)
        assert firsts == seconds == set(range(len(firsts))), f"{out.name} holds a torn or gapped write"
        assert before <= len(firsts) <= after + 1


def rows_restored_from(out: Path, empty_database: str, tmp_path: Path) -> list[tuple]:
    """PostgreSQL: restore `out` into the scratch database, read the pairs, and empty it again."""
    with app_on(empty_database, tmp_path) as other:
        restored = cli(other, "restore", str(out))
        assert restored.exit_code == 0, restored.output
        with _db.engine.connect() as connection:
            rows = connection.execute(text("SELECT subject_id, detail ->> 'half' FROM audit_event "
                                           "WHERE action = 'test.write'")).all()
    emptied(empty_database)
    return rows


def test_backup_will_not_overwrite_a_file_unless_forced(app, db, tmp_path):
    out = tmp_path / "lightbox.backup"
    out.write_text("yesterday's backup")
    refused = cli(app, "backup", "--out", str(out))
    assert refused.exit_code != 0 and "already exists" in refused.output and "--force" in refused.output
    assert out.read_text() == "yesterday's backup"

    forced = cli(app, "backup", "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert out.read_bytes()[:5] in (b"SQLit", b"PGDMP")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lightbox.backup"]


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(app, db, tmp_path):
    db.session.add(AuditEvent(action="test.kept", subject_type="test", detail={}))
    db.session.commit()
    out = tmp_path / "lightbox.backup"
    assert cli(app, "backup", "--out", str(out)).exit_code == 0
    db.session.add(AuditEvent(action="test.after_backup", subject_type="test", detail={}))
    db.session.commit()
    before = every_row(app.config["SQLALCHEMY_DATABASE_URI"])

    refused = cli(app, "restore", str(out))
    assert refused.exit_code != 0
    assert "is not empty" in refused.output and "Nothing was changed" in refused.output
    assert every_row(app.config["SQLALCHEMY_DATABASE_URI"]) == before


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path, empty_database):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("Minutes of the REAL meeting\n")
    with app_on(empty_database, tmp_path) as other:
        refused = cli(other, "restore", str(not_a_backup))
        assert refused.exit_code != 0
        assert "is not a Lightbox backup" in refused.output and "Nothing was changed" in refused.output
        assert not tables_in(empty_database)


def test_a_damaged_backup_is_refused_and_the_database_stays_empty(app, db, tmp_path, empty_database):
    seeded(db)
    out = tmp_path / "lightbox.backup"
    assert cli(app, "backup", "--out", str(out)).exit_code == 0
    whole = out.read_bytes()
    out.write_bytes(whole[:len(whole) // 2])  # cut off half way, as by a full disk
    with app_on(empty_database, tmp_path) as other:
        refused = cli(other, "restore", str(out))
        assert refused.exit_code != 0, refused.output
        assert ("pg_restore failed" if ON_POSTGRESQL else "failed: database disk image is malformed") in refused.output
        assert not tables_in(empty_database)


def tables_in(url: str) -> list[str]:
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        return list(metadata.tables)
    finally:
        engine.dispose()


def test_restore_refuses_a_backup_from_the_other_engine(app, tmp_path):
    other_kind = tmp_path / "other.backup"
    if ON_POSTGRESQL:
        with sqlite3.connect(other_kind) as connection:
            connection.execute("CREATE TABLE site (id INTEGER PRIMARY KEY)")
        connection.close()
        expected = "is a SQLite backup, but the configured database"
    else:
        other_kind.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(64))
        expected = "is a PostgreSQL backup, but the configured database"
    refused = cli(app, "restore", str(other_kind))
    assert refused.exit_code != 0 and expected in refused.output and "Nothing was changed" in refused.output


@sqlite_only
def test_an_older_schema_is_restored_with_a_note_to_upgrade(app, db, tmp_path, empty_database):
    out = tmp_path / "lightbox.backup"
    assert cli(app, "backup", "--out", str(out)).exit_code == 0
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    previous = script.get_revision(script.get_current_head()).down_revision
    with sqlite3.connect(out) as connection:  # as if made before the latest migration
        connection.execute("UPDATE alembic_version SET version_num = ?", (previous,))
    connection.close()
    with app_on(empty_database, tmp_path) as other:
        restored = cli(other, "restore", str(out))
    assert restored.exit_code == 0, restored.output
    assert f"at migration {previous}, older than" in restored.output
    assert "run flask --app app db upgrade" in restored.output


def test_the_schema_note_names_unknown_and_missing_revisions(app):
    assert "newer version of Lightbox" in schema_note(["0123456789ab"])
    assert "no alembic_version table" in schema_note(None)


def test_the_postgresql_password_goes_in_the_environment_not_the_command_line(monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    address, environment = libpq(make_url("postgresql+psycopg://lightbox:s3cret%40x@db.internal:5433/lightbox"
                                          "?sslmode=require"))
    assert address == "postgresql://lightbox@db.internal:5433/lightbox?sslmode=require"
    assert environment["PGPASSWORD"] == "s3cret@x"
    assert "PGPASSWORD" not in libpq(make_url("postgresql+psycopg://postgres@127.0.0.1/test"))[1]


@postgresql_only
def test_a_missing_or_failing_pg_dump_is_a_clear_error_and_leaves_no_file(app, db, tmp_path, monkeypatch):
    out = tmp_path / "backups" / "lightbox.backup"
    out.parent.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    missing = cli(app, "backup", "--out", str(out))
    assert missing.exit_code != 0 and "pg_dump is not on PATH" in missing.output

    # A pg_dump that writes half a file, complains and fails, as on a full disk.
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pg_dump").write_text(
        '#!/bin/sh\n'
        'while [ $# -gt 0 ]; do [ "$1" = --file ] && printf PGDMP-half > "$2"; shift; done\n'
        'echo "pg_dump: error: could not write to output file: No space left on device" >&2\n'
        'exit 1\n')
    (tools / "pg_dump").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    failed = cli(app, "backup", "--out", str(out))
    assert failed.exit_code != 0
    assert "pg_dump failed (exit status 1)" in failed.output and "No space left on device" in failed.output
    assert list(out.parent.iterdir()) == []  # neither the final name nor the half-written temporary file


@postgresql_only
def test_pg_dump_matches_the_servers_major_version(app, db):
    import subprocess

    client = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=True).stdout
    server = db.session.execute(text("SHOW server_version_num")).scalar_one()
    client_major = int(client.split()[2].split(".")[0])
    assert client_major >= int(server) // 10000, f"pg_dump {client.strip()} is older than the server ({server})"
