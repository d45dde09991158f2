"""Identifier retention: `purge-identifiers` takes out everything identifiable once feedback is complete,
and leaves what the room saw."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from meetings.cases import review
from meetings.extensions import db
from meetings.models import (
    AuditEvent, Case, CaseIdentifiers, CaseStatus, Delivery, Feedback, LibraryEntry, MeetingStatus, Role, utcnow,
)
from tests.conftest import approve_for_room, signed_in
from tests.factories import make_case, make_meeting, make_user
from tests.test_leak_guard import canary_dicom

PATIENT = {"patient_name": "Zebedee Quartermaine", "nhs_number": "9990001234", "hospital_number": "FGH7781234",
           "reporter_name": "Dr Rowena Reporter", "reporter_email": "rowena@test.example.org"}


@pytest.fixture
def presented(app, db):
    chair = make_user(Role.CHAIR)
    meeting = make_meeting(chair=chair, status=MeetingStatus.ENDED, days_ahead=-120)
    cases = []
    for position, days_ago in enumerate((100, 10)):
        case = make_case(chair, meeting, PATIENT, status=CaseStatus.PRESENTED, queue_position=position,
                         images=((canary_dicom(), "Zebedee Quartermaine's CT"),),
                         clinical_question="Zebedee Quartermaine (FGH7781234), breathless. ?PE",
                         triage_note="Thanks; Mr Quartermaine's prior is on PACS.",
                         reporter_notice_text="Dear Dr Reporter, Zebedee Quartermaine's CT will be discussed.",
                         learning_points="Check the lung windows.")
        feedback = Feedback(case_id=case.id, meeting_id=meeting.id, recipient_email="rowena@test.example.org",
                            recipient_name="Dr Rowena Reporter", sent_at=utcnow() - timedelta(days=days_ago + 5),
                            acknowledged_at=utcnow() - timedelta(days=days_ago))
        db.session.add(feedback)
        db.session.flush()
        db.session.add(Delivery(kind="feedback", subject_id=feedback.id, recipient="rowena@test.example.org",
                                recipient_name="Dr Rowena Reporter", status="sent"))
        cases.append(case)
    db.session.commit()
    client = signed_in(app.test_client(), chair)
    for case in cases:
        assert approve_for_room(client, case).status_code == 303
    return client, [db.session.get(Case, case.id) for case in cases]


def test_purging_takes_out_the_identifiers_and_keeps_what_the_room_saw(app, presented):
    client, (old, recent) = presented
    result = app.test_cli_runner().invoke(args=["purge-identifiers", "--dry-run"])
    assert f"1 case due for purging (90 days after their learning was done): C{old.id}" in result.output
    assert db.session.get(CaseIdentifiers, old.id).purged_at is None

    result = app.test_cli_runner().invoke(args=["purge-identifiers"])
    assert result.exit_code == 0 and "Purged the identifiers of 1 case (90 days after their learning was done)." in result.output
    db.session.expire_all()
    case = db.session.get(Case, old.id)
    identifiers = db.session.get(CaseIdentifiers, old.id)
    assert identifiers.purged_at is not None and identifiers.patient_name == "" and identifiers.nhs_number == ""
    assert identifiers.reporter_email == "" and identifiers.reporter_id is None and identifiers.date_of_birth is None
    # Nor does the feedback, nor its delivery record, still say which reporter it went to.
    feedback = db.session.query(Feedback).filter_by(case_id=case.id).one()
    assert (feedback.recipient_name, feedback.recipient_email) == ("", "")
    delivery = db.session.query(Delivery).filter_by(kind="feedback", subject_id=feedback.id).one()
    assert (delivery.recipient, delivery.recipient_name) == ("", "")
    for text in (case.clinical_question, case.triage_note, case.reporter_notice_text, case.images[0].caption):
        assert "Quartermaine" not in text and "FGH7781234" not in text
    image = case.images[0]
    assert image.kind == "png" and image.original.startswith(b"\x89PNG") and b"QUILLFEATHER" not in image.original
    # The approval stands: the case is still in the library and the minutes, as the room saw it.
    assert review.state_of(case) is review.ReviewState.REVIEWED
    assert db.session.get(LibraryEntry, case.id) is not None
    minutes = client.get(f"/meetings/{case.meeting_id}/minutes").get_data(as_text=True)
    assert "Check the lung windows" in minutes and "anonymisation to be reviewed again" not in minutes
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Purged on" in page and "Quartermaine" not in page
    event = db.session.query(AuditEvent).filter_by(action="case.identifiers_purged").one()
    assert event.subject_id == case.id and event.actor_id is None and event.detail["retention_days"] == 90

    # The recent case keeps its identifiers until its time comes; running again purges nothing more.
    assert db.session.get(CaseIdentifiers, recent.id).patient_name == "Zebedee Quartermaine"
    again = app.test_cli_runner().invoke(args=["purge-identifiers"])
    assert "Purged the identifiers of 0 cases" in again.output
    assert db.session.query(AuditEvent).filter_by(action="case.identifiers_purged").count() == 1
    sooner = app.test_cli_runner().invoke(args=["purge-identifiers", "--days", "7"])
    assert "Purged the identifiers of 1 case (7 days after their learning was done)." in sooner.output


def test_cases_without_feedback_are_purged_after_their_meeting_or_their_decline(app, db):
    chair = make_user(Role.CHAIR)
    ended_long_ago = make_meeting(chair=chair, status=MeetingStatus.ENDED, days_ahead=-100)
    ended_lately = make_meeting(chair=chair, status=MeetingStatus.ENDED, days_ahead=-10)
    coming = make_meeting(chair=chair)
    presented_long_ago = make_case(chair, ended_long_ago, PATIENT, status=CaseStatus.PRESENTED)
    presented_lately = make_case(chair, ended_lately, PATIENT, status=CaseStatus.PRESENTED)
    scheduled = make_case(chair, coming, PATIENT)
    declined_long_ago = make_case(chair, None, PATIENT, status=CaseStatus.DECLINED)
    declined_lately = make_case(chair, None, PATIENT, status=CaseStatus.DECLINED)
    db.session.commit()
    db.session.execute(update(Case).where(Case.id == declined_long_ago.id)  # as declined 95 days ago
                       .values(updated_at=utcnow() - timedelta(days=95)))
    db.session.commit()

    dry = app.test_cli_runner().invoke(args=["purge-identifiers", "--dry-run"])
    assert (f"2 cases due for purging (90 days after their learning was done): C{presented_long_ago.id}, "
            f"C{declined_long_ago.id}") in dry.output
    result = app.test_cli_runner().invoke(args=["purge-identifiers"])
    assert result.exit_code == 0 and "Purged the identifiers of 2 cases" in result.output
    db.session.expire_all()
    purged = {case.id for case in (presented_long_ago, presented_lately, scheduled, declined_long_ago, declined_lately)
              if db.session.get(CaseIdentifiers, case.id).purged_at is not None}
    assert purged == {presented_long_ago.id, declined_long_ago.id}
    assert db.session.get(CaseIdentifiers, scheduled.id).patient_name == "Zebedee Quartermaine"
    clocks = {event.subject_id: event.detail["clock"]
              for event in db.session.query(AuditEvent).filter_by(action="case.identifiers_purged")}
    assert clocks == {presented_long_ago.id: "presented without feedback", declined_long_ago.id: "declined"}
