"""Faults (issue #13): what Lightbox does when the things under it fail, and that it recovers by itself.

- The database goes away (PostgreSQL restarting, a network blip, a full disk): requests meanwhile get the
  friendly error page, never a traceback; a transaction cut short leaves no half-written rows; once the
  database answers again the same server carries on, without a restart.
- A worker is killed mid-meeting, even in the middle of the chair's command: the room's state is whole in the
  database, the phones following the meeting catch up, and the chair's next command works.
- The mail server is down, refuses, or hangs up while minutes are distributed: every email is queued and
  retried; none is lost and none is sent twice, even with cron and the background sender running at once.
- An upload too large for the request or for an image, or a disk that fills while one is received: a clear
  message, and nothing partial stored.

The in-process tests run on both databases, with faults injected at the driver (a `before_cursor_execute`
hook raising the error the driver raises). The served tests run in the PostgreSQL pass only: gunicorn with
two workers on a scratch database of their own, reached through a TCP proxy (tests/faults_proxy.py) that
"restarts PostgreSQL" by refusing and resetting connections, or cuts one at the moment it sends COMMIT.
"""
from __future__ import annotations

import asyncio
import errno
import http.client
import io
import os
import re
import secrets
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Request
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from meetings import create_app
from meetings.cases import review
from meetings.extensions import db as _db
from meetings.live import broadcast
from meetings.live import service as live
from meetings.models import (
    Attendance, AuditEvent, Case, CaseIdentifiers, CaseImage, CaseStatus, Delivery, DeliveryStatus, LiveState,
    MeetingStatus, Role,
)
from meetings.register import service as registers
from meetings.web import ERROR_MESSAGES
from tests import servers
from tests.conftest import IDENTIFIER_KEY, ON_POSTGRESQL, _free_port, approve_for_room, is_fragment
from tests.factories import PASSWORD, make_case, make_meeting, make_site, make_user, png
from tests.faults_proxy import FaultyProxy
from tests.http_browser import Reply, send

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
HX = {"HX-Request": "true"}
DEADLINE = 20.0  # seconds: generous, for a loaded two-core machine; every wait polls until then



def until(check, what: str, deadline: float = DEADLINE):
    """`servers.until`, with this module's deadline."""
    return servers.until(check, what, deadline)


def assert_friendly_error(status: int, body: str, fragment: bool = False) -> None:
    """The error page Lightbox means to show (500, or 503 for a database that cannot be reached): its title
    and advice, no traceback, no driver's message; a fragment for htmx, a whole page otherwise."""
    assert status in (500, 503), (status, body[:2000])
    title, advice = ERROR_MESSAGES.get(status, ERROR_MESSAGES[500])
    assert title in body and advice in body, body[:2000]
    for leak in ("Traceback", "OperationalError", "psycopg", "sqlalchemy", "sqlite3", "disk is full", "Errno"):
        assert leak.lower() not in body.lower(), (leak, body[:2000])
    assert ('<html' not in body) if fragment else ('<html' in body), body[:500]


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress, so its size is about width x height bytes."""
    out = io.BytesIO()
    Image.frombytes("L", (width, height), os.urandom(width * height)).save(out, "PNG")
    return out.getvalue()


def case_form(site_id: int, marker: str) -> dict:
    """A complete case submission; `marker` (in the clinical question) finds what it stored."""
    return {
        "kind": "discrepancy", "came_to_light": "random_review", "modality": "CT", "body_region": "Head",
        "clinical_question": f"Headache. ?Bleed {marker}", "report_text": "No acute intracranial abnormality.",
        "outcome_text": "Small subdural on review.", "suggested_learning": "",
        "patient_name": "Barnaby Quillfeather", "nhs_number": "943 476 5919", "hospital_number": "FLT0001",
        "date_of_birth": "1950-02-03", "accession_number": "FLT0001",
        "examination_date": (date.today() - timedelta(days=30)).isoformat(),
        "site_id": str(site_id), "reporter_id": "0", "reporter_name": "Dr Visiting Reporter",
        "reporter_email": "visiting.reporter@faults.example.org", "referrer_name": "",
        "images-0-caption": "Axial CT head",
    }


def stored_for(marker: str) -> tuple[int, int, int]:
    """(cases, their identifiers, images anywhere) stored for the submission marked `marker`; and no image
    waits under any upload token either (the count of images is of every image in the database)."""
    _db.session.rollback()  # a fresh look, not this session's snapshot
    case_ids = list(_db.session.scalars(select(Case.id).where(Case.clinical_question.contains(marker))))
    identifiers = _db.session.scalar(select(func.count()).select_from(CaseIdentifiers)
                                     .where(CaseIdentifiers.case_id.in_(case_ids))) if case_ids else 0
    images = _db.session.scalar(select(func.count(CaseImage.id)))
    return len(case_ids), identifiers, images


# --- the database fails under the app (both databases, in process) -----------------------------------

def _driver_error(dialect_name: str, kind: str) -> Exception:
    """The exception the driver itself raises for `kind` ("gone": the server went away; "full": no space)."""
    if dialect_name == "postgresql":
        import psycopg
        if kind == "full":
            return psycopg.errors.DiskFull('could not extend file "base/16384/16385": No space left on device')
        return psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
    import sqlite3
    return sqlite3.OperationalError("database or disk is full" if kind == "full" else "unable to open database file")


@pytest.fixture
def failing_database(app, monkeypatch):
    """`fail(kind, when=regex)`: from now on, every SQL statement matching `when` raises the driver's error,
    until `heal()`. Errors reach the app as in production (not raised through the test client)."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    engine = _db.engine
    armed: dict = {}

    def raise_if_armed(conn, cursor, statement, parameters, context, executemany):
        if armed and re.search(armed["when"], statement, re.IGNORECASE | re.DOTALL):
            armed["hits"] += 1
            raise _driver_error(engine.dialect.name, armed["kind"])

    class Faults:
        @staticmethod
        def fail(kind: str, when: str = r".") -> None:
            armed.update(kind=kind, when=when, hits=0)

        @staticmethod
        def heal() -> int:
            hits = armed.get("hits", 0)
            armed.clear()
            return hits

    event.listen(engine, "before_cursor_execute", raise_if_armed)
    try:
        yield Faults
    finally:
        event.remove(engine, "before_cursor_execute", raise_if_armed)


def _live_meeting(chair):
    meeting = make_meeting(chair=chair, title="Faults REAL meeting")
    make_case(chair, meeting, {"patient_name": "Perpetua Lindqvist"}, queue_position=0)
    state = live.state_of(meeting)
    _db.session.commit()
    return meeting, state.join_code


def test_while_the_database_is_unreachable_public_pages_fail_with_the_friendly_page(
        app, client, db, failing_database):
    chair = make_user(Role.CHAIR)
    meeting, code = _live_meeting(chair)
    email = chair.email
    phone = app.test_client()
    assert phone.get(f"/j/{code}").status_code == 200

    failing_database.fail("gone")
    page = phone.get(f"/j/{code}")
    assert_friendly_error(page.status_code, page.get_data(as_text=True))
    signing = phone.get(f"/j/{code}/sign")
    assert_friendly_error(signing.status_code, signing.get_data(as_text=True))
    sign_in = phone.post("/auth/sign-in", data={"email": email, "password": PASSWORD})
    assert_friendly_error(sign_in.status_code, sign_in.get_data(as_text=True))
    assert failing_database.heal() >= 3

    # Back without a restart.
    assert phone.get(f"/j/{code}").status_code == 200
    assert phone.post("/auth/sign-in", data={"email": email, "password": PASSWORD}).status_code == 303


def test_while_the_database_is_unreachable_signed_in_pages_fail_with_the_friendly_page(
        client, login_as, failing_database):
    chair = login_as(Role.CHAIR)
    meeting, code = _live_meeting(chair)
    meeting_id = meeting.id
    assert client.get("/").status_code == 200

    failing_database.fail("gone")
    home = client.get("/")
    assert_friendly_error(home.status_code, home.get_data(as_text=True))
    panel = client.get(f"/meetings/{meeting_id}/console/room?v=0", headers=HX)
    assert_friendly_error(panel.status_code, panel.get_data(as_text=True), fragment=True)
    moved = client.post(f"/meetings/{meeting_id}/live/start", headers=HX)
    assert_friendly_error(moved.status_code, moved.get_data(as_text=True), fragment=True)
    failing_database.heal()

    # Back without a restart, still signed in, and the command refused meanwhile can be given now.
    assert client.get("/").status_code == 200
    assert client.post(f"/meetings/{meeting_id}/live/start", headers=HX).status_code == 200


def _submit_when_the_disk_fills(client, failing_database, form: dict, picture: bytes):
    """Submit a case whose last write (its audit entry) finds the disk full: the case, its identifiers and
    its image were written before it in the same transaction. The response, or None if an exception escaped
    the app (which test_a_disk_filling_while_a_case_is_saved_gets_the_friendly_page is about)."""
    failing_database.fail("full", when=r"^\s*INSERT INTO \"?audit_event")
    try:
        return client.post("/cases/new", data=form | {"images-0-file": (io.BytesIO(picture), "head.png")})
    except SQLAlchemyError:
        return None
    finally:
        assert failing_database.heal() == 1


def test_a_disk_filling_while_a_case_is_saved_stores_nothing_of_it(app, client, login_as, failing_database):
    chair = login_as(Role.CHAIR)
    form = case_form(chair.home_site_id, "disk-full")
    picture = png((64, 48), 120)
    audits_before = _db.session.scalar(select(func.count(AuditEvent.id)))

    refused = _submit_when_the_disk_fills(client, failing_database, form, picture)
    assert refused is None or refused.status_code >= 500
    assert stored_for("disk-full") == (0, 0, 0)
    assert _db.session.scalar(select(func.count(AuditEvent.id))) == audits_before

    # With room again, the same submission is stored whole, once.
    saved = client.post("/cases/new", data=form | {"images-0-file": (io.BytesIO(picture), "head.png")})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert stored_for("disk-full") == (1, 1, 1)
    image = _db.session.scalar(select(CaseImage))
    assert image.original == picture and image.case_id is not None and image.upload_token is None


def test_a_disk_filling_while_a_case_is_saved_gets_the_friendly_page(app, client, login_as, failing_database):
    chair = login_as(Role.CHAIR)
    refused = _submit_when_the_disk_fills(client, failing_database, case_form(chair.home_site_id, "disk-full"),
                                          png((64, 48), 120))
    assert refused is not None, "the error escaped the app: the server's bare error page went out"
    assert_friendly_error(refused.status_code, refused.get_data(as_text=True))
    # Still signed in, and the next page works.
    assert client.get("/cases/mine").status_code == 200


class _DiskFullWhileReceiving(Request):
    """A request whose uploaded files are spooled to a disk with no space left."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        class Full(io.RawIOBase):
            def writable(self):
                return True

            def write(self, data):
                raise OSError(errno.ENOSPC, "No space left on device")

        return Full()


def test_a_disk_filling_while_an_upload_is_received_stores_nothing(app, client, login_as, monkeypatch):
    chair = login_as(Role.CHAIR)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(app, "request_class", _DiskFullWhileReceiving)
    form = case_form(chair.home_site_id, "spool-full")
    refused = client.post("/cases/new", data=form | {"images-0-file": (io.BytesIO(png((64, 48), 120)), "head.png")})
    assert_friendly_error(refused.status_code, refused.get_data(as_text=True))
    assert stored_for("spool-full") == (0, 0, 0)


def test_a_request_over_the_size_limit_is_refused_clearly_and_stores_nothing(app, client, login_as, monkeypatch):
    chair = login_as(Role.CHAIR)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    big = noisy_png(400, 400)
    assert len(big) > 150_000
    form = case_form(chair.home_site_id, "too-big-request")
    refused = client.post("/cases/new", data=form | {"images-0-file": (io.BytesIO(big), "head.png")})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 413, body[:2000]
    title, advice = ERROR_MESSAGES[413]
    assert title in body and advice in body and "Traceback" not in body
    assert stored_for("too-big-request") == (0, 0, 0)
    # The same through htmx: the message as a fragment.
    again = client.post("/cases/new", headers=HX, data=form | {"images-0-file": (io.BytesIO(big), "head.png")})
    assert again.status_code == 413 and title in again.get_data(as_text=True) and is_fragment(again.data)
    assert stored_for("too-big-request") == (0, 0, 0)


def test_an_image_over_the_image_limit_is_refused_clearly_and_stores_nothing(app, client, login_as, monkeypatch):
    chair = login_as(Role.CHAIR)
    # (Kept under 500 KB: a larger body the test client spools to a temporary file it never closes.)
    monkeypatch.setitem(app.config, "MAX_IMAGE_BYTES", 200 * 1024)
    big = noisy_png(550, 550)
    assert 0.25 * 1024 * 1024 < len(big) < 0.4 * 1024 * 1024
    form = case_form(chair.home_site_id, "too-big-image")
    refused = client.post("/cases/new", data=form | {"images-0-file": (io.BytesIO(big), "scan.png")})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422, body[:2000]
    assert re.search(r"scan\.png: This file is 0\.3 MB; the limit is 0\.2 MB", body), body
    # Nothing stored: no case, and no image kept for the form to come back with.
    assert stored_for("too-big-image") == (0, 0, 0)
    # What was typed comes back, so only the image need be chosen again.
    assert "Headache. ?Bleed too-big-image" in body and "Barnaby Quillfeather" in body


# --- the mail server fails during distribution (both databases) --------------------------------------

class FlakyMailServer:
    """An SMTP server on loopback that can be down (nothing listening on its port), and that refuses some
    recipients once each in a chosen way: a 451 to RCPT, a 451 to DATA, or hanging up in the middle of DATA.
    `received` counts the messages it accepted (answered 250), per recipient."""

    def __init__(self, slow: float = 0.0):
        self.port = _free_port()
        self.slow = slow
        self.received: Counter = Counter()
        self.refuse_once: dict[str, str] = {}  # recipient -> "rcpt" | "data" | "hangup"
        self.refused: Counter = Counter()
        self._controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _refuse(self, address: str, way: str) -> bool:
        if self.refuse_once.get(address) == way:
            del self.refuse_once[address]
            self.refused[address] += 1
            return True
        return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self._refuse(address, "rcpt"):
            return "451 4.3.2 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.slow:
            await asyncio.sleep(self.slow)
        for address in envelope.rcpt_tos:
            if self._refuse(address, "data"):
                return "451 4.3.0 Temporary local problem, try again later"
            if self._refuse(address, "hangup"):
                server.transport.close()  # gone before saying whether it took the message
                return "421 4.3.0 Closing"
        self.received.update(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def mail_server(app, monkeypatch):
    """A FlakyMailServer, down until the test starts it; the app sends to its port throughout."""
    server = FlakyMailServer()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    yield server
    server.stop()


@pytest.fixture
def ended_meeting(client, login_as):
    """An ended meeting with one approved case, ready to publish: risk staff, a team mailbox and members at
    the site, so the minutes go to eight people. The client is the chair."""
    site = make_site(name="Faultsby General", code="FBG", risk_distribution="risk-team@faultsby.example.org\n")
    chair = login_as(Role.CHAIR, name="Dr Fenella Chair", email="fenella.chair@faultsby.example.org", home_site=site)
    meeting = make_meeting(chair=chair, days_ahead=-7, title="Faultsby REAL meeting")
    case = make_case(chair, meeting, {"patient_name": "Octavia Pennyfeather"}, status=CaseStatus.PRESENTED,
                     learning_points="Review lung windows on every CTPA.")
    make_user(Role.RISK, name="Rhiannon Risk", email="rhiannon.risk@faultsby.example.org", home_site=site)
    for n in range(5):
        make_user(Role.MEMBER, name=f"Member {n}", email=f"member{n}@faultsby.example.org", home_site=site)
    _db.session.commit()
    assert approve_for_room(client, case).status_code == 303
    meeting.status = MeetingStatus.ENDED
    _db.session.commit()
    return meeting


def _deliveries() -> list[Delivery]:
    _db.session.rollback()  # a fresh look: other threads and connections wrote them
    return list(_db.session.scalars(select(Delivery).order_by(Delivery.recipient)))


def _publish(client, meeting):
    client.get(f"/meetings/{meeting.id}/minutes")
    return client.post(f"/meetings/{meeting.id}/minutes/publish", data={"note": ""})


def test_mail_down_during_distribution_is_queued_retried_and_nothing_lost_or_doubled(
        app, client, ended_meeting, mail_server, monkeypatch):
    # As in production: sending starts in the background, and the mail server is down.
    monkeypatch.setitem(app.config, "MAIL_IN_BACKGROUND", True)
    assert _publish(client, ended_meeting).status_code == 303
    tried = until(lambda: (found := _deliveries()) and all(d.attempts == 1 and d.claimed_at is None for d in found)
                  and found, "the background sender tried every email once")
    assert len(tried) == 8 and all(d.status == DeliveryStatus.FAILED for d in tried)
    assert all("ConnectionRefusedError" in d.last_error for d in tried)
    recipients = [d.recipient for d in tried]
    page = client.get(f"/meetings/{ended_meeting.id}/minutes").get_data(as_text=True)
    assert "8 failed" in page and "Try the failed emails again now" in page

    # The server comes back, but still refuses three recipients once each, in three different ways.
    mail_server.refuse_once = {recipients[0]: "rcpt", recipients[3]: "data", recipients[6]: "hangup"}
    mail_server.start()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-pending-mail"])
    assert first.exit_code == 1 and "Emails sent: 5; failed (will be tried again): 3" in first.output, first.output
    assert sum(mail_server.refused.values()) == 3 and not mail_server.refuse_once
    failed = {d.recipient: d for d in _deliveries() if d.status == DeliveryStatus.FAILED}
    assert set(failed) == {recipients[0], recipients[3], recipients[6]}
    assert "SMTPRecipientsRefused" in failed[recipients[0]].last_error
    assert "SMTPDataError" in failed[recipients[3]].last_error
    assert "SMTPServerDisconnected" in failed[recipients[6]].last_error

    second = runner.invoke(args=["send-pending-mail"])
    assert second.exit_code == 0 and "Emails sent: 3; failed (will be tried again): 0" in second.output
    assert runner.invoke(args=["send-pending-mail"]).output.startswith("Emails sent: 0")

    # Everyone has exactly one email: none lost, none doubled.
    assert mail_server.received == Counter({recipient: 1 for recipient in recipients})
    done = _deliveries()
    assert all(d.status == DeliveryStatus.SENT and d.sent_at and d.claimed_at is None for d in done)
    assert {d.recipient: d.attempts for d in done} == {
        r: 3 if r in (recipients[0], recipients[3], recipients[6]) else 2 for r in recipients}
    page = client.get(f"/meetings/{ended_meeting.id}/minutes").get_data(as_text=True)
    assert "Version 1: sent to 8 of 8 recipients." in page


def test_senders_running_at_once_on_a_slow_mail_server_send_each_email_once(
        app, client, ended_meeting, mail_server, monkeypatch):
    """The background sender is still working through a slow mail server when cron starts, twice over: the
    claims keep them apart."""
    from meetings import deliveries

    mail_server.slow = 0.15
    mail_server.start()
    monkeypatch.setitem(app.config, "MAIL_IN_BACKGROUND", True)
    assert _publish(client, ended_meeting).status_code == 303
    failures: list[BaseException] = []

    def cron():
        try:
            with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
                deliveries.send_pending()
                _db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    senders = [threading.Thread(target=cron) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=DEADLINE * 2)
    assert not failures and not any(sender.is_alive() for sender in senders), failures
    done = until(lambda: (found := _deliveries()) and all(d.status == DeliveryStatus.SENT for d in found) and found,
                 "every email sent")
    assert len(done) == 8
    assert mail_server.received == Counter({d.recipient: 1 for d in done})
    assert all(d.attempts == 1 for d in done), [(d.recipient, d.attempts) for d in done]


# --- served by gunicorn through a PostgreSQL that fails (PostgreSQL pass only) ---------------------------

needs_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="gunicorn serving a scratch PostgreSQL database through a failing proxy: this runs "
                              "in the PostgreSQL pass (TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test)")


@dataclass
class Browser:
    """A browser talking to one server: its cookies, its CSRF token; redirects are not followed."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields: dict | None = None, files: dict | None = None,
             headers: dict | None = None) -> Reply:
        fields = {"csrf_token": self.csrf, **(fields or {})}
        return self.request("POST", path, fields, files, {"X-CSRFToken": self.csrf, **(headers or {})})

    def request(self, method: str, path: str, fields: dict | None = None, files: dict | None = None,
                headers: dict | None = None) -> Reply:
        return send(self.port, self.cookies, method, path, fields, files, headers, timeout=DEADLINE * 2)


def _pid_with_local_port(pids: set[int], port: int) -> int | None:
    """Which of `pids` owns the TCP socket whose local port is `port` (a worker's connection to the proxy)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Gunicorn(servers.Gunicorn):
    """The server whose workers the tests kill."""

    def wait_for_workers(self, count: int = 2, besides: set[int] = frozenset()) -> set[int]:
        """Until `count` workers run, none of them in `besides` (the killed ones)."""
        return until(lambda: (pids := self.workers()) and len(pids) == count and not pids & besides and pids,
                     f"gunicorn running {count} fresh workers")

    def unhandled_errors(self) -> list[str]:
        """Exceptions that escaped the app (gunicorn then sends its own bare error page) and dead workers."""
        return self.log_lines(r"Error handling request|WORKER TIMEOUT|Worker failed to boot")


@dataclass
class Served:
    server: Gunicorn
    proxy: FaultyProxy
    database: object  # an engine on the scratch database, straight to PostgreSQL (not through the proxy)
    meeting_id: int
    code: str
    chair_email: str
    chair_site_id: int

    def read(self, query):
        with self.database.connect() as conn:
            return conn.execute(query).scalar()

    def state(self) -> tuple[int, int | None, int, str]:
        """The room now: (version, case on screen, stage, stored audience fragment)."""
        with self.database.connect() as conn:
            row = conn.execute(select(LiveState.version, LiveState.case_id, LiveState.stage,
                                      LiveState.audience_html).where(LiveState.meeting_id == self.meeting_id)).one()
        return tuple(row)


def _seed(app) -> dict:
    """A chair with a password, a meeting of two approved cases, its live state, and an open register that
    asks no presence code."""
    with app.test_request_context():
        chair = make_user(Role.CHAIR, name="Dr Faulkner Chair", email="faulkner.chair@faults.example.org")
        meeting = make_meeting(chair=chair, title="Faults REAL meeting")
        cases = [
            make_case(chair, meeting, {"patient_name": "Perpetua Lindqvist"}, modality="CT", body_region="Chest",
                      clinical_question="Breathless after a long flight. ?PE", queue_position=0),
            make_case(chair, meeting, {"patient_name": "Perpetua Lindqvist"}, modality="MR", body_region="Knee",
                      clinical_question="Locking knee. ?Meniscal tear", queue_position=1),
        ]
        for case in cases:
            review.approve(case, chair, [], [], review.fingerprint(case, images=False))
        register = registers.register_of(meeting)
        registers.open_register(register)
        registers.set_presence_required(register, False)
        state = live.state_of(meeting)
        broadcast.publish(state)
        _db.session.commit()
        seeded = {"meeting_id": meeting.id, "code": state.join_code, "chair_email": chair.email,
                  "chair_site_id": chair.home_site_id}
        _db.session.remove()
        return seeded


@pytest.fixture(scope="module")
def served(app, tmp_path_factory):
    """gunicorn (two workers) on a scratch PostgreSQL database, reached through a FaultyProxy."""
    if not ON_POSTGRESQL:
        pytest.skip("needs PostgreSQL")
    workdir = tmp_path_factory.mktemp("faults")
    name = f"lightbox_faults_{os.getpid()}"
    direct = make_url(TEST_DATABASE_URL).set(database=name)
    admin = create_engine(make_url(TEST_DATABASE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    proxy = FaultyProxy((direct.host or "127.0.0.1", direct.port or 5432))
    through_proxy = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    # The extensions are shared with the suite's app (the limiter keeps one storage): this one gets the suite's
    # rate-limit settings, so later tests find the limiter as they left it.
    seed_app = create_app({"SQLALCHEMY_DATABASE_URI": direct.render_as_string(hide_password=False),
                           "SECRET_KEY": "seed", "IDENTIFIER_KEY": IDENTIFIER_KEY,
                           **{key: value for key, value in app.config.items() if key.startswith("RATELIMIT_")}})
    database = create_engine(direct)
    server = None
    try:
        with seed_app.app_context():
            upgrade()
        seeded = _seed(seed_app)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("RATELIMIT_", "MAIL_", "GUNICORN_", "TEST_")) and key != "TRUSTED_PROXIES"}
        (workdir / "outbox").mkdir()
        server = Gunicorn(env | {
            "DATABASE_URL": through_proxy, "SECRET_KEY": secrets.token_hex(32), "IDENTIFIER_KEY": IDENTIFIER_KEY,
            "RATELIMIT_STORAGE_URI": "memory://", "SIGN_IN_RATE_LIMIT": "1000 per minute",
            "LIVE_VERSION_CACHE_SECONDS": "0.25", "MAIL_SERVER": "", "MAIL_OUTBOX": str(workdir / "outbox"),
            "BASE_URL": "http://127.0.0.1", "SESSION_COOKIE_SECURE": "false",
        }, workdir / "gunicorn.log")
        server.wait_until_up()
        server.wait_for_workers()
        yield Served(server, proxy, database, **seeded)
    finally:
        if server is not None:
            server.stop()
        proxy.close()
        with seed_app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        seed_app.wsgi_app.engine.dispose()  # the followers' own engine (meetings.live.followers)
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def chair(served) -> Browser:
    browser = Browser(served.server.port)
    browser.csrf = browser.get("/auth/sign-in").csrf_token()
    signed_in = browser.post("/auth/sign-in", {"email": served.chair_email, "password": PASSWORD})
    assert signed_in.status == 303, signed_in.text[:2000]
    return browser


def _announced(fragment: str) -> str:
    found = re.search(r"Now showing case \d+ of \d+, stage \d", fragment)
    return found.group(0) if found else ""


def _version_in(fragment: str) -> int:
    return int(re.search(r"/live\?v=(\d+)", fragment).group(1))


def _command(chair: Browser, served: Served, command: str, **fields) -> Reply:
    return chair.post(f"/meetings/{served.meeting_id}/live/{command}", fields, headers=HX)


@needs_postgresql
def test_a_worker_killed_mid_meeting_loses_nothing_and_followers_catch_up(served, chair):
    server, proxy = served.server, served.proxy
    phone = Browser(server.port)
    assert phone.get(f"/j/{served.code}").status == 200

    def follow(held: int) -> Reply:
        reply = phone.get(f"/j/{served.code}/live?v={held}", headers=HX)
        assert reply.status in (200, 204), (reply.status, reply.text[:1000])
        return reply

    for command, fields in (("start", {}), ("next", {}), ("stage", {"stage": "3"})):
        moved = _command(chair, served, command, **fields)
        assert moved.status == 200, (command, moved.status, moved.text[:1000])
    version, case_id, stage, fragment = served.state()
    assert stage == 3 and _announced(fragment) == "Now showing case 2 of 2, stage 3"
    before_start = version - 3

    # 1. A worker dies between requests (out of memory, say): gunicorn starts another; nothing was in it.
    first = server.workers()
    os.kill(sorted(first)[0], signal.SIGKILL)
    server.wait_for_workers(besides={sorted(first)[0]})
    # A phone that last saw the room before it started gets the whole room as it is now, from any worker.
    for _ in range(4):
        caught_up = follow(before_start)
        assert caught_up.status == 200 and _announced(caught_up.text) == "Now showing case 2 of 2, stage 3"
        assert _version_in(caught_up.text) == version
        assert follow(version).status == 204

    # 2. The worker running the chair's next command is killed in the middle of it: its transaction has
    # moved the room to stage 4 and is sending COMMIT when the process dies.
    proxy.hold_when()
    outcome: dict = {}

    def command():
        try:
            outcome["reply"] = _command(chair, served, "stage", stage="4")
        except (OSError, http.client.HTTPException) as error:
            outcome["error"] = error

    thread = threading.Thread(target=command)
    thread.start()
    assert proxy.tripped.wait(DEADLINE), "the chair's command never reached COMMIT"
    busy = server.workers()
    killed = _pid_with_local_port(busy, proxy.held.peer_port)
    assert killed is not None, "no worker holds the connection sending COMMIT"
    os.kill(killed, signal.SIGKILL)
    thread.join(timeout=DEADLINE)
    assert not thread.is_alive() and "error" in outcome, outcome  # the chair saw the request fail
    proxy.release(forward=False)  # its COMMIT never arrives: PostgreSQL rolls the transaction back
    server.wait_for_workers(besides={killed})

    # The room is whole as it was: no version without its fragment, no stage without its version.
    assert served.state()[:3] == (version, case_id, 3)
    assert _version_in(served.state()[3]) == version
    for _ in range(4):
        assert follow(version).status == 204, "the phones see no change that never happened"
    # The chair gives the command again and it works at once (no lock left behind); the phones follow it.
    again = _command(chair, served, "stage", stage="4")
    assert again.status == 200, (again.status, again.text[:1000])
    moved = until(lambda: (reply := follow(version)).status == 200 and reply, "the phones see stage 4")
    assert _announced(moved.text) == "Now showing case 2 of 2, stage 4"
    assert _version_in(moved.text) == version + 1 == served.state()[0]

    # 3. Every worker killed at once (a deploy gone wrong): the master starts fresh ones; the phones, the
    # chair's session and the room carry on.
    workers = server.workers()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    server.wait_for_workers(besides=workers)
    back = until(lambda: (reply := follow(before_start)).status == 200 and reply, "the phones catch up")
    assert _announced(back.text) == "Now showing case 2 of 2, stage 4"
    until(lambda: _command(chair, served, "previous").status == 200, "the chair's next command works")
    assert served.state()[1] != case_id
    moved = until(lambda: (reply := follow(version + 1)).status == 200 and reply, "the phones see case 1")
    assert _announced(moved.text) == "Now showing case 1 of 2, stage 1"
    assert not server.unhandled_errors(), server.log.read_text()[-5000:]


@needs_postgresql
def test_a_transaction_cut_by_postgresql_going_away_leaves_nothing_half_written(served, chair):
    server, proxy = served.server, served.proxy
    workers = server.workers()

    # A case with its image: the case, its identifiers, the image and the audit entry are written, then
    # PostgreSQL goes away as COMMIT is sent.
    form = case_form(served.chair_site_id, "cut-at-commit")
    picture = png((96, 72), 120)
    chair.csrf = chair.get("/cases/new").csrf_token()
    audits = served.read(select(func.count(AuditEvent.id)))
    proxy.cut_when()
    refused = chair.post("/cases/new", form, files={"images-0-file": ("head.png", picture, "image/png")})
    assert proxy.tripped.is_set(), "the submission never reached COMMIT"
    assert refused.status >= 500, (refused.status, refused.text[:1000])
    assert "Traceback" not in refused.text
    cases = select(Case.id).where(Case.clinical_question.contains("cut-at-commit"))
    assert served.read(select(func.count()).select_from(cases.subquery())) == 0
    assert served.read(select(func.count(CaseImage.id))) == 0, "no image, attached or waiting"
    assert served.read(select(func.count(AuditEvent.id))) == audits

    # A guest signing the register, cut the same way: no signature, or a whole one.
    phone = Browser(server.port)
    proxy.up()
    phone.csrf = until(lambda: (page := phone.get(f"/j/{served.code}/sign")).status == 200 and page,
                       "the register's form after PostgreSQL came back").csrf_token()
    guest = {"name": "Dr Ottoline Brackwater", "email": "ottoline.brackwater@faults.example.org",
             "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7654321",
             "site": "Farholm Teleradiology"}
    signed = select(func.count(Attendance.id)).where(Attendance.email == guest["email"])
    proxy.cut_when()
    cut = phone.post(f"/j/{served.code}/sign", guest)
    assert proxy.tripped.is_set() and cut.status >= 500, (cut.status, cut.text[:1000])
    assert served.read(signed) == 0

    # PostgreSQL is back: the same workers (no restart) take both again, and store each once, whole.
    proxy.up()
    again = until(lambda: (reply := phone.post(f"/j/{served.code}/sign", guest)).status < 500 and reply,
                  "the guest can sign again")
    assert again.status == 303, (again.status, again.text[:1000])
    assert served.read(signed) == 1
    saved = chair.post("/cases/new", form, files={"images-0-file": ("head.png", picture, "image/png")})
    assert saved.status == 303, (saved.status, saved.text[:1000])
    assert served.read(select(func.count()).select_from(cases.subquery())) == 1
    case_id = served.read(cases)
    assert served.read(select(func.count(CaseIdentifiers.case_id)).where(CaseIdentifiers.case_id == case_id)) == 1
    assert served.read(select(func.count(CaseImage.id)).where(CaseImage.case_id == case_id)) == 1
    assert served.read(select(func.count(CaseImage.id))) == 1
    assert server.workers() == workers, "no worker had to be restarted"


@needs_postgresql
def test_while_postgresql_restarts_requests_get_the_friendly_page_and_the_app_recovers(served, chair):
    server, proxy = served.server, served.proxy
    workers, master = server.workers(), server.process.pid
    version = served.state()[0]
    phone = Browser(server.port)
    assert phone.get(f"/j/{served.code}").status == 200
    console = f"/meetings/{served.meeting_id}/console"
    assert chair.get(console).status == 200
    stranger = Browser(server.port)
    stranger.csrf = stranger.get("/auth/sign-in").csrf_token()

    proxy.down()
    try:
        # Each kind of request while PostgreSQL is away: the chair's pages, htmx panels and commands; the
        # phones' polls and pages; a guest signing; someone signing in.
        for _ in range(2):  # twice: either worker may answer
            page = chair.get("/")
            assert_friendly_error(page.status, page.text)
            page = chair.get(console)
            assert_friendly_error(page.status, page.text)
        panel = chair.get(f"{console}/room?v={version}", headers=HX)
        assert_friendly_error(panel.status, panel.text, fragment=True)
        moved = _command(chair, served, "refresh")
        assert_friendly_error(moved.status, moved.text, fragment=True)
        poll = phone.get(f"/j/{served.code}/live?v=0", headers=HX)
        assert_friendly_error(poll.status, poll.text, fragment=True)
        page = phone.get(f"/j/{served.code}/sign")
        assert_friendly_error(page.status, page.text)
        page = stranger.post("/auth/sign-in", {"email": served.chair_email, "password": PASSWORD})
        assert_friendly_error(page.status, page.text)
    finally:
        proxy.up()

    # Back, without a restart: every request answers as before, on the same workers.
    until(lambda: chair.get(console).status == 200, "the console after PostgreSQL came back")
    for _ in range(6):
        assert chair.get(console).status == 200
        assert phone.get(f"/j/{served.code}/live?v={served.state()[0]}", headers=HX).status == 204
    assert _command(chair, served, "refresh").status == 200
    assert server.workers() == workers and server.process.pid == master
    assert not server.unhandled_errors(), server.log.read_text()[-5000:]
