"""Fixtures: `app`, `db`, `client`, `login_as`, `smtp_server`, `live_server`, `empty_database`.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set. The schema is
built once by the real migrations; each test then starts from empty tables.
"""
from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
import uuid
from email import message_from_bytes, policy

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from meetings import create_app
from meetings.extensions import db as _db
from meetings.extensions import limiter
from tests import factories

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ON_POSTGRESQL = make_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://").get_backend_name() == "postgresql"


class Client(FlaskClient):
    """A test client that sends a valid CSRF token with unsafe requests, as Lightbox's pages do.

    Set `auto_csrf = False` to send requests without one.
    """

    auto_csrf = True

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def open(self, *args, **kwargs):
        if self.auto_csrf and str(kwargs.get("method", "GET")).upper() in UNSAFE_METHODS:
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        # Each request gets an app context of its own, as in production: otherwise it would share the
        # test's `g` (and Flask-Login's cached user) and database session with the test and other requests.
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _reset_schema(app) -> None:
    with app.app_context():
        engine = _db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()


# A key for the tests' synthetic identifiers only (meetings/identifier_key.py).
IDENTIFIER_KEY = "xHRShc2tx2inERqFOJ5cvb3DFGoG6Zl8LsePCAAHZkU="


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lightbox")
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{workdir / 'test.db'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "IDENTIFIER_KEY": IDENTIFIER_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_SERVER": "",
            "MAIL_OUTBOX": str(workdir / "outbox"),
            "SIGN_IN_RATE_LIMIT": "1000 per minute",
            # Tests read the room's version every time; tests/test_live_followers.py covers the cache.
            "LIVE_VERSION_CACHE_SECONDS": 0,
            # Certificates are emailed in the closing request, so a test sees them sent when it returns.
            "CERTIFICATES_IN_BACKGROUND": False,
            "MAIL_IN_BACKGROUND": False,
        }
    )
    app.test_client_class = Client
    _reset_schema(app)
    yield app
    with app.app_context():
        _db.engine.dispose()  # close pooled connections before the interpreter finds them open
    app.wsgi_app.engine.dispose()  # and the followers' own (meetings.live.followers)


@pytest.fixture(autouse=True)
def db(app):
    """The database, emptied after each test. Tests use `db.session` inside the app context."""
    with app.app_context():
        yield _db
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
            if _db.engine.dialect.name == "postgresql":
                # Ids start again at 1, as on SQLite. (TRUNCATE ... RESTART IDENTITY did both, but took a
                # quarter of a second a test: minutes of the PostgreSQL run.)
                sequences = conn.execute(text(
                    "SELECT sequence_schema || '.' || sequence_name FROM information_schema.sequences")).scalars()
                resets = ", ".join(f"setval('{sequence}', 1, false)" for sequence in sequences)
                if resets:
                    conn.execute(text(f"SELECT {resets}"))
    limiter.reset()


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def login_as(client, db):
    """`login_as(Role.CHAIR, ...)` makes a user holding those roles and signs the client in as them."""

    def sign_in(*roles, **fields):
        user = factories.make_user(*roles, **fields)
        db.session.commit()
        signed_in(client, user)
        return user

    return sign_in


def signed_in(client: Client, user) -> Client:
    """Put `user`'s Flask-Login session on `client`, as a successful sign-in would."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def approve_for_room(client: Client, case, redact: str = "", keep=()):
    """Approve `case`'s anonymisation through the review page, as its chair would (the client is the chair)."""
    page = client.get(f"/cases/{case.id}/review").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([0-9a-f]+)"', page).group(1)
    return client.post(f"/cases/{case.id}/review",
                       data={"action": "approve", "redact": redact, "keep": list(keep), "seen": seen})


def is_fragment(body: bytes) -> bool:
    return b"<html" not in body and b"<body" not in body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What a real SMTP server on loopback received, as parsed messages."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; the app sends to it for the test's duration."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    old = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", port
    try:
        yield mailbox
    finally:
        app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = old
        controller.stop()


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP on a free loopback port, in a thread, sharing the test database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


# --- a second, empty database of the suite's kind (backups restored, migrations run) ---------

@pytest.fixture(scope="module")
def scratch_database(app):
    """PostgreSQL: one scratch database for the module, emptied after each test (creating and dropping a
    database takes a checkpoint, a second or more each)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    name = f"lightbox_scratch_{uuid.uuid4().hex[:12]}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


@pytest.fixture
def empty_database(request, tmp_path):
    """The URL of an empty database of the suite's kind: a file not there yet, or the scratch database."""
    if not ON_POSTGRESQL:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = request.getfixturevalue("scratch_database")
    yield url
    emptied(url)


def emptied(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
