"""Governance: scorecards counted by hand, period boundaries, charts, the case library, the incident export
and the annual report."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from werkzeug.datastructures import MultiDict

from meetings.extensions import db
from meetings.governance import scorecard
from meetings.governance.period import Period, PeriodError
from meetings.models import (
    Attendance, AttendanceStatus, AuditEvent, Case, CaseIdentifiers, CaseStatus, LibraryEntry, Meeting, MeetingStatus,
    PathwayStage, Profession, Role, person_key,
)
from tests.conftest import approve_for_room, signed_in
from tests.factories import make_action, make_case, make_meeting, make_site, make_user

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 11, 22)
SVG = "{http://www.w3.org/2000/svg}"
PATIENT = {"patient_name": "Zebedee Quartermaine", "nhs_number": "9990001234", "hospital_number": "FGH7781234"}


def at(year, month, day, hour=12, minute=30) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def _meeting(site, chair, starts, status=MeetingStatus.ENDED, **fields) -> Meeting:
    meeting = Meeting(title=fields.pop("title", f"REAL meeting {starts:%d %b %Y %H:%M}"), site=site, chair=chair,
                      starts_at=starts, ends_at=starts + timedelta(minutes=90), status=status, **fields)
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _sign(meeting, user=None, name="A guest", status=AttendanceStatus.PRESENT):
    db.session.add(Attendance(
        meeting=meeting, user_id=user.id if user else None, name=user.name if user else name,
        person_key=person_key(user.id if user else None, None if user else f"{name}@guest.example.org"),
        profession=user.profession if user else Profession.OTHER, status=status))


@pytest.fixture
def department(db):
    """A site's 2025, counted by hand in the tests below.

    Reporting staff: the chair (consultant) and Yusuf (trainee) all year; Zara (reporting radiographer)
    from June. Rhys is a radiographer (not reporting staff); Ivo left (inactive); Orla works elsewhere.
    """
    site = make_site(name="Fernhill General Hospital", code="FGH")
    other = make_site(name="Brookside Hospital", code="BSH")
    long_ago = at(2020, 1, 1)
    chair = make_user(Role.CHAIR, home_site=site, name="Dr Ada Quill", profession=Profession.CONSULTANT_RADIOLOGIST,
                      created_at=long_ago)
    yusuf = make_user(home_site=site, name="Dr Yusuf Penrose", profession=Profession.TRAINEE_RADIOLOGIST,
                      created_at=long_ago)
    zara = make_user(home_site=site, name="Zara Whitlock", profession=Profession.REPORTING_RADIOGRAPHER,
                     created_at=at(2025, 6, 1))
    rhys = make_user(home_site=site, name="Rhys Oddie", profession=Profession.RADIOGRAPHER, created_at=long_ago)
    make_user(home_site=site, name="Dr Ivo Left", profession=Profession.CONSULTANT_RADIOLOGIST, active=False,
              created_at=long_ago)
    orla = make_user(home_site=other, name="Dr Orla Elsewhere", profession=Profession.CONSULTANT_RADIOLOGIST,
                     created_at=long_ago)
    other_chair = make_user(Role.CHAIR, home_site=other, created_at=long_ago)

    before = _meeting(site, chair, at(2024, 12, 31, 23, 30))       # the evening before: not in 2025
    first = _meeting(site, chair, at(2025, 1, 1, 0, 15))           # the year's first quarter-hour
    may = _meeting(site, chair, at(2025, 5, 6))                    # British Summer Time
    last = _meeting(site, chair, at(2025, 12, 31, 23, 45))         # the year's last quarter-hour
    after = _meeting(site, chair, at(2026, 1, 1, 0, 5))            # not in 2025
    _meeting(site, chair, at(2025, 7, 1), status=MeetingStatus.CANCELLED)
    _meeting(site, chair, at(2025, 9, 2), status=MeetingStatus.SCHEDULED)
    regional = _meeting(None, chair, at(2025, 8, 1), scope="regional")
    elsewhere = _meeting(other, other_chair, at(2025, 3, 4))

    for user in (chair, yusuf, rhys):
        _sign(first, user)
    _sign(first)                                                   # a guest
    _sign(may, chair)
    _sign(may, yusuf, status=AttendanceStatus.APOLOGIES)
    for user in (chair, zara, orla):
        _sign(last, user)
    for meeting in (before, after, regional, elsewhere):
        _sign(meeting, yusuf)

    def case(meeting, submitter, created, **fields):
        return make_case(submitter, meeting, PATIENT, status=fields.pop("status", CaseStatus.PRESENTED),
                         created_at=created, learning_points=fields.pop("learning_points", "Look at the lung apices."),
                         **fields)

    cases = SimpleNamespace(
        a=case(first, chair, at(2025, 1, 1, 0, 1), kind="discrepancy", modality="CT", discrepancy_type="perceptual",
               learning_points="Review the lung windows on every CT, Zebedee Quartermaine's too."),
        b=case(first, rhys, at(2024, 12, 1), kind="near_miss", modality="MR", queue_position=1),
        c=case(may, chair, at(2024, 11, 1), kind="great_pickup", modality="XR"),
        d=case(may, chair, at(2025, 4, 1), status=CaseStatus.SCHEDULED, queue_position=1),
        e=case(last, zara, at(2025, 12, 31, 23, 59), kind="discrepancy", modality="CT",
               discrepancy_type="satisfaction_of_search", great_pickup=True),
        f=case(before, chair, at(2024, 12, 1), kind="discrepancy", modality="US"),
        g=case(None, yusuf, at(2026, 1, 1, 0, 1)),
    )

    def action(meeting, created, due, status="open", closed=None, **fields):
        return make_action(meeting, chair, created_at=created, due_on=due, status=status, closed_at=closed, **fields)

    actions = SimpleNamespace(
        a1=action(first, at(2025, 1, 1, 1), date(2025, 2, 1), "done", at(2025, 1, 11, 1)),        # 10 days
        a2=action(may, at(2025, 5, 6, 13), date(2025, 6, 1), "done", at(2025, 6, 5, 13)),         # 30 days
        a3=action(may, at(2025, 5, 6, 13), date(2025, 7, 1)),                                     # overdue
        a4=action(last, at(2025, 12, 31, 23, 50), date(2026, 2, 1)),                              # not yet due
        a5=action(before, at(2024, 12, 31, 23, 40), date(2025, 1, 15), "done", at(2026, 1, 10)),  # overdue at the end
        a6=action(may, at(2025, 5, 6, 13), date(2025, 6, 1), "cancelled", at(2025, 5, 10)),
        a7=action(elsewhere, at(2025, 3, 4, 13), date(2025, 4, 1)),                               # another site's
        a8=action(regional, at(2025, 8, 1, 13), date(2025, 9, 1), all_sites=True),               # every site's
    )
    db.session.commit()
    return SimpleNamespace(site=site, other=other, chair=chair, yusuf=yusuf, zara=zara, rhys=rhys, orla=orla,
                           meetings=SimpleNamespace(first=first, may=may, last=last, regional=regional),
                           cases=cases, actions=actions)


def test_a_sites_year_counted_by_hand(department):
    card = scorecard.for_site(department.site, Period.year(2025), TODAY)
    assert [m.meeting_id for m in card.meetings] == [department.meetings.first.id, department.meetings.may.id,
                                                    department.meetings.last.id]
    assert card.meetings_held == 3 and card.meetings_expected == 6
    assert [(m.present, m.reporters_present, m.reporters) for m in card.meetings] == [(4, 2, 2), (1, 1, 2), (3, 2, 3)]
    assert card.meetings_meeting_attendance == 3
    assert round(card.mean_attendance_rate, 4) == round((1 + 0.5 + 2 / 3) / 3, 4)

    people = {person.name: person for person in card.people}
    assert set(people) == {"Dr Ada Quill", "Dr Yusuf Penrose", "Zara Whitlock"}
    assert (people["Dr Ada Quill"].meetings_attended, people["Dr Ada Quill"].meetings_held) == (3, 3)
    assert (people["Dr Yusuf Penrose"].meetings_attended, people["Dr Yusuf Penrose"].meetings_held) == (1, 3)
    assert (people["Zara Whitlock"].meetings_attended, people["Zara Whitlock"].meetings_held) == (1, 1)
    assert card.reporters_meeting_attendance == 2
    assert {name: person.cases_submitted for name, person in people.items()} == {
        "Dr Ada Quill": 2, "Dr Yusuf Penrose": 0, "Zara Whitlock": 1}
    assert card.reporters_meeting_cases == 2 and card.cases_submitted == 3

    assert card.cases_presented == 4 and card.great_pickups == 2
    assert {(c.label, c.count) for c in card.by_kind} == {("Discrepancy or error", 2), ("Near miss", 1),
                                                          ("Great pickup or good spot", 1)}
    assert {(c.label, c.count) for c in card.by_modality} == {("CT", 2), ("MR", 1), ("XR", 1)}
    assert {(c.label, c.count) for c in card.by_discrepancy_type} == {
        ("Perceptual (under-reading)", 1), ("Satisfaction of search", 1), ("Not classified", 1)}

    assert (card.actions.opened, card.actions.closed, card.actions.overdue) == (6, 2, 3)
    assert card.actions.median_days_to_close == 20 and card.actions.as_of == date(2025, 12, 31)


def test_the_network_counts_every_site_and_its_regional_meetings(department):
    card = scorecard.for_network(Period.year(2025), TODAY)
    assert card.meetings_held == 5 and card.regional_meetings_held == 1
    assert card.meetings_with_a_rate == 4  # nobody is expected at a regional meeting
    rows = {row.name: row for row in card.sites}
    assert rows["Fernhill General Hospital"].meetings_held == 3
    assert rows["Fernhill General Hospital"].reporters_meeting_attendance == 2
    assert rows["Brookside Hospital"].meetings_held == 1 and rows["Brookside Hospital"].reporters == 1
    # The network action counts once for each site it applies to; the other site's action only there.
    assert rows["Fernhill General Hospital"].actions_overdue == 3 and rows["Brookside Hospital"].actions_overdue == 2
    assert card.actions.opened == 7 and card.cases_presented == 4


def test_periods_read_from_the_query_string():
    def period(**args):
        return Period.from_args(MultiDict(args), TODAY)

    assert period(year="2025") == Period(date(2025, 1, 1), date(2025, 12, 31)) and period(year="2025").label == "2025"
    assert period() == Period(date(2025, 11, 23), TODAY) and period().days == 365
    assert period(**{"from": "2026-04-01", "to": "2026-06-30"}).label == "1 Apr 2026 to 30 Jun 2026"
    assert period(**{"from": "2026-04-01"}).end == TODAY
    for bad, message in (({"year": "1066"}, "Choose a year"), ({"year": "twenty"}, "Choose a year"),
                         ({"from": "2026-02-30"}, "real dates"), ({"from": "2026-05-01", "to": "2026-04-01"},
                                                                  "same as or after")):
        with pytest.raises(PeriodError, match=message):
            period(**bad)
    quarter = period(**{"from": "2026-01-01", "to": "2026-03-31"})
    assert quarter.expected(6) == 1 and Period.year(2024).expected(6) == 6


def _svgs(body: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", body, flags=re.S)]


def test_the_scorecard_page_draws_each_chart_with_its_table_and_text(app, department):
    chair = signed_in(app.test_client(), department.chair)
    response = chair.get(f"/governance/sites/{department.site.id}?year=2025")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>3</strong> of 6 expected" in body and "Below target" in body
    assert "<strong>2</strong> of 3" in body  # reporting staff at half the meetings or more
    charts = _svgs(body)
    assert len(charts) == 5
    for chart in charts:
        assert chart.get("role") == "img"
        title_id, desc_id = chart.get("aria-labelledby"), chart.get("aria-describedby")
        title, desc = chart.find(f"{SVG}title"), chart.find(f"{SVG}desc")
        assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
        section = body[body.index(f'id="{title_id.removesuffix("-title")}-heading"'):]
        assert "<table" in section[:section.index("</section>")], title.text
    attendance = next(chart for chart in charts if chart.get("aria-labelledby").startswith("attendance"))
    assert "Reporting staff attendance reached 50% at 3 of 3 meetings; the mean was 72%." in \
        attendance.find(f"{SVG}desc").text
    assert "Dr Yusuf Penrose" in body and "Zara Whitlock" in body  # the chair sees each reporter

    yusuf = signed_in(app.test_client(), department.yusuf).get(
        f"/governance/sites/{department.site.id}?year=2025").get_data(as_text=True)
    assert "Your part" in yusuf and "1 of 3 (33%)" in yusuf and "Dr Ada Quill" not in yusuf
    assert "Download the annual report" not in yusuf
    assert signed_in(app.test_client(), department.orla).get(f"/governance/sites/{department.site.id}").status_code == 404


def test_a_period_that_cannot_be_used_says_why_and_keeps_what_was_typed(app, department):
    response = signed_in(app.test_client(), department.chair).get(
        f"/governance/sites/{department.site.id}?from=2025-06-01&to=2025-05-01")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The end date must be the same as or after the start date" in body
    assert 'value="2025-06-01"' in body and 'value="2025-05-01"' in body and "Showing the last twelve months" in body


def test_the_network_page_is_for_those_who_run_the_network(app, department):
    regional = make_user(Role.REGIONAL_CHAIR, home_site=department.other)
    db.session.commit()
    body = signed_in(app.test_client(), regional).get("/governance/network?year=2025").get_data(as_text=True)
    assert "Governance: the network" in body and "Fernhill General Hospital" in body
    assert "5</strong> across the network, 1 of them regional; each site is expected to hold 6" in body
    assert len(_svgs(body)) == 6
    assert "Dr Yusuf Penrose" not in body
    assert signed_in(app.test_client(), department.chair).get("/governance/network").status_code == 403


# --- the case library --------------------------------------------------------------------------

@pytest.fixture
def presented(app, db):
    """A case presented at an ended meeting and approved: in the library. Its texts name the patient."""
    site = make_site(name="Fernhill General Hospital", code="FGH")
    chair = make_user(Role.CHAIR, home_site=site)
    meeting = make_meeting(chair=chair, status=MeetingStatus.ENDED, days_ahead=-3, title="Fernhill REAL meeting")
    case = make_case(chair, meeting, PATIENT, status=CaseStatus.PRESENTED, body_region="Chest",
                     clinical_question="Zebedee Quartermaine, cough for six weeks. ?Mass",
                     learning_points="Check the lung windows on every CT chest, as for Mr Quartermaine.",
                     pathway_stage=PathwayStage.REPORTING)
    db.session.commit()
    client = signed_in(app.test_client(), chair)
    assert approve_for_room(client, case).status_code == 303
    return SimpleNamespace(site=site, chair=chair, client=client, meeting=meeting, case=db.session.get(Case, case.id))


def test_a_presented_case_joins_the_library_anonymised(app, presented):
    entry = db.session.get(LibraryEntry, presented.case.id)
    assert entry is not None and entry.title == "CT chest"
    assert "Quartermaine" not in entry.search_text and "Quartermaine" not in entry.learning_points
    member = signed_in(app.test_client(), make_user(home_site=presented.site))
    db.session.commit()
    page = member.get("/library/").get_data(as_text=True)
    assert "CT chest" in page and "1 case." in page
    # The search reads only what the room saw: a name the chair took out finds nothing.
    assert "0 cases match" in member.get("/library/?q=quartermaine").get_data(as_text=True)
    assert "1 case matches" in member.get("/library/?q=lung+windows").get_data(as_text=True)
    opened = member.get(f"/library/{entry.case_id}").get_data(as_text=True)
    assert "Check the lung windows on every CT chest" in opened and "Quartermaine" not in opened
    assert "FGH7781234" not in opened and "Fernhill" not in opened

    outsider = signed_in(app.test_client(), make_user())
    db.session.commit()
    assert "0 cases." in outsider.get("/library/").get_data(as_text=True)
    assert outsider.get(f"/library/{entry.case_id}").status_code == 404


def test_library_filters(app, presented):
    chair, meeting = presented.chair, presented.meeting
    other = make_case(chair, meeting, PATIENT, status=CaseStatus.PRESENTED, kind="great_pickup", modality="MR",
                      body_region="Left wrist", queue_position=1, learning_points="Scaphoid views when it hurts.")
    db.session.commit()
    assert approve_for_room(presented.client, other).status_code == 303
    year = meeting.starts_at.astimezone(LONDON).year

    def found(**args) -> int:
        response = presented.client.get("/library/", query_string=args, headers={"HX-Request": "true",
                                                                                "HX-Target": "library-results"})
        assert response.status_code == 200 and b"<html" not in response.data
        return int(re.search(r"(\d+) cases?", response.get_data(as_text=True)).group(1))

    assert found() == 2
    assert found(modality="MR") == 1 and found(modality="US") == 0
    assert found(body_region="left wrist") == 1 and found(body_region="chest") == 1
    assert found(kind="great_pickup") == 1 and found(kind="near_miss") == 0
    assert found(year=year) == 2 and found(year=year - 1) == 0
    assert found(q="scaphoid", modality="MR") == 1 and found(q="scaphoid", modality="CT") == 0
    assert found(q="100%_") == 0 and found(modality="<script>") == 2  # not understood: left out
    page = presented.client.get("/library/").get_data(as_text=True)
    assert '<option value="left wrist">Left wrist</option>' in page


def test_editing_the_minutes_updates_the_library(app, presented):
    case = presented.case
    response = presented.client.post(
        f"/meetings/{presented.meeting.id}/minutes/cases/{case.id}",
        data={f"case{case.id}-summary": "", f"case{case.id}-discussion": "",
              f"case{case.id}-learning_points": "Compare with the prior CT, as Zebedee Quartermaine's showed."})
    assert response.status_code == 303
    entry = db.session.get(LibraryEntry, case.id)
    db.session.refresh(entry)
    assert entry.learning_points.startswith("Compare with the prior CT") and "Quartermaine" not in entry.learning_points


def test_ending_a_meeting_puts_its_presented_cases_in_the_library(app, db):
    chair = make_user(Role.CHAIR)
    meeting = make_meeting(chair=chair, days_ahead=0)
    case = make_case(chair, meeting, PATIENT)
    db.session.commit()
    client = signed_in(app.test_client(), chair)
    assert approve_for_room(client, case).status_code == 303
    assert db.session.get(LibraryEntry, case.id) is None
    client.post(f"/meetings/{meeting.id}/live/start")
    assert db.session.get(LibraryEntry, case.id) is None
    client.post(f"/meetings/{meeting.id}/live/end")
    db.session.expire_all()
    assert db.session.get(LibraryEntry, case.id).title == "CT chest"


# --- the incident export and the annual report --------------------------------------------------

def test_the_chair_sets_the_pathway_stage_at_triage(app, db):
    chair = make_user(Role.CHAIR)
    member = make_user(home_site=chair.home_site)
    case = make_case(member, None, PATIENT, status=CaseStatus.SUBMITTED)
    db.session.commit()
    client = signed_in(app.test_client(), chair)
    triage = client.get("/cases/triage").get_data(as_text=True)
    assert "Pathway stage, for incident reporting" in triage and "Communication of results" in triage
    refused = client.post(f"/cases/{case.id}/accept", data={f"c{case.id}-meeting_id": 0,
                                                           f"c{case.id}-pathway_stage": "sabotage"})
    assert refused.status_code == 422 and "Not a valid choice" in refused.get_data(as_text=True)
    client.post(f"/cases/{case.id}/accept", data={f"c{case.id}-meeting_id": 0, f"c{case.id}-pathway_stage": "justification"})
    db.session.refresh(case)
    assert case.status == CaseStatus.ACCEPTED and case.pathway_stage == "justification"
    assert "Justification" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_the_incident_export_has_the_fields_and_no_identifiers(app, presented):
    teaching = make_case(presented.chair, presented.meeting, PATIENT, status=CaseStatus.PRESENTED, kind="educational",
                         queue_position=1)
    db.session.commit()
    approve_for_room(presented.client, teaching)
    year = presented.meeting.starts_at.astimezone(LONDON).year
    response = presented.client.get(f"/governance/sites/{presented.site.id}/incidents.csv?year={year}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"incidents-fgh-{year}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Lightbox reference", "Date discussed", "Site", "Kind", "Pathway stage", "Modality",
                       "Body region", "Discrepancy type", "Clinical significance", "How it came to light",
                       "Description", "Learning points"]
    assert len(rows) == 2  # the teaching case is not an incident
    row = dict(zip(rows[0], rows[1]))
    assert row["Lightbox reference"] == f"C{presented.case.id}" and row["Pathway stage"] == "Reporting"
    assert row["Kind"] == "Discrepancy or error" and row["Modality"] == "CT" and row["Site"] == "Fernhill General Hospital"
    assert "cough for six weeks" in row["Description"] and "Check the lung windows" in row["Learning points"]
    text = response.get_data(as_text=True)
    assert "Quartermaine" not in text and "9990001234" not in text and "FGH7781234" not in text
    assert db.session.query(AuditEvent).filter_by(action="governance.incidents_exported").count() == 1
    member = signed_in(app.test_client(), make_user(home_site=presented.site))
    db.session.commit()
    assert member.get(f"/governance/sites/{presented.site.id}/incidents.csv").status_code == 404


def test_the_annual_report_from_the_command_line_and_the_button(app, department, tmp_path):
    chair = signed_in(app.test_client(), department.chair)
    for case in (department.cases.a, department.cases.b, department.cases.c, department.cases.e):
        assert approve_for_room(chair, case).status_code == 303
    out = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(args=["annual-report", "--site", "fgh", "--year", "2025", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Fernhill General Hospital" in result.output
    reader = PdfReader(out)
    text = " ".join(page.extract_text() for page in reader.pages)
    assert reader.metadata.title == "Fernhill General Hospital: learning from REAL meetings in 2025"
    flat = " ".join(text.split())
    assert "3 of 6 expected" in flat and "Reporting staff at each meeting" in flat
    assert "Perceptual (under-reading): 1 case" in flat and "Review the lung windows on every CT" in flat
    assert f"A{department.actions.a3.id}" in flat and f"A{department.actions.a7.id}" not in flat
    assert f"A{department.actions.a8.id}" in flat  # the regional meeting's action for every site
    for name in ("Quartermaine", "Dr Ada Quill", "Dr Yusuf Penrose", "Zara Whitlock", "9990001234"):
        assert name not in flat, name

    bad = app.test_cli_runner().invoke(args=["annual-report", "--site", "NOPE", "--year", "2025", "--out", str(out)])
    assert bad.exit_code != 0 and "no site with code NOPE" in bad.output

    response = chair.get(f"/governance/sites/{department.site.id}/annual-report.pdf?year=2025")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "annual-learning-report-fgh-2025.pdf" in response.headers["Content-Disposition"]
    assert chair.get(f"/governance/sites/{department.site.id}/annual-report.pdf?year=1999").status_code == 404
    yusuf = signed_in(app.test_client(), department.yusuf)
    assert yusuf.get(f"/governance/sites/{department.site.id}/annual-report.pdf?year=2025").status_code == 404


def test_a_case_changed_after_approval_leaves_the_library_until_approved_again(app, presented):
    case = presented.case
    member = signed_in(app.test_client(), make_user(home_site=presented.site))
    db.session.commit()
    assert member.get(f"/library/{case.id}").status_code == 200
    identifiers = db.session.get(CaseIdentifiers, case.id)
    identifiers.patient_name = "Zebedee Quartermayne"  # corrected: the approved texts may now hold a name
    db.session.commit()
    assert db.session.get(LibraryEntry, case.id) is None
    assert member.get(f"/library/{case.id}").status_code == 404
    assert "0 cases." in member.get("/library/").get_data(as_text=True)
    assert approve_for_room(presented.client, db.session.get(Case, case.id)).status_code == 303
    assert member.get(f"/library/{case.id}").status_code == 200

    # The room's classification after the meeting reaches the library's filters.
    presented.client.post(f"/meetings/{presented.meeting.id}/cases/{case.id}/outcome",
                          data={"discrepancy_type": "communication", "clinical_significance": "major"})
    assert db.session.get(LibraryEntry, case.id).discrepancy_type == "communication"
    assert "1 case matches" in member.get("/library/?discrepancy_type=communication").get_data(as_text=True)



def test_rebuild_library_puts_back_what_ended_meetings_presented(app, presented):
    db.session.delete(db.session.get(LibraryEntry, presented.case.id))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rebuild-library"])
    assert result.exit_code == 0 and "The case library holds 1 presented case." in result.output
    assert db.session.get(LibraryEntry, presented.case.id).title == "CT chest"
