"""What the benchmarks share: a fresh PostgreSQL database, free ports, gunicorn, counting SQL and reporting it."""
from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text

from meetings import create_app, demo
from meetings.extensions import db
from meetings.models import Meeting, MeetingStatus

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/lightbox_bench"
# Seals the benchmarks' synthetic identifiers (meetings/identifier_key.py); for no real data.
IDENTIFIER_KEY = "Hb0kVZ9Q0tRzQyq0m9sYb8o1f3e5yqkq3Jm1oU2cJ5s="


# Synthetic names for the benchmarks' seeded networks (invented, like all Lightbox's test data).
SITE_NAMES = ("Northgate General Hospital", "Southmead Community Hospital", "Eastfield Imaging Centre",
              "Westbrook Teleradiology", "Riverside University Hospital", "Hillcrest District Hospital",
              "Lakeside Diagnostic Centre", "Kingsway Infirmary", "Moorland Cottage Hospital", "Harbour General")
FIRST_NAMES = ("Amira", "Ben", "Chloe", "Dev", "Eilidh", "Femi", "Grace", "Hamid", "Isla", "Jonah", "Kiran",
               "Lena", "Marek", "Nia", "Owen", "Priya", "Quinn", "Rosa", "Sam", "Tariq")
LAST_NAMES = ("Adebayo", "Brennan", "Chowdhury", "Doyle", "Evans", "Fraser", "Gill", "Hughes", "Iqbal", "Jones")


def postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


def fresh_postgres() -> str:
    """An empty `lightbox_bench` database (left in place afterwards, remade by the next run)."""
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS lightbox_bench WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE lightbox_bench"))
    engine.dispose()
    return POSTGRES_BENCH


def databases_to_measure(only: str | None, workdir: Path) -> dict[str, str]:
    """SQLite in `workdir`, and a fresh PostgreSQL database when it answers; `only` keeps one of them."""
    databases = {}
    if only != "postgresql":
        databases["sqlite"] = f"sqlite:///{workdir / 'bench.db'}"
    if only != "sqlite":
        if postgres_answers():
            databases["postgresql"] = fresh_postgres()
        else:
            print("PostgreSQL does not answer on 127.0.0.1:5432: measuring SQLite only")
    return databases


@contextmanager
def demo_meeting(database_url: str) -> Iterator[Meeting]:
    """The demo data seeded into `database_url`, and its upcoming meeting to set up; commits on the way out.

    Inside a request context: demo.seed and the audit records of live and register changes read the
    signed-in user.
    """
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        with app.test_request_context():
            demo.seed()
            db.session.commit()
            yield db.session.scalar(select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED)
                                    .order_by(Meeting.starts_at))
            db.session.commit()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn serving `target` (gthread workers, no control socket, so several can run at once); with a
    `log`, its error log (warnings and up, tracebacks included) goes there."""

    def __init__(self, target: str, env: dict, workers: int, threads: int, log: Path | None = None,
                 extra: tuple[str, ...] = ()):
        self.port = free_port()
        self.log = log
        command = [str(ROOT / ".venv" / "bin" / "gunicorn"), target, "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
                   "--keep-alive", "5", "--log-level", "warning", "--no-control-socket", *extra]
        if log is not None:
            command += ["--error-logfile", str(log)]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, path: str) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + path, timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer {path}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def errors(self) -> list[str]:
        """What the workers logged: application errors with their tracebacks, timeouts, crashed workers."""
        if self.log is None or not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        # The arbiter's own start and stop notices are not errors.
        return [line for line in lines if line.strip() and not re.search(
            r"\[INFO\]|Handling signal|Shutting down|Worker exiting|Booting worker|Listening at|Using worker|"
            r"Starting gunicorn", line)]


class Statements:
    """The SQL the engine sends while a measure runs (`with statements:`; then `statements.seen`)."""

    def __init__(self, engine):
        self.on = False
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.seen.append(statement)

    def __enter__(self):
        self.seen, self.on = [], True
        return self

    def __exit__(self, *exc):
        self.on = False


def nearest_rank(values: list[float], q: float) -> float:
    """The q-th quantile by nearest rank (0.95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def repeated_statements(statements: list[str]) -> list[tuple[int, str]]:
    """Statements sent more than once in one request, most repeated first, with their counts."""
    return [(n, s) for s, n in Counter(" ".join(s.split()) for s in statements).most_common() if n > 1]


def print_statements(sql: dict[str, dict[str, list[str]]], show_all: bool) -> None:
    """Per database and request: the statement sent most often when one repeats, and every statement if asked."""
    for database, requests in sql.items():
        for request, statements in requests.items():
            repeated = repeated_statements(statements)
            if repeated:
                count, statement = repeated[0]
                print(f"  {database} {request}: one statement sent {count} times in one request: {statement[:300]}")
        if show_all:
            for request, statements in requests.items():
                print(f"--- {database} {request}: {len(statements)} statements ---")
                for statement in statements:
                    print("   ", " ".join(statement.split())[:400])


def stop_on_failure(failed: str, figures: dict, target_ms: int) -> None:
    """Say which request did not answer, end with the JSON line as every benchmark does, and exit 1."""
    print(f"REQUEST FAILED on {failed}")
    print(json.dumps({"failed": failed.splitlines()[0], **figures, "target_ms": target_ms}))
    sys.exit(1)


def finish(figures: dict, names: list[str], target_ms: int, measure: str, repeats: int, started: float) -> None:
    """Each engine's timings, whether every request met the target (`measure`: "median" or "p95"), and the
    JSON line that ends every benchmark."""
    for name in names:
        print(f"{name}: seconds {figures[name]['seconds']}")
    met = all(figures[name]["within_target"] for name in names)
    print(f"target: each request's {measure} under {target_ms} ms on every engine: {'met' if met else 'MISSED'}; "
          f"run took {time.perf_counter() - started:.1f} s")
    print(json.dumps({**figures, "target_ms": target_ms, "repeats": repeats, "cpus": os.cpu_count()}))
