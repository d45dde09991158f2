"""Followers polling a live meeting, under gunicorn and a load generator, against a bare Flask 204.

Seeds a live meeting (demo data, the upcoming meeting started), then serves Lightbox and bench/bare_app.py
with the same gunicorn settings and drives both with wrk (Debian's `wrk` package), side by side in one run:

- bare 204: the baseline, a Flask view returning 204 and nothing else;
- unchanged poll: `/j/<code>/live?v=<current>`, answered 204 (each worker keeps the version for 0.5 s);
- the same with that cache off, so every poll reads the database;
- changed poll: `/j/<code>/live?v=0`, answered with the stored fragment;
- 2,500 rps held: 5,000 followers polling every 2 s, as connections that each wait between polls, so the
  rate is set by the followers rather than by how fast the server answers.

On SQLite, and on PostgreSQL when it answers on 127.0.0.1:5432. Prints a table, then JSON as the last line
with the unchanged/bare ratio for each database.

    .venv/bin/python bench/live_poll.py [--seconds 10] [--workers 2] [--threads 4]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import IDENTIFIER_KEY, Gunicorn, demo_meeting, fresh_postgres, postgres_answers  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.live import broadcast, service  # noqa: E402

FOLLOWERS, POLL_SECONDS = 5000, 2.0
TARGET_RPS = FOLLOWERS / POLL_SECONDS


def seed_live_meeting(database_url: str) -> tuple[str, int]:
    """Demo data with its upcoming meeting started; returns the join code and the state's version."""
    with demo_meeting(database_url) as meeting:
        state = service.state_of(meeting)
        service.start(state)
        service.step(state, +1)  # the second case: approved, so the fragment carries a whole case
        broadcast.publish(state)
        db.session.commit()
        return state.join_code, state.version


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return round(float(value) * UNITS[unit], 2)

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_second": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),
        "p50_ms": latency("50"), "p99_ms": latency("99"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }


def run_database(name: str, database_url: str, args, pacing: Path) -> dict:
    code, version = seed_live_meeting(database_url)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "bench", "IDENTIFIER_KEY": IDENTIFIER_KEY,
           "RATELIMIT_STORAGE_URI": "memory://"}
    app = Gunicorn("app:app", env, args.workers, args.threads)
    # The same app reading the version from the database on every poll, to show what the cache saves.
    uncached = Gunicorn("app:app", env | {"LIVE_VERSION_CACHE_SECONDS": "0"}, args.workers, args.threads)
    bare = Gunicorn("bench.bare_app:app", {}, args.workers, args.threads)
    servers = (app, uncached, bare)
    try:
        for server, path in ((app, f"/j/{code}/live?v={version}"), (uncached, f"/j/{code}/live?v={version}"),
                             (bare, "/")):
            server.wait(path)
        unchanged = f"{app.base}/j/{code}/live?v={version}"
        changed = f"{app.base}/j/{code}/live?v=0"
        every_poll_reads = f"{uncached.base}/j/{code}/live?v={version}"
        for url in (bare.base + "/", unchanged, changed, every_poll_reads):  # warm every worker
            wrk(url, 1, args.connections)
        results = {
            "bare_204": wrk(bare.base + "/", args.seconds, args.connections),
            "unchanged_poll": wrk(unchanged, args.seconds, args.connections),
            "unchanged_poll_uncached": wrk(every_poll_reads, args.seconds, args.connections),
            "changed_poll": wrk(changed, args.seconds, args.connections),
            "followers_2500_rps": wrk(unchanged, args.seconds, args.paced_connections, pacing),
        }
    finally:
        for server in servers:
            server.stop()
    results["ratio_unchanged_to_bare"] = round(
        results["unchanged_poll"]["requests_per_second"] / results["bare_204"]["requests_per_second"], 3)
    held = results["followers_2500_rps"]
    results["followers_held"] = held["requests_per_second"] >= 0.95 * TARGET_RPS and held["p99_ms"] < 100 \
        and held["errors"] == 0
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--paced-connections", type=int, default=270)
    parser.add_argument("--gap-ms", type=int, default=100,
                        help="each paced connection's wait between polls; 270 connections x 100 ms offer up to 2,700 rps")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `bash scripts/system-deps.sh bench` (Debian's wrk package)")

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-live-bench-"))
    pacing = workdir / "pacing.lua"
    pacing.write_text(f"function delay()\n  return {args.gap_ms}\nend\n")
    databases = {"sqlite": f"sqlite:///{workdir / 'bench.db'}"}
    if postgres_answers() and args.only != "sqlite":
        databases["postgresql"] = fresh_postgres()
    if args.only == "postgresql":
        databases.pop("sqlite")

    figures = {"settings": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread",
                            "connections": args.connections, "paced_connections": args.paced_connections,
                            "gap_ms": args.gap_ms, "seconds": args.seconds, "cpus": os.cpu_count()}}
    print(f"{'database':<11} {'measure':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, url in databases.items():
        results = run_database(name, url, args, pacing)
        for measure in ("bare_204", "unchanged_poll", "unchanged_poll_uncached", "changed_poll",
                        "followers_2500_rps"):
            r = results[measure]
            print(f"{name:<11} {measure:<24} {r['requests_per_second']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} "
                  f"{r['errors']:>8} {r['socket_errors']}")
        print(f"{name:<11} unchanged/bare ratio {results['ratio_unchanged_to_bare']}; "
              f"2,500 rps held with p99 < 100 ms: {results['followers_held']}")
        figures[name] = results
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
