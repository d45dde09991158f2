"""Backing up and restoring the database: `flask --app app backup --out FILE` and `flask --app app restore FILE`.

SQLite is copied with its online backup API, which takes a consistent snapshot while the app goes on
serving. PostgreSQL is handed to pg_dump and pg_restore (custom format), the tools hospital IT can also run
themselves; the README's "Backups" section gives their commands. A restore goes only into an empty
database, so it can never overwrite or mix with live data.

Neither command writes to the audit log (nor could a restore: it needs an empty database). The host's own
logs and the backup files themselves are the record of them.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import URL, Connection, make_url, text
from sqlalchemy.exc import OperationalError

from meetings.extensions import db

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"  # pg_dump's custom format
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
UPGRADE = "flask --app app db upgrade"
# Every relation outside PostgreSQL's own schemas: what pg_dump writes and what an empty database lacks.
PG_USER_RELATIONS = """
    SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY n.nspname, c.relname
"""


@dataclass(frozen=True)
class Summary:
    """What a backup holds, or what a restore put back."""

    tables: int
    rows: int

    def __str__(self) -> str:
        return f"{self.tables} tables, {self.rows:,} rows"


@click.command("backup")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the backup: a SQLite database file, or a pg_dump custom-format archive.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup(out: Path, force: bool) -> None:
    """Write a consistent copy of the database to FILE while the app goes on serving.

    SQLite: an online backup to a single self-contained file. PostgreSQL: pg_dump --format=custom (pg_dump
    must be on PATH, the server's major version or newer). The file is readable only by its owner.
    """
    url = configured_url()
    engine = engine_of(url)
    if out.exists() and not force:
        raise click.ClickException(f"{out} already exists; choose another name, or pass --force to replace it")
    if not out.parent.is_dir():
        raise click.ClickException(f"there is no directory {out.parent} to write the backup in")
    with staged(out, force) as part:
        summary = backup_sqlite(sqlite_path(url), part) if engine == "sqlite" else backup_postgresql(url, part)
    click.echo(f"Wrote a {ENGINES[engine]} backup to {out}: {out.stat().st_size:,} bytes, {summary}.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(file: Path) -> None:
    """Restore FILE, made by `backup`, into the configured database, which must be empty (no tables).

    SQLite: into the DATABASE_URL file (created if missing). PostgreSQL: pg_restore into the DATABASE_URL
    database, in one transaction. Afterwards run `flask --app app db upgrade` if the note says so.
    """
    url = configured_url()
    engine = engine_of(url)
    kind = kind_of(file)
    if kind is None:
        raise click.ClickException(f"{file} is not a Lightbox backup: it is neither a SQLite database nor a "
                                   "pg_dump custom-format archive. Nothing was changed.")
    if kind != engine:
        raise click.ClickException(
            f"{file} is a {ENGINES[kind]} backup, but the configured database ({shown(url)}) is "
            f"{ENGINES[engine]}: restore it into a {ENGINES[kind]} database (set DATABASE_URL). Nothing was changed.")
    if engine == "sqlite":
        target = sqlite_path(url)
        summary, revisions = restore_sqlite(file, target)
    else:
        target, (summary, revisions) = shown(url), restore_postgresql(file, url)
    click.echo(f"Restored {file} into {target}: {summary}.")
    click.echo(schema_note(revisions))


# The configured database.

def configured_url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def engine_of(url: URL) -> str:
    engine = url.get_backend_name()
    if engine not in ENGINES:
        raise click.ClickException(f"backup and restore handle SQLite and PostgreSQL, not {engine}")
    return engine


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path:
    """The database file. A relative path is in the instance folder, as Flask-SQLAlchemy has it."""
    database = url.database or ""
    if url.query.get("uri"):
        database = database.removeprefix("file:")
    if database in ("", ":memory:"):
        raise click.ClickException("the configured SQLite database is in memory: there is no file to back up "
                                   "or restore into")
    path = Path(database)
    return path if path.is_absolute() else Path(current_app.instance_path) / path


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as pg_dump and pg_restore take it, and the environment to run them in.

    The password goes in PGPASSWORD: on the command line `ps` would show it to every user of the host.
    """
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database, query=url.query)
    return plain.render_as_string(hide_password=False), environment


# Backing up.

@contextmanager
def staged(out: Path, force: bool) -> Iterator[Path]:
    """A temporary file beside `out`, renamed to it once written, so that a backup that fails half-way
    never leaves a half file under the final name."""
    # mkstemp makes the file readable by its owner only: a backup holds patients' identifiers.
    try:
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    except OSError as exc:
        raise click.ClickException(f"cannot write the backup in {out.parent}: {exc.strerror}") from None
    os.close(handle)
    part = Path(name)
    try:
        yield part
        if out.exists() and not force:  # someone else wrote it meanwhile
            raise click.ClickException(f"{out} appeared while the backup ran; it was left as it was")
        durable_rename(part, out)
    finally:
        part.unlink(missing_ok=True)


def durable_rename(part: Path, out: Path) -> None:
    """Rename with the data and the directory entry on disk first, so a power cut leaves the old state
    or the whole new file, never an empty one under the final name."""
    with open(part, "rb") as written:
        os.fsync(written.fileno())
    os.replace(part, out)
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def backup_sqlite(source: Path, part: Path) -> Summary:
    if not source.is_file():
        raise click.ClickException(f"there is no SQLite database at {source}")
    try:
        # mode=rw: a mistyped path must not create an empty database to back up.
        with closing(sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=30)) as live, \
                closing(sqlite3.connect(part)) as copy:
            # In one step (pages=-1) the whole copy is made under one read transaction: a consistent
            # snapshot, and with WAL the app's writers carry on meanwhile.
            live.backup(copy, pages=-1)
            # A rollback journal, not WAL: the backup is then one self-contained file.
            copy.execute("PRAGMA journal_mode=DELETE")
            check_intact(copy, part)
            return summarise_sqlite(copy)
    except sqlite3.Error as exc:
        raise click.ClickException(f"the backup of {source} failed: {exc}") from None


def backup_postgresql(url: URL, part: Path) -> Summary:
    address, environment = libpq(url)
    # pg_dump reads under a snapshot; handing it ours makes the counts printed exactly those of the file.
    with connected(url) as connection:
        with connection.execution_options(isolation_level="REPEATABLE READ").begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            run("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                            "--file", str(part), address], environment, "no backup was written")
            return summarise_postgresql(connection)


@contextmanager
def connected(url: URL) -> Iterator[Connection]:
    """A connection to the configured PostgreSQL database; failing to connect is a ClickException."""
    try:
        connection = db.engine.connect()
    except OperationalError as exc:
        raise click.ClickException(f"cannot connect to {shown(url)}: {str(exc.orig).strip()}") from None
    with connection:
        yield connection


def run(program: str, arguments: list[str], environment: dict[str, str], consequence: str) -> None:
    """Run a PostgreSQL client tool; a missing tool or a failure is a ClickException showing its stderr."""
    found = shutil.which(program, path=environment.get("PATH"))
    if found is None:
        raise click.ClickException(
            f"{program} is not on PATH: install the PostgreSQL client tools, the server's major version or "
            f"newer (Debian and Ubuntu: postgresql-client), and run this again; {consequence}")
    result = subprocess.run([found, *arguments], env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"{program} failed (exit status {result.returncode}); {consequence}:\n"
                                   + result.stderr.strip())


# Restoring.

def kind_of(file: Path) -> str | None:
    """"sqlite" or "postgresql" by the file's first bytes; None for anything else."""
    with open(file, "rb") as handle:
        start = handle.read(len(SQLITE_HEADER))
    if start == SQLITE_HEADER:
        return "sqlite"
    if start.startswith(PG_DUMP_HEADER):
        return "postgresql"
    return None


def not_empty(where: str, tables: list[str], remedy: str) -> click.ClickException:
    listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    return click.ClickException(f"the configured database {where} is not empty (it has {len(tables)} tables: "
                                f"{listed}); restore goes only into an empty database. Nothing was changed. "
                                + remedy)


def restore_sqlite(file: Path, target: Path) -> tuple[Summary, list[str] | None]:
    if not target.parent.is_dir():
        raise click.ClickException(f"there is no directory {target.parent} for the database {target.name}")
    try:
        with closing(sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)) as backup_file:
            # The header alone passes a truncated or damaged file: refuse it before touching the target.
            check_intact(backup_file, file)
            with closing(sqlite3.connect(target, timeout=30)) as database:
                tables = sqlite_tables(database)
                if tables:
                    raise not_empty(str(target), tables, "Move the file aside, or set DATABASE_URL to a new "
                                                         "file, and restore again.")
                # One step, one transaction on the target: a failure leaves it as empty as it was.
                backup_file.backup(database, pages=-1)
    except sqlite3.Error as exc:
        raise click.ClickException(f"restoring {file} into {target} failed: {exc}. Nothing was changed.") from None
    with closing(sqlite3.connect(target)) as database:
        return summarise_sqlite(database), sqlite_revisions(database)


def restore_postgresql(file: Path, url: URL) -> tuple[Summary, list[str] | None]:
    with connected(url) as connection:
        relations = connection.execute(text(PG_USER_RELATIONS)).all()
    if relations:
        # Tables are what people recognise; a leftover sequence or view alone is named too.
        tables = [f"{schema}.{name}" for schema, name, kind in relations if kind in ("r", "p")]
        raise not_empty(shown(url), tables or [f"{schema}.{name}" for schema, name, _kind in relations],
                        "Create a new database (createdb), set DATABASE_URL to it, and restore again.")
    address, environment = libpq(url)
    # One transaction, stopping at the first error: a failed restore leaves the database empty.
    run("pg_restore", ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                       "--dbname", address, str(file)], environment, "nothing was restored")
    with connected(url) as connection:
        summary = summarise_postgresql(connection)
        revisions = None
        if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is not None:
            revisions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return summary, revisions


def schema_note(revisions: list[str] | None) -> str:
    """Whether the restored schema is this code's migration head, and what to do if it is not."""
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = set(script.get_heads())
    if revisions is None:
        return "Note: the backup has no alembic_version table, so it may not be a Lightbox database."
    if set(revisions) == heads:
        return f"The schema is at this code's latest migration ({', '.join(sorted(heads))})."
    try:
        for revision in revisions:
            script.get_revision(revision)
    except CommandError:
        return (f"Note: the schema is at migration {', '.join(revisions)}, which this code does not know: the "
                "backup comes from a newer version of Lightbox. Run that version (or a later one) on it.")
    return (f"Note: the schema is at migration {', '.join(revisions)}, older than this code's "
            f"{', '.join(sorted(heads))}: run {UPGRADE} before serving.")


# Both directions.

def check_intact(connection: sqlite3.Connection, file: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise click.ClickException(f"{file} is damaged ({'; '.join(problems[:3])}). Nothing was changed.")


def sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    return [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "ORDER BY name")]


def sqlite_revisions(connection: sqlite3.Connection) -> list[str] | None:
    if "alembic_version" not in sqlite_tables(connection):
        return None
    return [revision for (revision,) in connection.execute("SELECT version_num FROM alembic_version")]


def summarise_sqlite(connection: sqlite3.Connection) -> Summary:
    tables = sqlite_tables(connection)
    rows = sum(connection.execute(f"SELECT count(*) FROM {quoted(name)}").fetchone()[0] for name in tables)
    return Summary(len(tables), rows)


def summarise_postgresql(connection: Connection) -> Summary:
    tables = [f"{quoted(schema)}.{quoted(name)}" for schema, name, kind in connection.execute(text(PG_USER_RELATIONS))
              if kind == "r"]
    rows = sum(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tables)
    return Summary(len(tables), rows)


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
