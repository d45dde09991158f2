"""The text scrubber's speed and quality on synthetic reports.

Generates reports with tests/synthetic_reports.py (a seed the tests do not use), times `scrub` over all of
them (best of three runs), and measures what it caught: recall overall, for the record's own identifiers
and by kind, the share of clinical terms kept verbatim, and findings that touch no planted identifier.
Prints the figures and the first misses, then the figures as JSON on the last line.

    .venv/bin/python bench/anonymise.py [--n 1000] [--seed 2026] [--show 10]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meetings.anonymise.text import scrub  # noqa: E402
from tests.synthetic_reports import generate, score  # noqa: E402


def best_of(runs: int, reports) -> tuple[float, list]:
    """The fastest of `runs` passes of `scrub` over every report, and the results of the last."""
    timings, results = [], []
    for _ in range(runs):
        start = time.perf_counter()
        results = [scrub(r.text, r.known) for r in reports]
        timings.append(time.perf_counter() - start)
    return min(timings), results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000, help="how many reports")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", type=int, default=10, help="how many misses and losses to print")
    args = parser.parse_args()

    reports = generate(args.n, args.seed)
    words = sum(len(r.text.split()) for r in reports)
    seconds, results = best_of(3, reports)
    s = score(reports, results)

    print(f"reports          {len(reports)} ({words} words, {sum(len(r.text) for r in reports)} characters)")
    print(f"scrub time       {seconds:.3f} s best of 3 ({seconds / len(reports) * 1000:.2f} ms a report, "
          f"{words / seconds:,.0f} words/s)")
    print(f"recall           {s.recall:.4f}  ({s.caught}/{s.identifiers} planted identifiers)")
    print(f"own recall       {s.own_recall:.4f}  ({s.own_caught}/{s.own} of the record's own)")
    print(f"clinical kept    {s.clinical_kept_rate:.4f}  ({s.clinical_kept}/{s.clinical} terms)")
    print(f"spurious finds   {s.spurious} of {s.findings} findings touch no planted identifier")
    print("recall by kind:")
    for kind, value in s.recall_by_kind().items():
        print(f"  {kind:<26} {value:.4f}  ({s.caught_by_kind[kind]}/{s.by_kind[kind]})")
    for title, items in (("missed identifiers", s.misses), ("clinical terms lost", s.clinical_losses),
                         ("spurious findings", s.spurious_examples)):
        if items and args.show:
            print(f"{title} ({len(items)}), first {min(args.show, len(items))}:")
            for item in items[:args.show]:
                print(f"  {item}")

    print(json.dumps({
        "reports": len(reports), "seed": args.seed, "words": words, "seconds": round(seconds, 4),
        "ms_per_report": round(seconds / len(reports) * 1000, 3), "recall": round(s.recall, 4),
        "own_recall": round(s.own_recall, 4), "clinical_kept": round(s.clinical_kept_rate, 4),
        "identifiers": s.identifiers, "own_identifiers": s.own, "clinical_terms": s.clinical,
        "spurious_findings": s.spurious, "recall_by_kind": s.recall_by_kind(),
    }))


if __name__ == "__main__":
    main()
