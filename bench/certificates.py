"""CPD certificates for 150 attendees, rendered in this process with WeasyPrint: target under 15 seconds.

Seeds demo data into a temporary SQLite database, takes the most recent ended meeting (its reviewed cases give
the certificates their learning outcomes), adds 150 synthetic guests to its register and closes the register,
then times, inside a request context on BASE_URL (as the app's background sender uses):

- one PDF of all 150, a page each: what the chair downloads from the register page;
- 150 PDFs of one certificate each: what is emailed when the register closes, or downloaded one by one
  (each call reads the meeting's learning outcomes again, as the download view does).

A warm-up render of one certificate comes first and is not timed, so fonts, the stylesheet and the templates
are loaded once, as in a worker that has already served a PDF. Reports seconds for each, the pages and bytes
of the single PDF (pages counted with pypdf), the pages of the separate ones, and the process's peak RSS.
Prints a table, then JSON as the last line.

    .venv/bin/python bench/certificates.py [--certificates 150]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.serving import IDENTIFIER_KEY  # noqa: E402
from meetings import create_app, demo  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.models import Attendance, Meeting, MeetingStatus, person_key, utcnow  # noqa: E402
from meetings.register import certificates  # noqa: E402
from meetings.register import service as registers  # noqa: E402

TARGET_SECONDS = 15
SITES = ("Northgate General Hospital", "Southmead Community Hospital", "Eastfield Imaging Centre",
         "Westbrook Teleradiology Ltd")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kilobytes on Linux


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def seed_closed_register(count: int) -> tuple[Meeting, list[Attendance]]:
    """Demo data, and `count` synthetic guests on the latest ended meeting's register, closed."""
    demo.seed()
    db.session.commit()
    meeting = db.session.scalar(select(Meeting).where(Meeting.status == MeetingStatus.ENDED)
                                .order_by(Meeting.starts_at.desc()))
    added = []
    for number in range(1, count + 1):
        email = f"cert.guest.{number:04d}@bench.example.org"
        attendance = Attendance(
            meeting_id=meeting.id, person_key=person_key(None, email), name=f"Certificate Guest {number:04d}",
            email=email, profession="consultant_radiologist", professional_body="GMC",
            registration_number=f"{8000000 + number:07d}", site_name=SITES[number % len(SITES)],
        )
        db.session.add(attendance)
        added.append(attendance)
    register = registers.register_of(meeting)
    register.opened_at = register.opened_at or utcnow()
    register.closed_at = utcnow()
    db.session.commit()
    return meeting, added


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=150)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-cert-bench-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY, "RATELIMIT_ENABLED": False,
                      "MAIL_OUTBOX": str(workdir / "outbox")})
    try:
        with app.app_context():
            upgrade()
            with app.test_request_context():
                meeting, added = seed_closed_register(args.certificates)
                meeting_id, ids = meeting.id, [a.id for a in added]
            db.session.remove()
            rss_before = peak_rss_mb()
            with app.test_request_context(base_url=app.config["BASE_URL"]):
                attendances = list(db.session.scalars(select(Attendance).where(Attendance.id.in_(ids))
                                                      .order_by(Attendance.id)))
                outcomes = len(certificates.learning_outcomes(db.session.get(Meeting, meeting_id)))

                started = time.perf_counter()
                warm = certificates.certificates_pdf(attendances[:1])
                warm_up_seconds = time.perf_counter() - started
                rss_warm = peak_rss_mb()

                started = time.perf_counter()
                one_pdf = certificates.certificates_pdf(attendances)
                one_pdf_seconds = time.perf_counter() - started
                rss_one_pdf = peak_rss_mb()

                started = time.perf_counter()
                separate = [certificates.certificates_pdf([attendance]) for attendance in attendances]
                separate_seconds = time.perf_counter() - started
                rss_separate = peak_rss_mb()
            db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    count = len(attendances)
    text = PdfReader(io.BytesIO(one_pdf))
    first_name, last_name = attendances[0].name, attendances[-1].name
    figures = {
        "certificates": count,
        "learning_outcomes_each": outcomes,
        "warm_up_seconds": round(warm_up_seconds, 2),
        "warm_up_pages": pages(warm),
        "one_pdf_seconds": round(one_pdf_seconds, 2),
        "one_pdf_pages": len(text.pages),
        "one_pdf_bytes": len(one_pdf),
        "one_pdf_names_on_first_and_last_page": first_name in text.pages[0].extract_text()
        and last_name in text.pages[-1].extract_text(),
        "separate_seconds": round(separate_seconds, 2),
        "separate_ms_each": round(separate_seconds / count * 1000, 1),
        "separate_pages": sum(pages(pdf) for pdf in separate),
        "separate_bytes_each": round(sum(len(pdf) for pdf in separate) / count),
        "target_seconds": TARGET_SECONDS,
        "peak_rss_mb": {"after_seed": rss_before, "after_warm_up": rss_warm, "after_one_pdf": rss_one_pdf,
                        "after_separate": rss_separate},
        "cpus": os.cpu_count(),
    }
    figures["one_pdf_within_target"] = one_pdf_seconds < TARGET_SECONDS
    figures["separate_within_target"] = separate_seconds < TARGET_SECONDS

    print(f"warm-up: one certificate rendered first ({figures['warm_up_seconds']} s, not counted below), so fonts, "
          f"stylesheet and templates are loaded once; {outcomes} learning outcomes on each certificate")
    print(f"{'measure':<34} {'seconds':>8} {'pages':>6} {'bytes':>10} {'peak RSS MB':>12}")
    print(f"{f'one PDF of {count}':<34} {figures['one_pdf_seconds']:>8} {figures['one_pdf_pages']:>6} "
          f"{figures['one_pdf_bytes']:>10} {rss_one_pdf:>12}")
    print(f"{f'{count} separate PDFs':<34} {figures['separate_seconds']:>8} {figures['separate_pages']:>6} "
          f"{figures['separate_bytes_each'] * count:>10} {rss_separate:>12}")
    print(f"target: {count} certificates in under {TARGET_SECONDS} s; one PDF "
          f"{'met' if figures['one_pdf_within_target'] else 'MISSED'}, separate "
          f"{'met' if figures['separate_within_target'] else 'MISSED'} "
          f"({figures['separate_ms_each']} ms each)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
