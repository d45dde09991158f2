"""Typed SQLAlchemy models, one module per aggregate. Import from here."""
from meetings.models.action import (
    CLOSED_STATUSES, OPEN_STATUSES, Action, ActionEvent, ActionPriority, ActionSite, ActionStatus,
)
from meetings.models.attendance import (
    Attendance, AttendanceStatus, Evaluation, Register, SignedBy, new_certificate_number, person_key,
)
from meetings.models.audit import AuditEvent
from meetings.models.base import Base, utcnow
from meetings.models.case import (
    CameToLight, Case, CaseIdentifiers, CaseImage, CaseKind, CaseReview, CaseStatus, ClinicalSignificance,
    DiscrepancyType, Modality, PathwayStage, RadpeerGrade,
)
from meetings.models.library import LibraryEntry
from meetings.models.live import LiveState, Poll, PollKind, PollVote, Stage
from meetings.models.delivery import Delivery, DeliveryStatus
from meetings.models.feedback import Feedback, Pat, PatReason
from meetings.models.invitation import Invitation, InvitationReason
from meetings.models.meeting import Meeting, MeetingScope, MeetingStatus
from meetings.models.minutes import Minutes, MinutesStatus, MinutesVersion
from meetings.models.notice import Notice
from meetings.models.series import Frequency, MeetingSeries
from meetings.models.site import Site
from meetings.models.user import Profession, ProfessionalBody, Role, User, UserRole

__all__ = [
    "Action", "ActionPriority", "CameToLight", "CaseImage", "ActionStatus", "Attendance", "AuditEvent", "Base", "Case",
    "CaseIdentifiers", "CaseKind", "CaseReview", "CaseStatus", "Meeting", "MeetingScope", "MeetingStatus",
    "Minutes", "MinutesStatus", "Modality", "Profession", "ProfessionalBody", "Role", "Site",
    "User", "UserRole", "person_key", "utcnow", "ClinicalSignificance", "DiscrepancyType", "RadpeerGrade",
    "LiveState", "Poll", "PollKind", "PollVote", "Stage",
    "ActionEvent", "ActionSite", "CLOSED_STATUSES", "OPEN_STATUSES", "Notice",
    "AttendanceStatus", "Delivery", "DeliveryStatus", "MinutesVersion", "Evaluation", "Register", "SignedBy", "new_certificate_number",
    "Frequency", "Invitation", "InvitationReason", "MeetingSeries", "Feedback", "Pat", "PatReason",
    "LibraryEntry", "PathwayStage",
]
