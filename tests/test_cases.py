"""Submitting cases, triage, the meeting's queue, the reporter's notice and who may see identifiers."""
import io
from pathlib import Path

import pytest

from meetings.extensions import db as _db
from meetings.models import AuditEvent, Case, CaseIdentifiers, CaseImage, CaseStatus, Role
from tests.conftest import is_fragment, signed_in
from tests.factories import make_meeting, make_site, make_user, png

DEMO_DICOM = Path(__file__).resolve().parent.parent / "demo" / "dicom"
HX = {"HX-Request": "true"}


def case_form(site_id, **changes):
    data = {
        "kind": "discrepancy", "came_to_light": "random_review", "modality": "CT", "body_region": "Chest",
        "clinical_question": "Breathless. ?PE", "report_text": "No pulmonary embolus.",
        "outcome_text": "Nodule seen on follow-up.", "suggested_learning": "Review lung windows.",
        "patient_name": "Testy McTestface", "nhs_number": "943 476 5919", "hospital_number": "TST0001",
        "date_of_birth": "1950-02-03", "accession_number": "ACCT0001", "examination_date": "2026-01-10",
        "site_id": str(site_id), "reporter_id": "0", "reporter_name": "Dr Visiting Tester",
        "reporter_email": "visiting.tester@test.example.org", "referrer_name": "Dr Referrer Test",
    }
    data.update(changes)
    return data


@pytest.fixture
def member(login_as):
    return login_as(Role.MEMBER)


def submit(client, data, files=()):
    for index, (name, content, caption) in enumerate(files):
        data[f"images-{index}-file"] = (io.BytesIO(content), name)
        data[f"images-{index}-caption"] = caption
    return client.post("/cases/new", data=data, content_type="multipart/form-data")


def only_case() -> Case:
    _db.session.expire_all()  # requests ran in sessions of their own
    return _db.session.scalars(_db.select(Case)).one()


def test_member_submits_a_case_with_dicom_and_png_images(client, member):
    dicom = (DEMO_DICOM / "ct-chest-nodule.dcm").read_bytes()
    response = submit(client, case_form(member.home_site_id),
                      [("scan.dcm", dicom, "Axial CT, lung window"), ("key.png", png(), "Key image")])
    assert response.status_code == 303 and response.headers["Location"] == "/cases/mine"
    case = only_case()
    assert case.status == CaseStatus.SUBMITTED and case.submitter_id == member.id
    assert [(i.kind, i.width, i.height, i.caption) for i in case.images] == [
        ("dicom", 256, 256, "Axial CT, lung window"), ("png", 64, 48, "Key image")]
    identifiers = _db.session.get(CaseIdentifiers, case.id)
    assert identifiers.nhs_number == "9434765919" and identifiers.reporter_email == "visiting.tester@test.example.org"
    assert "Testy" not in " ".join([case.clinical_question, case.report_text, case.outcome_text])
    mine = client.get("/cases/mine").get_data(as_text=True)
    assert "CT chest" in mine and "Submitted" in mine
    assert _db.session.scalar(_db.select(AuditEvent).filter_by(action="case.submitted", subject_id=case.id))


def test_errors_sit_beside_fields_and_nothing_typed_or_uploaded_is_lost(client, member):
    data = case_form(member.home_site_id, nhs_number="943 476 5918", date_of_birth="2999-01-01")
    response = submit(client, data, [("good.png", png(), "A good image"),
                                     ("fake.png", b"this is not an image at all", "Not an image")])
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="nhs_number-error"' in body and "check digit" in body
    assert 'id="date_of_birth-error"' in body and "must be in the past" in body
    assert 'id="images-1-file-error"' in body and "fake.png: This file is not a PNG, JPEG or DICOM image" in body
    for typed in ("Testy McTestface", "943 476 5918", "Breathless. ?PE", "Review lung windows.", "Dr Visiting Tester"):
        assert typed in body
    # The good image is kept under the form's token and listed with its caption.
    [pending] = _db.session.scalars(_db.select(CaseImage)).all()
    assert pending.case_id is None and pending.caption == "A good image"
    assert f'value="{pending.upload_token}"' in body and "PNG, 64 × 48 pixels, uploaded" in body

    fixed = case_form(member.home_site_id, upload_token=pending.upload_token)
    fixed[f"image-caption-{pending.id}"] = "A better caption"
    assert client.post("/cases/new", data=fixed).status_code == 303
    case = only_case()
    assert [(i.id, i.caption) for i in case.images] == [(pending.id, "A better caption")]


def test_test_nhs_numbers_only_when_configured_and_files_over_the_limit(app, client, member, monkeypatch):
    response = submit(client, case_form(member.home_site_id, nhs_number="9990000018"))
    assert response.status_code == 422 and "test NHS number" in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "ALLOW_TEST_NHS_NUMBERS", True)
    monkeypatch.setitem(app.config, "MAX_IMAGE_BYTES", 1000)
    response = submit(client, case_form(member.home_site_id, nhs_number="9990000018"),
                      [("big.png", png((400, 400)) + b"\0" * 2000, "")])
    assert response.status_code == 422 and "the limit is" in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "MAX_IMAGE_BYTES", 20 * 1024 * 1024)
    assert submit(client, case_form(member.home_site_id, nhs_number="9990000018")).status_code == 303


def test_examination_before_birth_and_missing_reporter_are_refused(client, member):
    data = case_form(member.home_site_id, examination_date="1940-01-01", reporter_name="", reporter_email="")
    body = submit(client, data).get_data(as_text=True)
    assert "after the date of birth" in body and "Choose the reporter" in body and "reporter&#39;s email" in body


@pytest.fixture
def submitted(client, member):
    assert submit(client, case_form(member.home_site_id), [("key.png", png(), "Key")]).status_code == 303
    return only_case()


def as_user(app, user):
    return signed_in(app.test_client(), user)


def test_identifiers_are_shown_only_to_those_allowed_and_every_view_is_audited(app, client, member, submitted):
    site = member.home_site
    chair = make_user(Role.CHAIR, home_site=site)
    admin = make_user(Role.ADMIN)
    other_member = make_user(Role.MEMBER, home_site=site)
    other_chair = make_user(Role.CHAIR, home_site=make_site())
    risk = make_user(Role.RISK, home_site=site)
    _db.session.commit()
    image = submitted.images[0]
    for user, allowed in ((member, True), (chair, True), (admin, True), (other_member, False),
                          (other_chair, False), (risk, False)):
        viewer = as_user(app, user)
        page = viewer.get(f"/cases/{submitted.id}")
        picture = viewer.get(f"/cases/{submitted.id}/images/{image.id}")
        assert page.status_code == picture.status_code == (200 if allowed else 404), user.email
        if allowed:
            assert "Testy McTestface" in page.get_data(as_text=True)
            assert picture.headers["Cache-Control"] == "private, no-store"
            assert picture.data.startswith(b"\x89PNG")
    viewers = _db.session.scalars(_db.select(AuditEvent.actor_id).filter_by(
        action="case.identifiers_viewed", subject_id=submitted.id)).all()
    assert sorted(viewers) == sorted([member.id, chair.id, admin.id])


def test_chair_accepts_into_a_meeting_declines_or_asks_for_more(app, client, member, submitted):
    chair = make_user(Role.CHAIR, home_site=member.home_site)
    meeting = make_meeting(chair=chair)
    _db.session.commit()
    chair_client = as_user(app, chair)
    triage = chair_client.get("/cases/triage").get_data(as_text=True)
    assert "CT chest" in triage and meeting.title in triage

    asked = chair_client.post(f"/cases/{submitted.id}/more-info", data={f"m{submitted.id}-note": "Which series?"},
                              headers=HX)
    assert asked.status_code == 200 and is_fragment(asked.data) and b"Sent back to the submitter" in asked.data
    mine = client.get("/cases/mine").get_data(as_text=True)
    assert "More information needed" in mine and "Which series?" in mine
    edit = client.get(f"/cases/{submitted.id}/edit").get_data(as_text=True)
    assert "Which series?" in edit and "Testy McTestface" in edit and "Breathless. ?PE" in edit
    resubmitted = case_form(member.home_site_id, clinical_question="Breathless. ?PE. Series 4 shows it.")
    assert client.post(f"/cases/{submitted.id}/edit", data=resubmitted).status_code == 303
    _db.session.refresh(submitted)
    assert submitted.status == CaseStatus.SUBMITTED and submitted.clinical_question.endswith("Series 4 shows it.")
    assert len(submitted.images) == 1

    empty = chair_client.post(f"/cases/{submitted.id}/decline", data={f"d{submitted.id}-note": ""}, headers=HX)
    assert empty.status_code == 422 and b"Write a message to the submitter" in empty.data
    accepted = chair_client.post(f"/cases/{submitted.id}/accept", data={f"c{submitted.id}-meeting_id": meeting.id},
                                 headers=HX)
    assert accepted.status_code == 200 and b"Scheduled for" in accepted.data
    _db.session.refresh(submitted)
    assert submitted.status == CaseStatus.SCHEDULED and submitted.meeting_id == meeting.id
    assert submitted.queue_position == 0
    assert "Scheduled" in client.get("/cases/mine").get_data(as_text=True)
    # Once triaged, the submitter can no longer edit it.
    assert client.get(f"/cases/{submitted.id}/edit").status_code == 303


def test_decline_reason_reaches_the_submitter(app, client, member, submitted):
    chair = make_user(Role.CHAIR, home_site=member.home_site)
    _db.session.commit()
    response = as_user(app, chair).post(f"/cases/{submitted.id}/decline",
                                        data={f"d{submitted.id}-note": "Already discussed in March."})
    assert response.status_code == 303
    mine = client.get("/cases/mine").get_data(as_text=True)
    assert "Declined" in mine and "Already discussed in March." in mine


def test_triage_is_for_chairs_of_the_site(app, client, member, submitted):
    other_chair = make_user(Role.CHAIR, home_site=make_site())
    _db.session.commit()
    outsider = as_user(app, other_chair)
    assert "CT chest" not in outsider.get("/cases/triage").get_data(as_text=True)
    assert outsider.post(f"/cases/{submitted.id}/accept", data={f"c{submitted.id}-meeting_id": 0}).status_code == 404
    assert client.get("/cases/triage").status_code == 403
    assert client.post(f"/cases/{submitted.id}/accept").status_code == 403


def queued_cases(meeting, count, submitter):
    cases = []
    for n in range(count):
        case = Case(submitter_id=submitter.id, site_id=meeting.site_id, meeting_id=meeting.id, queue_position=n,
                    kind="discrepancy", modality="CT", body_region=f"Region {n}", status=CaseStatus.SCHEDULED,
                    allowance_minutes=10, clinical_question=f"Question {n}")
        case.identifiers = CaseIdentifiers(reporter_email="reporter@test.example.org")
        _db.session.add(case)
        cases.append(case)
    _db.session.commit()
    return cases


def queue_order(meeting):
    return [c.body_region for c in _db.session.scalars(
        _db.select(Case).filter_by(meeting_id=meeting.id).order_by(Case.queue_position))]


@pytest.fixture
def chair_meeting(login_as):
    chair = login_as(Role.CHAIR)
    meeting = make_meeting(chair=chair)
    _db.session.commit()
    return chair, meeting


def test_queue_moves_up_and_down_and_shows_the_running_total(client, chair_meeting):
    chair, meeting = chair_meeting
    a, b, c = queued_cases(meeting, 3, chair)
    page = client.get(f"/meetings/{meeting.id}/queue").get_data(as_text=True)
    assert "3 cases: 30 of 90 minutes" in page
    response = client.post(f"/meetings/{meeting.id}/queue/{c.id}/move", data={"direction": "up"}, headers=HX)
    assert response.status_code == 200 and is_fragment(response.data) and b'id="queue"' in response.data
    client.post(f"/meetings/{meeting.id}/queue/{c.id}/move", data={"direction": "up"}, headers=HX)
    client.post(f"/meetings/{meeting.id}/queue/{c.id}/move", data={"direction": "up"}, headers=HX)
    assert queue_order(meeting) == ["Region 2", "Region 0", "Region 1"]
    no_js = client.post(f"/meetings/{meeting.id}/queue/{a.id}/move", data={"direction": "down"})
    assert no_js.status_code == 303
    assert queue_order(meeting) == ["Region 2", "Region 1", "Region 0"]
    over = client.post(f"/meetings/{meeting.id}/queue/{a.id}/allowance", data={f"a{a.id}-minutes": "75"}, headers=HX)
    assert b"3 cases: 95 of 90 minutes, 5 minutes over" in over.data
    bad = client.post(f"/meetings/{meeting.id}/queue/{a.id}/allowance", data={f"a{a.id}-minutes": "0"}, headers=HX)
    assert bad.status_code == 409 and b"between 1 and 120 minutes" in bad.data


def test_two_chairs_reordering_at_once_the_last_write_wins_whole(app, client, chair_meeting):
    chair, meeting = chair_meeting
    a, b, c = queued_cases(meeting, 3, chair)
    second_chair = make_user(Role.CHAIR, home_site=meeting.site)
    _db.session.commit()
    other = as_user(app, second_chair)
    # Both loaded the queue as a, b, c; each drags to a different order and saves.
    client.post(f"/meetings/{meeting.id}/queue/order", data={"case": [c.id, a.id, b.id]}, headers=HX)
    other.post(f"/meetings/{meeting.id}/queue/order", data={"case": [b.id, c.id, a.id]}, headers=HX)
    assert queue_order(meeting) == ["Region 1", "Region 2", "Region 0"]
    first_view = client.get(f"/meetings/{meeting.id}/queue").get_data(as_text=True)
    second_view = other.get(f"/meetings/{meeting.id}/queue").get_data(as_text=True)
    order = lambda page: [page.index(f"region {n}") for n in range(3)]
    assert order(first_view) == order(second_view)
    # An order that misses a case (added meanwhile by the other chair) keeps every case.
    client.post(f"/meetings/{meeting.id}/queue/order", data={"case": [a.id, b.id]}, headers=HX)
    assert queue_order(meeting) == ["Region 0", "Region 1", "Region 2"]


def test_queue_is_only_for_its_chairs(app, client, chair_meeting, login_as):
    chair, meeting = chair_meeting
    [case] = queued_cases(meeting, 1, chair)
    stranger = as_user(app, make_user(Role.CHAIR, home_site=make_site()))
    _db.session.commit()
    assert stranger.get(f"/meetings/{meeting.id}/queue").status_code == 404
    assert stranger.post(f"/meetings/{meeting.id}/queue/{case.id}/move", data={"direction": "up"}).status_code == 404
    removed = client.post(f"/meetings/{meeting.id}/queue/{case.id}/remove", headers=HX)
    assert b"No cases yet" in removed.data
    _db.session.refresh(case)
    assert case.status == CaseStatus.ACCEPTED and case.meeting_id is None


def test_reporter_notice_is_sent_by_email_and_recorded(client, chair_meeting, smtp_server):
    chair, meeting = chair_meeting
    [case] = queued_cases(meeting, 1, chair)
    queue_page = client.get(f"/meetings/{meeting.id}/queue").get_data(as_text=True)
    assert "Reporter not yet told" in queue_page
    form = client.get(f"/cases/{case.id}/notice").get_data(as_text=True)
    assert "presented anonymously" in form and chair.name in form
    response = client.post(f"/cases/{case.id}/notice", data={"text": "Dear colleague,\n\nEdited notice text."})
    assert response.status_code == 303
    [message] = smtp_server.messages
    assert message["To"] == "reporter@test.example.org"
    assert "Edited notice text." in message.get_body(("plain",)).get_content()
    _db.session.refresh(case)
    assert case.has_reporter_notice and case.reporter_notice_text.endswith("Edited notice text.")
    assert "Reporter told" in client.get(f"/meetings/{meeting.id}/queue").get_data(as_text=True)
