"""The chair's anonymisation review: nothing is presented unreviewed, and any change asks for review again."""
from __future__ import annotations

import json
import re
from datetime import date
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select

from meetings.extensions import db
from meetings.models import AuditEvent, Case, CaseIdentifiers, CaseImage, Role
from tests.conftest import approve_for_room, is_fragment, signed_in
from tests.factories import make_case, make_meeting, make_user, png
from tests.test_cases import case_form

IDENTIFIERS = {"patient_name": "Edith Quarrington", "nhs_number": "9990000026", "hospital_number": "QX7654321",
               "date_of_birth": date(1949, 7, 21), "reporter_name": "Dr Ambrose Feltham",
               "referrer_name": "Dr Lavinia Cottesloe"}
QUESTION = "Mrs Quarrington, DOB 21/07/1949, breathless. Daughter Peggy asks about PE. Discussed with Karen Hill."


@pytest.fixture
def chair_case(login_as):
    chair = login_as(Role.CHAIR)
    meeting = make_meeting(chair=chair)
    case = make_case(chair, meeting, IDENTIFIERS, images=((png((120, 80), 200), "Axial CT, Quarrington"),),
                     clinical_question=QUESTION)
    db.session.commit()
    return chair, meeting, case


def fresh(model, key):
    """The row as the app last wrote it, not as this test's session remembers it."""
    db.session.expire_all()
    return db.session.get(model, key)


def state_of(case_id: int) -> str:
    from meetings.cases.review import state_of as review_state

    return review_state(fresh(Case, case_id)).name


def approve(client, case, **choices):
    return approve_for_room(client, case, choices.get("redact", ""), choices.get("keep", []))


def test_the_review_shows_each_finding_beside_what_the_room_will_see(client, chair_case):
    _, _, case = chair_case
    page = client.get(f"/cases/{case.id}/review").get_data(as_text=True)
    assert "Anonymisation: not reviewed" in page
    assert 'Removed, [PATIENT]: </span>Mrs Quarrington</mark>' in page
    assert '<mark class="lb-placeholder">[PATIENT]</mark>, DOB <mark class="lb-placeholder">[DATE]</mark>' in page
    assert 'value="Karen Hill"' in page  # a pattern find the chair may put back
    assert 'value="Mrs Quarrington"' not in page  # the record's own: never offered back
    assert "/anonymised.png" in page and "Caption of image 1" in page


def test_presentation_is_refused_until_the_chair_approves_then_shows_only_the_anonymised_case(client, chair_case):
    chair, _, case = chair_case
    refused = client.get(f"/cases/{case.id}/presentation")
    assert refused.status_code == 409 and "not ready to present" in refused.get_data(as_text=True)

    response = approve(client, case, redact="Peggy")
    assert response.status_code == 303
    assert state_of(case.id) == "REVIEWED"
    shown = client.get(f"/cases/{case.id}/presentation").get_data(as_text=True)
    assert "[PATIENT], DOB [DATE], breathless. Daughter [REDACTED] asks about PE. Discussed with [NAME]." in shown
    assert "Axial CT, [PATIENT]" in shown
    for identifier in ("Quarrington", "Peggy", "Karen", "21/07/1949"):
        assert identifier not in shown
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.anonymisation_reviewed"))
    assert event.actor_id == chair.id and event.subject_id == case.id


def test_restoring_a_false_positive_and_redacting_more_update_the_preview_without_a_page_load(client, chair_case):
    _, _, case = chair_case
    response = client.post(f"/cases/{case.id}/review", data={"redact": "Peggy\npeggy\n", "keep": ["Karen Hill"]},
                           headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and is_fragment(response.data)
    assert "Daughter <mark class=\"lb-placeholder\">[REDACTED]</mark>" in body
    assert "Discussed with Karen Hill." in body
    saved = fresh(Case, case.id).review
    assert saved.redact == ["Peggy"] and saved.keep == ["Karen Hill"] and saved.fingerprint is None


def test_the_records_own_identifiers_cannot_be_restored(client, chair_case):
    _, _, case = chair_case
    approve(client, case, keep=["Mrs Quarrington", "Quarrington", "21/07/1949"])
    shown = client.get(f"/cases/{case.id}/presentation").get_data(as_text=True)
    assert "Quarrington" not in shown and "21/07/1949" not in shown


@pytest.mark.parametrize("change", ["text", "identifier", "image"])
def test_any_later_change_to_the_case_asks_for_review_again(client, chair_case, change):
    _, _, case = chair_case
    approve(client, case)
    stored = fresh(Case, case.id)
    if change == "text":
        stored.report_text = "Reported normal by Dr Feltham on 02/02/2026."
    elif change == "identifier":
        db.session.get(CaseIdentifiers, case.id).referrer_name = "Dr Somebody Else"
    else:
        db.session.delete(stored.images[0])
    db.session.commit()
    assert state_of(case.id) == "CHANGED"
    assert client.get(f"/cases/{case.id}/presentation").status_code == 409
    assert "Anonymisation: changed since review" in client.get(f"/meetings/{case.meeting_id}/queue").get_data(as_text=True)


def test_the_submitters_edit_after_approval_needs_a_new_review(app, client, chair_case):
    chair, meeting, _ = chair_case
    submitter = make_user(Role.MEMBER, home_site=meeting.site)
    db.session.commit()
    as_submitter = signed_in(app.test_client(), submitter)
    assert as_submitter.post("/cases/new", data=case_form(meeting.site_id)).status_code == 303
    case = db.session.scalars(select(Case).where(Case.submitter_id == submitter.id)).one()
    approve(client, case)
    assert state_of(case.id) == "REVIEWED"
    edited = case_form(meeting.site_id, clinical_question="Breathless after a long flight. ?PE")
    assert as_submitter.post(f"/cases/{case.id}/edit", data=edited).status_code == 303
    assert state_of(case.id) == "CHANGED"


def anonymised_pixels(client, case, image) -> Image.Image:
    response = client.get(f"/cases/{case.id}/images/{image.id}/anonymised.png")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    return Image.open(BytesIO(response.data))


def test_boxes_drawn_on_an_image_are_burned_in_and_ask_for_review_again(client, chair_case):
    _, _, case = chair_case
    image = case.images[0]
    approve(client, case)
    response = client.post(f"/cases/{case.id}/images/{image.id}/boxes",
                           data={"boxes": json.dumps([[10, 10, 30, 20], [100, 70, 50, 50]])},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and is_fragment(response.data)
    assert "Saved: 2 black boxes" in response.get_data(as_text=True)
    assert fresh(CaseImage, image.id).redaction_boxes == [[10, 10, 30, 20], [100, 70, 20, 10]]
    pixels = anonymised_pixels(client, case, image)
    assert pixels.getpixel((15, 15)) == 0 and pixels.getpixel((119, 79)) == 0 and pixels.getpixel((60, 60)) == 200
    assert state_of(case.id) == "CHANGED"


def test_a_box_can_be_typed_in_and_removed_and_a_bad_one_keeps_what_was_typed(client, chair_case):
    _, _, case = chair_case
    image = case.images[0]
    url = f"/cases/{case.id}/images/{image.id}/boxes"
    bad = client.post(url, data={"x": "500", "y": "5", "width": "10", "height": "abc"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "whole pixels" in body and 'value="500"' in body
    outside = client.post(url, data={"x": "500", "y": "5", "width": "10", "height": "10"})
    assert outside.status_code == 422 and "inside the image (120 × 80 pixels)" in outside.get_data(as_text=True)
    assert client.post(url, data={"x": "0", "y": "0", "width": "20", "height": "20"}).status_code == 303
    assert anonymised_pixels(client, case, image).getpixel((5, 5)) == 0
    assert client.post(url, data={"remove": "0"}).status_code == 303
    assert fresh(CaseImage, image.id).redaction_boxes == []
    assert anonymised_pixels(client, case, image).getpixel((5, 5)) == 200


def test_reviewing_is_for_the_cases_chairs_and_the_audience_sees_images_only_once_approved(app, client, chair_case):
    chair, meeting, case = chair_case
    image = case.images[0]
    colleague = make_user(Role.MEMBER, home_site=meeting.site)
    elsewhere = make_user(Role.MEMBER)
    db.session.commit()
    audience = app.test_client()
    signed_in(audience, colleague)
    for url in (f"/cases/{case.id}/review", f"/cases/{case.id}/presentation"):
        assert audience.get(url).status_code == 404
    assert audience.post(f"/cases/{case.id}/images/{image.id}/boxes", data={"boxes": "[]"}).status_code == 404
    image_url = f"/cases/{case.id}/images/{image.id}/anonymised.png"
    assert audience.get(image_url).status_code == 404
    assert audience.get(f"/cases/{case.id}/images/{image.id}").status_code == 404  # the original, never

    approve(client, case)
    assert audience.get(image_url).status_code == 200
    signed_in(audience, elsewhere)
    assert audience.get(image_url).status_code == 404


def test_a_case_edited_while_the_chair_reads_it_is_not_approved_unseen(client, chair_case):
    _, _, case = chair_case
    page = client.get(f"/cases/{case.id}/review").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([0-9a-f]+)"', page).group(1)
    fresh(Case, case.id).outcome_text = "Dr Feltham, the reporter, was told on 02/02/2026."
    db.session.commit()
    response = client.post(f"/cases/{case.id}/review", data={"action": "approve", "redact": "Peggy", "seen": seen})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "changed while you were reviewing" in body
    assert "Removed, [NAME]: </span>Dr Feltham</mark>" in body and ">Peggy</textarea>" in body
    assert state_of(case.id) == "NOT_REVIEWED"
    assert approve(client, case).status_code == 303
