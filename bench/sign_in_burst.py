"""500 guest sign-ins arriving within 10 seconds, under gunicorn with several workers.

Seeds demo data, opens the register of its upcoming meeting (presence code required, as in the room), then
serves Lightbox with gunicorn (rate limiting on, as in production: a successful signature is not charged
against the sign form's limit, only a refused one) and drives it from this process:

- 450 phones, each its own cookie jar: GET `/j/<code>/sign` (session and device cookies, CSRF token), all
  done before the burst;
- then 500 form POSTs to `/j/<code>/sign` on a uniform schedule over 10 seconds (50 a second, a pool of 64
  threads, a fresh connection per request): the 450 people once each, plus 50 repeats of someone already
  scheduled (same cookies, same email), half of them a double tap one slot (20 ms) after the first, half
  later in the burst. Every one must be answered 303 to `/j/<code>/signed`.

Then counts the meeting's `attendance` rows: lost = people with no row, duplicated = rows - distinct
`person_key`s (both must be 0), and whether each row carries its own phone's device digest. Reports POST
latency (measured from the moment the request was sent) p50/p95/p99/max, the status codes, and the arrival
window achieved (first to last send). Target: p95 under 300 ms.

On SQLite, and on PostgreSQL when it answers on 127.0.0.1:5432 (a fresh `lightbox_bench` database, left in
place like bench/live_poll.py leaves it). Prints a table, any errors gunicorn logged, then JSON as the last
line.

    .venv/bin/python bench/sign_in_burst.py [--workers 4] [--threads 4] [--people 450] [--repeats 50]
                                            [--seconds 10] [--only sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.serving import IDENTIFIER_KEY, Gunicorn, demo_meeting, fresh_postgres, postgres_answers  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.live import service as live  # noqa: E402
from meetings.register import presence  # noqa: E402
from meetings.register import service as registers  # noqa: E402

P95_TARGET_MS = 300
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def seed_open_register(database_url: str) -> tuple[str, str, int]:
    """Demo data with the upcoming meeting's register open; returns its join code, the presence code now,
    and the meeting's id."""
    with demo_meeting(database_url) as meeting:
        state = live.state_of(meeting)
        register = registers.register_of(meeting)
        registers.open_register(register)
        db.session.commit()
        assert register.presence_required
        # The code changes every PRESENCE_CODE_MINUTES and the previous one is accepted too, so the code
        # read now stays good for the whole burst.
        return state.join_code, presence.current_code(register), meeting.id


@dataclass
class Phone:
    """One attendee's phone: its cookies and the form it will post."""

    number: int
    cookies: dict = field(default_factory=dict)
    form: dict = field(default_factory=dict)

    @property
    def email(self) -> str:
        return self.form["email"]

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def request(port: int, method: str, path: str, headers: dict, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def prepare(port: int, code: str, number: int, presence_code: str) -> Phone:
    """The phone opens the sign page: it gets its session (with the CSRF token) and device cookies."""
    phone = Phone(number)
    status, headers, body = request(port, "GET", f"/j/{code}/sign", {"Host": f"127.0.0.1:{port}"})
    if status != 200:
        raise RuntimeError(f"GET /j/{code}/sign answered {status}")
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            phone.cookies[key] = rest.split(";", 1)[0]
    if not {"lightbox_session", "lightbox_device"} <= phone.cookies.keys():
        raise RuntimeError(f"the sign page set cookies {sorted(phone.cookies)}")
    phone.form = {
        "csrf_token": CSRF.search(body.decode()).group(1),
        "name": f"Burst Attendee {number:04d}",
        "email": f"burst.attendee.{number:04d}@bench.example.org",
        "profession": "consultant_radiologist",
        "professional_body": "GMC",
        "registration_number": f"{7000000 + number:07d}",
        "site": f"Bench Trust {number % 7}",
        "presence_code": presence_code,
    }
    return phone


def schedule(phones: list[Phone], repeats: int, rng: random.Random) -> list[tuple[Phone, bool]]:
    """The order the POSTs go in: everyone once, plus `repeats` second signatures from phones already in
    the order: half a double tap (the next slot), half later on."""
    order: list[tuple[Phone, bool]] = [(phone, False) for phone in phones]
    # Repeat people from the first 80% so a "later" repeat has room to land after the first signature.
    repeated = rng.sample(phones[: int(len(phones) * 0.8)], repeats)
    double_taps, later = repeated[: repeats // 2], repeated[repeats // 2:]
    for phone in double_taps:
        at = next(i for i, (p, _) in enumerate(order) if p is phone)
        order.insert(at + 1, (phone, True))
    for phone in later:
        at = next(i for i, (p, _) in enumerate(order) if p is phone)
        order.insert(rng.randint(at + 2, len(order)), (phone, True))
    return order


def burst(port: int, code: str, order: list[tuple[Phone, bool]], seconds: float, threads: int) -> list[dict]:
    """POST every signature at its slot on a uniform schedule; latency is from sending to the full answer."""
    gap = seconds / len(order)
    start = time.perf_counter() + 0.5
    results: list[dict] = [{} for _ in order]

    def one(index: int) -> None:
        phone, repeat = order[index]
        due = start + index * gap
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        body = urllib.parse.urlencode(phone.form).encode()
        headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/x-www-form-urlencoded",
                   "Cookie": phone.cookie_header(), "Origin": f"http://127.0.0.1:{port}",
                   "Referer": f"http://127.0.0.1:{port}/j/{code}/sign"}
        sent = time.perf_counter()
        try:
            status, response_headers, _ = request(port, "POST", f"/j/{code}/sign", headers, body)
            location = dict((k.lower(), v) for k, v in response_headers).get("location", "")
        except OSError as failure:
            status, location = f"error: {type(failure).__name__}", ""
        done = time.perf_counter()
        results[index] = {"status": status, "location": location, "sent": sent - start, "lag": sent - due,
                          "ms": (done - sent) * 1000, "repeat": repeat, "email": phone.email}

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(len(order))))
    return results


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[rank], 1)


def count_rows(database_url: str, meeting_id: int) -> list[tuple[str, str, str | None]]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT person_key, email, device_digest FROM attendance "
                                 "WHERE meeting_id = :m"), {"m": meeting_id}).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def run_database(name: str, database_url: str, args, workdir: Path) -> tuple[dict, list[str]]:
    code, presence_code, meeting_id = seed_open_register(database_url)
    before = count_rows(database_url, meeting_id)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "bench", "IDENTIFIER_KEY": IDENTIFIER_KEY,
           "RATELIMIT_STORAGE_URI": "memory://",
           "CERTIFICATES_IN_BACKGROUND": "false", "MAIL_OUTBOX": str(workdir / "outbox")}
    server = Gunicorn("app:app", env, args.workers, args.threads, workdir / f"gunicorn-{name}.log",
                      extra=("--backlog", "2048"))
    try:
        server.wait(f"/j/{code}/sign")
        with ThreadPoolExecutor(16) as pool:
            phones = list(pool.map(lambda n: prepare(server.port, code, n, presence_code), range(1, args.people + 1)))
        order = schedule(phones, args.repeats, random.Random(20240611))
        results = burst(server.port, code, order, args.seconds, args.client_threads)
    finally:
        server.stop()
    rows = count_rows(database_url, meeting_id)
    rows = [row for row in rows if row not in before]

    signed = f"/j/{code}/signed"
    ok = [r for r in results if r["status"] == 303 and urllib.parse.urlparse(r["location"]).path == signed]
    latencies = [r["ms"] for r in results]
    keys = Counter(key for key, _, _ in rows)
    emails = {email for _, email, _ in rows}
    digests = {email: digest for _, email, digest in rows}
    expected = {phone.email for phone in phones}
    own_device = sum(1 for phone in phones if digests.get(phone.email) ==
                     hashlib.sha256(phone.cookies["lightbox_device"].encode()).hexdigest())
    figures = {
        "signins": len(results), "people": len(phones), "repeats": sum(r["repeat"] for r in results),
        "expected_rows": len(expected), "rows": len(rows), "distinct_people": len(keys),
        "lost": len(expected - emails), "duplicated": len(rows) - len(keys),
        "unexpected_rows": len(emails - expected), "rows_with_own_device": own_device,
        "answered_303_signed": len(ok), "repeats_answered_303": sum(1 for r in ok if r["repeat"]),
        "status_codes": dict(Counter(str(r["status"]) for r in results)),
        "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99), "max_ms": round(max(latencies), 1),
        "window_seconds": round(max(r["sent"] for r in results) - min(r["sent"] for r in results), 2),
        "max_send_lag_ms": round(max(r["lag"] for r in results) * 1000, 1),
    }
    figures["passed"] = (figures["lost"] == 0 and figures["duplicated"] == 0 and figures["unexpected_rows"] == 0
                         and figures["answered_303_signed"] == figures["signins"]
                         and figures["p95_ms"] < P95_TARGET_MS and figures["window_seconds"] <= args.seconds)
    return figures, server.errors()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--people", type=int, default=450)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--client-threads", type=int, default=64)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-sign-bench-"))
    databases = {"sqlite": f"sqlite:///{workdir / 'bench.db'}"}
    if postgres_answers() and args.only != "sqlite":
        databases["postgresql"] = fresh_postgres()
    if args.only == "postgresql":
        databases.pop("sqlite")

    figures: dict = {"settings": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread",
                                  "people": args.people, "repeats": args.repeats, "seconds": args.seconds,
                                  "client_threads": args.client_threads, "p95_target_ms": P95_TARGET_MS,
                                  "cpus": os.cpu_count()}}
    logged: dict[str, list[str]] = {}
    try:
        for name, url in databases.items():
            figures[name], logged[name] = run_database(name, url, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    names = [n for n in databases]
    rows = [("sign-ins (POST)", "signins"), ("people", "people"), ("repeats", "repeats"),
            ("expected rows", "expected_rows"), ("rows", "rows"), ("lost", "lost"), ("duplicated", "duplicated"),
            ("unexpected rows", "unexpected_rows"), ("rows with own device", "rows_with_own_device"),
            ("303 to /signed", "answered_303_signed"), ("repeats given 303", "repeats_answered_303"),
            ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"), ("p99 ms", "p99_ms"), ("max ms", "max_ms"),
            ("arrival window s", "window_seconds"), ("max send lag ms", "max_send_lag_ms"),
            ("status codes", "status_codes"), ("passed", "passed")]
    print(f"{'measure':<22}" + "".join(f"{n:>22}" for n in names))
    for label, key in rows:
        cells = []
        for n in names:
            value = figures[n][key]
            cells.append(" ".join(f"{k}:{v}" for k, v in sorted(value.items())) if isinstance(value, dict)
                         else str(value))
        print(f"{label:<22}" + "".join(f"{c:>22}" for c in cells))
    print(f"target: none lost, none duplicated, every sign-in 303, p95 < {P95_TARGET_MS} ms, "
          f"{args.workers} workers x {args.threads} threads")
    for n in names:
        if logged[n]:
            print(f"--- gunicorn logged on {n} ({len(logged[n])} lines; first 40) ---")
            print("\n".join(logged[n][:40]))
        figures[n]["gunicorn_error_lines"] = len(logged[n])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
