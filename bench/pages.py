"""Page rendering cost: the main signed-in pages against a bare Flask endpoint, side by side in one run.

Runs in-process through the WSGI test client on a temporary SQLite database with the demo data, so it
measures Lightbox's own work (queries, templates, session, CSRF) rather than the network. Prints one line
per page, then the figures as JSON on the last line.

    .venv/bin/python bench/pages.py [--seconds 2]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.serving import IDENTIFIER_KEY  # noqa: E402
from meetings import create_app, demo  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.models import Case, CaseImage, CaseStatus  # noqa: E402


def measure(client, path: str, seconds: float) -> dict:
    """Requests per second and latency percentiles for GET `path`, over `seconds` of wall time."""
    client.get(path)  # warm caches and compiled templates
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        response = client.get(path)
        latencies.append(time.perf_counter() - start)
        assert response.status_code in (200, 204), (path, response.status_code)
    latencies.sort()
    return {
        "requests_per_second": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "samples": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}", "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY,
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        with app.test_request_context():
            demo.seed()
        db.session.commit()
        upcoming = db.session.scalar(select(Case).where(Case.status == CaseStatus.SCHEDULED).order_by(Case.id))
        with_image = db.session.scalar(select(CaseImage).where(CaseImage.case_id.is_not(None))
                                       .join(Case).where(Case.modality == "US"))
        case_pages = (("anonymisation_review", f"/cases/{upcoming.id}/review"),
                      ("presentation_preview", f"/cases/{with_image.case_id}/presentation"),
                      ("anonymised_image_png",
                       f"/cases/{with_image.case_id}/images/{with_image.id}/anonymised.png"))

    bare = Flask("bare")
    bare.add_url_rule("/", "bare", lambda: ("", 204))

    results = {"bare_flask_204": measure(bare.test_client(), "/", args.seconds)}
    client = app.test_client()
    results["sign_in_page"] = measure(client, "/auth/sign-in", args.seconds)
    client.post("/auth/sign-in", data={"email": "admin@northgate.example.org", "password": demo.DEMO_PASSWORD})
    for name, path in (("dashboard", "/"), ("actions", "/actions/"), ("admin_users", "/admin/users"),
                       ("admin_users_search_fragment", "/admin/users?q=north"), *case_pages):
        results[name] = measure(client, path, args.seconds)

    for name, figures in results.items():
        print(f"{name:<30} {figures['requests_per_second']:>8} req/s  p50 {figures['p50_ms']:>6} ms  "
              f"p99 {figures['p99_ms']:>6} ms  ({figures['samples']} requests)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
