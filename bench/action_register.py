"""The action register with 20,000 actions: its first page, a filtered page and an update, each under 300 ms,
with a query count that does not grow with the number of rows.

Builds the schema with the real migrations, then seeds with bulk inserts (no ORM objects one by one):
10 sites; 200 users with their home sites spread over them (2 admins, 2 chairs and 1 risk lead per site, the
rest members); 600 local meetings over the past 5 years, one site each, chaired by a chair of that site; and
20,000 actions on those meetings: about 15% open or in progress, the rest done or cancelled (with closed_at
and a closing note), due 1 week to 4 months after their meeting (so across 5 years and a little into the
future), random priorities and owners (1 in 20 a named person with no account), each with one site (its
meeting's) and 1-3 history events. The actions go in in two steps, 2,000 then the other 18,000, and every
request below is counted at both sizes (one request each, after a warm-up), so a count that grows with the
rows shows.

At 20,000 actions, through the Flask test client in this process (server time, no network), a warm-up then
`--repeats` timed requests of each:

- first_page: `/actions/` as an admin (sees every action), the default filters (open, soonest due first);
- first_page_risk: the same as a risk lead of one site (sees that site's share);
- filtered: `/actions/?status=all&site=<id>&q=template&sort=priority&page=2`, the whole page, as an admin;
- filtered_htmx: the same as the filter form asks for it (HX-Target: action-results, the results only);
- overdue: `/actions/?overdue=yes` as an admin;
- search_all: `/actions/?status=all&q=template` as an admin: the search over every action, no site to narrow it;
- update: `POST /actions/<id>/status` moving a different open action to in progress each time, with the version
  read from the database just before (HX-Request, so the answer is the row, 200), as an admin.

SQL statements are counted per request with a `before_cursor_execute` listener on the engine. Reports median
and p95 (nearest rank) in ms and the statements of each request. On PostgreSQL the tables are ANALYZEd after
seeding, as autovacuum would soon do; SQLite has no automatic ANALYZE, so none is run there.

On SQLite (a file in a temporary folder), and on PostgreSQL when it answers on 127.0.0.1:5432 (a fresh
`lightbox_bench` database, left in place like the other benchmarks leave it). A request that does not answer
200 is reported with the start of its body and the run stops. Prints a table, then JSON as the last line.

    .venv/bin/python bench/action_register.py [--actions 20000] [--small 2000] [--repeats 20]
                                              [--only sqlite|postgresql] [--show-sql]
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from bench.serving import (  # noqa: E402
    IDENTIFIER_KEY,
    FIRST_NAMES, LAST_NAMES, SITE_NAMES, Statements, databases_to_measure, finish, nearest_rank, print_statements,
    stop_on_failure,
)
from meetings import create_app  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.models import (  # noqa: E402
    Action, ActionEvent, ActionSite, ActionStatus, Meeting, MeetingScope, MeetingStatus, Profession, Role, Site,
    User, UserRole,
)

TARGET_MS = 300
SITES = 10
USERS = 200
MEETINGS = 600
YEARS = 5
SEED = 20261122
# Four of ten mention a template, so `q=template` on one site has a second page at 2,000 actions as at 20,000.
DESCRIPTIONS = (
    "Update the CT head reporting template to prompt for the venous sinuses",
    "Add a line on incidental adrenal nodules to the CT abdomen template",
    "Review the MR knee template wording on meniscal tears with the MSK team",
    "Circulate the new chest X-ray template for lines and tubes to all reporters",
    "Audit time to report for urgent CT pulmonary angiograms over the next quarter",
    "Teaching session for trainees on satisfaction of search in trauma CT",
    "Write to the referrers about clinical details on ultrasound requests",
    "Check the PACS hanging protocol for prior comparison on mammography",
    "Add pneumothorax to the critical findings communication list",
    "Feed back to the reporting radiographers on the missed scaphoid fractures",
)
CLOSING_NOTES = ("Done and recorded in the departmental governance log", "Circulated by email and on the intranet",
                 "Completed; audit results presented at the following meeting")
CANCEL_NOTES = ("Superseded by the network-wide protocol", "No longer needed after the PACS upgrade")


def aware(day: date, hour: int = 13) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=timezone.utc)


# --- seeding ---------------------------------------------------------------------------------------

class Seeder:
    """The people, meetings and actions, made with a fixed random seed and inserted in bulk."""

    def __init__(self, total_actions: int):
        self.rng = random.Random(SEED)
        self.today = date.today()
        self.total_actions = total_actions
        self.site_ids: list[int] = []
        self.users: list[dict] = []  # with their ids
        self.by_id: dict[int, dict] = {}
        self.meetings: list[dict] = []
        self.planned: list[dict] = []  # every action to insert, with its meeting and history alongside
        self.inserted = 0

    def people_and_meetings(self) -> None:
        rng, now = self.rng, datetime.now(timezone.utc)
        long_ago = now - timedelta(days=YEARS * 366)
        site_rows = [{"name": name, "code": f"S{n:02d}", "active": True, "created_at": long_ago}
                     for n, name in enumerate(SITE_NAMES[:SITES], 1)]
        self.site_ids = returning_ids(Site, site_rows)

        users, roles = [], []
        for n in range(USERS):
            site_id = self.site_ids[n % SITES]
            if n < 2:
                role = Role.ADMIN
            elif n < 2 + 2 * SITES:
                role = Role.CHAIR
            elif n < 2 + 3 * SITES:
                role = Role.RISK
            else:
                role = Role.MEMBER
            first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n // len(FIRST_NAMES) % len(LAST_NAMES)]
            name = f"{first} {last} {n:03d}"
            users.append({"email": f"user{n:03d}@bench.example.org", "name": name, "active": True,
                          "home_site_id": site_id, "profession": Profession.CONSULTANT_RADIOLOGIST,
                          "login_token": f"bench-token-{n:03d}", "created_at": long_ago,
                          "role": role})
        ids = returning_ids(User, [{k: v for k, v in u.items() if k != "role"} for u in users])
        for user, user_id in zip(users, ids):
            user["id"] = user_id
            roles.append({"user_id": user_id, "role": user["role"]})
        db.session.execute(insert(UserRole.__table__), roles)
        self.users = users
        self.by_id = {u["id"]: u for u in users}

        chairs = {site: [u for u in users if u["role"] == Role.CHAIR and u["home_site_id"] == site]
                  for site in self.site_ids}
        first = self.today - timedelta(days=YEARS * 365)
        meetings = []
        for n in range(MEETINGS):
            day = first + timedelta(days=round(n * (YEARS * 365 - 7) / (MEETINGS - 1)))
            site_id = self.site_ids[n % SITES]
            starts = aware(day)
            meetings.append({"uid": f"bench-meeting-{n}@lightbox", "title": f"{SITE_NAMES[n % SITES]} REAL meeting, "
                             f"{day:%B %Y}", "scope": MeetingScope.LOCAL, "site_id": site_id, "starts_at": starts,
                             "ends_at": starts + timedelta(minutes=90), "location": "Seminar room",
                             "chair_id": rng.choice(chairs[site_id])["id"], "status": MeetingStatus.ENDED,
                             "ical_sequence": 0, "notes": "", "created_at": starts - timedelta(days=30)})
        for meeting, meeting_id in zip(meetings, returning_ids(Meeting, meetings)):
            meeting["id"] = meeting_id
        self.meetings = meetings
        self.planned = [self.plan_action() for _ in range(self.total_actions)]
        db.session.commit()

    def plan_action(self) -> dict:
        rng = self.rng
        meeting = rng.choice(self.meetings)
        created = meeting["ends_at"]
        due = created.date() + timedelta(days=rng.randint(7, 120))
        roll = rng.random()
        status = (ActionStatus.OPEN if roll < 0.10 else ActionStatus.IN_PROGRESS if roll < 0.15
                  else ActionStatus.DONE if roll < 0.90 else ActionStatus.CANCELLED)
        named = rng.random() < 0.05
        owner = None if named else rng.choice(self.users)
        chair = self.by_id[meeting["chair_id"]]
        row = {"meeting_id": meeting["id"], "case_id": None, "description": rng.choice(DESCRIPTIONS),
               "owner_id": owner["id"] if owner else None, "owner_name": "Pat Locum" if named else "",
               "owner_email": "pat.locum@agency.example.org" if named else "", "all_sites": False, "due_on": due,
               "priority": rng.choice(("low", "medium", "medium", "high")), "status": status, "closing_note": "",
               "created_by_id": chair["id"], "created_at": created, "updated_at": created, "closed_at": None,
               "version": 1}
        history = [{"at": created, "by_id": chair["id"], "by_name": chair["name"], "from_status": None,
                    "to_status": ActionStatus.OPEN, "note": f"Agreed at {meeting['title']}"}]
        mover = owner or chair
        started = created + timedelta(days=rng.randint(1, 20))
        if status != ActionStatus.OPEN and rng.random() < 0.6:
            history.append({"at": started, "by_id": mover["id"], "by_name": mover["name"], "from_status":
                            ActionStatus.OPEN, "to_status": ActionStatus.IN_PROGRESS, "note": ""})
        if status in (ActionStatus.DONE, ActionStatus.CANCELLED):
            closed = started + timedelta(days=rng.randint(1, 90))
            note = rng.choice(CLOSING_NOTES if status == ActionStatus.DONE else CANCEL_NOTES)
            row.update(closed_at=closed, updated_at=closed, closing_note=note)
            history.append({"at": closed, "by_id": mover["id"], "by_name": mover["name"],
                            "from_status": history[-1]["to_status"], "to_status": status, "note": note})
        elif status == ActionStatus.IN_PROGRESS and len(history) == 1:
            history.append({"at": started, "by_id": mover["id"], "by_name": mover["name"], "from_status":
                            ActionStatus.OPEN, "to_status": ActionStatus.IN_PROGRESS, "note": ""})
        if status == ActionStatus.IN_PROGRESS:
            row["updated_at"] = history[-1]["at"]
        return {"row": row, "site_id": meeting["site_id"], "history": history}

    def actions_up_to(self, count: int) -> None:
        """Insert the planned actions up to `count` in all, with their sites and history."""
        batch = self.planned[self.inserted:count]
        for start in range(0, len(batch), 5000):
            chunk = batch[start:start + 5000]
            ids = returning_ids(Action, [p["row"] for p in chunk])
            db.session.execute(insert(ActionSite.__table__), [{"action_id": i, "site_id": p["site_id"]}
                                                    for i, p in zip(ids, chunk)])
            db.session.execute(insert(ActionEvent.__table__), [{"action_id": i, **h} for i, p in zip(ids, chunk)
                                                     for h in p["history"]])
        db.session.commit()
        self.inserted = count
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))


def returning_ids(model, rows: list[dict]) -> list[int]:
    """Bulk insert `rows`, giving back their new ids in the same order.

    Into the model's table, not the mapped class: the ORM's bulk insert splits the rows into a batch for each
    pattern of None values (owner, closed_at, from_status...), which on PostgreSQL means thousands of small
    statements. The table's column types (UTCDateTime among them) and Python-side defaults still apply.
    """
    table = model.__table__
    return list(db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


# --- measuring -------------------------------------------------------------------------------------

class RequestFailed(Exception):
    pass


def check(response, name: str, path: str) -> None:
    if response.status_code != 200:
        body = response.get_data(as_text=True)[:1500]
        raise RequestFailed(f"{name}: {path} answered {response.status_code}\n{body}")


class Bench:
    def __init__(self, app, seeder: Seeder):
        self.app = app
        with app.app_context():
            self.statements = Statements(db.engine)
            admin = next(u for u in seeder.users if u["role"] == Role.ADMIN)
            risk = next(u for u in seeder.users if u["role"] == Role.RISK)
        self.risk_site = risk["home_site_id"]
        self.admin = self.client_for(admin)
        self.risk = self.client_for(risk)
        self.filtered_path = f"/actions/?status=all&site={self.risk_site}&q=template&sort=priority&page=2"
        self.requests = {
            "first_page": (self.admin, "/actions/", {}),
            "first_page_risk": (self.risk, "/actions/", {}),
            "filtered": (self.admin, self.filtered_path, {}),
            "filtered_htmx": (self.admin, self.filtered_path, {"HX-Request": "true", "HX-Target": "action-results"}),
            "overdue": (self.admin, "/actions/?overdue=yes", {}),
            "search_all": (self.admin, "/actions/?status=all&q=template", {}),
        }
        self.moved: set[int] = set()

    def client_for(self, user: dict):
        client = self.app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = f"{user['id']}:{user['login_token']}"
            session["_fresh"] = True
        return client

    def get(self, name: str) -> tuple[float, list[str], int]:
        client, path, headers = self.requests[name]
        with self.statements as counted:
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            elapsed = time.perf_counter() - started
        check(response, name, path)
        return elapsed, counted.seen, shown(response)

    def update(self) -> tuple[float, list[str], int]:
        """Move the next open action (one not moved before) to in progress, with its current version."""
        with self.app.app_context():
            action_id, version = db.session.execute(
                select(Action.id, Action.version).where(Action.status == ActionStatus.OPEN,
                                                        Action.id.not_in(self.moved or {0}))
                .order_by(Action.due_on.desc(), Action.id).limit(1)).one()
        self.moved.add(action_id)
        path = f"/actions/{action_id}/status"
        with self.statements as counted:
            started = time.perf_counter()
            response = self.admin.post(path, data={"to": "in_progress", "note": "", "version": str(version)},
                                       headers={"HX-Request": "true"})
            elapsed = time.perf_counter() - started
        check(response, "update", path)
        with self.app.app_context():
            now = db.session.execute(select(Action.status, Action.version).where(Action.id == action_id)).one()
        if tuple(now) != (ActionStatus.IN_PROGRESS, version + 1):
            raise RequestFailed(f"update: A{action_id} is {tuple(now)} after the move, "
                                f"not in progress at version {version + 1}")
        return elapsed, counted.seen, shown(response)

    def run(self, name: str):
        return self.update() if name == "update" else self.get(name)

    def names(self) -> list[str]:
        return [*self.requests, "update"]

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """One warm-up and one counted request of each kind: its statements, and the actions it showed."""
        counts, rows = {}, {}
        for name in self.names():
            self.run(name)
            _, seen, rows[name] = self.run(name)
            counts[name] = len(seen)
        return counts, rows

    def timings(self, repeats: int) -> tuple[dict, dict, dict, dict]:
        figures, counts, sql, rows = {}, {}, {}, {}
        for name in self.names():
            self.run(name)  # warm-up: templates compiled, statements cached
            times, seen = [], []
            for _ in range(repeats):
                elapsed, seen, rows[name] = self.run(name)
                times.append(elapsed * 1000)
            times.sort()
            figures[name] = {"median_ms": round(statistics.median(times), 1),
                             "p95_ms": round(nearest_rank(times, 0.95), 1),
                             "max_ms": round(times[-1], 1)}
            counts[name] = len(seen)
            sql[name] = seen
        return figures, counts, sql, rows

    def visible(self) -> dict:
        """How many actions each signed-in person sees, and how many the filtered page matches."""
        with self.app.app_context():
            def total(where_sql: str) -> int:
                return db.session.scalar(text(f"SELECT count(*) FROM action {where_sql}"))
            return {
                "actions": total(""),
                "open": total("WHERE status IN ('open', 'in_progress')"),
                "risk_site_actions": total(f"WHERE id IN (SELECT action_id FROM action_site WHERE site_id = "
                                           f"{self.risk_site})"),
                "filtered_matches": total(f"WHERE id IN (SELECT action_id FROM action_site WHERE site_id = "
                                          f"{self.risk_site}) AND lower(description) LIKE '%template%'"),
            }


def shown(response) -> int:
    """How many action rows the page or fragment shows."""
    return response.get_data().count(b'<tr id="action-')


def run_database(name: str, url: str, args) -> dict:
    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY, "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    seeder = Seeder(args.actions)
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        seeder.people_and_meetings()
        seeder.actions_up_to(args.small)
    seeded_small = time.perf_counter()
    bench = Bench(app, seeder)
    small_counts, small_shown = bench.counts()
    small_rows = bench.visible()

    before = time.perf_counter()
    with app.app_context():
        seeder.actions_up_to(args.actions)
    seeded_full = time.perf_counter()
    full_counts, _ = bench.counts()
    figures, counts, sql, shown_rows = bench.timings(args.repeats)
    rows = bench.visible()
    with app.app_context():
        db.engine.dispose()
    finished = time.perf_counter()

    result: dict = {}
    for request_name, each in figures.items():
        for key, value in each.items():
            result[f"{request_name}_{key}"] = value
    result["queries"] = counts
    result[f"queries_at_{args.small}"] = small_counts
    result[f"queries_at_{args.actions}"] = full_counts
    result["actions_shown"] = shown_rows
    result[f"actions_shown_at_{args.small}"] = small_shown
    result["queries_grow_with_rows"] = sorted(k for k in full_counts if full_counts[k] != small_counts[k])
    result["rows"] = rows
    result[f"rows_at_{args.small}"] = small_rows
    result["within_target"] = all(f["p95_ms"] < TARGET_MS for f in figures.values())
    result["seconds"] = {"migrate": round(migrated - started, 1),
                         f"seed_{args.small}": round(seeded_small - migrated, 1),
                         f"seed_to_{args.actions}": round(seeded_full - before, 1),
                         "total": round(finished - started, 1)}
    result["_sql"] = sql
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=20000)
    parser.add_argument("--small", type=int, default=2000, help="the smaller size query counts are compared at")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of each request")
    args = parser.parse_args()
    started = time.perf_counter()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-action-bench-"))
    databases = databases_to_measure(args.only, workdir)

    figures: dict = {}
    sql: dict = {}
    failed = None
    try:
        for name, url in databases.items():
            try:
                figures[name] = run_database(name, url, args)
            except RequestFailed as error:
                failed = f"{name}: {error}"
                break
            sql[name] = figures[name].pop("_sql")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        stop_on_failure(failed, figures, TARGET_MS)

    names = list(figures)
    requests = list(figures[names[0]]["queries"])
    print(f"{args.actions} actions over {YEARS} years, {SITES} sites, {USERS} users, {MEETINGS} meetings; "
          f"{args.repeats} timed requests of each after a warm-up (in-process test client, no network)")
    for n in names:
        rows = figures[n]["rows"]
        print(f"{n}: {rows['actions']} actions, {rows['open']} open or in progress; the risk lead's site has "
              f"{rows['risk_site_actions']}, {rows['filtered_matches']} of them matching 'template'")
    print(f"{'request':<18}" + "".join(f"{n + ' median/p95 ms':>28}{'queries':>9}" for n in names))
    for r in requests:
        cells = "".join(f"{figures[n][f'{r}_median_ms']:>15} / {figures[n][f'{r}_p95_ms']:<10}"
                        f"{figures[n]['queries'][r]:>9}" for n in names)
        print(f"{r:<18}{cells}")
    print(f"queries per request at {args.small} and at {args.actions} actions (actions on the page in brackets):")
    for n in names:
        small, full = figures[n][f"queries_at_{args.small}"], figures[n][f"queries_at_{args.actions}"]
        small_shown, full_shown = figures[n][f"actions_shown_at_{args.small}"], figures[n]["actions_shown"]
        print(f"  {n}: " + ", ".join(f"{r} {small[r]} ({small_shown[r]}) -> {full[r]} ({full_shown[r]})"
                                     for r in requests)
              + ("; GROWS: " + ", ".join(figures[n]["queries_grow_with_rows"]) if figures[n]["queries_grow_with_rows"]
                 else "; none grows"))
    print_statements({n: {r: sql[n][r] for r in requests} for n in names}, args.show_sql)
    finish(figures, names, TARGET_MS, "p95", args.repeats, started)


if __name__ == "__main__":
    main()
