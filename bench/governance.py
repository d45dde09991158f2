"""Governance over five years of a ten-site network: each scorecard and each library search under 500 ms, the
annual learning report under 10 seconds.

Builds the schema with the real migrations, then seeds synthetic data with bulk inserts (no ORM objects one by
one), with a fixed random seed, over the five years back from today:

- 10 sites; 300 users, 30 at each site (2 admins, 1 chair and 1 risk lead per site, the rest members), their
  accounts made six years ago so every meeting counts them; mostly reporting staff (consultant and trainee
  radiologists, reporting radiographers), some radiographers, sonographers and others; every chair a consultant;
- 600 local meetings, ended, 12 a year at each site, chaired by the site's chair, each with a closed register;
  and 20 regional meetings (4 a year, no site);
- 12,000 presented cases, 20 on each local meeting: discrepancies (40%), near misses, great pickups, teaching
  cases and system issues, over the modalities and 25 body regions, with a discrepancy type and clinical
  significance for discrepancies and near misses and a pathway stage for most incidents; submitted 1-6 weeks
  before their meeting by the site's staff (some submit often, some never); each with its identifiers (synthetic)
  and an approved anonymisation review; and 200 regional copies (10 on each regional meeting), forwarded from
  the quarter's local discrepancies, near misses and great pickups;
- one library entry per presented case, 12,200 in all, written directly (synthetic texts, already anonymised:
  the anonymiser is not run): title ("CT chest"), body region, and a clinical question, report, outcome,
  discussion and learning points of a few sentences each from a radiology vocabulary ("subtle", "missed",
  "scaphoid fracture", "pneumothorax"...), `search_text` made by the library's own `search_text`;
- about 31,000 signatures (present): at each local meeting about 20 of the site's 30 staff (each person
  comes at a rate of their own, 25-95%, so some are under the College's half), about 16 staff of other sites
  and about 16 guests without an account; about 50 at each regional meeting from every site;
- 20,000 actions on the local meetings, planned and inserted by bench/action_register.py's seeder (about 15%
  open or in progress, so many of them overdue, the rest done or cancelled after their due dates' spread of 1
  week to 4 months; each with its meeting's site and 1-3 history events); 60% of them about one of the
  meeting's cases, the rest about the meeting as a whole; and 3 network actions at each regional meeting (half
  about one of its cases), each with a copy for every site (10% open, 10% in progress, the rest closed), the
  network action's status following its copies'.

On PostgreSQL the tables are ANALYZEd after seeding, as autovacuum would soon do; SQLite has no automatic
ANALYZE, so none is run there.

Through the Flask test client in this process (server time, no network; the whole body read, the CSV's stream
included), a warm-up then `--repeats` timed requests of each; the site is the first one, the year the last full
calendar year:

- scorecard_site: `/governance/sites/<id>?year=<year>` as the site's chair (with the per-person table);
- scorecard_site_12m: `/governance/sites/<id>` (the last twelve months) as the chair;
- scorecard_network: `/governance/network?year=<year>` as an admin;
- library_search: `/library/?q=subtle+fracture` as a member of the site (their site's entries and the
  regional ones);
- library_filtered: `/library/?q=missed&modality=CT&kind=discrepancy&year=<year>` as the member;
- library_htmx: the same as the filter form asks for it (HX-Target: library-results, the results only);
- incident_csv: `/governance/sites/<id>/incidents.csv?year=<year>` as the chair;
- annual_report: `/governance/sites/<id>/annual-report.pdf?year=<year>` as the chair, `--report-repeats` times
  after its warm-up (each request its own app context, so a fresh database session with nothing cached; an
  untimed `gc.collect()` before each); its pages (pypdf) and size are reported.

SQL statements are counted per request with a `before_cursor_execute` listener on the engine. Reports median
and p95 (nearest rank) in ms, the statements of each request and what it showed (the scorecard's table rows,
library matches, CSV rows, PDF pages). The targets: every page and search under 500 ms at the median and
the p95, the annual report under 10,000 ms. With `--profile`, one more annual report and one more network
scorecard (the slowest page) run on each database, once timing only the cycle collector (gc callbacks) and once
under cProfile; the time of their parts (the report's scorecard, themes, the actions as the minutes list them with
their re-scrubbing, template, WeasyPrint; the scorecard's queries and loops, charts, template), of the cycle
collector, and the top functions are printed.

On SQLite (a file in a temporary folder), and on PostgreSQL when it answers on 127.0.0.1:5432 (a fresh
`lightbox_bench` database, left in place like the other benchmarks leave it). A request that does not answer
200 (or a report that is not a PDF) is reported with the start of its body and the run stops. The whole run
takes about a minute and a half on 2 CPUs (seeding PostgreSQL is a third of it). Prints a table, then JSON as the
last line.

    .venv/bin/python bench/governance.py [--repeats 20] [--report-repeats 3] [--only sqlite|postgresql]
                                         [--show-sql] [--profile [--profile-top 25]]
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench import action_register  # noqa: E402
from bench.action_register import RequestFailed, aware, returning_ids  # noqa: E402
from bench.serving import (  # noqa: E402
    IDENTIFIER_KEY,
    FIRST_NAMES, LAST_NAMES, SITE_NAMES, Statements, databases_to_measure, finish, nearest_rank, print_statements,
    stop_on_failure,
)
from meetings import create_app, identifier_key  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.governance.library import search_text  # noqa: E402
from meetings.models import (  # noqa: E402
    Action, ActionEvent, ActionSite, ActionStatus, Attendance, AttendanceStatus, CameToLight, Case, CaseIdentifiers,
    CaseKind, CaseReview, CaseStatus, ClinicalSignificance, DiscrepancyType, LibraryEntry, Meeting, MeetingScope,
    MeetingStatus, Modality, PathwayStage, Profession, Register, Role, Site, User, UserRole, person_key,
)
from meetings.web import local_time  # noqa: E402

TARGET_MS = 500
REPORT_TARGET_MS = 10_000
SITES = 10
USERS_PER_SITE = 30
YEARS = 5
MEETINGS_PER_SITE_PER_YEAR = 12
CASES_PER_MEETING = 20
REGIONAL_PER_YEAR = 4
REGIONAL_CASES = 10
ACTIONS = 20_000
NETWORK_ACTIONS_PER_MEETING = 3
CASE_ACTION_SHARE = 0.6
SEED = 20261123

# --- synthetic clinical vocabulary (invented cases; nothing here is about a real patient) ---------------------
REGIONS = ("chest", "abdomen", "pelvis", "head", "cervical spine", "thoracic spine", "lumbar spine", "wrist",
           "hand", "ankle", "foot", "knee", "hip", "shoulder", "elbow", "breast", "neck", "orbits", "sinuses",
           "kidneys", "liver", "pancreas", "bowel", "heart", "aorta")
MODALITIES = ((Modality.CT, 35), (Modality.XR, 25), (Modality.MR, 15), (Modality.US, 12),
              (Modality.MAMMOGRAPHY, 5), (Modality.NM, 3), (Modality.FLUOROSCOPY, 3), (Modality.IR, 2))
KINDS = ((CaseKind.DISCREPANCY, 40), (CaseKind.NEAR_MISS, 10), (CaseKind.GREAT_PICKUP, 20),
         (CaseKind.EDUCATIONAL, 20), (CaseKind.SYSTEM_ISSUE, 10))
FINDINGS = ("scaphoid fracture", "pneumothorax", "appendicitis", "pulmonary embolus", "subdural haematoma",
            "lung nodule", "rib fracture", "small bowel obstruction", "renal calculus", "aortic dissection",
            "liver metastasis", "acute pancreatitis", "cerebral infarct", "cord compression", "breast carcinoma",
            "neck of femur fracture", "bone metastasis", "pleural effusion", "pneumoperitoneum",
            "vertebral fracture", "ovarian torsion", "adrenal nodule", "thyroid nodule", "meniscal tear",
            "Lisfranc injury", "lymphadenopathy", "diverticulitis", "cholecystitis", "intussusception",
            "retained foreign body", "sigmoid volvulus", "epidural abscess", "pulmonary oedema",
            "lateral malleolus fracture", "tibial plateau fracture")
SYMPTOMS = ("a fall on the outstretched hand", "sudden breathlessness", "right iliac fossa pain",
            "headache after a fall", "weight loss", "pleuritic chest pain", "back pain with leg weakness",
            "abdominal distension and vomiting", "haematuria", "a palpable lump", "fever and raised inflammatory "
            "markers", "high-energy trauma", "reduced mobility after a fall", "collapse", "new confusion")
ADJECTIVES = ("subtle", "small", "early", "partly obscured", "faint", "well-defined", "large", "non-displaced",
              "minimally displaced")
VISIBLE = ("visible", "just visible", "subtle but visible", "difficult to see", "clearly visible in retrospect")
INTERVALS = ("two days", "a week", "three weeks", "six weeks", "three months")
REPORT_SENTENCES = (
    "No acute bony injury is identified.", "The {region} is otherwise unremarkable.", "Mild degenerative change only.",
    "No focal consolidation or effusion.", "Comparison is made with the previous study.", "No free fluid.",
    "Appearances are within normal limits for age.", "Incidental note of a small simple cyst.",
    "Lines and tubes are satisfactorily positioned.", "No evidence of {finding}.", "Soft tissues are unremarkable.",
    "The visualised bones are intact.", "Limited study owing to patient movement.",
)
OUTCOMES = {
    CaseKind.DISCREPANCY: (
        "A {adj} {finding} was missed on the first report and seen on the follow-up {modality} {interval} later.",
        "Retrospectively the {adj} {finding} is {visible} on the original images.",
        "The {finding} was missed; the patient re-presented {interval} later.",
    ),
    CaseKind.NEAR_MISS: (
        "The {adj} {finding} was nearly missed and picked up at second reading before the report was issued.",
        "A colleague spotted the {adj} {finding} at double reporting; the first draft had missed it.",
    ),
    CaseKind.GREAT_PICKUP: (
        "An excellent spot: the {adj} {finding} was called on the first read and confirmed at surgery.",
        "The {adj} {finding} was identified early, which changed management.",
    ),
    CaseKind.EDUCATIONAL: (
        "Classic appearances of {finding}, confirmed on follow-up {modality}.",
        "A useful example of a {adj} {finding} and its mimics.",
    ),
    CaseKind.SYSTEM_ISSUE: (
        "The report describing the {finding} was not communicated to the referring team for {interval}.",
        "The request was vetted to the wrong protocol and the {finding} was only shown on a repeat {modality}.",
    ),
}
DISCUSSION = (
    "The room agreed the {finding} was {visible} on the original images.",
    "Satisfaction of search after the more obvious abnormality was discussed.",
    "Windowing and reformats would have helped.", "The clinical details on the request were limited.",
    "The prior imaging was not compared.", "Several attendees did not see it on first review.",
    "Reporting conditions and workload at the time were discussed.",
    "Dual reading was suggested for this type of study.",
)
LEARNING = (
    "Always review the {region} on dedicated windows.", "Compare with prior imaging wherever it is available.",
    "A {adj} {finding} may be the only sign; look again at the review areas.",
    "Recommend follow-up imaging when a {finding} cannot be excluded.",
    "Communicate unexpected significant findings directly to the referrer.",
    "Use a checklist for the review areas in {modality} {region}.",
    "Satisfaction of search: keep looking after the first abnormality.",
    "Clinical details change the pre-test probability; ask when they are missing.",
)
CASE_ACTIONS = (
    "Feed back to the reporter on this case with the images and the learning points",
    "Add this case to the trainees' teaching file on review areas",
    "Check whether the follow-up imaging recommended in the report was booked",
    "Write to the referring team about the delay in acting on the result",
    "Review the protocol used for this examination with the lead radiographer",
    "Share this case at the next reporting radiographer peer review session",
)


def weighted(rng, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def case_texts(rng, kind: str, modality: str, region: str) -> dict[str, str]:
    """A case's texts as the room saw them: synthetic, with nothing identifying in them."""
    slots = {"finding": rng.choice(FINDINGS), "region": region, "adj": rng.choice(ADJECTIVES),
             "visible": rng.choice(VISIBLE), "interval": rng.choice(INTERVALS),
             "modality": Modality(modality).label}

    def some(sentences, low, high):
        return [s.format(**slots) for s in rng.sample(sentences, rng.randint(low, high))]

    learning = some(LEARNING, 2, 3)
    return {
        "clinical_question": f"Adult with {rng.choice(SYMPTOMS)}. ? {slots['finding']}.",
        "report_text": " ".join(some(REPORT_SENTENCES, 3, 5)),
        "outcome_text": " ".join(some(OUTCOMES[kind], 1, 2)),
        "discussion_notes": " ".join(some(DISCUSSION, 2, 4)),
        "learning_points": "\n".join(f"- {point}" for point in learning),
        "suggested_learning": learning[0],
    }


# --- seeding ---------------------------------------------------------------------------------------

class Seeder:
    """The network's five years, made with a fixed random seed and inserted in bulk."""

    def __init__(self):
        self.rng = random.Random(SEED)
        self.today = date.today()
        self.now = datetime.now(timezone.utc)
        self.site_ids: list[int] = []
        self.site_names: dict[int, str] = {}
        self.users: list[dict] = []
        self.by_site: dict[int, list[dict]] = {}
        self.local: list[dict] = []
        self.regional: list[dict] = []
        self.cases_by_meeting: dict[int, list[int]] = {}
        self.certificates = 0
        self.seconds: dict[str, float] = {}

    def timed(self, name: str, step) -> None:
        started = time.perf_counter()
        step()
        db.session.commit()
        self.seconds[name] = round(time.perf_counter() - started, 1)

    def seed(self) -> None:
        self.timed("people_meetings", self.people_and_meetings)
        self.timed("cases_library", self.cases_and_library)
        self.timed("attendance", self.attendance)
        self.timed("actions", self.actions)  # last: action_register's seeder ANALYZEs everything on PostgreSQL

    def people_and_meetings(self) -> None:
        rng = self.rng
        long_ago = self.now - timedelta(days=(YEARS + 1) * 366)
        sites = [{"name": name, "code": f"S{n:02d}", "active": True, "created_at": long_ago}
                 for n, name in enumerate(SITE_NAMES[:SITES], 1)]
        self.site_ids = returning_ids(Site, sites)
        self.site_names = dict(zip(self.site_ids, SITE_NAMES))

        # One real hash for everyone: nobody signs in with it (the clients carry a session), and it is fixed.
        password = generate_password_hash("bench-not-used")
        professions = ((Profession.CONSULTANT_RADIOLOGIST, 35), (Profession.TRAINEE_RADIOLOGIST, 20),
                       (Profession.REPORTING_RADIOGRAPHER, 20), (Profession.RADIOGRAPHER, 15),
                       (Profession.SONOGRAPHER, 5), (Profession.OTHER, 5))
        users = []
        for n in range(SITES * USERS_PER_SITE):
            role = (Role.ADMIN if n < 2 else Role.CHAIR if n < 2 + SITES else Role.RISK if n < 2 + 2 * SITES
                    else Role.MEMBER)
            profession = (Profession.OTHER if role == Role.ADMIN else Profession.CONSULTANT_RADIOLOGIST
                          if role == Role.CHAIR else weighted(rng, professions))
            first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n // len(FIRST_NAMES) % len(LAST_NAMES)]
            users.append({"email": f"user{n:03d}@bench.example.org", "name": f"{first} {last} {n:03d}",
                          "password_hash": password, "active": True, "home_site_id": self.site_ids[n % SITES],
                          "profession": profession, "login_token": f"bench-token-{n:03d}",
                          "calendar_key": f"bench-calendar-{n:03d}", "created_at": long_ago, "role": role})
        ids = returning_ids(User, [{k: v for k, v in u.items() if k != "role"} for u in users])
        for user, user_id in zip(users, ids):
            user["id"] = user_id
            # How often they come, and how many cases they put forward (some never do).
            user["comes"] = 0.95 if user["role"] == Role.CHAIR else rng.uniform(0.25, 0.95)
            user["submits"] = rng.choice((0, 0.5, 1, 1, 2, 3, 5)) * (
                1 if user["profession"] in (Profession.CONSULTANT_RADIOLOGIST, Profession.TRAINEE_RADIOLOGIST,
                                            Profession.REPORTING_RADIOGRAPHER) else 0.2)
        db.session.execute(insert(UserRole.__table__), [{"user_id": u["id"], "role": u["role"]} for u in users])
        self.users = users
        self.by_site = {site: [u for u in users if u["home_site_id"] == site] for site in self.site_ids}

        first = self.today - timedelta(days=YEARS * 365)
        count = SITES * MEETINGS_PER_SITE_PER_YEAR * YEARS
        meetings = []
        for n in range(count):
            day = first + timedelta(days=round(n * (YEARS * 365 - 7) / (count - 1)))
            site_id = self.site_ids[n % SITES]
            chair = next(u for u in self.by_site[site_id] if u["role"] == Role.CHAIR)
            meetings.append(self.meeting_row(f"bench-meeting-{n}@lightbox", f"{self.site_names[site_id]} REAL "
                                             f"meeting, {day:%B %Y}", MeetingScope.LOCAL, site_id, day, chair))
        regional_count = REGIONAL_PER_YEAR * YEARS
        admin = users[0]
        for n in range(regional_count):
            day = first + timedelta(days=45 + round(n * (YEARS * 365 - 60) / regional_count))
            meetings.append(self.meeting_row(f"bench-regional-{n}@lightbox", f"Regional peer learning meeting, "
                                             f"{day:%B %Y}", MeetingScope.REGIONAL, None, day, admin))
        for meeting, meeting_id in zip(meetings, returning_ids(Meeting, meetings)):
            meeting["id"] = meeting_id
        self.local = [m for m in meetings if m["scope"] == MeetingScope.LOCAL]
        self.regional = [m for m in meetings if m["scope"] == MeetingScope.REGIONAL]
        db.session.execute(insert(Register.__table__), [
            {"meeting_id": m["id"], "opened_at": m["starts_at"] - timedelta(minutes=10), "closed_at": m["ends_at"],
             "presence_required": True, "presence_secret": f"{self.rng.getrandbits(256):064x}"} for m in meetings])

    def meeting_row(self, uid, title, scope, site_id, day, chair) -> dict:
        starts = aware(day, 12 if scope == MeetingScope.LOCAL else 14)
        return {"uid": uid, "title": title, "scope": scope, "site_id": site_id, "starts_at": starts,
                "ends_at": starts + timedelta(minutes=90), "location": "Seminar room", "chair_id": chair["id"],
                "status": MeetingStatus.ENDED, "ical_sequence": 0, "listed": True, "notes": "",
                "created_at": starts - timedelta(days=60)}

    def cases_and_library(self) -> None:
        rng = self.rng
        planned = []  # (case row, identifiers row, review row, meeting)
        for meeting in self.local:
            staff = self.by_site[meeting["site_id"]]
            submitters = [u for u in staff if u["submits"]]
            chair = next(u for u in staff if u["role"] == Role.CHAIR)
            for position in range(CASES_PER_MEETING):
                planned.append(self.plan_case(meeting, position, rng.choices(
                    submitters, weights=[u["submits"] for u in submitters])[0], chair, None))
        local = [case for case, *_ in planned]
        # Regional copies: the quarter's local discrepancies, near misses and great pickups, forwarded.
        for meeting in self.regional:
            since = meeting["starts_at"] - timedelta(days=91)
            candidates = [case for case in local if since <= case["_meeting"]["starts_at"] < meeting["starts_at"]
                          and case["kind"] in (CaseKind.DISCREPANCY, CaseKind.NEAR_MISS, CaseKind.GREAT_PICKUP)]
            for position, origin in enumerate(rng.sample(candidates, REGIONAL_CASES)):
                chair = next(u for u in self.by_site[origin["site_id"]] if u["role"] == Role.CHAIR)
                planned.append(self.plan_case(meeting, position, chair, self.users[0], origin))

        copies = [case for case, *_ in planned[len(local):]]
        for rows in (local, copies):  # the local cases first, so the copies can point at them
            for start in range(0, len(rows), 5000):
                chunk = rows[start:start + 5000]
                for case in chunk:
                    if case["_origin"] is not None:
                        case["forwarded_from_id"] = case["_origin"]["id"]
                ids = returning_ids(Case, [{k: v for k, v in case.items() if not k.startswith("_")}
                                           for case in chunk])
                for case, case_id in zip(chunk, ids):
                    case["id"] = case_id
        for case, identifiers, review, meeting in planned:
            self.cases_by_meeting.setdefault(meeting["id"], []).append(case["id"])
            if identifiers is not None:
                identifiers["case_id"] = case["id"]
            review["case_id"] = case["id"]
        db.session.execute(insert(CaseIdentifiers.__table__), [i for _, i, _, _ in planned if i is not None])
        db.session.execute(insert(CaseReview.__table__), [r for _, _, r, _ in planned])

        entries = []
        for case, _, _, meeting in planned:
            entry = {"case_id": case["id"], "meeting_id": meeting["id"],
                     "presented_on": local_time(meeting["starts_at"]).date(), "kind": case["kind"],
                     "modality": case["modality"], "discrepancy_type": case["discrepancy_type"],
                     "great_pickup": case["kind"] == CaseKind.GREAT_PICKUP,
                     "title": f"{Modality(case['modality']).label} {case['body_region'].lower()}",
                     "body_region": case["body_region"], "clinical_question": case["clinical_question"],
                     "report_text": case["report_text"], "outcome_text": case["outcome_text"],
                     "discussion_notes": case["discussion_notes"], "learning_points": case["learning_points"],
                     "images": [], "updated_at": meeting["ends_at"]}
            entry["search_text"] = search_text(SimpleNamespace(**entry))
            entries.append(entry)
        for start in range(0, len(entries), 5000):
            db.session.execute(insert(LibraryEntry.__table__), entries[start:start + 5000])

    def plan_case(self, meeting: dict, position: int, submitter: dict, chair: dict, origin: dict | None):
        rng = self.rng
        if origin is None:
            kind = weighted(rng, KINDS)
            modality = weighted(rng, MODALITIES)
            region = "breast" if modality == Modality.MAMMOGRAPHY else rng.choice(REGIONS)
            texts = case_texts(rng, kind, modality, region)
            incident = kind in (CaseKind.DISCREPANCY, CaseKind.NEAR_MISS)
            discrepancy = rng.choice(list(DiscrepancyType)) if incident and rng.random() < 0.9 else None
            significance = rng.choice(list(ClinicalSignificance)) if incident else None
            stage = None
            if incident and rng.random() < 0.85:
                stage = PathwayStage.REPORTING if rng.random() < 0.8 else PathwayStage.COMMUNICATION
            elif kind == CaseKind.SYSTEM_ISSUE and rng.random() < 0.85:
                stage = rng.choice(list(PathwayStage))
            created = meeting["starts_at"] - timedelta(days=rng.randint(7, 42), hours=rng.randint(0, 8))
            fields = {"kind": kind, "modality": modality, "body_region": region, "discrepancy_type": discrepancy,
                      "clinical_significance": significance, "pathway_stage": stage,
                      "came_to_light": rng.choice(list(CameToLight)), **texts}
        else:
            created = origin["_meeting"]["ends_at"] + timedelta(days=1)
            fields = {key: origin[key] for key in (
                "kind", "modality", "body_region", "discrepancy_type", "clinical_significance", "pathway_stage",
                "came_to_light", "clinical_question", "report_text", "outcome_text", "discussion_notes",
                "learning_points", "suggested_learning")}
        case = {"submitter_id": submitter["id"], "site_id": origin["site_id"] if origin else meeting["site_id"],
                "meeting_id": meeting["id"], "forwarded_from_id": None, "queue_position": position,
                "allowance_minutes": 10, "status": CaseStatus.PRESENTED, "minutes_summary": None,
                "great_pickup": False, "presented_seconds": rng.randint(180, 600), "created_at": created,
                "updated_at": meeting["ends_at"], **fields, "_meeting": meeting, "_origin": origin}
        identifiers = None
        if origin is None:
            exam = (created - timedelta(days=rng.randint(1, 30))).date()
            identifiers = {"reporter_id": None, "sealed": identifier_key.seal({
                "patient_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}-Testpatient",
                "nhs_number": f"{rng.randint(0, 10**10 - 1):010d}",
                "hospital_number": f"RX{rng.randint(100000, 999999)}",
                "date_of_birth": date(rng.randint(1930, 2005), rng.randint(1, 12), rng.randint(1, 28)),
                "accession_number": f"ACC{rng.randint(10**7, 10**8 - 1)}", "examination_date": exam,
                "reporter_name": submitter["name"], "referrer_name": f"Dr {rng.choice(LAST_NAMES)}"})}
        approved = {field: case[field] for field in ("clinical_question", "report_text", "outcome_text",
                                                     "suggested_learning", "body_region")}
        review = {"redact": [], "keep": [], "fingerprint": f"{rng.getrandbits(256):064x}",
                  "reviewed_by_id": chair["id"], "reviewed_at": meeting["starts_at"] - timedelta(days=2),
                  "approved": {**approved, "captions": {}, "redact": [], "keep": []}}
        return case, identifiers, review, meeting

    def attendance(self) -> None:
        rng = self.rng
        guests = [{"name": f"Guest {FIRST_NAMES[n % 20]} {LAST_NAMES[n // 20 % 10]} {n:03d}",
                   "email": f"guest{n:03d}@visiting.example.org",
                   "profession": rng.choice((Profession.RADIOGRAPHER, Profession.SONOGRAPHER, Profession.OTHER,
                                             Profession.TRAINEE_RADIOLOGIST))} for n in range(400)]
        rows = []
        for meeting in self.local:
            site = meeting["site_id"]
            others = [u for u in self.users if u["home_site_id"] != site]
            present = [u for u in self.by_site[site] if rng.random() < u["comes"]]
            present += rng.sample(others, rng.randint(12, 20))
            rows += self.signatures(meeting, present, rng.sample(guests, rng.randint(12, 20)))
        for meeting in self.regional:
            rows += self.signatures(meeting, rng.sample(self.users, rng.randint(35, 45)),
                                    rng.sample(guests, rng.randint(5, 10)))
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Attendance.__table__), rows[start:start + 5000])

    def signatures(self, meeting: dict, users: list[dict], guests: list[dict]) -> list[dict]:
        rows = []
        for person in users + guests:
            user_id = person.get("id")
            self.certificates += 1
            body = f"{self.certificates:012d}"
            rows.append({
                "meeting_id": meeting["id"], "user_id": user_id, "person_key": person_key(user_id, person["email"]),
                "status": AttendanceStatus.PRESENT, "signed_by": "self", "added_by_id": None, "name": person["name"],
                "email": person["email"], "profession": person["profession"], "professional_body": "none",
                "registration_number": None,
                "site_name": self.site_names[person["home_site_id"]] if user_id else "Visiting",
                "signed_at": meeting["starts_at"] + timedelta(minutes=self.rng.randint(0, 20)),
                "arrived_at": None, "left_at": None, "device_digest": None,
                "certificate_number": f"LB-{body[:4]}-{body[4:8]}-{body[8:]}", "certificate_emailed_at": None,
                "certificate_claimed_at": None, "evaluated": False, "reflection": "", "reflection_minutes": 0,
            })
        return rows

    def network_actions(self) -> None:
        """Actions agreed at the regional meetings: each for every site, with a copy per site that the site
        closes, the network action following its copies as `meetings.actions.service` has it."""
        rng, admin = self.rng, self.users[0]
        networks, copies, closed_statuses = [], [], (ActionStatus.DONE, ActionStatus.CANCELLED)
        for meeting in self.regional:
            for _ in range(NETWORK_ACTIONS_PER_MEETING):
                created = meeting["ends_at"]
                case_id = rng.choice(self.cases_by_meeting[meeting["id"]]) if rng.random() < 0.5 else None
                base = {"meeting_id": meeting["id"], "case_id": case_id, "description": rng.choice(
                    CASE_ACTIONS if case_id else action_register.DESCRIPTIONS), "owner_id": None, "owner_name": "",
                    "owner_email": "", "network_action_id": None,
                    "due_on": created.date() + timedelta(days=rng.randint(30, 120)), "priority": "medium",
                    "created_by_id": admin["id"], "created_at": created, "version": 1}
                site_copies = []
                for site_id in self.site_ids:
                    roll = rng.random()
                    status = (ActionStatus.OPEN if roll < 0.1 else ActionStatus.IN_PROGRESS if roll < 0.2
                              else ActionStatus.DONE if roll < 0.95 else ActionStatus.CANCELLED)
                    closed = created + timedelta(days=rng.randint(7, 150)) if status in closed_statuses else None
                    site_copies.append({**base, "all_sites": False, "per_site": False, "status": status,
                                        "closing_note": "Done at this site" if closed else "",
                                        "updated_at": closed or created, "closed_at": closed, "_site": site_id})
                statuses = {copy["status"] for copy in site_copies}
                closed = None
                if statuses <= set(closed_statuses):
                    status = ActionStatus.DONE if ActionStatus.DONE in statuses else ActionStatus.CANCELLED
                    closed = max(copy["closed_at"] for copy in site_copies)
                else:
                    status = ActionStatus.IN_PROGRESS if statuses - {ActionStatus.OPEN} else ActionStatus.OPEN
                networks.append({**base, "all_sites": True, "per_site": True, "status": status,
                                 "closing_note": "Every site done" if closed else "", "updated_at": closed or created,
                                 "closed_at": closed})
                copies.append(site_copies)
        network_ids = returning_ids(Action, networks)
        rows = [copy for site_copies in copies for copy in site_copies]
        copy_ids = returning_ids(Action, [{**{k: v for k, v in copy.items() if k != "_site"},
                                           "network_action_id": network_id}
                                          for network_id, site_copies in zip(network_ids, copies)
                                          for copy in site_copies])
        db.session.execute(insert(ActionSite.__table__), [{"action_id": copy_id, "site_id": copy["_site"]}
                                                         for copy_id, copy in zip(copy_ids, rows)])
        events = []
        for action_id, row in zip(network_ids + copy_ids, networks + rows):
            events.append({"action_id": action_id, "at": row["created_at"], "by_id": admin["id"],
                           "by_name": admin["name"], "from_status": None, "to_status": ActionStatus.OPEN,
                           "note": "Agreed at a regional meeting"})
            if row["status"] != ActionStatus.OPEN:
                events.append({"action_id": action_id, "at": row["updated_at"], "by_id": admin["id"],
                               "by_name": admin["name"], "from_status": ActionStatus.OPEN, "to_status": row["status"],
                               "note": row["closing_note"]})
        db.session.execute(insert(ActionEvent.__table__), events)

    def actions(self) -> None:
        """The regional meetings' network actions, then bench/action_register.py's seeder plans and inserts the
        local ones (and ANALYZEs on PostgreSQL); here most are then put about one of their meeting's cases."""
        self.network_actions()
        actions = action_register.Seeder(ACTIONS)
        actions.today = self.today
        actions.users, actions.by_id = self.users, {u["id"]: u for u in self.users}
        actions.meetings = self.local
        actions.planned = [actions.plan_action() for _ in range(ACTIONS)]
        for planned in actions.planned:
            row = planned["row"]
            if self.rng.random() < CASE_ACTION_SHARE:
                row["case_id"] = self.rng.choice(self.cases_by_meeting[row["meeting_id"]])
                row["description"] = self.rng.choice(CASE_ACTIONS)
        actions.actions_up_to(ACTIONS)


# --- measuring -------------------------------------------------------------------------------------

# The parts of the profiled requests whose cumulative time --profile shows: (label, file, function).
PROFILED_PARTS = {
    "annual_report": (
        ("scorecard.for_site", "governance/scorecard.py", "for_site"),
        ("report.themes", "governance/report.py", "themes"),
        ("report.meeting_actions", "governance/report.py", "meeting_actions"),
        ("  minutes queued_cases", "minutes/content.py", "queued_cases"),
        ("  minutes action_rows", "minutes/content.py", "action_rows"),
        ("    actions.meeting_actions", "actions/service.py", "meeting_actions"),
        ("    review.meeting_text (re-scrub)", "cases/review.py", "meeting_text"),
        ("      review.known_for", "cases/review.py", "known_for"),
        ("      anonymise scrub_against", "anonymise/text.py", "scrub_against"),
        ("render_pdf", "meetings/pdf.py", "render_pdf"),
        ("  render_template (Jinja)", "flask/templating.py", "render_template"),
        ("  WeasyPrint write_pdf", "weasyprint/__init__.py", "write_pdf"),
    ),
    "scorecard_network": (
        ("scorecard.for_network", "governance/scorecard.py", "for_network"),
        ("  _held_meetings", "governance/scorecard.py", "_held_meetings"),
        ("  _roster", "governance/scorecard.py", "_roster"),
        ("  _present", "governance/scorecard.py", "_present"),
        ("  _attendance", "governance/scorecard.py", "_attendance"),
        ("  _people", "governance/scorecard.py", "_people"),
        ("  _expected_at", "governance/scorecard.py", "_expected_at"),
        ("  _overdue_by_site", "governance/scorecard.py", "_overdue_by_site"),
        ("  _count_submitted", "governance/scorecard.py", "_count_submitted"),
        ("  _case_mix", "governance/scorecard.py", "_case_mix"),
        ("  _actions", "governance/scorecard.py", "_actions"),
        ("figures.all_figures (SVG charts)", "governance/figures.py", "all_figures"),
        ("render_template (Jinja)", "flask/templating.py", "render_template"),
    ),
}


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def shown(name: str, body: bytes) -> int:
    """What the answer showed: the scorecard's table rows, library matches, CSV rows, PDF pages."""
    if name == "annual_report":
        return pages(body)
    if name == "incident_csv":
        return len(list(csv.reader(io.StringIO(body.decode())))) - 1
    if name.startswith("library"):
        found = re.search(rb"(\d+) cases? match", body)
        return int(found.group(1)) if found else -1
    return body.count(b"<tr>")


class Bench:
    def __init__(self, app, seeder: Seeder):
        self.app = app
        with app.app_context():
            self.statements = Statements(db.engine)
        self.site = seeder.site_ids[0]
        staff = seeder.by_site[self.site]
        chair = next(u for u in staff if u["role"] == Role.CHAIR)
        member = next(u for u in staff if u["role"] == Role.MEMBER)
        admin = next(u for u in seeder.users if u["role"] == Role.ADMIN)
        self.year = seeder.today.year - 1
        self.chair, self.member, self.admin = (self.client_for(u) for u in (chair, member, admin))
        filtered = f"/library/?q=missed&modality=CT&kind=discrepancy&year={self.year}"
        self.requests = {
            "scorecard_site": (self.chair, f"/governance/sites/{self.site}?year={self.year}", {}),
            "scorecard_site_12m": (self.chair, f"/governance/sites/{self.site}", {}),
            "scorecard_network": (self.admin, f"/governance/network?year={self.year}", {}),
            "library_search": (self.member, "/library/?q=subtle+fracture", {}),
            "library_filtered": (self.member, filtered, {}),
            "library_htmx": (self.member, filtered, {"HX-Request": "true", "HX-Target": "library-results"}),
            "incident_csv": (self.chair, f"/governance/sites/{self.site}/incidents.csv?year={self.year}", {}),
            "annual_report": (self.chair, f"/governance/sites/{self.site}/annual-report.pdf?year={self.year}", {}),
        }

    def client_for(self, user: dict):
        client = self.app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = f"{user['id']}:{user['login_token']}"
            session["_fresh"] = True
        return client

    def get(self, name: str) -> tuple[float, list[str], bytes]:
        """One request, outside any app context of ours: its own context, so a fresh session."""
        client, path, headers = self.requests[name]
        with self.statements as counted:
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            body = response.get_data()  # the CSV streams: its rows are read from the database as it is sent
            elapsed = time.perf_counter() - started
        if response.status_code != 200 or (name == "annual_report" and not body.startswith(b"%PDF")):
            raise RequestFailed(f"{name}: {path} answered {response.status_code}\n"
                                f"{body[:1500].decode(errors='replace')}")
        return elapsed, counted.seen, body

    def timings(self, repeats: int, report_repeats: int) -> tuple[dict, dict, dict, dict, dict]:
        figures, counts, sql, rows, sizes = {}, {}, {}, {}, {}
        for name in self.requests:
            report = name == "annual_report"
            self.get(name)  # warm-up: templates compiled, statements cached, fonts and print.css loaded
            times, seen, body = [], [], b""
            for _ in range(report_repeats if report else repeats):
                if report:
                    gc.collect()
                elapsed, seen, body = self.get(name)
                times.append(elapsed * 1000)
            times.sort()
            figures[name] = {"median_ms": round(statistics.median(times), 1),
                             "p95_ms": round(nearest_rank(times, 0.95), 1), "max_ms": round(times[-1], 1)}
            counts[name], sql[name], rows[name], sizes[name] = len(seen), seen, shown(name, body), len(body)
        return figures, counts, sql, rows, sizes

    def profile(self, name: str, top: int) -> str:
        """The request once more with the cycle collector timed, then under cProfile: the time of its parts (and of
        the cycle collector, which cProfile charges to whichever function was running), then the top functions."""
        collecting: list[float] = []

        def collector(phase, info):
            if phase == "start":
                collecting.append(-time.perf_counter())
            else:
                collecting[-1] += time.perf_counter()

        # First without the profiler, for the collector's share at full speed.
        gc.collect()
        gc.callbacks.append(collector)
        try:
            plain, _, _ = self.get(name)
        finally:
            gc.callbacks.remove(collector)
        plain_collecting, collecting = collecting, []
        profiler = cProfile.Profile()
        gc.collect()
        gc.callbacks.append(collector)
        profiler.enable()
        try:
            elapsed, _, _ = self.get(name)
        finally:
            profiler.disable()
            gc.callbacks.remove(collector)
        stats = pstats.Stats(profiler)
        total = next(ct for (path, _, func), (_, _, _, ct, _) in stats.stats.items()
                     if func == "get" and path.endswith("bench/governance.py"))
        lines = [f"{name} without the profiler: {plain:.2f} s, of which the cycle collector "
                 f"{sum(plain_collecting):.2f} s ({len(plain_collecting)} runs, the longest "
                 f"{max(plain_collecting, default=0):.2f} s)",
                 f"{name} under cProfile: {elapsed:.2f} s wall (profiling slows it); cumulative time of its parts "
                 f"({total:.2f} s in the request):"]
        for label, where, func in PROFILED_PARTS[name] + (
                ("SQL sent (rows fetched apart)", "sqlalchemy/engine/default.py", "do_execute"),):
            found = [(nc, ct) for (path, _, each), (_, nc, _, ct, _) in stats.stats.items()
                     if each == func and path.endswith(where)]
            if found:
                calls, seconds = sum(nc for nc, _ in found), sum(ct for _, ct in found)
                lines.append(f"  {label:<34}{seconds:>7.2f} s {seconds / total * 100:>5.1f}%  {calls:>7} calls")
        lines.append(f"  {'cycle collector (gc), wherever':<34}{sum(collecting):>7.2f} s "
                     f"{sum(collecting) / total * 100:>5.1f}%  {len(collecting):>7} runs, the longest "
                     f"{max(collecting, default=0):.2f} s")
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        body = "\n".join(line for line in out.getvalue().splitlines()
                         if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced")))
        return "\n".join(lines) + "\n" + body

    def seeded(self) -> dict:
        """How many rows there are, and how many the measured site's year has."""
        with self.app.app_context():
            def total(sql: str) -> int:
                return db.session.scalar(text(sql))
            year = f"'{self.year}-01-01' AND '{self.year}-12-31'"
            site_meetings = (f"SELECT id FROM meeting WHERE site_id = {self.site} AND scope = 'local' AND "
                             f"starts_at >= '{self.year}-01-01' AND starts_at < '{self.year + 1}-01-01'")
            return {
                "sites": total("SELECT count(*) FROM site"), "users": total('SELECT count(*) FROM "user"'),
                "meetings": total("SELECT count(*) FROM meeting"),
                "regional_meetings": total("SELECT count(*) FROM meeting WHERE scope = 'regional'"),
                "cases": total("SELECT count(*) FROM \"case\""),
                "library_entries": total("SELECT count(*) FROM library_entry"),
                "signatures": total("SELECT count(*) FROM attendance"),
                "actions": total("SELECT count(*) FROM action"),
                "actions_about_a_case": total("SELECT count(*) FROM action WHERE case_id IS NOT NULL"),
                "open": total("SELECT count(*) FROM action WHERE status IN ('open', 'in_progress')"),
                "site_year_meetings": total(f"SELECT count(*) FROM ({site_meetings}) AS held"),
                "site_year_cases": total(f"SELECT count(*) FROM library_entry WHERE meeting_id IN ({site_meetings}) "
                                         f"AND presented_on BETWEEN {year}"),
                "site_year_actions": total(f"SELECT count(*) FROM action WHERE meeting_id IN ({site_meetings})"),
                "network_actions": total("SELECT count(*) FROM action WHERE per_site"),
                "site_year_copies": total(
                    f"SELECT count(*) FROM action JOIN action_site ON action_site.action_id = action.id "
                    f"JOIN meeting ON meeting.id = action.meeting_id WHERE meeting.scope = 'regional' AND "
                    f"action_site.site_id = {self.site} AND meeting.starts_at >= '{self.year}-01-01' AND "
                    f"meeting.starts_at < '{self.year + 1}-01-01'"),
            }


def run_database(name: str, url: str, args) -> dict:
    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY, "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    seeder = Seeder()
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        seeder.seed()
    seeded = time.perf_counter()
    bench = Bench(app, seeder)
    figures, counts, sql, rows, sizes = bench.timings(args.repeats, args.report_repeats)
    measured = time.perf_counter()
    profile = "\n".join(bench.profile(request_name, args.profile_top) for request_name in PROFILED_PARTS) \
        if args.profile else ""
    rows_seeded = bench.seeded()
    with app.app_context():
        db.engine.dispose()
    finished = time.perf_counter()

    result: dict = {}
    for request_name, each in figures.items():
        for key, value in each.items():
            result[f"{request_name}_{key}"] = value
    result["queries"] = counts
    result["shown"] = rows
    result["bytes"] = sizes
    result["annual_report_pages"] = rows["annual_report"]
    result["annual_report_bytes"] = sizes["annual_report"]
    result["rows"] = rows_seeded
    result["year"] = bench.year
    result["within_target"] = all(
        f["median_ms"] < limit and f["p95_ms"] < limit for request_name, f in figures.items()
        for limit in [REPORT_TARGET_MS if request_name == "annual_report" else TARGET_MS])
    result["seconds"] = {"migrate": round(migrated - started, 1), "seed": round(seeded - migrated, 1),
                         **{f"seed_{k}": v for k, v in seeder.seconds.items()},
                         "measure": round(measured - seeded, 1), "total": round(finished - started, 1)}
    result["_sql"] = sql
    result["_profile"] = profile
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--report-repeats", type=int, default=3, help="timed annual reports (each takes seconds)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of each request")
    parser.add_argument("--profile", action="store_true",
                        help="profile one more annual report and network scorecard on each database")
    parser.add_argument("--profile-top", type=int, default=25, help="functions listed by --profile")
    args = parser.parse_args()
    started = time.perf_counter()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-governance-bench-"))
    databases = databases_to_measure(args.only, workdir)

    figures: dict = {}
    sql: dict = {}
    profiles: dict = {}
    failed = None
    try:
        for name, url in databases.items():
            try:
                figures[name] = run_database(name, url, args)
            except RequestFailed as error:
                failed = f"{name}: {error}"
                break
            sql[name] = figures[name].pop("_sql")
            profiles[name] = figures[name].pop("_profile")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        stop_on_failure(failed, figures, TARGET_MS)

    names = list(figures)
    requests = list(figures[names[0]]["queries"])
    first = figures[names[0]]["rows"]
    print(f"{YEARS} years, {first['sites']} sites, {first['users']} users, {first['meetings']} meetings "
          f"({first['regional_meetings']} regional), {first['cases']} cases and library entries "
          f"{first['library_entries']}, {first['signatures']} signatures, {first['actions']} actions "
          f"({first['actions_about_a_case']} about a case, {first['open']} open or in progress, "
          f"{first['network_actions']} network actions with a copy for each site); "
          f"{args.repeats} timed requests of each ({args.report_repeats} of the annual report) after a warm-up "
          f"(in-process test client, no network)")
    print(f"site {SITE_NAMES[0]}, year {figures[names[0]]['year']}: {first['site_year_meetings']} meetings, "
          f"{first['site_year_cases']} cases, {first['site_year_actions']} actions, and its copies of "
          f"{first['site_year_copies']} network actions")
    for n in names:
        seconds = figures[n]["seconds"]
        steps = ", ".join(f"{key[5:]} {value}" for key, value in seconds.items() if key.startswith("seed_"))
        print(f"{n}: seeded in {seconds['seed']} s ({steps})")
    print(f"{'request':<20}" + "".join(f"{n + ' median/p95 ms':>28}{'queries':>9}{'shown':>7}{'KB':>7}" for n in names))
    for r in requests:
        cells = "".join(f"{figures[n][f'{r}_median_ms']:>15} / {figures[n][f'{r}_p95_ms']:<10}"
                        f"{figures[n]['queries'][r]:>9}{figures[n]['shown'][r]:>7}"
                        f"{figures[n]['bytes'][r] / 1024:>7.0f}" for n in names)
        print(f"{r:<20}{cells}")
    print("shown: table rows on the scorecard (figures' tables and the per-person one), library matches, "
          "CSV rows, PDF pages")
    for n in names:
        print(f"{n}: annual report {figures[n]['annual_report_pages']} pages, "
              f"{figures[n]['annual_report_bytes']:,} bytes, "
              f"median {figures[n]['annual_report_median_ms'] / 1000:.2f} s")
    print_statements({n: {r: sql[n][r] for r in requests} for n in names}, args.show_sql)
    for n, profile in profiles.items():
        if profile:
            print(f"--- {n} profile ---")
            print(profile)
    report_met = all(figures[n]["annual_report_median_ms"] < REPORT_TARGET_MS
                     and figures[n]["annual_report_p95_ms"] < REPORT_TARGET_MS for n in names)
    print(f"annual report target: median and p95 under {REPORT_TARGET_MS} ms on every engine: "
          f"{'met' if report_met else 'MISSED'}")
    figures["report_target_ms"] = REPORT_TARGET_MS
    finish(figures, names, TARGET_MS, f"median and p95 (the annual report's: {REPORT_TARGET_MS} ms)", args.repeats,
           started)


if __name__ == "__main__":
    main()
