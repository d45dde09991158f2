"""Lightbox as production runs it: two gunicorn servers on different ports, one PostgreSQL database and one
Redis, with no sticky sessions (issue #13).

Each request picks its server the way a load balancer would. The chair signs in on one and carries on with
the same cookie on the other; the room moves through one while phones poll the other; attendees sign through
both at once; failed sign-ins are counted once across both; an image uploaded through one is served by the
other. So nothing may live in a worker's memory, in local files or in a session pinned to a host.

It runs in the PostgreSQL pass (TEST_DATABASE_URL naming PostgreSQL), in a scratch database of its own on
the same server, built by the real migrations. The rate limiter's check needs Redis on 127.0.0.1:6379 (its
database 14 is flushed before and after).
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from meetings import create_app
from meetings.cases import review
from meetings.extensions import db
from meetings.live import broadcast
from meetings.live import service as live
from meetings.models import Attendance, Case, CaseImage, LiveState, Role
from meetings.register import service as registers
from tests import servers
from tests.conftest import IDENTIFIER_KEY
from tests.factories import PASSWORD, make_case, make_meeting, make_user, png
from tests.http_browser import Reply, send

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = "redis://127.0.0.1:6379/14"
SIGN_IN_LIMIT = 5  # per minute, across both servers
HX = {"HX-Request": "true"}
DEADLINE = 15.0  # seconds: generous, for a loaded two-core machine; every wait polls until then


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def _postgres() -> tuple[str, int]:
    url = make_url(TEST_DATABASE_URL) if TEST_DATABASE_URL else None
    return (url.host or "127.0.0.1", url.port or 5432) if url else ("127.0.0.1", 5432)


pytestmark = [
    pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                       reason="several servers share one PostgreSQL database: this runs in the PostgreSQL pass "
                              "(TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test)"),
    pytest.mark.skipif(TEST_DATABASE_URL.startswith("postgresql") and not _answers(*_postgres()),
                       reason="PostgreSQL does not answer on {}:{}".format(*_postgres())),
]


# --- a browser, and the servers ---------------------------------------------------------------------

@dataclass
class Browser:
    """One person's browser behind the load balancer: one origin, so its cookies go to whichever server
    answers. Redirects are not followed, so each answer is seen as sent."""

    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def copy(self) -> Browser:
        return Browser(dict(self.cookies), self.csrf)

    def get(self, server: Server, path: str, headers: dict | None = None) -> Reply:
        return self.request(server, "GET", path, headers=headers)

    def post(self, server: Server, path: str, fields: dict | None = None, files: dict | None = None,
             headers: dict | None = None) -> Reply:
        fields = {"csrf_token": self.csrf, **(fields or {})}
        headers = {"X-CSRFToken": self.csrf, **(headers or {})}
        return self.request(server, "POST", path, fields, files, headers)

    def request(self, server: Server, method: str, path: str, fields: dict | None = None,
                files: dict | None = None, headers: dict | None = None) -> Reply:
        return send(server.port, self.cookies, method, path, fields, files, headers, timeout=DEADLINE * 2)


class Server(servers.Gunicorn):
    """One of the two app servers, named "a" or "b"."""

    def __init__(self, name: str, env: dict, workdir: Path):
        super().__init__(env, workdir / f"gunicorn-{name}.log", f"server {name}")

    def errors(self) -> list[str]:
        return self.log_lines(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Exception")


# --- the installation: a scratch database, seeded, and two servers on it ---------------------------

@dataclass
class Cluster:
    a: Server
    b: Server
    app: object  # an app on the scratch database, for reading what the servers stored
    redis: object | None
    meeting_id: int
    case_ids: list[int]
    code: str
    chair_email: str
    chair_site_id: int

    def read(self, query):
        """The scalar `query` answers now, from the shared database."""
        with self.app.app_context():
            try:
                return db.session.scalar(query)
            finally:
                db.session.remove()

    def flush_redis(self) -> None:
        if self.redis is not None:
            self.redis.flushdb()


def _seed(app) -> dict:
    """A chair with a password, a meeting of two approved cases (the first with an image), its live state
    and an open register that asks no presence code: the project's factories and services, as a chair's
    requests would leave them."""
    with app.test_request_context():
        chair = make_user(Role.CHAIR, name="Dr Solveig Marrable", email="solveig.marrable@servers.example.org")
        meeting = make_meeting(chair=chair, title="Two servers REAL meeting")
        cases = [
            make_case(chair, meeting, {"patient_name": "Perpetua Lindqvist"}, modality="CT", body_region="Chest",
                      clinical_question="Breathless after a long flight. ?PE", report_text="No filling defect seen.",
                      outcome_text="Segmental embolus on review.", learning_points="", queue_position=0,
                      images=((png((80, 60), 90), "Axial CT"),)),
            make_case(chair, meeting, {"patient_name": "Perpetua Lindqvist"}, modality="MR", body_region="Knee",
                      clinical_question="Locking knee. ?Meniscal tear", report_text="Menisci intact.",
                      outcome_text="Bucket-handle tear at arthroscopy.", learning_points="", queue_position=1),
        ]
        for case in cases:
            review.approve(case, chair, [], [], review.fingerprint(case, images=False))
        register = registers.register_of(meeting)
        registers.open_register(register)
        registers.set_presence_required(register, False)
        state = live.state_of(meeting)
        broadcast.publish(state)
        db.session.commit()
        seeded = {"meeting_id": meeting.id, "case_ids": [case.id for case in cases], "code": state.join_code,
                  "chair_email": chair.email, "chair_site_id": chair.home_site_id}
        db.session.remove()
        return seeded


def _redis():
    try:
        import redis
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - no Redis: the servers count in memory and that check is skipped
        return None


@pytest.fixture(scope="module")
def cluster(app, tmp_path_factory):
    """Two servers on one scratch PostgreSQL database (and one Redis, when it answers)."""
    started = time.monotonic()
    workdir = tmp_path_factory.mktemp("servers")
    name = f"lightbox_servers_{os.getpid()}"
    admin = create_engine(make_url(TEST_DATABASE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    database_url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    redis_client = _redis()
    if redis_client is not None:
        redis_client.flushdb()
    # The app's extensions are shared with the suite's own app (the limiter keeps one storage): this one
    # gets the suite's rate-limit settings, so the tests after this module find the limiter as they left it.
    seed_app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "seed", "IDENTIFIER_KEY": IDENTIFIER_KEY,
                           **{key: value for key, value in app.config.items() if key.startswith("RATELIMIT_")}})
    servers: list[Server] = []
    try:
        secret_key = secrets.token_hex(32)  # the same on every host, as the README asks
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("RATELIMIT_", "MAIL_", "GUNICORN_")) and key not in {"TRUSTED_PROXIES"}}
        for server_name in ("a", "b"):
            (workdir / server_name).mkdir()
            servers.append(Server(server_name, env | {
                "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "IDENTIFIER_KEY": IDENTIFIER_KEY,
                "RATELIMIT_STORAGE_URI": REDIS_URL if redis_client is not None else "memory://",
                "SIGN_IN_RATE_LIMIT": f"{SIGN_IN_LIMIT} per minute",
                "LIVE_VERSION_CACHE_SECONDS": "0.25",
                "MAIL_SERVER": "", "MAIL_OUTBOX": str(workdir / server_name / "outbox"),
                "BASE_URL": "http://127.0.0.1", "SESSION_COOKIE_SECURE": "false",
            }, workdir))
        # The schema and the seed are made while the servers boot (nothing asks the database until a request).
        with seed_app.app_context():
            upgrade()
        seeded = _seed(seed_app)
        deadline = time.monotonic() + 60
        for server in servers:
            server.wait_until_up(deadline)
        print(f"two servers up {time.monotonic() - started:.1f} s after the fixture started")
        yield Cluster(servers[0], servers[1], seed_app, redis_client, **seeded)
    finally:
        for server in servers:
            server.stop()
        with seed_app.app_context():
            db.session.remove()
            db.engine.dispose()
        seed_app.wsgi_app.engine.dispose()  # the followers' own engine (meetings.live.followers)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if redis_client is not None:
            redis_client.flushdb()
            redis_client.close()


@pytest.fixture(scope="module")
def chair(cluster) -> Browser:
    """The chair's browser, signed in through server A."""
    browser = Browser()
    browser.csrf = browser.get(cluster.a, "/auth/sign-in").csrf_token()
    signed_in = browser.post(cluster.a, "/auth/sign-in", {"email": cluster.chair_email, "password": PASSWORD})
    assert signed_in.status == 303, signed_in.text[:2000]
    assert "lightbox_session" in browser.cookies
    return browser


def until(check, what: str, deadline: float = DEADLINE):
    """`servers.until`, with this module's deadline."""
    return servers.until(check, what, deadline)


# --- the tests ----------------------------------------------------------------------------------------

def test_a_session_made_on_one_server_works_on_the_other(cluster, chair):
    meeting_id = cluster.meeting_id
    # Nobody signed in is sent to sign in by either server; the chair's cookie from A opens the console on B.
    for server in (cluster.a, cluster.b):
        assert Browser().get(server, f"/meetings/{meeting_id}/console").status == 302
    console = chair.get(cluster.b, f"/meetings/{meeting_id}/console")
    assert console.status == 200 and "Two servers REAL meeting" in console.text
    # A form drawn by B is accepted by A, and the CSRF token A gave is accepted by B.
    token_from_b = console.csrf_token()
    for server, token in ((cluster.a, token_from_b), (cluster.b, chair.csrf)):
        changed = chair.post(server, f"/meetings/{meeting_id}/register/presence-off", {"csrf_token": token},
                             headers=HX | {"X-CSRFToken": token})
        assert changed.status == 204, (server, changed.status, changed.text[:500])


def test_phones_polling_one_server_follow_the_chair_moving_the_room_through_the_other(cluster, chair):
    a, b, meeting_id, code = cluster.a, cluster.b, cluster.meeting_id, cluster.code
    phone = Browser()
    assert phone.get(b, f"/j/{code}").status == 200

    def poll(version: int) -> Reply:
        reply = phone.get(b, f"/j/{code}/live?v={version}", headers=HX)
        assert reply.status in (200, 204), (reply.status, reply.text[:500])
        return reply

    def version_in(fragment: Reply) -> int:
        return int(re.search(r"/live\?v=(\d+)", fragment.text).group(1))

    first = poll(0)
    assert first.status == 200 and "The meeting will start soon" in first.text and "2 cases" in first.text
    version = version_in(first)
    assert version == cluster.read(select(LiveState.version).where(LiveState.meeting_id == meeting_id))
    assert poll(version).status == 204

    moves = [
        ("start", {}, "Now showing case 1 of 2, stage 1", "?PE", "No filling defect seen."),
        ("next", {}, "Now showing case 2 of 2, stage 1", "?Meniscal tear", "Menisci intact."),
        ("stage", {"stage": "2"}, "Now showing case 2 of 2, stage 2", "Menisci intact.", "Bucket-handle tear"),
    ]

    def moved_on(held: int) -> Reply | None:
        reply = poll(held)
        return reply if reply.status == 200 else None

    for command, fields, announced, shown, held_back in moves:
        moved = chair.post(a, f"/meetings/{meeting_id}/live/{command}", fields, headers=HX)
        assert moved.status == 200, (command, moved.status, moved.text[:500])
        stored = cluster.read(select(LiveState.version).where(LiveState.meeting_id == meeting_id))
        assert stored > version
        # B's workers may answer from their copy for LIVE_VERSION_CACHE_SECONDS (0.25 s), then read the move.
        fragment = until(lambda: moved_on(version), f"B shows the room after {command}")
        assert version_in(fragment) == stored
        assert announced in fragment.text and shown in fragment.text, fragment.text
        assert held_back not in fragment.text and "Lindqvist" not in fragment.text
        version = stored
        # Unchanged now, from whichever of B's workers answers (and from A's).
        assert [poll(version).status for _ in range(6)] == [204] * 6
        assert phone.get(a, f"/j/{code}/live?v={version}", headers=HX).status == 204

    # The first case's image, stored in the database when it was uploaded, reached phones through B.
    assert chair.post(a, f"/meetings/{meeting_id}/live/previous", headers=HX).status == 200
    fragment = until(lambda: moved_on(version), "B shows the first case again")
    assert "Now showing case 1 of 2, stage 1" in fragment.text
    image_path = re.search(r'<img src="(/j/[^"]+/images/\d+)"', fragment.text).group(1)
    image = phone.get(b, image_path)
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    assert image.body.startswith(b"\x89PNG")


def test_attendees_signing_through_both_servers_at_once_lose_nothing_and_double_nothing(cluster):
    a, b, meeting_id, code = cluster.a, cluster.b, cluster.meeting_id, cluster.code
    people = [{"name": f"Dr Attendee {n:02d} Vantongeren", "email": f"attendee{n:02d}@servers.example.org",
               "profession": "consultant_radiologist", "professional_body": "GMC",
               "registration_number": f"{7100000 + n}", "site": "Farholm Teleradiology"} for n in range(40)]
    twice = {"name": "Dr Ottoline Brackwater", "email": "ottoline.brackwater@servers.example.org",
             "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7654321",
             "site": "Farholm Teleradiology"}
    servers = (a, b)

    # Each phone opens the form on one server and sends it to the other, as a load balancer may.
    phones = []
    for n in range(len(people)):
        phone = Browser()
        page = phone.get(servers[n % 2], f"/j/{code}/sign")
        assert page.status == 200 and "Presence code" not in page.text
        phone.csrf = page.csrf_token()
        phones.append(phone)
    # One attendee's phone double-taps (and retries): the same signature reaches both servers at once.
    tapper = Browser()
    tapper.csrf = tapper.get(a, f"/j/{code}/sign").csrf_token()
    taps = [tapper.copy() for _ in range(6)]

    jobs = [(phone, servers[(n + 1) % 2], person) for n, (phone, person) in enumerate(zip(phones, people))]
    jobs += [(tap, servers[n % 2], twice) for n, tap in enumerate(taps)]
    start = threading.Barrier(len(jobs), timeout=DEADLINE * 2)

    def sign(job) -> Reply:
        phone, server, person = job
        start.wait()
        return phone.post(server, f"/j/{code}/sign", person)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        replies = list(pool.map(sign, jobs))

    assert [reply.status for reply in replies] == [303] * len(jobs), [(r.status, r.text[:300]) for r in replies]
    assert all(reply.headers["Location"].split("?")[0].endswith(f"/j/{code}/signed") for reply in replies)
    # Every distinct attendee's signature is new; of the six taps exactly one made the entry.
    assert not any("already" in reply.headers["Location"] for reply in replies[:len(people)])
    assert sum("already" not in reply.headers["Location"] for reply in replies[len(people):]) == 1

    on_register = cluster.read(select(func.count(Attendance.id)).where(Attendance.meeting_id == meeting_id))
    distinct = cluster.read(select(func.count(func.distinct(Attendance.email))).where(Attendance.meeting_id == meeting_id))
    tapped = cluster.read(select(func.count(Attendance.id)).where(Attendance.meeting_id == meeting_id,
                                                                  Attendance.email == twice["email"]))
    assert (on_register, distinct, tapped) == (len(people) + 1, len(people) + 1, 1)
    # Each phone finds its own signature on either server (by its device cookie, not the server's memory).
    for n in (0, 1, 39):
        signed = phones[n].get(servers[n % 2], f"/j/{code}/signed")
        assert signed.status == 200 and people[n]["name"] in signed.text


def test_an_image_uploaded_through_one_server_is_served_by_the_other(cluster, chair):
    a, b = cluster.a, cluster.b
    picture = png((96, 72), 200)
    form = {
        "kind": "discrepancy", "came_to_light": "random_review", "modality": "CT", "body_region": "",
        "clinical_question": "Headache. ?Bleed", "report_text": "No acute intracranial abnormality.",
        "outcome_text": "Small subdural on review.", "suggested_learning": "",
        "patient_name": "Barnaby Quillfeather", "nhs_number": "943 476 5919", "hospital_number": "SRV0001",
        "date_of_birth": "1950-02-03", "accession_number": "SRV0001",
        "examination_date": (date.today() - timedelta(days=30)).isoformat(),
        "site_id": str(cluster.chair_site_id), "reporter_id": "0", "reporter_name": "Dr Visiting Reporter",
        "reporter_email": "visiting.reporter@servers.example.org", "referrer_name": "",
        "images-0-caption": "Axial CT head",
    }
    # Sent to A with a field missing: the form comes back, the image kept (in the database) under its token.
    chair.csrf = chair.get(a, "/cases/new").csrf_token()
    refused = chair.post(a, "/cases/new", form, files={"images-0-file": ("head.png", picture, "image/png")})
    assert refused.status == 422 and "Enter the body region" in refused.text
    token = re.search(r'name="upload_token"[^>]*value="([^"]+)"', refused.text).group(1)
    pending_path = re.search(rf'src="(/cases/uploads/{re.escape(token)}/\d+)"', refused.text).group(1)
    pending = chair.get(b, pending_path)
    assert pending.status == 200 and pending.body == picture

    # Finished through B: the case takes the image uploaded through A.
    finished = chair.post(b, "/cases/new", form | {"body_region": "Head", "upload_token": token,
                                                   "images-0-caption": ""})
    assert finished.status == 303, finished.text[:2000]
    image_id = int(pending_path.rsplit("/", 1)[1])
    case_id = cluster.read(select(CaseImage.case_id).where(CaseImage.id == image_id))
    assert case_id and cluster.read(select(Case.body_region).where(Case.id == case_id)) == "Head"
    for server in (b, a):
        served = chair.get(server, f"/cases/{case_id}/images/{image_id}")
        assert served.status == 200 and served.body == picture, server
        assert served.headers["Content-Type"] == "image/png"


def test_failed_sign_ins_are_counted_once_across_both_servers_through_redis(cluster):
    if cluster.redis is None:
        pytest.skip("Redis does not answer on 127.0.0.1:6379: the servers count sign-ins in memory")
    a, b = cluster.a, cluster.b
    cluster.flush_redis()  # the chair's own sign-in counted too
    guesser = Browser()
    guesser.csrf = guesser.get(a, "/auth/sign-in").csrf_token()
    wrong = {"email": cluster.chair_email, "password": "not-the-password"}
    # Alternating servers (and so four workers): each attempt sees the count the others left.
    for attempt in range(1, SIGN_IN_LIMIT + 1):
        reply = guesser.post((a, b)[attempt % 2], "/auth/sign-in", wrong)
        assert reply.status == 401, (attempt, reply.status)
        assert reply.headers["X-RateLimit-Remaining"] == str(SIGN_IN_LIMIT - attempt)
    for server in (a, b):
        refused = guesser.post(server, "/auth/sign-in", wrong)
        assert refused.status == 429, (server, refused.status)
    # Even the right password waits now, on either server: the limit is per address, not per worker.
    right = guesser.post(b, "/auth/sign-in", {"email": cluster.chair_email, "password": PASSWORD})
    assert right.status == 429
    assert cluster.redis.dbsize() > 0
    cluster.flush_redis()
    assert guesser.post(a, "/auth/sign-in", {"email": cluster.chair_email, "password": PASSWORD}).status == 303


def test_neither_server_logged_an_error(cluster):
    for server in (cluster.a, cluster.b):
        assert server.process.poll() is None, f"{server} stopped"
        assert server.errors() == [], server.log.read_text()[-5000:]
