"""The minutes PDF: a meeting of 30 presented cases, 150 attendees and 40 actions drawn in under 2 seconds; a
stress meeting whose minutes run to about 100 pages in under 10 seconds; and the work around WeasyPrint (reading
the meeting, scrubbing its texts, the template) under 15% of the time WeasyPrint itself takes.

Builds the schema with the real migrations, then seeds synthetic data with the ORM: 4 sites, each with a chair, a
risk lead and 24 members (some with a risk team address list). Two ended local meetings, each followed by a
scheduled one at its site (the minutes' "next meeting"):

- typical: 30 presented cases and 2 not reached, 150 present and 8 apologies (mostly guests, some members), 40
  actions (a third for the meeting as a whole, the rest about a case; 1-2 sites each; owners with and without
  accounts; every status);
- stress (`--stress-cases` etc.): 140 presented cases with long discussion (two paragraphs) and four learning
  points each, 300 present and 30 apologies, 420 actions: about 100 pages. Its pages are counted and
  reported; about 100 is the aim.

Every case is text only (no images: they slow seeding and are not what is measured), with synthetic identifiers,
its anonymisation approved by the chair with `review.approve` (the service the review page calls), then marked
presented with its discussion and learning points written, as the meeting leaves them. A third of the cases have a
closed choice poll with 40-90 votes, every tenth a free-text poll with 12 answers. A few summaries are edited in
the minutes, and any other business is filled in.

Inside a request context on BASE_URL, after one untimed warm-up draft of the typical meeting (fonts, print.css,
the template, the statement cache; the stress meeting comes after, so is not warmed again), `--repeats` (typical)
or `--stress-repeats` (stress) rounds, each of which times:

- whole: `meetings.minutes.service.draft_pdf(meeting)`, as the draft download view calls it, on a fresh session
  (the meeting re-read before the clock starts), so every query a request makes is made and counted;
- weasyprint: WeasyPrint alone on the same HTML: the minutes template rendered once beforehand with the context
  `service.render` gives `render_pdf`, then `HTML(string=..., base_url=..., url_fetcher=OwnFilesFetcher(...))
  .write_pdf(stylesheets=[print.css], pdf_variant="pdf/ua-1", pdf_tags=True)` exactly as meetings/pdf.py does it
  (print.css parsed once per thread, as `_print_stylesheet` keeps it);
- assemble: `content.assemble(meeting, minutes_of(meeting))` alone, on a fresh session (the database part);
- template: `render_template("pdf/minutes.html", ...)` alone on assembled content.

Each is preceded by an untimed `gc.collect()`, so no measure pays for collecting the garbage of the one before it
(without it, whichever followed a render paid for that render's garbage, which swung the ratio by 10-20%). The
machine is shared and noisy, so whole and weasyprint are measured side by side in every round (which goes
first alternates) and the overhead is the median of the rounds' ratios whole / weasyprint; overhead % = (ratio -
1) * 100. The ratio of the medians is reported too, and the ratio in this process's CPU time (time.process_time),
which another process's load disturbs less (on PostgreSQL it leaves out the server's own time).

Publishing (typical meeting only, `--publish-repeats` after a warm-up): the whole of
`service.publish(meeting, chair, "")`, with its flush (version row with the PDF, deliveries queued, audit),
then `db.session.rollback()` so the next run publishes version 1 again.

SQL statements are counted with a `before_cursor_execute` listener; the statements sent more than once in one
draft are listed (an N+1 shows there). Reports median and p95 (nearest rank: the slowest of 5 or fewer runs) in
seconds, pages (pypdf), bytes.
On SQLite (a file in a temporary folder), and on PostgreSQL when it answers on 127.0.0.1:5432, in a database of
its own (`lightbox_bench_minutes`, made fresh and dropped afterwards, so a benchmark using `lightbox_bench` at the
same time is not disturbed). The stress meeting is measured on SQLite only unless `--stress-on` says otherwise:
its rendering does not depend on the engine, and it takes a minute or more. The whole run takes about 3 minutes
of CPU on 2 CPUs (more wall time when the machine is shared). Prints a table, then JSON as the last line.

    .venv/bin/python bench/minutes_pdf.py [--repeats 5] [--stress-repeats 3] [--publish-repeats 3]
                                          [--stress-cases 140] [--stress-attendees 300] [--stress-actions 420]
                                          [--only sqlite|postgresql] [--stress-on sqlite|postgresql|all|none]
                                          [--show-sql]
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import current_app, render_template  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from weasyprint import HTML  # noqa: E402

from bench.serving import (  # noqa: E402
    IDENTIFIER_KEY,
    POSTGRES_ADMIN, Statements, nearest_rank, postgres_answers, repeated_statements,
)
from meetings import create_app  # noqa: E402
from meetings.actions import service as actions  # noqa: E402
from meetings.cases import review  # noqa: E402
from meetings.extensions import db  # noqa: E402
from meetings.minutes import service as minutes_service  # noqa: E402
from meetings.minutes.content import assemble  # noqa: E402
from meetings.models import (  # noqa: E402
    Action, ActionEvent, ActionPriority, ActionStatus, Attendance, AttendanceStatus, Case, CaseIdentifiers,
    CaseStatus, ClinicalSignificance, Delivery, DiscrepancyType, Meeting, MeetingScope, MeetingStatus, Poll,
    PollKind, PollVote, Profession, ProfessionalBody, Role, Site, User, person_key, utcnow,
)
from meetings.pdf import PDF_TEMPLATES, OwnFilesFetcher, _print_stylesheet  # noqa: E402

TYPICAL_TARGET_SECONDS = 2
STRESS_TARGET_SECONDS = 10
OVERHEAD_TARGET_PERCENT = 15
STRESS_PAGES_AIM = 100
PG_DATABASE = "lightbox_bench_minutes"
SEED = 20261123

SITE_NAMES = ("Northgate General Hospital", "Southmead Community Hospital", "Eastfield Imaging Centre",
              "Westbrook Teleradiology Ltd")
FIRST_NAMES = ("Amira", "Ben", "Chloe", "Dev", "Eilidh", "Femi", "Grace", "Hamid", "Isla", "Jonah", "Kiran",
               "Lena", "Marek", "Nia", "Owen", "Priya", "Quinn", "Rosa", "Sam", "Tariq")
LAST_NAMES = ("Adebayo", "Brennan", "Chowdhury", "Doyle", "Evans", "Fraser", "Gill", "Hughes", "Iqbal", "Jones",
              "Khan", "Lewis", "Murray", "Nolan", "Okafor", "Patel")
PROFESSIONS = (Profession.CONSULTANT_RADIOLOGIST, Profession.CONSULTANT_RADIOLOGIST, Profession.TRAINEE_RADIOLOGIST,
               Profession.TRAINEE_RADIOLOGIST, Profession.REPORTING_RADIOGRAPHER, Profession.OTHER)
# (modality, body region, clinical question, original report, what was found later)
CASES = (
    ("CT", "Chest", "Cough for six weeks, weight loss. ?Mass", "No focal lung lesion. No lymphadenopathy.",
     "A 14 mm spiculated nodule in the right upper lobe on the follow-up CT three months later."),
    ("XR", "Wrist", "Fall on outstretched hand, snuffbox tenderness.", "No fracture seen.",
     "Scaphoid waist fracture on MR ten days later."),
    ("CT", "Head", "Sudden severe headache while lifting.", "No intracranial haemorrhage.",
     "Small volume subarachnoid blood in the interpeduncular cistern on review; aneurysm on CT angiography."),
    ("MR", "Lumbar spine", "Back pain with saddle numbness.", "Degenerative change at L4/5 and L5/S1.",
     "Large central disc extrusion at L5/S1 compressing the cauda equina, missed on the sagittal images."),
    ("US", "Abdomen", "Right upper quadrant pain, deranged liver tests.", "Normal gallbladder. Normal liver.",
     "Common bile duct stones on MRCP; the duct measured 9 mm on the stored ultrasound images."),
    ("CT", "Abdomen", "Left iliac fossa pain, raised inflammatory markers.", "Uncomplicated sigmoid diverticulitis.",
     "An incidental 22 mm left adrenal nodule was not mentioned; washout CT confirmed an adenoma."),
    ("mammography", "Breast", "Screening round, no symptoms.", "No features of malignancy.",
     "Interval cancer at 14 months; architectural distortion visible in retrospect on the prior MLO view."),
    ("XR", "Chest", "Central line placement check.", "Line tip in the SVC. No pneumothorax.",
     "Apical pneumothorax on the left visible in retrospect; treated with a chest drain the same evening."),
)
DISCUSSION = (
    "The room agreed the finding was visible in retrospect on the original images.",
    "Several reporters said they would have passed the study as normal on a busy list.",
    "The registrar pointed out that the prior study was available but not compared.",
    "The group discussed whether the window settings used for reporting hid the abnormality.",
    "The clinical details on the request did not mention the symptom that would have raised suspicion.",
    "A consultant described the search pattern they use for this region and why it helps.",
    "It was noted that the study was reported at the end of a long on-call shift.",
    "The room discussed how the report could have suggested further imaging.",
    "Two attendees had seen similar cases this year and described how they were missed.",
    "The reporting radiographers asked for the local protocol to be circulated again.",
    "The chair reminded the room that the purpose is learning, not blame.",
    "Most of the room voted that the miss was perceptual rather than a lack of knowledge.",
)
LEARNING = (
    "Compare with prior imaging whenever it is available.",
    "Review the lung apices and the costophrenic angles on every chest radiograph.",
    "Use bone windows as well as soft tissue windows on trauma CT.",
    "State the size and location of incidental findings and recommend follow-up per the guideline.",
    "Check the venous sinuses on every CT head reported for headache.",
    "Read the sagittal images of the lumbar spine down to the sacrum.",
    "Mention the common bile duct calibre in every right upper quadrant ultrasound report.",
    "Satisfaction of search: keep looking after the first abnormality.",
)
ACTIONS = (
    "Update the CT head reporting template to prompt for the venous sinuses",
    "Add a line on incidental adrenal nodules to the CT abdomen template",
    "Circulate the new chest X-ray template for lines and tubes to all reporters",
    "Audit time to report for urgent CT pulmonary angiograms over the next quarter",
    "Teaching session for trainees on satisfaction of search in trauma CT",
    "Write to the referrers about clinical details on ultrasound requests",
    "Check the PACS hanging protocol for prior comparison on mammography",
    "Add pneumothorax to the critical findings communication list",
)
POLL_OPTIONS = ("Perceptual", "Satisfaction of search", "Lack of knowledge", "Inadequate clinical information")
FREE_ANSWERS = ("Compare with the prior", "Window settings", "Look at the apices", "Busy list, no time",
                "Request lacked detail", "Review areas checklist")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kilobytes on Linux


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def spread(seconds: list[float]) -> dict:
    return {"median_s": round(statistics.median(seconds), 3), "p95_s": round(nearest_rank(seconds, 0.95), 3),
            "min_s": round(min(seconds), 3), "max_s": round(max(seconds), 3), "runs": len(seconds)}


# --- seeding ---------------------------------------------------------------------------------------

class Seeder:
    """The sites and people once, then each meeting with its cases, register, polls, actions and minutes."""

    def __init__(self):
        self.rng = random.Random(SEED)
        self.sites: list[Site] = []
        self.chairs: list[User] = []
        self.members: dict[int, list[User]] = {}
        self.numbers = iter(range(1, 10**6))

    def people(self) -> None:
        for n, name in enumerate(SITE_NAMES, 1):
            site = Site(name=name, code=f"BM{n}", risk_distribution=f"risk.team{n}@bench.example.org"
                        if n % 2 else "")
            db.session.add(site)
            db.session.flush()
            self.sites.append(site)
            self.chairs.append(self.user(site, Role.CHAIR, Profession.CONSULTANT_RADIOLOGIST))
            self.user(site, Role.RISK, Profession.OTHER)
            self.members[site.id] = [self.user(site, Role.MEMBER, PROFESSIONS[m % len(PROFESSIONS)])
                                     for m in range(24)]
        db.session.commit()

    def user(self, site: Site, role: Role, profession: str) -> User:
        n = next(self.numbers)
        name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n // len(FIRST_NAMES) % len(LAST_NAMES)]} {n:03d}"
        user = User(email=f"user{n:03d}@bench.example.org", name=name, home_site=site, profession=profession,
                    professional_body=ProfessionalBody.GMC, registration_number=f"{7000000 + n:07d}")
        user.roles = (role,)
        db.session.add(user)
        db.session.flush()
        return user

    def paragraph(self, pool: tuple[str, ...], low: int, high: int) -> str:
        return " ".join(self.rng.sample(pool, self.rng.randint(low, high)))

    def meeting(self, site_index: int, title: str, cases: int, not_reached: int, present: int, apologies: int,
                action_count: int, long_texts: bool, days_ago: int) -> tuple[int, int]:
        """An ended meeting as the chair leaves it before drawing the minutes; (meeting id, chair id)."""
        rng, site, chair = self.rng, self.sites[site_index], self.chairs[site_index]
        members = self.members[site.id]
        starts = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=days_ago)
        meeting = Meeting(title=title, scope=MeetingScope.LOCAL, site=site, chair=chair, minute_taker=members[0],
                          starts_at=starts, ends_at=starts + timedelta(minutes=90), location="Seminar room 2",
                          status=MeetingStatus.ENDED)
        following = Meeting(title=f"{title} (next)", scope=MeetingScope.LOCAL, site=site, chair=chair,
                            starts_at=starts + timedelta(days=28), ends_at=starts + timedelta(days=28, minutes=90),
                            location="Seminar room 2", status=MeetingStatus.SCHEDULED)
        db.session.add_all([meeting, following])
        db.session.flush()

        made = []
        for position in range(cases + not_reached):
            modality, region, question, report, outcome = CASES[position % len(CASES)]
            n = next(self.numbers)
            case = Case(submitter_id=members[1 + position % (len(members) - 1)].id, site_id=site.id,
                        meeting_id=meeting.id, queue_position=position, kind="discrepancy", modality=modality,
                        body_region=region, clinical_question=question, report_text=report, outcome_text=outcome,
                        suggested_learning=LEARNING[position % len(LEARNING)], status=CaseStatus.SCHEDULED,
                        discrepancy_type=list(DiscrepancyType)[position % len(DiscrepancyType)].value,
                        clinical_significance=list(ClinicalSignificance)[position % len(ClinicalSignificance)].value)
            case.identifiers = CaseIdentifiers(
                patient_name=f"Synthia Testpatient{n}", nhs_number=f"{9000000000 + n}",
                hospital_number=f"H{n:07d}", date_of_birth=date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                accession_number=f"ACC{n:08d}", examination_date=starts.date() - timedelta(days=40 + n % 200),
                reporter_name=f"Dr Reporter{n}", referrer_name=f"Dr Referrer{n}")
            db.session.add(case)
            made.append(case)
        db.session.flush()
        for position, case in enumerate(made):
            review.approve(case, chair, redact=[], keep=[], seen=review.fingerprint(case, images=False))
            if position < cases:
                case.status = CaseStatus.PRESENTED
                case.presented_seconds = 420 + position % 7 * 60
                if long_texts:
                    case.discussion_notes = "\n\n".join(self.paragraph(DISCUSSION, 4, 6) for _ in range(2))
                    case.learning_points = "\n".join(f"- {line}" for line in rng.sample(LEARNING, 4))
                else:
                    case.discussion_notes = self.paragraph(DISCUSSION, 2, 4)
                    case.learning_points = "\n".join(f"- {line}" for line in rng.sample(LEARNING, 2))
        db.session.flush()

        presented = made[:cases]
        for position, case in enumerate(presented):
            if position % 3 == 0:
                self.poll(meeting, case, PollKind.CHOICE, rng.randint(40, 90))
            if position % 10 == 5:
                self.poll(meeting, case, PollKind.FREE_TEXT, 12)

        self.register(meeting, site, present, apologies)
        self.actions(meeting, site, presented, members, action_count)

        minutes = minutes_service.minutes_of(meeting)
        for case in presented[::7]:
            case.minutes_summary = f"{case.clinical_question}\nEdited by the chair: {case.outcome_text}"
        minutes.any_other_business = ("The next audit round starts next month. Volunteers to contact the chair.\n"
                                      "Thanks to the reporting radiographers for presenting three of the cases.")
        db.session.commit()
        return meeting.id, chair.id

    def poll(self, meeting: Meeting, case: Case, kind: str, votes: int) -> None:
        poll = Poll(meeting_id=meeting.id, case_id=case.id, kind=kind, is_open=False, results_shown=True,
                    question="What kind of discrepancy was this?" if kind == PollKind.CHOICE
                    else "What would have helped you see it?",
                    options=list(POLL_OPTIONS) if kind == PollKind.CHOICE else [], closed_at=utcnow())
        db.session.add(poll)
        db.session.flush()
        rows = [{"poll_id": poll.id, "device": hashlib.sha256(f"{poll.id}-{v}".encode()).hexdigest(),
                 "choice": self.rng.randrange(len(POLL_OPTIONS)) if kind == PollKind.CHOICE else None,
                 "answer": "" if kind == PollKind.CHOICE else FREE_ANSWERS[v % len(FREE_ANSWERS)],
                 "created_at": utcnow()} for v in range(votes)]
        db.session.execute(insert(PollVote.__table__), rows)

    def register(self, meeting: Meeting, site: Site, present: int, apologies: int) -> None:
        members = self.members[site.id]
        for number in range(present + apologies):
            status = AttendanceStatus.PRESENT if number < present else AttendanceStatus.APOLOGIES
            if number < len(members) - 1:  # most of the site's members, then guests from everywhere
                user = members[number + 1]
                entry = Attendance(meeting_id=meeting.id, user_id=user.id, person_key=person_key(user.id, None),
                                   name=user.name, email=user.email, profession=user.profession,
                                   professional_body=user.professional_body,
                                   registration_number=user.registration_number, site_name=site.name, status=status)
            else:
                n = next(self.numbers)
                email = f"guest.{n:05d}@bench.example.org"
                entry = Attendance(meeting_id=meeting.id, person_key=person_key(None, email),
                                   name=f"{FIRST_NAMES[n % 20]} {LAST_NAMES[n % 16]}-Guest {n:05d}", email=email,
                                   profession=PROFESSIONS[n % len(PROFESSIONS)], professional_body="GMC",
                                   registration_number=f"{8000000 + n:07d}",
                                   site_name=SITE_NAMES[n % len(SITE_NAMES)], status=status)
            db.session.add(entry)
        db.session.flush()

    def actions(self, meeting: Meeting, site: Site, presented: list[Case], members: list[User], count: int) -> None:
        rng, statuses = self.rng, list(ActionStatus)
        for number in range(count):
            status = statuses[number % len(statuses)]
            about = presented[number % len(presented)] if number % 3 and presented else None
            other = self.sites[(self.sites.index(site) + 1 + number % 3) % len(self.sites)]
            sites = [site, other] if number % 4 == 0 else [site]
            owner = members[number % len(members)] if number % 5 else None
            action = Action(
                meeting=meeting, case_id=about.id if about else None, owner=owner,
                owner_name="" if owner else f"Named Person {number}", description=ACTIONS[number % len(ACTIONS)],
                due_on=date.today() + timedelta(days=rng.randint(-30, 120)),
                priority=list(ActionPriority)[number % len(ActionPriority)], status=status, sites=sites,
                closed_at=utcnow() if status in (ActionStatus.DONE, ActionStatus.CANCELLED) else None,
                history=[ActionEvent(by_name="Bench chair", to_status=status)])
            db.session.add(action)
        db.session.flush()


# --- measuring -------------------------------------------------------------------------------------

def fresh(meeting_id: int) -> Meeting:
    """The meeting on a new session, as a request would start: nothing already in the identity map."""
    db.session.remove()
    return db.session.get(Meeting, meeting_id)


def template_html(content) -> str:
    """The HTML `service.render` has `render_pdf` make for a draft, with the same context."""
    meeting = content.meeting
    return render_template("pdf/minutes.html", title=f"Minutes: {meeting.title}", running_header=meeting.title,
                           content=content, version=None, draft=True, now=utcnow(), source=actions.source_label)


def weasyprint_alone(html: str) -> bytes:
    """What meetings/pdf.py `render_pdf` does after the template, and nothing else: with the cycle collector
    paused for the render as it is there, so the ratio measures our work around WeasyPrint, not GC policy."""
    fetcher = OwnFilesFetcher([PDF_TEMPLATES, Path(current_app.static_folder)])
    document = HTML(string=html, base_url=PDF_TEMPLATES.as_uri() + "/", url_fetcher=fetcher)
    gc.disable()
    try:
        return document.write_pdf(stylesheets=[_print_stylesheet()], pdf_variant="pdf/ua-1", pdf_tags=True)
    finally:
        gc.enable()


def measure_meeting(statements: Statements, meeting_id: int, rounds: int, warm_up: bool) -> dict:
    """Whole draft, WeasyPrint alone, assemble alone and template alone, side by side in every round."""
    meeting = fresh(meeting_id)
    content = assemble(meeting, minutes_service.minutes_of(meeting))
    shape = {"sections": len(content.sections), "needs_review": len(content.needs_review),
             "not_reached": content.not_reached, "present": content.attendance.present,
             "apologies": content.attendance.apologies_count, "actions": len(content.actions),
             "polls": sum(len(s.polls) for s in content.sections)}
    html = template_html(content)
    latest = {"content": content}

    def timed(work, meeting_id: int | None = None):
        """Wall and CPU seconds of `work(meeting)`, its result and the statements it sent."""
        meeting = fresh(meeting_id) if meeting_id is not None else None
        gc.collect()  # not the garbage of the measure before: each pays for its own
        with statements as counted:
            wall, cpu = time.perf_counter(), time.process_time()
            made = work(meeting)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return wall, cpu, made, counted.seen

    def assembled(meeting):
        latest["content"] = assemble(meeting, minutes_service.minutes_of(meeting))

    measures = {
        "whole": lambda: timed(minutes_service.draft_pdf, meeting_id),
        "weasyprint": lambda: timed(lambda _: weasyprint_alone(html)),
        "assemble": lambda: timed(assembled, meeting_id),
        # on the content the assemble just before made, its session still open (as in draft_pdf)
        "template": lambda: timed(lambda _: template_html(latest["content"])),
    }
    # one whole draft warms what the others use too: fonts, print.css, the template, the statement cache
    warm = {"whole": round(measures["whole"]()[0], 3)} if warm_up else {}
    wall: dict[str, list[float]] = {name: [] for name in measures}
    cpu: dict[str, list[float]] = {name: [] for name in measures}
    ratios, cpu_ratios, outputs, seen = [], [], {}, {}
    for number in range(rounds):
        # whole and weasyprint swap places every round, so drift on the machine falls on both alike
        pair = ("whole", "weasyprint") if number % 2 == 0 else ("weasyprint", "whole")
        for name in (*pair, "assemble", "template"):
            taken, used, made, seen[name] = measures[name]()
            wall[name].append(taken)
            cpu[name].append(used)
            if isinstance(made, bytes):
                outputs[name] = made
        ratios.append(wall["whole"][-1] / wall["weasyprint"][-1])
        cpu_ratios.append(cpu["whole"][-1] / cpu["weasyprint"][-1])
    db.session.remove()

    ratio = statistics.median(ratios)
    ratio_of_medians = statistics.median(wall["whole"]) / statistics.median(wall["weasyprint"])
    cpu_ratio = statistics.median(cpu_ratios)
    return {
        **{name: spread(values) for name, values in wall.items()},
        "cpu_median_s": {name: round(statistics.median(values), 3) for name, values in cpu.items()},
        "warm_up_s": warm,
        "ratio": round(ratio, 3),
        "overhead_percent": round((ratio - 1) * 100, 1),
        "ratio_of_medians": round(ratio_of_medians, 3),
        "overhead_percent_of_medians": round((ratio_of_medians - 1) * 100, 1),
        "cpu_ratio": round(cpu_ratio, 3),
        "cpu_overhead_percent": round((cpu_ratio - 1) * 100, 1),
        "round_ratios": [round(r, 3) for r in ratios],
        "pages": pages(outputs["whole"]),
        "pages_weasyprint_alone": pages(outputs["weasyprint"]),
        "bytes": len(outputs["whole"]),
        "html_chars": len(html),
        "queries": {"whole": len(seen["whole"]), "assemble": len(seen["assemble"]),
                    "template": len(seen["template"])},
        "shape": shape,
        "_sql": seen["whole"],
    }


def measure_publish(statements: Statements, meeting_id: int, chair_id: int, runs: int) -> dict:
    """publish(meeting, chair, "") with its flush, rolled back each time so it publishes version 1 again."""
    times, counts, result, seen = [], [], {}, []
    for number in range(runs + 1):  # the first is a warm-up
        meeting = fresh(meeting_id)
        chair = db.session.get(User, chair_id)
        with statements as counted:
            started = time.perf_counter()
            version = minutes_service.publish(meeting, chair, "")
            elapsed = time.perf_counter() - started
        if number == 0:
            result = {"version": version.number, "pages": pages(version.pdf), "bytes": version.byte_size,
                      "deliveries_queued": db.session.scalar(select(func.count()).select_from(Delivery)),
                      "warm_up_s": round(elapsed, 3)}
        else:
            times.append(elapsed)
            counts.append(len(counted.seen))
            seen = counted.seen
        db.session.rollback()
    db.session.remove()
    return {**spread(times), **result, "queries": counts[-1], "_sql": seen}


def run_database(name: str, url: str, args, with_stress: bool) -> dict:
    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "IDENTIFIER_KEY": IDENTIFIER_KEY, "RATELIMIT_ENABLED": False})
    seeder = Seeder()
    result: dict = {}
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        with app.test_request_context():
            seeder.people()
            typical = seeder.meeting(0, "Northgate REAL meeting (bench, typical)", cases=args.cases, not_reached=2,
                                     present=args.attendees, apologies=8, action_count=args.actions,
                                     long_texts=False, days_ago=2)
            stress = None if not with_stress else seeder.meeting(
                1, "Southmead REAL meeting (bench, stress)", cases=args.stress_cases, not_reached=5,
                present=args.stress_attendees, apologies=30, action_count=args.stress_actions, long_texts=True,
                days_ago=3)
        seeded = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        db.session.remove()
        statements = Statements(db.engine)
        with app.test_request_context(base_url=app.config["BASE_URL"]):
            result["typical"] = measure_meeting(statements, typical[0], args.repeats, warm_up=True)
            result["publish"] = measure_publish(statements, typical[0], typical[1], args.publish_repeats)
            rss_typical = peak_rss_mb()
            if stress is not None:
                # fonts, print.css and templates are warm from the typical meeting's warm-up
                result["stress"] = measure_meeting(statements, stress[0], args.stress_repeats, warm_up=False)
        db.engine.dispose()
    finished = time.perf_counter()
    result["peak_rss_mb"] = {"after_typical": rss_typical, "end": peak_rss_mb()}
    result["seconds"] = {"migrate": round(migrated - started, 1), "seed": round(seeded - migrated, 1),
                         "total": round(finished - started, 1)}
    return result


def fresh_own_postgres() -> str:
    """An empty database of this benchmark's own (dropped again by `drop_own_postgres`)."""
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    engine.dispose()
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def drop_own_postgres() -> None:
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--attendees", type=int, default=150)
    parser.add_argument("--actions", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds on the typical meeting")
    parser.add_argument("--publish-repeats", type=int, default=3)
    parser.add_argument("--stress-cases", type=int, default=140)
    parser.add_argument("--stress-attendees", type=int, default=300)
    parser.add_argument("--stress-actions", type=int, default=420)
    parser.add_argument("--stress-repeats", type=int, default=3, help="timed rounds on the stress meeting")
    parser.add_argument("--stress-on", choices=["sqlite", "postgresql", "all", "none"], default="sqlite",
                        help="the engines the stress meeting is measured on (its rendering does not depend on "
                             "the engine, and it takes a minute or more)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of one typical draft")
    args = parser.parse_args()
    started = time.perf_counter()

    workdir = Path(tempfile.mkdtemp(prefix="lightbox-minutes-bench-"))
    databases = {}
    if args.only != "postgresql":
        databases["sqlite"] = f"sqlite:///{workdir / 'bench.db'}"
    if args.only != "sqlite":
        if postgres_answers():
            databases["postgresql"] = None  # made just before it is measured
        else:
            print("PostgreSQL does not answer on 127.0.0.1:5432: measuring SQLite only")

    figures: dict = {}
    try:
        for name, url in databases.items():
            if name == "postgresql":
                url = fresh_own_postgres()
            try:
                figures[name] = run_database(name, url, args, args.stress_on in (name, "all"))
            finally:
                if name == "postgresql":
                    drop_own_postgres()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    sql = {name: {kind: figures[name][kind].pop("_sql") for kind in ("typical", "stress", "publish")
                  if kind in figures[name]} for name in figures}
    names = list(figures)
    first = figures[names[0]]
    shape = first["typical"]["shape"]
    print(f"typical meeting: {shape['sections']} presented cases ({shape['not_reached']} not reached, "
          f"{shape['polls']} polls), {shape['present']} present and {shape['apologies']} apologies, "
          f"{shape['actions']} actions; {args.repeats} rounds after a warm-up")
    if "stress" in first:
        s = first["stress"]["shape"]
        print(f"stress meeting: {s['sections']} presented cases with long texts ({s['polls']} polls), "
              f"{s['present']} present and {s['apologies']} apologies, {s['actions']} actions; "
              f"{args.stress_repeats} rounds (warm from the typical meeting's)")
    print(f"{'engine':<11}{'meeting':<9}{'measure':<12}{'median s':>9}{'p95 s':>8}{'queries':>9}{'pages':>7}")
    for n in names:
        for kind in ("typical", "stress"):
            if kind not in figures[n]:
                continue
            f = figures[n][kind]
            for measure in ("whole", "weasyprint", "assemble", "template"):
                print(f"{n:<11}{kind:<9}{measure:<12}{f[measure]['median_s']:>9}{f[measure]['p95_s']:>8}"
                      f"{f['queries'].get(measure, 0):>9}"
                      f"{f['pages'] if measure == 'whole' else f['pages_weasyprint_alone'] if measure == 'weasyprint' else '':>7}")
        p = figures[n]["publish"]
        print(f"{n:<11}{'typical':<9}{'publish':<12}{p['median_s']:>9}{p['p95_s']:>8}{p['queries']:>9}{p['pages']:>7}"
              f"   ({p['deliveries_queued']} deliveries queued, rolled back)")
    for n in names:
        for kind in ("typical", "stress"):
            if kind in figures[n]:
                f = figures[n][kind]
                print(f"{n} {kind}: whole / WeasyPrint alone = {f['ratio']} (median of the rounds' ratios), "
                      f"overhead {f['overhead_percent']}%; ratio of medians {f['ratio_of_medians']} "
                      f"({f['overhead_percent_of_medians']}%); in CPU time {f['cpu_ratio']} "
                      f"({f['cpu_overhead_percent']}%); rounds {f['round_ratios']}")
    for n in names:
        for kind, statements in sql[n].items():
            repeated = repeated_statements(statements)
            for count, statement in repeated[:4]:
                print(f"  {n} {kind}{'' if kind == 'publish' else ' draft'}: one statement sent {count} times: "
                      f"{statement[:200]}")
        if args.show_sql and "typical" in sql[n]:
            print(f"--- {n} typical draft: {len(sql[n]['typical'])} statements ---")
            for statement in sql[n]["typical"]:
                print("   ", " ".join(statement.split())[:300])
    for n in names:
        print(f"{n}: seconds {figures[n]['seconds']}, peak RSS MB {figures[n]['peak_rss_mb']}")

    targets = {}
    for n in names:
        f = figures[n]
        targets[n] = {"typical_p95_under_2_s": f["typical"]["whole"]["p95_s"] < TYPICAL_TARGET_SECONDS,
                      "typical_overhead_under_15_percent": f["typical"]["overhead_percent"] < OVERHEAD_TARGET_PERCENT}
        if "stress" in f:
            targets[n]["stress_p95_under_10_s"] = f["stress"]["whole"]["p95_s"] < STRESS_TARGET_SECONDS
            targets[n]["stress_overhead_under_15_percent"] = f["stress"]["overhead_percent"] < OVERHEAD_TARGET_PERCENT
        f["within_target"] = targets[n]
    for n in names:
        print(f"target {n}: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets[n].items()))
    print(f"run took {time.perf_counter() - started:.1f} s")
    print(json.dumps({**figures, "targets": {"typical_seconds": TYPICAL_TARGET_SECONDS,
                                             "stress_seconds": STRESS_TARGET_SECONDS,
                                             "stress_pages_aim": STRESS_PAGES_AIM,
                                             "overhead_percent": OVERHEAD_TARGET_PERCENT},
                      "repeats": {"typical": args.repeats, "stress": args.stress_repeats,
                                  "publish": args.publish_repeats}, "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
