"""The calendar feeds (issue #9): a person's own feed, a site's public feed and "Add to calendar", each under
300 ms median, with a statement count that does not grow with the meetings and actions a feed carries.

Builds the schema with the real migrations, then seeds with bulk inserts (no ORM objects one by one), all of
it synthetic: 10 sites; 200 users with their home sites spread over them (2 admins, 2 chairs and 1 risk lead
per site, the rest members); 600 local meetings, one a month at each site, and 60 regional ones (no site),
from 4.5 years ago to 6 months ahead, so the feeds' window (90 days back, 366 days ahead) holds the last
three months and the next six: each with its own iCal uid, some cancelled, some unlisted, some with an
online link and a reminder; a live state with a join code for most past meetings and a quarter of the
coming ones; about 12,000 cases over the meetings (presented on past meetings, scheduled on coming ones,
plus some still unscheduled), so the per-meeting case count has work; and actions: one heavy user (chair and
risk lead at site 1) owns 300 open actions and 100 closed ones, others own about 400 open and 3,000 closed,
and the ordinary member measured owns 4 open. Each action has its meeting's site and 1-3 history events.

The data goes in in two steps. The first holds back half of the meetings inside the feed window (with their
cases and live states) and all but 60 of the heavy user's open actions; every request is counted then (one
warm-up, one counted request each); the second step inserts the rest and every request is counted again,
so a statement count that grows with the meetings or the to-dos in a feed shows (an N+1).

Then, at the full size, through the Flask test client in this process (server time, no network), a warm-up
then `--repeats` timed requests of each:

- personal_feed_heavy: `/calendar/feed/<token>.ics` for the heavy user: the meetings of site 1 and the regional
  ones in the window, and their 300 open actions as VTODOs; no sign-in, the signed token is the key;
- personal_feed_member: the same for an ordinary member of site 1 (the same meetings, 4 to-dos);
- site_feed: `/calendar/sites/S01.ics`, site 1's public feed (its listed local meetings in the window);
- add_to_calendar: `/meetings/<id>/calendar.ics` for site 1's next meeting, signed in as the member.

Each answer is checked: 200, text/calendar, and as many VEVENTs and VTODOs as the database says it should
carry. SQL statements are counted per request with a `before_cursor_execute` listener on the engine, and
the time spent in them is summed too (sql_ms, the median), so the rest is Python: the ORM, icalendar and
Flask. Reports median and p95 (nearest rank) in ms, the statements and the response size in bytes. On
PostgreSQL the tables are ANALYZEd after each seeding step, as autovacuum would soon do; SQLite has no
automatic ANALYZE, so none is run there.

On SQLite (a file in a temporary folder), and on PostgreSQL when it answers on 127.0.0.1:5432 (a fresh
`lightbox_bench` database, left in place like the other benchmarks leave it). A request that does not answer
as expected is reported with the start of its body and the run stops. Prints a table, then JSON as the last
line. `--profile` adds the functions that took the most time over the timed heavy-feed requests.

    .venv/bin/python bench/calendar_feeds.py [--repeats 20] [--only sqlite|postgresql] [--show-sql] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, insert, or_, select, text  # noqa: E402

from bench.serving import (  # noqa: E402
    IDENTIFIER_KEY,
    FIRST_NAMES, LAST_NAMES, SITE_NAMES, Statements, databases_to_measure, finish, nearest_rank, print_statements,
    stop_on_failure,
)
from meetings import create_app  # noqa: E402
from meetings.calendar import feeds  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.models import (  # noqa: E402
    OPEN_STATUSES, Action, ActionEvent, ActionSite, ActionStatus, Case, CaseKind, CaseStatus, LiveState, Meeting,
    MeetingScope, MeetingStatus, Modality, Profession, Role, Site, User, UserRole,
)

TARGET_MS = 300
SITES = 10
USERS = 200
LOCAL_MEETINGS = 600
REGIONAL_MEETINGS = 60
BACK_DAYS = round(4.5 * 365)  # the first meeting
AHEAD_DAYS = 182  # the last
CASES = 12000
UNSCHEDULED_CASES = 500
HEAVY_OPEN = 300
HEAVY_OPEN_SMALL = 60
HEAVY_CLOSED = 100
OTHERS_OPEN = 400
OTHERS_CLOSED = 3000
MEMBER_OPEN = 4
SEED = 20261209
DESCRIPTIONS = (
    "Update the CT head reporting template to prompt for the venous sinuses",
    "Add a line on incidental adrenal nodules to the CT abdomen template",
    "Review the MR knee template wording on meniscal tears with the MSK team",
    "Audit time to report for urgent CT pulmonary angiograms over the next quarter",
    "Teaching session for trainees on satisfaction of search in trauma CT",
    "Write to the referrers about clinical details on ultrasound requests",
    "Check the PACS hanging protocol for prior comparison on mammography",
    "Add pneumothorax to the critical findings communication list",
)
REGIONS = ("chest", "abdomen and pelvis", "head", "knee", "lumbar spine", "wrist", "breast", "pelvis")
LOCATIONS = ("Seminar room 2", "Radiology department meeting room", "Education centre, lecture theatre", "")


def aware(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)


def returning_ids(model, rows: list[dict]) -> list[int]:
    """Bulk insert `rows` into the model's table (its column defaults apply), giving back their new ids in
    order. The table, not the mapped class: the ORM's bulk insert splits rows by their pattern of Nones."""
    if not rows:
        return []
    table = model.__table__
    return list(db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


def analyze() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


# --- seeding ---------------------------------------------------------------------------------------

class Seeder:
    """People, meetings, cases, live states and actions, made with a fixed random seed and inserted in bulk."""

    def __init__(self):
        self.rng = random.Random(SEED)
        self.now = datetime.now(timezone.utc)
        self.today = self.now.date()
        self.site_ids: list[int] = []
        self.users: list[dict] = []
        self.heavy: dict = {}
        self.member: dict = {}
        self.meetings: list[dict] = []  # planned, with "id" once inserted
        self.held_back: list[dict] = []  # meetings in the window left for the second step
        self.heavy_open: list[dict] = []  # planned open actions of the heavy user
        self.join_code = 0

    # people ------------------------------------------------------------------------------------
    def people(self) -> None:
        long_ago = self.now - timedelta(days=6 * 366)
        self.site_ids = returning_ids(Site, [
            {"name": name, "code": f"S{n:02d}", "active": True, "created_at": long_ago}
            for n, name in enumerate(SITE_NAMES[:SITES], 1)])
        users = []
        for n in range(USERS):
            site_id = self.site_ids[n % SITES]
            roles = ([Role.ADMIN] if n < 2 else [Role.CHAIR] if n < 2 + 2 * SITES
                     else [Role.RISK] if n < 2 + 3 * SITES else [Role.MEMBER])
            first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n // len(FIRST_NAMES) % len(LAST_NAMES)]
            users.append({"email": f"user{n:03d}@bench.example.org", "name": f"{first} {last} {n:03d}",
                          "active": True, "home_site_id": site_id, "profession": Profession.CONSULTANT_RADIOLOGIST,
                          "login_token": f"bench-token-{n:03d}", "calendar_key": f"bench-calendar-{n:03d}",
                          "created_at": long_ago, "roles": roles})
        # The heavy user: the first chair at site 1, who is its risk lead too.
        heavy = next(u for u in users if u["roles"] == [Role.CHAIR] and u["home_site_id"] == self.site_ids[0])
        heavy["roles"] = [Role.CHAIR, Role.RISK]
        ids = returning_ids(User, [{k: v for k, v in u.items() if k != "roles"} for u in users])
        for user, user_id in zip(users, ids):
            user["id"] = user_id
        db.session.execute(insert(UserRole.__table__), [{"user_id": u["id"], "role": r} for u in users
                                                        for r in u["roles"]])
        self.users = users
        self.heavy = heavy
        self.member = next(u for u in users if u["roles"] == [Role.MEMBER] and u["home_site_id"] == self.site_ids[0])

    # meetings ----------------------------------------------------------------------------------
    def plan_meetings(self) -> None:
        rng = self.rng
        first = self.today - timedelta(days=BACK_DAYS)
        span = BACK_DAYS + AHEAD_DAYS
        chairs = {site: [u for u in self.users if Role.CHAIR in u["roles"] and u["home_site_id"] == site]
                  for site in self.site_ids}
        window = (self.now - feeds.PAST, self.now + feeds.AHEAD)
        planned = []
        for n in range(LOCAL_MEETINGS):
            day = first + timedelta(days=round(n * span / (LOCAL_MEETINGS - 1)))
            site_index = n % SITES
            planned.append(self.meeting(aware(day, 12, 30), MeetingScope.LOCAL, self.site_ids[site_index],
                                        f"{SITE_NAMES[site_index]} REAL meeting, {day:%B %Y}",
                                        rng.choice(chairs[self.site_ids[site_index]])["id"]))
        regional_chairs = [u for u in self.users if Role.CHAIR in u["roles"]]
        for n in range(REGIONAL_MEETINGS):
            day = first + timedelta(days=round((n + 0.5) * span / REGIONAL_MEETINGS))
            planned.append(self.meeting(aware(day, 16), MeetingScope.REGIONAL, None,
                                        f"Regional peer learning meeting, {day:%B %Y}",
                                        rng.choice(regional_chairs)["id"]))
        in_window = [m for m in planned if window[0] <= m["row"]["starts_at"] < window[1]]
        # Every second meeting in the window of each site (and of the regional ones) waits for the second step.
        by_place: dict = {}
        for m in sorted(in_window, key=lambda m: m["row"]["starts_at"]):
            by_place.setdefault(m["row"]["site_id"], []).append(m)
        self.held_back = [m for group in by_place.values() for m in group[1::2]]
        self.meetings = planned

    def meeting(self, starts: datetime, scope: str, site_id: int | None, title: str, chair_id: int) -> dict:
        rng = self.rng
        past = starts < self.now
        cancelled = rng.random() < 0.04
        status = MeetingStatus.CANCELLED if cancelled else MeetingStatus.ENDED if past else MeetingStatus.SCHEDULED
        online = rng.random() < 0.5
        row = {"uid": f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@lightbox", "title": title, "scope": scope,
               "site_id": site_id, "starts_at": starts, "ends_at": starts + timedelta(minutes=90),
               "location": rng.choice(LOCATIONS), "online_url": f"https://meet.example.org/real-{rng.getrandbits(40):x}"
               if online else "", "chair_id": chair_id, "status": status,
               "ical_sequence": rng.choice((0, 0, 0, 1, 2)) + (1 if cancelled else 0),
               "listed": rng.random() >= 0.1, "reminder_minutes": rng.choice((None, 15, 30, 60)),
               "notes": "", "created_at": starts - timedelta(days=rng.randint(30, 200))}
        return {"row": row, "past": past, "cancelled": cancelled}

    def insert_meetings(self, meetings: list[dict]) -> None:
        """The meetings, their live states and their cases."""
        rng = self.rng
        ids = returning_ids(Meeting, [m["row"] for m in meetings])
        live, cases = [], []
        per_meeting = CASES / (LOCAL_MEETINGS + REGIONAL_MEETINGS)
        for m, meeting_id in zip(meetings, ids):
            m["id"] = meeting_id
            row = m["row"]
            if not m["cancelled"] and rng.random() < (0.8 if m["past"] else 0.25):
                self.join_code += 1
                live.append({"meeting_id": meeting_id, "join_code": f"JB{self.join_code:05d}{rng.getrandbits(20):05x}",
                             "version": 1, "started_at": row["starts_at"] if m["past"] else None,
                             "ended_at": row["ends_at"] if m["past"] else None})
            count = 0 if m["cancelled"] else rng.randint(round(per_meeting * 0.5), round(per_meeting * 1.5))
            for position in range(count):
                site_id = row["site_id"] or rng.choice(self.site_ids)
                cases.append(self.case(site_id, meeting_id, position, row["starts_at"] - timedelta(days=20),
                                       CaseStatus.PRESENTED if m["past"] else CaseStatus.SCHEDULED))
        if live:
            db.session.execute(insert(LiveState.__table__), live)
        for start in range(0, len(cases), 5000):
            db.session.execute(insert(Case.__table__), cases[start:start + 5000])

    def case(self, site_id: int, meeting_id: int | None, position: int | None, created: datetime, status: str) -> dict:
        rng = self.rng
        submitter = rng.choice(self.users)
        return {"submitter_id": submitter["id"], "site_id": site_id, "meeting_id": meeting_id,
                "queue_position": position, "kind": rng.choice(list(CaseKind)), "modality": rng.choice(list(Modality)),
                "body_region": rng.choice(REGIONS), "clinical_question": "Synthetic benchmark case",
                "status": status, "created_at": created, "updated_at": created}

    def unscheduled_cases(self) -> None:
        rng, rows = self.rng, []
        for _ in range(UNSCHEDULED_CASES):
            created = self.now - timedelta(days=rng.randint(1, 60))
            rows.append(self.case(rng.choice(self.site_ids), None, None, created,
                                  rng.choice((CaseStatus.SUBMITTED, CaseStatus.ACCEPTED, CaseStatus.DECLINED))))
        db.session.execute(insert(Case.__table__), rows)

    # actions -----------------------------------------------------------------------------------
    def plan_action(self, owner: dict, meetings: list[dict], open_: bool) -> dict:
        rng = self.rng
        meeting = rng.choice(meetings)
        created = meeting["row"]["ends_at"]
        due = created.date() + timedelta(days=rng.randint(14, 240))
        status = (rng.choice((ActionStatus.OPEN, ActionStatus.OPEN, ActionStatus.IN_PROGRESS)) if open_
                  else rng.choice((ActionStatus.DONE, ActionStatus.DONE, ActionStatus.DONE, ActionStatus.CANCELLED)))
        chair_id = meeting["row"]["chair_id"]
        closed = created + timedelta(days=rng.randint(10, 120)) if not open_ else None
        row = {"meeting_id": meeting["id"], "case_id": None, "description": rng.choice(DESCRIPTIONS),
               "owner_id": owner["id"], "owner_name": "", "owner_email": "", "all_sites": False, "due_on": due,
               "priority": rng.choice(("low", "medium", "medium", "high")), "status": status,
               "closing_note": "Done and recorded in the governance log" if closed else "",
               "created_by_id": chair_id, "created_at": created, "updated_at": closed or created,
               "closed_at": closed, "version": 1 if status == ActionStatus.OPEN else 2}
        history = [{"at": created, "by_id": chair_id, "by_name": "Chair", "from_status": None,
                    "to_status": ActionStatus.OPEN, "note": f"Agreed at {meeting['row']['title']}"}]
        if status != ActionStatus.OPEN:
            history.append({"at": closed or created + timedelta(days=3), "by_id": owner["id"],
                            "by_name": owner["name"], "from_status": ActionStatus.OPEN, "to_status": status,
                            "note": row["closing_note"]})
        return {"row": row, "site_id": meeting["row"]["site_id"] or self.site_ids[0], "history": history,
                "meeting": meeting}

    def plan_actions(self) -> list[dict]:
        """Everything but the heavy user's later open actions, which `heavy_open` keeps for the second step."""
        rng = self.rng
        past = [m for m in self.meetings if m["past"] and not m["cancelled"] and "id" in m]
        site1 = [m for m in past if m["row"]["site_id"] in (self.site_ids[0], None)]
        recent_site1 = [m for m in site1 if m["row"]["starts_at"] > self.now - timedelta(days=400)]
        others = [u for u in self.users if u is not self.heavy and u is not self.member]
        self.heavy_open = [self.plan_action(self.heavy, recent_site1, True) for _ in range(HEAVY_OPEN)]
        planned = [self.plan_action(self.heavy, site1, False) for _ in range(HEAVY_CLOSED)]
        planned += [self.plan_action(self.member, recent_site1, True) for _ in range(MEMBER_OPEN)]
        for _ in range(OTHERS_OPEN):
            owner = rng.choice(others)
            mine = [m for m in past if m["row"]["site_id"] in (owner["home_site_id"], None)]
            planned.append(self.plan_action(owner, mine, True))
        for _ in range(OTHERS_CLOSED):
            owner = rng.choice(others)
            mine = [m for m in past if m["row"]["site_id"] in (owner["home_site_id"], None)]
            planned.append(self.plan_action(owner, mine, False))
        return planned

    def insert_actions(self, planned: list[dict]) -> None:
        # One in three is about a case of its meeting, so the to-dos' case join has rows to join.
        cases_of = {}
        wanted = {p["meeting"]["id"] for p in planned}
        for case_id, meeting_id in db.session.execute(select(Case.id, Case.meeting_id)
                                                      .where(Case.meeting_id.in_(wanted))):
            cases_of.setdefault(meeting_id, []).append(case_id)
        for p in planned:
            choices = cases_of.get(p["meeting"]["id"])
            if choices and self.rng.random() < 1 / 3:
                p["row"]["case_id"] = self.rng.choice(choices)
        for start in range(0, len(planned), 5000):
            chunk = planned[start:start + 5000]
            ids = returning_ids(Action, [p["row"] for p in chunk])
            db.session.execute(insert(ActionSite.__table__), [{"action_id": i, "site_id": p["site_id"]}
                                                             for i, p in zip(ids, chunk)])
            db.session.execute(insert(ActionEvent.__table__), [{"action_id": i, **h} for i, p in zip(ids, chunk)
                                                               for h in p["history"]])

    # the two steps -----------------------------------------------------------------------------
    def first_step(self) -> None:
        self.people()
        self.plan_meetings()
        held = {id(m) for m in self.held_back}
        self.insert_meetings([m for m in self.meetings if id(m) not in held])
        self.unscheduled_cases()
        self.insert_actions(self.plan_actions() + self.heavy_open[:HEAVY_OPEN_SMALL])
        db.session.commit()
        analyze()

    def second_step(self) -> None:
        self.insert_meetings(self.held_back)
        self.insert_actions(self.heavy_open[HEAVY_OPEN_SMALL:])
        db.session.commit()
        analyze()


# --- measuring -------------------------------------------------------------------------------------

class RequestFailed(Exception):
    pass


class SqlTime:
    """The time the engine spends in its statements while a measure runs."""

    def __init__(self, engine):
        self.on = False
        self.seconds = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = conn.info["bench_started"].pop()
        if self.on:
            self.seconds += time.perf_counter() - started

    def __enter__(self):
        self.seconds, self.on = 0.0, True
        return self

    def __exit__(self, *exc):
        self.on = False


class Bench:
    def __init__(self, app, seeder: Seeder):
        self.app = app
        self.seeder = seeder
        with app.app_context():
            self.statements = Statements(db.engine)
            self.sql_time = SqlTime(db.engine)
            heavy_token = feeds.token_for(db.session.get(User, seeder.heavy["id"]))
            member_token = feeds.token_for(db.session.get(User, seeder.member["id"]))
            self.site_code = db.session.get(Site, seeder.site_ids[0]).code
        self.member_client = self.client_for(seeder.member)
        anonymous = app.test_client()
        self.requests = {
            "personal_feed_heavy": (anonymous, f"/calendar/feed/{heavy_token}.ics"),
            "personal_feed_member": (anonymous, f"/calendar/feed/{member_token}.ics"),
            "site_feed": (anonymous, f"/calendar/sites/{self.site_code}.ics"),
            "add_to_calendar": (self.member_client, None),  # the path is found at each size: site 1's next meeting
        }

    def client_for(self, user: dict):
        client = self.app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = f"{user['id']}:{user['login_token']}"  # User.get_id(), as tests/conftest.py signs in
            session["_fresh"] = True
        return client

    # what each answer should carry, asked of the database directly -------------------------------
    def expected(self) -> dict[str, tuple[int, int]]:
        """VEVENTs and VTODOs each request should answer with, and the meeting Add to calendar fetches."""
        s = self.seeder
        now = datetime.now(timezone.utc)
        window = (Meeting.starts_at >= now - feeds.PAST, Meeting.starts_at < now + feeds.AHEAD)
        with self.app.app_context():
            site1 = s.site_ids[0]
            personal = db.session.scalar(select(func.count()).select_from(Meeting).where(
                or_(Meeting.scope == MeetingScope.REGIONAL, Meeting.site_id == site1), *window))
            public = db.session.scalar(select(func.count()).select_from(Meeting).where(
                Meeting.site_id == site1, Meeting.scope == MeetingScope.LOCAL, Meeting.listed, *window))

            def open_of(user: dict) -> int:
                return db.session.scalar(select(func.count()).select_from(Action).where(
                    Action.owner_id == user["id"], Action.status.in_(OPEN_STATUSES)))
            next_meeting = db.session.scalar(select(Meeting.id).where(
                Meeting.site_id == site1, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now)
                .order_by(Meeting.starts_at).limit(1))
            todos = {"heavy": open_of(s.heavy), "member": open_of(s.member)}
        self.requests["add_to_calendar"] = (self.member_client, f"/meetings/{next_meeting}/calendar.ics")
        return {"personal_feed_heavy": (personal, todos["heavy"]), "personal_feed_member": (personal, todos["member"]),
                "site_feed": (public, 0), "add_to_calendar": (1, 0)}

    def get(self, name: str, want: tuple[int, int] | None = None):
        client, path = self.requests[name]
        with self.statements as counted, self.sql_time as sql:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
        body = response.get_data()
        shown = (body.count(b"BEGIN:VEVENT"), body.count(b"BEGIN:VTODO"))
        if response.status_code != 200 or response.mimetype != "text/calendar":
            raise RequestFailed(f"{name}: {path} answered {response.status_code} {response.mimetype}\n"
                                f"{body[:1500].decode(errors='replace')}")
        if want is not None and shown != want:
            raise RequestFailed(f"{name}: {path} carried {shown[0]} events and {shown[1]} to-dos, the database "
                                f"says {want[0]} and {want[1]}")
        return elapsed, sql.seconds, counted.seen, len(body), shown

    def counts(self) -> dict:
        """One warm-up and one counted request of each: statements, bytes, and the events and to-dos carried."""
        want = self.expected()
        result = {}
        for name in self.requests:
            self.get(name, want[name])
            _, _, seen, size, shown = self.get(name, want[name])
            result[name] = {"queries": len(seen), "bytes": size, "events": shown[0], "todos": shown[1]}
        return result

    def timings(self, repeats: int, profile: cProfile.Profile | None) -> tuple[dict, dict]:
        want = self.expected()
        figures, sql = {}, {}
        for name in self.requests:
            self.get(name, want[name])  # warm-up: statements cached, zones read
            times, sql_times, seen, size, shown = [], [], [], 0, (0, 0)
            for _ in range(repeats):
                if profile is not None and name == "personal_feed_heavy":
                    profile.enable()
                elapsed, sql_seconds, seen, size, shown = self.get(name)
                if profile is not None:
                    profile.disable()
                times.append(elapsed * 1000)
                sql_times.append(sql_seconds * 1000)
            times.sort()
            figures[name] = {"median_ms": round(statistics.median(times), 1),
                             "p95_ms": round(nearest_rank(times, 0.95), 1),
                             "max_ms": round(times[-1], 1), "sql_ms": round(statistics.median(sql_times), 1),
                             "queries": len(seen), "bytes": size, "events": shown[0], "todos": shown[1]}
            if shown != want[name]:
                raise RequestFailed(f"{name}: carried {shown} events and to-dos while timed, expected {want[name]}")
            sql[name] = seen
        return figures, sql


def run_database(name: str, url: str, args, profile: cProfile.Profile | None) -> dict:
    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY, "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    seeder = Seeder()
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        seeder.first_step()
    seeded_small = time.perf_counter()
    bench = Bench(app, seeder)
    small = bench.counts()

    before = time.perf_counter()
    with app.app_context():
        seeder.second_step()
    seeded_full = time.perf_counter()
    full = bench.counts()
    figures, sql = bench.timings(args.repeats, profile)
    with app.app_context():
        rows = {table: db.session.scalar(text(f'SELECT count(*) FROM "{table}"'))
                for table in ("site", "user", "meeting", "live_state", "case", "action", "action_event")}
        rows["open_actions"] = db.session.scalar(select(func.count()).select_from(Action)
                                                 .where(Action.status.in_(OPEN_STATUSES)))
        db.engine.dispose()
    finished = time.perf_counter()

    grows = sorted(r for r in full if full[r]["queries"] != small[r]["queries"])
    return {
        "requests": figures,
        "at_small": small,
        "at_full": full,
        "queries_grow_with_rows": grows,
        "rows": rows,
        "within_target": all(f["median_ms"] < TARGET_MS for f in figures.values()),
        "seconds": {"migrate": round(migrated - started, 1), "seed_small": round(seeded_small - migrated, 1),
                    "seed_rest": round(seeded_full - before, 1), "total": round(finished - started, 1)},
        "_sql": sql,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of each request")
    parser.add_argument("--profile", action="store_true", help="profile the timed heavy personal feeds")
    args = parser.parse_args()
    started = time.perf_counter()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-calendar-bench-"))
    databases = databases_to_measure(args.only, workdir)

    figures: dict = {}
    sql: dict = {}
    profiles: dict = {}
    failed = None
    try:
        for name, url in databases.items():
            profile = cProfile.Profile() if args.profile else None
            try:
                figures[name] = run_database(name, url, args, profile)
            except RequestFailed as error:
                failed = f"{name}: {error}"
                break
            sql[name] = figures[name].pop("_sql")
            profiles[name] = profile
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        stop_on_failure(failed, figures, TARGET_MS)

    names = list(figures)
    requests = list(figures[names[0]]["requests"])
    print(f"{SITES} sites, {USERS} users, {LOCAL_MEETINGS} local + {REGIONAL_MEETINGS} regional meetings from 4.5 "
          f"years ago to 6 months ahead, ~{CASES} cases, the heavy user owning {HEAVY_OPEN} open actions; "
          f"{args.repeats} timed requests of each after a warm-up (in-process test client, no network)")
    for n in names:
        print(f"{n}: rows {figures[n]['rows']}")
    print(f"{'request':<22}" + "".join(f"{n + ' median/p95 ms':>26}{'sql ms':>8}{'queries':>9}{'bytes':>9}"
                                       for n in names) + f"{'events':>8}{'todos':>7}")
    for r in requests:
        cells = "".join(f"{figures[n]['requests'][r]['median_ms']:>13} / {figures[n]['requests'][r]['p95_ms']:<10}"
                        f"{figures[n]['requests'][r]['sql_ms']:>8}{figures[n]['requests'][r]['queries']:>9}"
                        f"{figures[n]['requests'][r]['bytes']:>9}" for n in names)
        each = figures[names[0]]["requests"][r]
        print(f"{r:<22}{cells}{each['events']:>8}{each['todos']:>7}")
    print("statements per request at the first and the second size (events/to-dos carried in brackets):")
    for n in names:
        small, full = figures[n]["at_small"], figures[n]["at_full"]
        print(f"  {n}: " + ", ".join(
            f"{r} {small[r]['queries']} ({small[r]['events']}/{small[r]['todos']}) -> "
            f"{full[r]['queries']} ({full[r]['events']}/{full[r]['todos']})" for r in requests))
        grows = figures[n]["queries_grow_with_rows"]
        if grows:
            print(f"  {n}: STATEMENT COUNT GROWS WITH THE ROWS (N+1): " + ", ".join(
                f"{r} {small[r]['queries']} -> {full[r]['queries']}" for r in grows))
        else:
            print(f"  {n}: no statement count grows with the meetings or to-dos in a feed")
    print_statements({n: {r: sql[n][r] for r in requests} for n in names}, args.show_sql)
    for n in names:
        if profiles.get(n) is not None:
            out = io.StringIO()
            pstats.Stats(profiles[n], stream=out).sort_stats("cumulative").print_stats(30)
            print(f"--- {n}: profile of the timed personal_feed_heavy requests (cumulative) ---")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    finish(figures, names, TARGET_MS, "median", args.repeats, started)


if __name__ == "__main__":
    main()
