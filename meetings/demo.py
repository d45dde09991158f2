"""Synthetic demo data: three sites, people in every role, two past meetings and one upcoming.

Every name, number and date here is invented. NHS numbers come from the test range (999...).
Running it twice changes nothing: each record is found by its natural key before it is created.
"""
from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from meetings import nhs_number
from meetings.actions import service as actions
from meetings.cases import forwarding, review
from meetings.cases import service as case_queue
from meetings.cases.images import check_upload
from meetings.extensions import db
from meetings.feedback import emails as feedback_emails
from meetings.feedback import pats
from meetings.feedback import service as feedback
from meetings.governance import library
from meetings.minutes import service as minutes
from meetings.models import (
    Action, ActionEvent, ActionPriority, ActionStatus, Attendance, AttendanceStatus, Case, CaseIdentifiers, CaseImage, CaseKind,
    CaseStatus, Evaluation, Meeting, MeetingStatus, Modality, PathwayStage, Profession, ProfessionalBody,
    Register, Role, SignedBy, Site, User, person_key, Frequency, MeetingScope, MeetingSeries, Feedback, PatReason, utcnow,
)
from meetings.schedule import service as schedule

DEMO_PASSWORD = "lightbox-demo-2026"
# Attendees' evaluations of each past meeting: (usefulness 1-5, will change practice, most useful, to improve).
DEMO_EVALUATIONS = [
    (5, "yes", "Committing to an answer before the report was shown", ""),
    (4, "yes", "The CTPA lung windows case", "More time for the last case"),
    (4, "unsure", "", "Start on time"),
    (3, "no", "", "Images were small on the projector for the wrist case"),
]
DEMO_DICOM = Path(__file__).resolve().parent.parent / "demo" / "dicom"
# Which demo case (by its index in CASES) shows which synthetic DICOM file, and the caption.
CASE_IMAGES = {
    0: ("ct-chest-nodule.dcm", "Axial CT, lung window: right upper lobe nodule"),
    1: ("xr-wrist.dcm", "PA wrist"),
    3: ("us-kidney-burned-in.dcm", "Longitudinal view; note the burned-in text"),
}

SITES = [
    ("Northgate General Hospital", "NGH"),
    ("Riverside Community Hospital", "RCH"),
    ("Harbour View Infirmary", "HVI"),
]

# email, name, roles, site code, profession, body, registration number
PEOPLE = [
    ("admin@northgate.example.org", "Priya Shah", [Role.ADMIN, Role.MEMBER], "NGH",
     Profession.OTHER, ProfessionalBody.NONE, None),
    ("chair@northgate.example.org", "Dr Tomas Okafor", [Role.CHAIR, Role.MEMBER], "NGH",
     Profession.CONSULTANT_RADIOLOGIST, ProfessionalBody.GMC, "7012345"),
    ("risk@northgate.example.org", "Helen Marsh", [Role.RISK], "NGH",
     Profession.OTHER, ProfessionalBody.NONE, None),
    ("member@northgate.example.org", "Dr Samira Reid", [Role.MEMBER], "NGH",
     Profession.CONSULTANT_RADIOLOGIST, ProfessionalBody.GMC, "7023456"),
    ("radiographer@northgate.example.org", "Jo Pennington", [Role.MEMBER], "NGH",
     Profession.REPORTING_RADIOGRAPHER, ProfessionalBody.HCPC, "RA54321"),
    ("trainee@northgate.example.org", "Dr Luca Bianchi", [Role.MEMBER], "NGH",
     Profession.TRAINEE_RADIOLOGIST, ProfessionalBody.GMC, "7034567"),
    ("chair@riverside.example.org", "Dr Aisha Rahman", [Role.CHAIR, Role.REGIONAL_CHAIR, Role.MEMBER], "RCH",
     Profession.CONSULTANT_RADIOLOGIST, ProfessionalBody.GMC, "7045678"),
    ("risk@riverside.example.org", "Gareth Lloyd", [Role.RISK], "RCH",
     Profession.OTHER, ProfessionalBody.NONE, None),
    ("sonographer@harbourview.example.org", "Mei Lin Chow", [Role.MEMBER], "HVI",
     Profession.SONOGRAPHER, ProfessionalBody.HCPC, "RA67890"),
]

DEMO_SIGN_INS = [
    ("admin@northgate.example.org", "admin"),
    ("chair@northgate.example.org", "chair"),
    ("risk@northgate.example.org", "risk"),
    ("member@northgate.example.org", "member"),
    ("chair@riverside.example.org", "regional_chair"),
]

MEETINGS = [
    # title, days from today, status
    ("Northgate REAL meeting: chest and MSK", -56, MeetingStatus.ENDED),
    ("Northgate REAL meeting: neuro and abdomen", -28, MeetingStatus.ENDED),
    ("Northgate REAL meeting: mixed cases", 14, MeetingStatus.SCHEDULED),
]

# meeting index, kind, came to light, modality, region, question, report, outcome, learning,
# patient (name, dob, hospital number, accession), reporter email
CASES = [
    (0, CaseKind.DISCREPANCY, "random_review", Modality.CT, "Chest",
     "Breathless, raised D-dimer. ?PE",
     "No filling defect in the pulmonary arteries to segmental level. Lungs clear. No effusion.",
     "Follow-up CT 6 months later showed a 14 mm spiculated right upper lobe nodule, visible at 8 mm in retrospect.",
     "Review lung windows on every CTPA, even when the question is PE.",
     ("Margaret Ellison", date(1951, 3, 14), "NGH1048822", "ACC20260101"), "member@northgate.example.org"),
    (0, CaseKind.DISCREPANCY, "clinical_team", Modality.XR, "Wrist",
     "Fall on outstretched hand, anatomical snuffbox tenderness.",
     "No acute bony injury.",
     "Repeat scaphoid views at 10 days showed a scaphoid waist fracture.",
     "Ask for dedicated scaphoid views when the request mentions snuffbox tenderness.",
     ("Daniel Whitcombe", date(1994, 11, 2), "NGH2210394", "ACC20260102"), "trainee@northgate.example.org"),
    (1, CaseKind.GREAT_PICKUP, "double_reporting", Modality.MR, "Lumbar spine",
     "Back pain with left leg radiculopathy.",
     "L4/5 left paracentral disc protrusion contacting the traversing L5 nerve root. "
     "Incidental 3.2 x 2.1 cm solid left renal lesion on the localiser; dedicated renal imaging advised.",
     "CT confirmed a 3 cm renal cell carcinoma, treated by partial nephrectomy.",
     "Always review the localisers and the edges of the field of view.",
     ("Irene Castellano", date(1962, 7, 21), "NGH3392011", "ACC20260201"), "radiographer@northgate.example.org"),
    (1, CaseKind.NEAR_MISS, "peer_feedback", Modality.US, "Abdomen",
     "Right upper quadrant pain. ?Gallstones",
     "Multiple gallstones, gallbladder wall not thickened. Left kidney normal.",
     "Side labelling error noticed before the report was issued; the images were of the right kidney.",
     "Check the side annotation against the request before issuing.",
     ("Hugh Farrant", date(1978, 1, 9), "NGH4471203", "ACC20260202"), "sonographer@harbourview.example.org"),
    (2, CaseKind.DISCREPANCY, "mdt", Modality.CT, "Head",
     # Slips a chair will see highlighted in the anonymisation review.
     "Mrs Achterberg, sudden onset right arm weakness, 2 hours. Discussed with Dr Marchetti (bleep 4417).",
     "No intracranial haemorrhage. No established infarct.",
     "CT angiography 40 minutes later showed a left M1 occlusion; hyperdense MCA sign visible in retrospect.",
     "Look for the hyperdense vessel sign on every stroke CT.",
     ("Rosalind Achterberg", date(1949, 5, 30), "NGH5582340", "ACC20260301"), "member@northgate.example.org"),
    (2, CaseKind.EDUCATIONAL, "other", Modality.MAMMOGRAPHY, "Breast",
     "Screening mammogram.",
     "No features of malignancy. Routine recall.",
     "Interval cancer diagnosed 14 months later; architectural distortion visible in retrospect, BI-RADS 4.",
     "Architectural distortion is subtle; compare with priors at the same projection.",
     ("Beatrice Sandoval", date(1967, 9, 12), "NGH6691245", "ACC20260302"), "radiographer@northgate.example.org"),
    (2, CaseKind.SYSTEM_ISSUE, "complaint", Modality.XR, "Chest",
     "Post NG tube insertion. Position?",
     "NG tube tip below the diaphragm in the stomach.",
     "The report was not seen by the ward for 9 hours; feeding was delayed.",
     "Tube position reports need a read receipt or a phone call.",
     ("Walter Prendergast", date(1940, 12, 25), "NGH7712098", "ACC20260303"), "chair@northgate.example.org"),
    (None, CaseKind.DISCREPANCY, "random_review", Modality.CT, "Abdomen and pelvis",
     "Left iliac fossa pain, raised CRP.",
     "Sigmoid diverticulitis without collection.",
     "Colonoscopy 8 weeks later found a sigmoid carcinoma at the same site.",
     "Suggest follow-up colonic evaluation after diverticulitis with a long inflamed segment.",
     ("Nadia Kowalczyk", date(1958, 4, 3), "NGH8823456", "ACC20260401"), "member@northgate.example.org"),
]


def _tuesday_of_week(day: date) -> date:
    """Departments hold REAL meetings on a fixed weekday; the demo's are on Tuesdays."""
    return day - timedelta(days=day.weekday()) + timedelta(days=1)


def _one(model, **lookup):
    return db.session.scalar(select(model).filter_by(**lookup))


def _sites() -> dict[str, Site]:
    sites = {}
    for name, code in SITES:
        site = _one(Site, code=code) or Site(name=name, code=code)
        db.session.add(site)
        sites[code] = site
    db.session.flush()
    return sites


def _people(sites: dict[str, Site]) -> dict[str, User]:
    people = {}
    for email, name, roles, code, profession, body, number in PEOPLE:
        user = _one(User, email=email)
        if user is None:
            # The department's people had accounts before its past meetings, so the scorecard counts them.
            user = User(email=email, name=name, home_site=sites[code], profession=profession,
                        professional_body=body, registration_number=number,
                        created_at=utcnow() - timedelta(days=400))
            user.roles = roles
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        people[email] = user
    db.session.flush()
    return people


def _meetings(sites, people) -> list[Meeting]:
    chair = people["chair@northgate.example.org"]
    meetings = []
    for title, days, status in MEETINGS:
        meeting = _one(Meeting, title=title)
        if meeting is None:
            day = _tuesday_of_week(date.today() + timedelta(days=days))
            meeting = Meeting(
                title=title, site=sites["NGH"], chair=chair,
                minute_taker=people["trainee@northgate.example.org"],
                starts_at=schedule.at_local(day, time(12, 30)), ends_at=schedule.at_local(day, time(14, 0)),
                location="Radiology seminar room, level 2", online_url="https://meet.example.org/ngh-real",
                status=status,
            )
            db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    return meetings


def _cases(sites, people, meetings) -> list[Case]:
    cases = []
    for number, row in enumerate(CASES):
        (meeting_index, kind, came, modality, region, question, report, outcome, learning,
         patient, reporter_email) = row
        case = _one(Case, report_text=report)
        if case is None:
            meeting = meetings[meeting_index] if meeting_index is not None else None
            past = meeting is not None and meeting.status == MeetingStatus.ENDED
            position = sum(1 for c in cases if c.meeting is meeting and meeting is not None)
            case = Case(
                submitter=people["member@northgate.example.org"], site=sites["NGH"], meeting=meeting,
                queue_position=position if meeting else None, kind=kind, came_to_light=came,
                modality=modality, body_region=region, clinical_question=question, report_text=report,
                outcome_text=outcome, suggested_learning=learning,
                status=CaseStatus.PRESENTED if past else (CaseStatus.SCHEDULED if meeting else CaseStatus.SUBMITTED),
                discussion_notes="The room agreed the finding was subtle but visible in retrospect." if past else "",
                learning_points=learning if past else "",
                discrepancy_type="perceptual" if past and kind == CaseKind.DISCREPANCY else None,
                pathway_stage=PathwayStage.REPORTING if past and kind in (CaseKind.DISCREPANCY, CaseKind.NEAR_MISS) else None,
            )
            name, dob, hospital_number, accession = patient
            reporter = people[reporter_email]
            exam_day = (meeting.starts_at.date() if meeting else date.today()) - timedelta(days=60)
            case.identifiers = CaseIdentifiers(
                patient_name=name, nhs_number=nhs_number.synthetic(4_100_000 + number * 7919),
                hospital_number=hospital_number, date_of_birth=dob, accession_number=accession,
                examination_date=exam_day, reporter_id=reporter.id, reporter_name=reporter.name,
                reporter_email=reporter.email, referrer_name="Dr Felix Marchetti",
            )
            db.session.add(case)
            if number in CASE_IMAGES:
                filename, caption = CASE_IMAGES[number]
                image = check_upload((DEMO_DICOM / filename).read_bytes(), max_bytes=10**7, max_pixels=10**7)
                case.images.append(CaseImage(
                    uploaded_by_id=case.submitter.id, kind=image.kind, content_type=image.content_type,
                    width=image.width, height=image.height, byte_size=len(image.data), caption=caption,
                    original=image.data,
                ))
        cases.append(case)
    db.session.flush()
    return cases


def _attendance(people, meetings) -> None:
    """Ended meetings have a closed register (so their certificates are ready), a visiting reporter who
    signed as a guest, someone who arrived late, an apology, and a few evaluations."""
    for meeting in meetings:
        if meeting.status != MeetingStatus.ENDED:
            continue
        if db.session.get(Register, meeting.id) is None:
            db.session.add(Register(meeting_id=meeting.id, opened_at=meeting.starts_at,
                                    closed_at=meeting.ends_at, presence_required=True))
        signers = [u for u in people.values() if Role.RISK not in u.roles and Role.ADMIN not in u.roles]
        for number, user in enumerate(signers):
            key = person_key(user.id, None)
            if _one(Attendance, meeting_id=meeting.id, person_key=key) is None:
                db.session.add(Attendance(
                    meeting_id=meeting.id, user_id=user.id, person_key=key, name=user.name, email=user.email,
                    profession=user.profession, professional_body=user.professional_body,
                    registration_number=user.registration_number, site_name=user.home_site.name,
                    signed_at=meeting.starts_at + timedelta(minutes=5),
                    # The last of them came in half an hour late: their certificate says so.
                    arrived_at=meeting.starts_at + timedelta(minutes=30) if number == len(signers) - 1 else None,
                    certificate_emailed_at=meeting.ends_at,
                ))
        guests = [
            {"name": "Dr Oskar Lindqvist", "email": "locum.reporter@insourcing.example.org",
             "profession": Profession.CONSULTANT_RADIOLOGIST, "professional_body": ProfessionalBody.GMC,
             "registration_number": "7100042", "site_name": "Insourced reporting service",
             "signed_at": meeting.starts_at + timedelta(minutes=7), "certificate_emailed_at": meeting.ends_at},
            {"name": "Dr Maren Solberg", "email": "trainee.visitor@deanery.example.org",
             "profession": Profession.TRAINEE_RADIOLOGIST, "status": AttendanceStatus.APOLOGIES,
             "signed_by": SignedBy.BY_HAND, "site_name": "Regional training programme"},
        ]
        for guest in guests:
            key = person_key(None, guest["email"])
            if _one(Attendance, meeting_id=meeting.id, person_key=key) is None:
                db.session.add(Attendance(meeting_id=meeting.id, person_key=key, **guest))
        if _one(Evaluation, meeting_id=meeting.id) is None:
            for usefulness, change, best, improve in DEMO_EVALUATIONS:
                db.session.add(Evaluation(meeting_id=meeting.id, usefulness=usefulness, change_practice=change,
                                          best=best, improve=improve))


def _actions(people, meetings, cases) -> None:
    today = date.today()
    rows = [
        (0, 0, "Add a 'lung windows reviewed' line to the CTPA reporting template", "chair@northgate.example.org",
         today + timedelta(days=20), ActionPriority.HIGH, ActionStatus.IN_PROGRESS),
        (0, 1, "Update the wrist request vetting guide to ask for scaphoid views on snuffbox tenderness",
         "member@northgate.example.org", today - timedelta(days=5), ActionPriority.MEDIUM, ActionStatus.OPEN),
        (1, 3, "Add a side-check step to the ultrasound reporting checklist and brief all sonographers",
         "sonographer@harbourview.example.org", today - timedelta(days=2), ActionPriority.HIGH, ActionStatus.DONE),
        (1, None, "Circulate the localiser review reminder to all MR reporters",
         "radiographer@northgate.example.org", today + timedelta(days=7), ActionPriority.LOW, ActionStatus.OPEN),
    ]
    chair = people["chair@northgate.example.org"]
    risk = people["risk@northgate.example.org"]
    for meeting_index, case_index, text, owner_email, due, priority, status in rows:
        if _one(Action, description=text) is not None:
            continue
        meeting = meetings[meeting_index]
        action = Action(
            meeting=meeting, case=cases[case_index] if case_index is not None else None, description=text,
            owner=people[owner_email], due_on=due, priority=priority, sites=[meeting.site], created_by_id=chair.id,
            created_at=meeting.ends_at, history=[ActionEvent(at=meeting.ends_at, by_id=chair.id, by_name=chair.name,
                                                             to_status=ActionStatus.OPEN, note=f"Agreed at {meeting.title}")],
        )
        later = meeting.ends_at + timedelta(days=10)
        if status == ActionStatus.IN_PROGRESS:
            action.history.append(ActionEvent(at=later, by_id=action.owner.id, by_name=action.owner.name,
                                              from_status=ActionStatus.OPEN, to_status=status,
                                              note="Draft template change sent to the CT lead."))
        elif status == ActionStatus.DONE:
            action.closing_note = "Checklist updated and briefing held at the sonographers' huddle."
            action.closed_at = later
            action.history.append(ActionEvent(at=later, by_id=risk.id, by_name=risk.name, from_status=ActionStatus.OPEN,
                                              to_status=status, note=action.closing_note))
        action.status = status
        db.session.add(action)


def _minutes(people, meetings) -> None:
    """The first meeting's minutes are published (their emails wait in the delivery log for
    `send-pending-mail`); the second's are a draft."""
    for meeting in meetings[:2]:
        record = minutes.minutes_of(meeting)
        if not record.any_other_business:
            record.any_other_business = "The next meeting will trial live polls. Volunteers for case review welcome."
    first = minutes.minutes_of(meetings[0])
    if not first.versions:
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            minutes.publish(meetings[0], people["chair@northgate.example.org"], "")


# The burned-in name, NHS number and date across the top of the demo ultrasound.
ULTRASOUND_LABEL_BOX = [0, 0, 250, 28]


# The upcoming CT head case keeps its slips for the chair to review; the others are ready to present.
LEFT_FOR_REVIEW = {"ACC20260301"}


def _reviews(people, cases) -> None:
    """Cases in meetings were reviewed, with the ultrasound's burned-in text covered, all but one."""
    chair = people["chair@northgate.example.org"]
    for case in cases:
        if case.meeting_id is None or case.review is not None:
            continue
        if review.identifiers_of(case).accession_number in LEFT_FOR_REVIEW:
            continue
        for image in case.images:
            if image.kind == "dicom" and case.modality == Modality.US:
                review.set_boxes(image, [ULTRASOUND_LABEL_BOX])
        review.approve(case, chair, [], [], review.fingerprint(case, images=False))


def _feedback(people, cases) -> None:
    """The first meeting's reporters have their feedback (one acknowledged and reflected on); the great
    pickup's reporter has a pat on the back with the case; the visiting sonographer's waits to be sent, so
    the chair sees their home site suggested."""
    if db.session.scalar(select(Feedback.id).limit(1)) is not None:
        return
    chair = people["chair@northgate.example.org"]
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        messages = {0: "Thank you for letting us learn from this one: it was a subtle finding and the discussion "
                       "was generous. No action is needed from you beyond the learning point.",
                    1: "", 2: "A great pickup, and the room said so. Thank you."}
        for index, message in messages.items():
            case = cases[index]
            sent = feedback.send(case, case.meeting, chair, feedback.reporter_of(case), message, None)
            feedback_emails.queue_for(sent)
            if index == 1:
                feedback.reflect(sent, "Snuffbox tenderness in the request now prompts me to ask for scaphoid views.",
                                 20)
        pat = pats.send(people["member@northgate.example.org"], people["radiographer@northgate.example.org"],
                        PatReason.GREAT_PICKUP, "That renal lesion on the localiser was a superb spot.", cases[2])
        feedback_emails.queue_pat(pat)
        pat = pats.send(chair, people["member@northgate.example.org"], PatReason.GOOD_REPORT,
                        "Your CT reports on the acute list this week were clear and quick. Thank you.", None)
        feedback_emails.queue_pat(pat)


def _series(sites, people) -> None:
    """Next year's REAL meetings at Northgate, every second month on the first Tuesday (no invitations sent)."""
    sites["NGH"].invite_distribution = sites["NGH"].invite_distribution or "radiology-all@northgate.example.org"
    if db.session.scalar(select(MeetingSeries.id).limit(1)) is not None:
        return
    starts_on = date.today() + timedelta(days=60)
    schedule.create_series(
        people["chair@northgate.example.org"], title="Northgate REAL meeting", scope=MeetingScope.LOCAL,
        site=sites["NGH"], rule=schedule.Rule(Frequency.MONTHLY, 2, 1, 1, starts_on, starts_on + timedelta(days=364)),
        starts=time(12, 30), ends=time(14, 0), location="Radiology seminar room, level 2",
        online_url="https://meet.example.org/ngh-real", reminder_minutes=30, listed=True)


REGIONAL_MEETINGS = [
    # title, days from today, status
    ("North Coast regional peer learning meeting", -42, MeetingStatus.ENDED),
    ("North Coast regional peer learning meeting, winter", 21, MeetingStatus.SCHEDULED),
]
NETWORK_ACTION = "Add a 'compare with prior imaging' prompt to every CT reporting template in the network"


def _regional(people, cases) -> None:
    """The network's meetings, chaired by Riverside's chair as regional chair: an ended one whose network
    action each site is working through, and the next one, with a case Northgate forwarded after presenting
    it, already accepted and reviewed."""
    lead = people["chair@riverside.example.org"]
    meetings = []
    for title, days, status in REGIONAL_MEETINGS:
        meeting = _one(Meeting, title=title)
        if meeting is None:
            day = _tuesday_of_week(date.today() + timedelta(days=days))
            meeting = Meeting(title=title, scope=MeetingScope.REGIONAL, site=None, chair=lead,
                              starts_at=schedule.at_local(day, time(16, 0)), ends_at=schedule.at_local(day, time(17, 30)),
                              online_url="https://meet.example.org/north-coast-network", status=status)
            db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    ended, upcoming = meetings
    if _one(Action, description=NETWORK_ACTION) is None:
        network_action = actions.capture(ended, actions.NewAction(
            description=NETWORK_ACTION, due_on=date.today() + timedelta(days=30), priority=ActionPriority.HIGH,
            owner=lead), lead)
        for copy in network_action.site_copies:
            risk = next((p for p in people.values() if Role.RISK in p.roles and p.home_site_id == copy.sites[0].id), lead)
            if copy.sites[0].code == "NGH":
                actions.change_status(copy, ActionStatus.DONE, "Template prompt added to all CT templates.", risk,
                                      copy.version)
            elif copy.sites[0].code == "RCH":
                actions.change_status(copy, ActionStatus.IN_PROGRESS, "With the PACS team.", risk, copy.version)
    presented = next(c for c in cases if c.status == CaseStatus.PRESENTED and c.review is not None)
    if presented.forwarded_as is None:
        copy = forwarding.forward(presented, people["chair@northgate.example.org"])
        case_queue.schedule(copy, upcoming)
        review.approve(copy, lead, [], [], review.fingerprint(copy, images=False))


def seed() -> None:
    """Create or complete the demo data set. The caller commits."""
    sites = _sites()
    people = _people(sites)
    meetings = _meetings(sites, people)
    cases = _cases(sites, people, meetings)
    _reviews(people, cases)
    _attendance(people, meetings)
    _actions(people, meetings, cases)
    _minutes(people, meetings)
    _feedback(people, cases)
    _regional(people, cases)
    library.rebuild()
    _series(sites, people)
    db.session.flush()
