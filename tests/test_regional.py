"""Regional peer learning across a network of trusts: forwarding a presented case, regional anonymisation,
per-site copies of network actions and their progress, attendance across trusts, and risk staff kept to
their own site on every route."""
from __future__ import annotations

import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from meetings.actions import reminders
from meetings.cases import service as cases
from meetings.extensions import db
from meetings.governance import report
from meetings.live.service import note_digest
from meetings.models import (
    Action, ActionStatus, AuditEvent, Case, CaseIdentifiers, CaseStatus, LiveState, MeetingStatus, Role,
)
from meetings.nhs_number import synthetic
from tests.conftest import approve_for_room, signed_in
from tests.factories import make_action, make_case, make_meeting, make_site, make_user, png
from tests.test_security import PUBLIC_ENDPOINTS

SITE_WORDS = ["Oakhurst", "OGH", "Riverside Community", "RCH", "Fenwick", "FRI"]
PATIENT = {"patient_name": "Wilhelmina Strudwick", "nhs_number": synthetic(640_218), "hospital_number": "WS88120"}


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _no_site(text: str) -> list[str]:
    return [word for word in SITE_WORDS if word.lower() in text.lower()]


@pytest.fixture
def network(app):
    """Three trusts: a local chair and risk staff at Oakhurst, a regional chair at Riverside, a chair at
    Fenwick, and risk staff at Riverside."""
    oakhurst = make_site(name="Oakhurst General Hospital", code="OGH")
    riverside = make_site(name="Riverside Community Hospital", code="RCH")
    fenwick = make_site(name="Fenwick Royal Infirmary", code="FRI")
    people = SimpleNamespace(
        oakhurst=oakhurst, riverside=riverside, fenwick=fenwick,
        local_chair=make_user(Role.CHAIR, Role.MEMBER, name="Dr Local Chair", home_site=oakhurst),
        regional_chair=make_user(Role.CHAIR, Role.REGIONAL_CHAIR, name="Dr Regional Chair", home_site=riverside),
        fenwick_chair=make_user(Role.CHAIR, name="Dr Fenwick Chair", home_site=fenwick),
        oakhurst_risk=make_user(Role.RISK, name="Olive Risk", home_site=oakhurst),
        riverside_risk=make_user(Role.RISK, name="Rowan Risk", home_site=riverside),
        fenwick_risk=make_user(Role.RISK, name="Fern Risk", home_site=fenwick),
        oakhurst_member=make_user(Role.MEMBER, name="Dr Oak Member", home_site=oakhurst),
        riverside_member=make_user(Role.MEMBER, name="Dr River Member", home_site=riverside),
    )
    db.session.commit()
    return people


def _presented_local_case(app, network):
    """A case presented at Oakhurst's ended REAL meeting, approved, whose texts name two of the sites."""
    meeting = make_meeting(chair=network.local_chair, title="Oakhurst chest REAL meeting",
                           status=MeetingStatus.ENDED, days_ahead=-2)
    case = make_case(
        network.oakhurst_member, meeting, PATIENT, status=CaseStatus.PRESENTED, images=((png(shade=90), "Key image, OGH PACS"),),
        clinical_question="Cough for six weeks at Oakhurst General. ?Mass",
        outcome_text="Transferred to Riverside Community Hospital (RCH): a 14 mm nodule in the right upper lobe.",
        learning_points="Check the lung windows on every CT chest.")
    db.session.commit()
    chair = signed_in(app.test_client(), network.local_chair)
    assert approve_for_room(chair, case).status_code == 303
    return chair, meeting, db.session.get(Case, case.id)


def _regional_meeting(network, **fields):
    fields.setdefault("title", "North regional peer learning meeting")
    return make_meeting(chair=network.regional_chair, scope="regional", site=None, **fields)


def _regional_case_in_meeting(app, network, **meeting_fields):
    """A local case forwarded, accepted into a regional meeting and approved; the regional chair's client."""
    chair, _, local = _presented_local_case(app, network)
    chair.post(f"/cases/{local.id}/forward")
    copy = db.session.scalar(select(Case).where(Case.forwarded_from_id == local.id))
    meeting = _regional_meeting(network, **meeting_fields)
    db.session.commit()
    regional = signed_in(app.test_client(), network.regional_chair)
    regional.post(f"/cases/{copy.id}/accept", data={f"c{copy.id}-meeting_id": meeting.id})
    assert approve_for_room(regional, db.session.get(Case, copy.id)).status_code == 303
    return regional, meeting, db.session.get(Case, copy.id)


# --- forwarding ---------------------------------------------------------------------------------

def test_a_local_chair_forwards_a_presented_case_and_the_regional_chair_triages_it(app, network):
    chair, meeting, local = _presented_local_case(app, network)
    page = chair.get(f"/cases/{local.id}").get_data(as_text=True)
    assert "Forward to the regional queue" in page

    assert chair.post(f"/cases/{local.id}/forward").status_code == 303
    copy = db.session.scalar(select(Case).where(Case.forwarded_from_id == local.id))
    assert copy.status == CaseStatus.SUBMITTED and copy.is_regional and copy.meeting_id is None
    identifiers = db.session.get(CaseIdentifiers, copy.id)
    assert not any([identifiers.patient_name, identifiers.nhs_number, identifiers.reporter_email])
    texts = " ".join([copy.clinical_question, copy.report_text, copy.outcome_text, copy.suggested_learning,
                      copy.body_region] + [image.caption for image in copy.images])
    assert not _no_site(texts), texts
    assert "Strudwick" not in texts and "14 mm nodule" in texts
    assert copy.learning_points == "Check the lung windows on every CT chest."
    [image] = copy.images
    assert image.kind == "png" and image.original == local.images[0].anonymised, "pixels only, as the room saw them"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.forwarded"))

    again = chair.post(f"/cases/{local.id}/forward")
    assert again.status_code == 409 and "already been forwarded" in again.get_data(as_text=True)
    assert "Forwarded to the regional queue on" in chair.get(f"/cases/{local.id}").get_data(as_text=True)

    regional = signed_in(app.test_client(), network.regional_chair)
    triage = regional.get("/cases/triage").get_data(as_text=True)
    assert f'id="triage-case-{copy.id}"' in triage and "forwarded from a local meeting" in triage
    detail = regional.get(f"/cases/{copy.id}").get_data(as_text=True)
    assert "holds no identifiers" in detail and not _no_site(_body(detail))
    assert regional.get(f"/cases/{local.id}").status_code == 404, "the local case stays with its site"

    fenwick = signed_in(app.test_client(), network.fenwick_chair)
    assert f"triage-case-{copy.id}" not in fenwick.get("/cases/triage").get_data(as_text=True)
    assert fenwick.get(f"/cases/{copy.id}").status_code == 404

    network_meeting = _regional_meeting(network)
    local_meeting_next = make_meeting(chair=network.local_chair, title="Next Oakhurst REAL meeting")
    db.session.commit()
    assert [m.id for m in cases.upcoming_meetings_for(copy)] == [network_meeting.id]
    assert network_meeting.id not in [m.id for m in cases.upcoming_meetings_for(local)]
    assert local_meeting_next.id in [m.id for m in cases.upcoming_meetings_for(local)]
    accepted = regional.post(f"/cases/{copy.id}/accept", data={f"c{copy.id}-meeting_id": network_meeting.id})
    assert accepted.status_code == 303
    assert approve_for_room(regional, db.session.get(Case, copy.id)).status_code == 303
    shown = regional.get(f"/cases/{copy.id}/presentation").get_data(as_text=True)
    assert "Check the lung windows" in shown and not _no_site(_body(shown))


def _body(html: str) -> str:
    """The page without its menu, which names the signed-in person's own pages, not the case's site."""
    return html.split('<main', 1)[-1]


def test_forwarding_is_refused_before_presentation_after_a_change_and_to_others(app, network):
    chair, meeting, local = _presented_local_case(app, network)
    member = signed_in(app.test_client(), network.oakhurst_member)
    assert member.post(f"/cases/{local.id}/forward").status_code == 404
    other_chair = signed_in(app.test_client(), network.fenwick_chair)
    assert other_chair.post(f"/cases/{local.id}/forward").status_code == 404

    local.outcome_text += " Seen again by Dr Someone Else."
    db.session.commit()
    refused = chair.post(f"/cases/{local.id}/forward")
    assert refused.status_code == 409 and "review it again" in refused.get_data(as_text=True)

    scheduled = make_case(network.oakhurst_member, make_meeting(chair=network.local_chair), PATIENT)
    db.session.commit()
    refused = chair.post(f"/cases/{scheduled.id}/forward")
    assert refused.status_code == 409 and "Only a case presented" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Case).where(Case.forwarded_from_id.is_not(None))) is None


def test_room_notes_about_a_regional_case_lose_every_sites_name(app, network):
    regional, network_meeting, copy = _regional_case_in_meeting(app, network)
    saved = regional.post(f"/meetings/{network_meeting.id}/cases/{copy.id}/notes/learning_points",
                          data={"learning_points": "Fenwick Royal Infirmary and RCH both now double-read; "
                                                   "Mrs Strudwick agreed.", "base": note_digest(copy.learning_points)},
                          headers={"HX-Request": "true"})
    assert saved.status_code == 200
    shown = _body(regional.get(f"/cases/{copy.id}/presentation").get_data(as_text=True))
    assert "double-read" in shown and not _no_site(shown) and "Strudwick" not in shown


# --- network actions ----------------------------------------------------------------------------

def _capture_network_action(client, meeting, owner):
    return client.post(f"/meetings/{meeting.id}/actions", data={
        "action-description": "Add a lung-window check to every CT chest reporting template",
        "action-case_id": "", "action-owner": str(owner.id),
        "action-due_on": (date.today() + timedelta(days=30)).isoformat(), "action-priority": "high",
        "action-sites": ["all"]}, headers={"HX-Request": "true"})


def _close(client, action, to="done", note="Template changed and circulated"):
    db.session.expire_all()
    current = db.session.get(Action, action.id)
    return client.post(f"/actions/{action.id}/status", data={"to": to, "note": note, "version": current.version})


def test_a_regional_action_gives_every_site_a_copy_and_shows_their_progress(app, network, smtp_server):
    meeting = _regional_meeting(network, status=MeetingStatus.LIVE, days_ahead=0)
    db.session.commit()
    regional = signed_in(app.test_client(), network.regional_chair)
    assert _capture_network_action(regional, meeting, network.regional_chair).status_code == 200
    [parent] = db.session.scalars(select(Action).where(Action.meeting_id == meeting.id,
                                                       Action.network_action_id.is_(None))).all()
    copies = {copy.sites[0].id: copy for copy in parent.site_copies}
    sites_in_network = {network.oakhurst.id, network.riverside.id, network.fenwick.id}
    assert parent.per_site and parent.all_sites and sites_in_network <= set(copies)
    total = len(copies)

    oak_risk = signed_in(app.test_client(), network.oakhurst_risk)
    register = oak_risk.get("/actions/").get_data(as_text=True)
    oak_copy, river_copy = copies[network.oakhurst.id], copies[network.riverside.id]
    assert f">{oak_copy.reference}<" in register and f">{river_copy.reference}<" not in register
    assert f">{parent.reference}<" not in register, "risk staff work from their copy"
    assert oak_risk.get(f"/actions/{river_copy.id}").status_code == 404
    assert _close(oak_risk, river_copy).status_code == 404
    refused = _close(regional, parent)
    assert refused.status_code == 422 and "closes itself" in refused.get_data(as_text=True)

    digest = reminders.digest_of(network.oakhurst, date.today())
    assert digest.open == 1, "the site counts its copy, not the network action as well"

    assert _close(oak_risk, oak_copy).status_code == 303
    db.session.expire_all()
    parent = db.session.get(Action, parent.id)
    assert parent.status == ActionStatus.IN_PROGRESS
    assert f"1 of {total} sites done" in oak_risk.get(f"/actions/{oak_copy.id}").get_data(as_text=True)
    their_view = oak_risk.get(f"/actions/{parent.id}").get_data(as_text=True)
    assert f"1 of {total} sites done" in their_view and "Each site's copy" not in their_view
    chair_view = regional.get(f"/actions/{parent.id}").get_data(as_text=True)
    assert "Each site's copy" in chair_view and "Fenwick Royal Infirmary" in chair_view
    followed = regional.get("/actions/").get_data(as_text=True)
    assert f"1 of {total} sites done" in followed and f">{oak_copy.reference}<" not in followed
    one_site = regional.get(f"/actions/?status=all&site={network.oakhurst.id}").get_data(as_text=True)
    assert f">{oak_copy.reference}<" in one_site and f">{parent.reference}<" not in one_site

    fen_risk = signed_in(app.test_client(), network.fenwick_risk)
    assert _close(fen_risk, copies[network.fenwick.id], to="cancelled", note="We have no CT chest service").status_code == 303
    for site_id, copy in copies.items():
        if site_id not in (network.oakhurst.id, network.fenwick.id):
            assert _close(regional, copy).status_code == 303, "the regional chair may close any copy"
    db.session.expire_all()
    parent = db.session.get(Action, parent.id)
    assert parent.status == ActionStatus.DONE and parent.closed_at is not None
    assert parent.closing_note == f"{total - 1} of {total - 1} sites done (1 found it did not apply)"
    db.session.get(type(meeting), meeting.id).status = MeetingStatus.ENDED
    db.session.commit()
    minutes = _pdf_text(regional.get(f"/meetings/{meeting.id}/minutes.pdf").data)
    assert minutes.count("Add a lung-window check") == 1, "the minutes list the network action once"
    assert regional.post(f"/meetings/{meeting.id}/minutes/publish").status_code == 303
    sent_to = {message["To"] for message in smtp_server.messages if message["Subject"].startswith("Minutes")}
    risk_staff = {network.oakhurst_risk.email, network.riverside_risk.email, network.fenwick_risk.email}
    assert risk_staff <= sent_to, "a regional meeting's minutes reach every site's risk staff"

    assert _close(fen_risk, copies[network.fenwick.id], to="open", note="We start a CT service").status_code == 303
    db.session.expire_all()
    assert db.session.get(Action, parent.id).status == ActionStatus.IN_PROGRESS


# --- attendance across trusts -------------------------------------------------------------------

def test_members_and_guests_of_several_trusts_sign_one_regional_register(app, network, smtp_server):
    regional, meeting, copy = _regional_case_in_meeting(app, network, days_ahead=0)
    assert regional.get(f"/meetings/{meeting.id}/console").status_code == 200
    code = db.session.scalar(select(LiveState.join_code).where(LiveState.meeting_id == meeting.id))
    regional.post(f"/meetings/{meeting.id}/live/start")
    regional.post(f"/meetings/{meeting.id}/register/open")
    regional.post(f"/meetings/{meeting.id}/register/presence-off")
    for person in (network.oakhurst_member, network.riverside_member):
        phone = signed_in(app.test_client(), person)
        assert phone.post(f"/j/{code}/sign", data={}).status_code == 303
    guest = app.test_client()
    assert guest.post(f"/j/{code}/sign", data={
        "name": "Dr Visiting Guest", "email": "guest@teleradiology.example.org",
        "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7000002",
        "site": "Teleradiology partner"}).status_code == 303
    regional.post(f"/meetings/{meeting.id}/live/end")
    assert regional.post(f"/meetings/{meeting.id}/register/close").status_code == 303

    register = regional.get(f"/meetings/{meeting.id}/register").get_data(as_text=True)
    assert "Dr Oak Member" in register and "Dr River Member" in register and "Dr Visiting Guest" in register
    member = signed_in(app.test_client(), network.riverside_member)
    cpd = member.get("/cpd").get_data(as_text=True)
    assert "North regional peer learning meeting" in cpd
    number = next(line for line in cpd.split('"') if line.startswith("/certificates/") and line.endswith(".pdf"))
    certificate = _pdf_text(member.get(number).data)
    assert "Dr River Member" in certificate and "Check the lung windows" in certificate, \
        "the certificate prints the learning points the local meeting agreed and the regional one kept"
    assert not _no_site(certificate.replace("Riverside Community Hospital", "")), \
        "a certificate may print the attendee's own site, never the case's"

    minutes = _pdf_text(regional.get(f"/meetings/{meeting.id}/minutes.pdf").data)
    assert "sites represented: 3" in minutes
    assert not _no_site(minutes), "the regional minutes never say which sites"
    page = regional.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "sites represented: 3" in page and not _no_site(_body(page))


# --- risk staff are scoped to their site --------------------------------------------------------

def test_risk_staff_never_reach_another_sites_local_meeting_or_case_on_any_route(app, network):
    chair, meeting, local = _presented_local_case(app, network)
    action = make_action(meeting, network.local_chair, description="Oakhurst-only action on lung windows")
    db.session.commit()
    outsider = signed_in(app.test_client(), network.fenwick_risk)
    ids = {"meeting_id": meeting.id, "case_id": local.id, "action_id": action.id,
           "image_id": local.images[0].id}
    reached, tried = [], 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint == "static":
            continue
        if not set(rule.arguments) & set(ids):
            continue
        values = {arg: ids.get(arg, 1) if isinstance(rule._converters[arg], IntegerConverter) else "x"
                  for arg in rule.arguments}
        url = rule.build(values)[1]
        response = outsider.get(url)
        tried += 1
        if response.status_code not in (403, 404):
            reached.append((url, response.status_code))
    assert tried > 20 and not reached, reached

    insider = signed_in(app.test_client(), network.oakhurst_risk)
    assert insider.get(f"/actions/{action.id}").status_code == 200
    assert insider.get(f"/meetings/{meeting.id}/minutes").status_code == 200
    assert insider.get(f"/cases/{local.id}").status_code == 404, "risk staff act on actions, not case records"

    regional_meeting = _regional_meeting(network)
    db.session.commit()
    for path in (f"/meetings/{regional_meeting.id}", f"/meetings/{regional_meeting.id}/register"):
        assert outsider.get(path).status_code == 200, path


# --- what the review of this feature found --------------------------------------------------------

def test_a_regional_copy_is_never_edited_nor_sent_back_for_identifiers(app, network):
    chair, _, local = _presented_local_case(app, network)
    chair.post(f"/cases/{local.id}/forward")
    copy = db.session.scalar(select(Case).where(Case.forwarded_from_id == local.id))
    assert chair.get(f"/cases/{copy.id}/edit").status_code == 404
    assert "Edit this case" not in chair.get(f"/cases/{copy.id}").get_data(as_text=True)
    regional = signed_in(app.test_client(), network.regional_chair)
    assert "Ask for more information" not in regional.get("/cases/triage").get_data(as_text=True)
    refused = regional.post(f"/cases/{copy.id}/more-info", data={f"m{copy.id}-note": "Who is the patient?"})
    assert refused.status_code == 422 and "cannot be sent back" in refused.get_data(as_text=True)
    assert not cases.needs_reporter_notice(copy), "the local chair told the reporter"


def test_a_second_forward_at_the_same_moment_is_refused_kindly(app, network, monkeypatch):
    chair, _, local = _presented_local_case(app, network)
    assert chair.post(f"/cases/{local.id}/forward").status_code == 303
    # As if the other chair's request had checked before this one's copy was committed.
    monkeypatch.setattr("meetings.cases.forwarding.refusal", lambda case: None)
    again = chair.post(f"/cases/{local.id}/forward")
    assert again.status_code == 409 and "just been forwarded" in again.get_data(as_text=True)


def test_forwarding_keeps_the_local_chairs_restored_words_and_waits_for_the_meeting_to_end(app, network):
    chair, meeting, local = _presented_local_case(app, network)
    local.outcome_text += " Followed up in the Hodgkin clinic."
    db.session.commit()
    assert approve_for_room(chair, local, keep=("Hodgkin",)).status_code == 303
    meeting.status = MeetingStatus.LIVE
    db.session.commit()
    early = chair.post(f"/cases/{local.id}/forward")
    assert early.status_code == 409 and "once the meeting has ended" in early.get_data(as_text=True)
    meeting.status = MeetingStatus.ENDED
    db.session.commit()
    assert chair.post(f"/cases/{local.id}/forward").status_code == 303
    copy = db.session.scalar(select(Case).where(Case.forwarded_from_id == local.id))
    assert "Hodgkin clinic" in copy.outcome_text and copy.review.keep == ["Hodgkin"]


def test_regional_chairs_reach_regional_copies_only_and_the_console_hides_the_origins_grading(app, network):
    network.oakhurst.radpeer_enabled = True
    legacy_meeting = _regional_meeting(network, title="Regional meeting from before forwarding")
    other_lead = make_user(Role.REGIONAL_CHAIR, home_site=network.fenwick)
    legacy = make_case(network.oakhurst_member, legacy_meeting, PATIENT, site_id=network.oakhurst.id)
    db.session.commit()
    other = signed_in(app.test_client(), other_lead)
    assert other.get(f"/cases/{legacy.id}/review").status_code == 404
    assert other.get(f"/cases/{legacy.id}").status_code == 404

    regional, meeting, copy = _regional_case_in_meeting(app, network, days_ahead=0)
    regional.post(f"/meetings/{meeting.id}/live/start")
    regional.post(f"/meetings/{meeting.id}/live/jump", data={"case_id": copy.id})
    console = regional.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert "Discrepancy type" in console and "RADPEER" not in console


def test_a_plain_chair_is_offered_only_their_sites_meetings(app, network):
    plain = signed_in(app.test_client(), network.fenwick_chair)
    page = plain.get("/meetings/new").get_data(as_text=True)
    assert "The regional network" not in page and "Fenwick Royal Infirmary" in page
    pure_lead = make_user(Role.REGIONAL_CHAIR, home_site=network.riverside)
    db.session.commit()
    lead = signed_in(app.test_client(), pure_lead)
    page = lead.get("/meetings/new").get_data(as_text=True)
    assert "The regional network" in page and "One site" not in page


def test_the_network_action_nags_nobody_and_a_site_that_leaves_stops_counting(app, network, smtp_server):
    meeting = _regional_meeting(network, status=MeetingStatus.LIVE, days_ahead=0)
    db.session.commit()
    regional = signed_in(app.test_client(), network.regional_chair)
    _capture_network_action(regional, meeting, network.regional_chair)
    parent = db.session.scalar(select(Action).where(Action.per_site))
    due = reminders.owners_due(date.today() + timedelta(days=60))
    assert parent.id not in {action.id for actions in due.values() for action in actions}
    copies = {copy.sites[0].id: copy for copy in parent.site_copies}
    network.fenwick.active = False
    db.session.commit()
    for site_id, copy in copies.items():
        if site_id != network.fenwick.id:
            assert _close(regional, copy).status_code == 303
    db.session.expire_all()
    parent = db.session.get(Action, parent.id)
    assert parent.status == ActionStatus.DONE, "the departed site's open copy does not hold it open"
    assert parent.closing_note == f"{len(copies) - 1} of {len(copies) - 1} sites done"


def test_the_annual_report_lists_the_sites_own_copy_of_a_network_action(app, network):
    meeting = _regional_meeting(network, status=MeetingStatus.LIVE, days_ahead=0)
    db.session.commit()
    regional = signed_in(app.test_client(), network.regional_chair)
    assert _capture_network_action(regional, meeting, network.regional_chair).status_code == 200
    meeting.status = MeetingStatus.ENDED
    parent = db.session.scalar(select(Action).where(Action.meeting_id == meeting.id, Action.per_site))
    copy = next(each for each in parent.site_copies if each.sites[0].id == network.oakhurst.id)
    db.session.commit()
    year = meeting.starts_at.astimezone(ZoneInfo("Europe/London")).year
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(
        report.annual_report(network.oakhurst, year, date.today()))).pages)
    assert f"A{copy.id} " in text and f"A{parent.id} " not in text
    assert "Add a lung-window check" in " ".join(text.split())
