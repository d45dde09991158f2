"""Identifiers sealed at rest: what sealing costs a request, and how long rotating the key and a retention
purge take at a department's scale. SQLite and PostgreSQL side by side, in one run.

Seeds `--cases` cases (2,000 by default: several years of a busy department) presented at ended meetings,
each with sealed identifiers, an approved and current anonymisation review and a library entry; every case is
due for purging (half had feedback acknowledged 200 days ago, half were presented without feedback over 90
days ago). The cases carry no images (purging an image
re-encodes it; bench/anonymise.py measures that). Then times:

- sealing and opening one case's identifiers (microseconds, in process, median of every case);
- the chair's case page, which opens and shows them and records the view (median and p95 of `--repeats`);
- `rotate-identifier-key` over every case, the first time (everything resealed, every approval re-fingerprinted
  and its library entry rewritten) and again (nothing to do);
- `purge-identifiers` over them all.

Targets: the case page under 150 ms at p95; rotation under 60 s and the purge under 60 s for the whole set
(both run by hand or by cron, outside meetings). Prints a table, then JSON as the last line.

    .venv/bin/python bench/identifiers.py [--cases 2000] [--repeats 30] [--only sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.serving import IDENTIFIER_KEY, databases_to_measure, nearest_rank  # noqa: E402
from meetings import create_app, identifier_key  # noqa: E402
from meetings.cases import review  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.governance import library  # noqa: E402
from meetings.models import (  # noqa: E402
    Case, CaseIdentifiers, CaseReview, CaseStatus, Feedback, Meeting, MeetingStatus, Role, Site, User, utcnow,
)
from meetings.operations import purge, rekey  # noqa: E402

PAGE_TARGET_MS, JOB_TARGET_S = 150, 60
PER_MEETING = 8


def seed(count: int) -> tuple[User, list[int]]:
    """`count` presented cases at ended meetings, approved and in the library, all due for purging."""
    site = Site(name="Northgate General Hospital", code="NGH")
    chair = User(email="chair@bench.example.org", name="Dr Bench Chair", home_site=site, password_hash="unused")
    chair.roles = (Role.CHAIR,)
    db.session.add_all([site, chair])
    db.session.flush()
    now, ids = utcnow(), []
    for first in range(0, count, PER_MEETING):
        starts = now - timedelta(days=400 - first // PER_MEETING % 300)
        meeting = Meeting(title=f"REAL meeting {first // PER_MEETING + 1}", site=site, chair=chair, starts_at=starts,
                          ends_at=starts + timedelta(minutes=90), status=MeetingStatus.ENDED)
        db.session.add(meeting)
        db.session.flush()
        for n in range(first, min(first + PER_MEETING, count)):
            case = Case(submitter_id=chair.id, site_id=site.id, meeting_id=meeting.id, queue_position=n - first,
                        status=CaseStatus.PRESENTED, kind="discrepancy", modality="CT", body_region="Chest",
                        clinical_question=f"Breathless, case {n}. ?PE", report_text="No pulmonary embolus.",
                        outcome_text="A 14 mm nodule on the follow-up CT.", suggested_learning="Lung windows.",
                        learning_points="Review the lung windows on every CTPA.")
            case.identifiers = CaseIdentifiers(
                patient_name=f"Synthia Testpatient{n}", nhs_number=f"{9_000_000_000 + n}",
                hospital_number=f"RX{100_000 + n}", accession_number=f"ACC{10_000_000 + n}",
                reporter_name="Dr Bench Reporter", reporter_email="reporter@bench.example.org")
            db.session.add(case)
            db.session.flush()
            case.review = CaseReview(redact=[], keep=[], reviewed_by_id=chair.id, reviewed_at=now, approved={
                "clinical_question": case.clinical_question, "report_text": case.report_text,
                "outcome_text": case.outcome_text, "suggested_learning": case.suggested_learning,
                "body_region": case.body_region, "captions": {}, "redact": [], "keep": []})
            case.review.fingerprint = review.fingerprint(case)
            if n % 2 == 0:
                db.session.add(Feedback(case_id=case.id, meeting_id=meeting.id,
                                        recipient_email="reporter@bench.example.org",
                                        sent_at=now - timedelta(days=205), acknowledged_at=now - timedelta(days=200)))
            ids.append(case.id)
        db.session.flush()
        for case_id in ids[first:]:
            library.record(db.session.get(Case, case_id))
    db.session.commit()
    return chair, ids


def microseconds(action, items) -> float:
    timings = []
    for item in items:
        started = time.perf_counter()
        action(item)
        timings.append((time.perf_counter() - started) * 1e6)
    return round(statistics.median(timings), 1)


def run_database(name: str, url: str, args) -> dict:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "IDENTIFIER_KEY": IDENTIFIER_KEY,
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False, "MAIL_SERVER": ""})
    result: dict = {}
    with app.app_context():
        upgrade()
        with app.test_request_context():
            started = time.perf_counter()
            chair, ids = seed(args.cases)
            result["seed_s"] = round(time.perf_counter() - started, 1)

            tokens = db.session.scalars(select(CaseIdentifiers.sealed).order_by(CaseIdentifiers.case_id)).all()
            values = [identifier_key.open_sealed(token) for token in tokens]
            result["open_us"] = microseconds(identifier_key.open_sealed, tokens)
            result["seal_us"] = microseconds(identifier_key.seal, values)

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = chair.get_id()
        timings = []
        for case_id in ids[: args.repeats + 1]:
            started = time.perf_counter()
            response = client.get(f"/cases/{case_id}")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and b"Synthia Testpatient" in response.data, response.status_code
        timings = timings[1:]  # the first warms the templates
        result["case_page_median_ms"] = round(statistics.median(timings), 1)
        result["case_page_p95_ms"] = round(nearest_rank(timings, 0.95), 1)

        keys = app.extensions["identifier_key"]
        app.extensions["identifier_key"] = [Fernet(Fernet.generate_key()), *keys]
        with app.test_request_context():
            for label in ("rotate", "rotate_again"):
                started = time.perf_counter()
                rotation = rekey.rotate()
                db.session.commit()
                result[f"{label}_s"] = round(time.perf_counter() - started, 2)
                result[f"{label}_resealed"] = rotation.resealed
                result.setdefault("approvals_kept", rotation.approvals_kept)
            db.session.expire_all()
            current = sum(review.state_of(case) is review.ReviewState.REVIEWED
                          for case in db.session.scalars(select(Case)))
            assert current == args.cases, f"{current} of {args.cases} approvals current after rotation"

            started = time.perf_counter()
            purged = purge.purge_due(utcnow(), 90)
            db.session.commit()
            result["purge_s"] = round(time.perf_counter() - started, 2)
            result["purged"] = purged
        db.session.remove()
        db.engine.dispose()
    app.wsgi_app.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-identifiers-bench-"))
    try:
        figures = {name: run_database(name, url, args) for name, url in databases_to_measure(args.only, workdir).items()}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    names = list(figures)
    print(f"{args.cases} presented cases with sealed identifiers, approved and in the library; "
          f"{args.repeats} timed case pages (in-process test client)")
    rows = [("seeding (s)", "seed_s"), ("seal one case (µs)", "seal_us"), ("open one case (µs)", "open_us"),
            ("case page median (ms)", "case_page_median_ms"), ("case page p95 (ms)", "case_page_p95_ms"),
            ("rotate the key (s)", "rotate_s"), ("  cases resealed", "rotate_resealed"),
            ("  approvals kept", "approvals_kept"),
            ("rotate again (s)", "rotate_again_s"), ("  cases resealed", "rotate_again_resealed"),
            ("purge them all (s)", "purge_s"), ("  cases purged", "purged")]
    print(f"{'':<26}" + "".join(f"{n:>14}" for n in names))
    for label, key in rows:
        print(f"{label:<26}" + "".join(f"{figures[n][key]:>14}" for n in names))
    met = all(figures[n]["case_page_p95_ms"] < PAGE_TARGET_MS and figures[n]["rotate_s"] < JOB_TARGET_S
              and figures[n]["purge_s"] < JOB_TARGET_S for n in names)
    print(f"targets: case page p95 under {PAGE_TARGET_MS} ms, rotation and purge under {JOB_TARGET_S} s: "
          f"{'met' if met else 'MISSED'}")
    print(json.dumps({"cases": args.cases, "targets_met": met, **figures}))


if __name__ == "__main__":
    main()
