"""Cases nominated for learning, with their identifiers kept in a table of their own."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings import identifier_key
from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.meeting import Meeting
from meetings.models.site import Site
from meetings.models.user import User


class CaseKind(LabelledEnum):
    DISCREPANCY = "discrepancy"
    NEAR_MISS = "near_miss"
    GREAT_PICKUP = "great_pickup"
    EDUCATIONAL = "educational"
    SYSTEM_ISSUE = "system_issue"

    @property
    def label(self) -> str:
        return {
            CaseKind.DISCREPANCY: "Discrepancy or error",
            CaseKind.NEAR_MISS: "Near miss",
            CaseKind.GREAT_PICKUP: "Great pickup or good spot",
            CaseKind.EDUCATIONAL: "Educational case",
            CaseKind.SYSTEM_ISSUE: "System or process issue",
        }[self]

    @property
    def is_incident(self) -> bool:
        """Reported to incident systems; great pickups and teaching cases are not."""
        return self in (CaseKind.DISCREPANCY, CaseKind.NEAR_MISS, CaseKind.SYSTEM_ISSUE)


class CaseStatus(LabelledEnum):
    SUBMITTED = "submitted"
    MORE_INFO = "more_info"  # sent back to the submitter, who edits and resubmits
    DECLINED = "declined"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    PRESENTED = "presented"


class CameToLight(LabelledEnum):
    RANDOM_REVIEW = "random_review"
    MDT = "mdt"
    DOUBLE_REPORTING = "double_reporting"
    PEER_FEEDBACK = "peer_feedback"
    CLINICAL_TEAM = "clinical_team"
    COMPLAINT = "complaint"
    OTHER = "other"

    @property
    def label(self) -> str:
        return "MDT meeting" if self is CameToLight.MDT else super().label


class Modality(StrEnum):
    XR = "XR"
    CT = "CT"
    MR = "MR"
    US = "US"
    NM = "NM"
    MAMMOGRAPHY = "mammography"
    FLUOROSCOPY = "fluoroscopy"
    IR = "IR"

    @property
    def label(self) -> str:
        return self.value if self.value.isupper() else self.value.capitalize()


class DiscrepancyType(LabelledEnum):
    PERCEPTUAL = "perceptual"
    SATISFACTION_OF_SEARCH = "satisfaction_of_search"
    FAULTY_REASONING = "faulty_reasoning"
    LACK_OF_KNOWLEDGE = "lack_of_knowledge"
    TECHNIQUE = "technique"
    COMMUNICATION = "communication"
    INADEQUATE_CLINICAL_INFORMATION = "inadequate_clinical_information"
    PRIOR_NOT_COMPARED = "prior_not_compared"
    OTHER = "other"

    @property
    def label(self) -> str:
        special = {
            DiscrepancyType.PERCEPTUAL: "Perceptual (under-reading)",
            DiscrepancyType.PRIOR_NOT_COMPARED: "Prior examination not compared",
        }
        return special.get(self) or super().label


class ClinicalSignificance(LabelledEnum):
    NONE = "none"
    MINOR = "minor"
    MODERATE = "moderate"
    MAJOR = "major"
    NOT_KNOWN = "not_known"

    @property
    def label(self) -> str:
        return "No clinical significance" if self is ClinicalSignificance.NONE else super().label


class PathwayStage(LabelledEnum):
    """Where in the imaging pathway it went wrong, as UKHSA's Medical Exposures Group classifies incidents."""

    REFERRAL = "referral"
    JUSTIFICATION = "justification"
    IDENTIFICATION = "identification"
    EXPOSURE = "exposure"
    REPORTING = "reporting"
    COMMUNICATION = "communication"

    @property
    def label(self) -> str:
        return "Communication of results" if self is PathwayStage.COMMUNICATION else super().label


class RadpeerGrade(StrEnum):
    """RADPEER-style peer review scores; offered only where a site turns grading on."""

    CONCUR = "1"
    UNLIKELY_SIGNIFICANT_2 = "2a"
    LIKELY_SIGNIFICANT_2 = "2b"
    UNLIKELY_SIGNIFICANT_3 = "3a"
    LIKELY_SIGNIFICANT_3 = "3b"

    @property
    def label(self) -> str:
        return {
            "1": "1: concur with interpretation",
            "2a": "2a: discrepancy, not ordinarily expected to be made; unlikely to be clinically significant",
            "2b": "2b: discrepancy, not ordinarily expected to be made; likely to be clinically significant",
            "3a": "3a: discrepancy that should be made most of the time; unlikely to be clinically significant",
            "3b": "3b: discrepancy that should be made most of the time; likely to be clinically significant",
        }[self.value]


class Case(Base):
    """The clinical content of a case. Nothing in this table identifies a patient or a reporter."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    # A regional case: the anonymised copy of a local case its chair forwarded to the network's queue.
    # `site_id` stays the origin's, for scoping and counting; no regional output shows it.
    forwarded_from_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), unique=True)
    queue_position: Mapped[int | None]
    allowance_minutes: Mapped[int] = mapped_column(default=10)
    kind: Mapped[str] = mapped_column(String(24))
    came_to_light: Mapped[str] = mapped_column(String(24), default="other")
    modality: Mapped[str] = mapped_column(String(16))
    body_region: Mapped[str] = mapped_column(String(100), default="")
    clinical_question: Mapped[str] = mapped_column(Text, default="")
    report_text: Mapped[str] = mapped_column(Text, default="")
    outcome_text: Mapped[str] = mapped_column(Text, default="")
    suggested_learning: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.SUBMITTED, index=True)
    discussion_notes: Mapped[str] = mapped_column(Text, default="")
    learning_points: Mapped[str] = mapped_column(Text, default="")
    # The chair's summary of the case in the minutes, scrubbed when saved; None: drawn from the approved texts.
    minutes_summary: Mapped[str | None] = mapped_column(Text)
    discrepancy_type: Mapped[str | None] = mapped_column(String(32))
    clinical_significance: Mapped[str | None] = mapped_column(String(16))
    great_pickup: Mapped[bool] = mapped_column(default=False, server_default=false())
    radpeer_grade: Mapped[str | None] = mapped_column(String(4))
    # Set by the chair at triage, for the incident-system export; None: not an incident, or not known.
    pathway_stage: Mapped[str | None] = mapped_column(String(16))
    # Time the room has spent on the case so far, for its timer and the minutes.
    presented_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    # What the chair told the submitter when declining or asking for more information.
    triage_note: Mapped[str] = mapped_column(Text, default="")
    reporter_notice_text: Mapped[str] = mapped_column(Text, default="")
    reporter_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    submitter: Mapped[User] = relationship()
    site: Mapped[Site] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    identifiers: Mapped[CaseIdentifiers | None] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="raise"
    )
    images: Mapped[list[CaseImage]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseImage.position", lazy="selectin"
    )
    review: Mapped[CaseReview | None] = relationship(back_populates="case", cascade="all, delete-orphan")
    forwarded_from: Mapped[Case | None] = relationship(remote_side=[id], back_populates="forwarded_as")
    forwarded_as: Mapped[Case | None] = relationship(back_populates="forwarded_from", uselist=False)

    @property
    def is_regional(self) -> bool:
        return self.forwarded_from_id is not None

    @property
    def short_title(self) -> str:
        """How lists name a case, without identifying it: "CT chest", "Mammography breast"."""
        return f"{Modality(self.modality).label} {self.body_region.lower()}".strip()

    @property
    def came_to_light_label(self) -> str:
        return CameToLight(self.came_to_light).label

    @property
    def kind_label(self) -> str:
        return CaseKind(self.kind).label

    @property
    def status_label(self) -> str:
        return CaseStatus(self.status).label

    @property
    def discrepancy_type_label(self) -> str:
        return DiscrepancyType(self.discrepancy_type).label if self.discrepancy_type else ""

    @property
    def is_incident(self) -> bool:
        return CaseKind(self.kind).is_incident

    @property
    def pathway_stage_label(self) -> str:
        return PathwayStage(self.pathway_stage).label if self.pathway_stage else ""

    @property
    def is_great_pickup(self) -> bool:
        """Submitted as a great pickup, or recognised as one by the chair whatever its kind."""
        return self.great_pickup or self.kind == CaseKind.GREAT_PICKUP

    @property
    def has_reporter_notice(self) -> bool:
        return self.reporter_notice_sent_at is not None


class CaseImage(Base):
    """A key image as uploaded: identifiable (DICOM headers, burned-in text), so never shown to an audience.

    Images live in the database so every app server sees them. Until its case is saved, an upload waits
    under the submission form's `upload_token`, so a form sent back with errors keeps its images.
    """

    __tablename__ = "case_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    upload_token: Mapped[str | None] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    caption: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    original: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The PNG an audience may see: pixels only, with the chair's redaction boxes burned in. Made again
    # from `original` whenever the boxes change; null until first made.
    anonymised: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # [[x, y, width, height], ...] in the anonymised image's pixels.
    redaction_boxes: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case | None] = relationship(back_populates="images")


class SealedIdentifier:
    """One identifier, kept inside `CaseIdentifiers.sealed` and opened with the identifier key when read."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, identifiers: CaseIdentifiers | None, owner=None):
        if identifiers is None:
            return self
        return identifiers.opened()[self.name]

    def __set__(self, identifiers: CaseIdentifiers, value) -> None:
        identifiers.change(self.name, value or identifier_key.empty(self.name))


class CaseIdentifiers(Base):
    """Patient and reporter identifiers. Loaded only by views allowed to show them, and audited.

    `lazy="raise"` on `Case.identifiers` makes an accidental load from an audience view an error. At rest
    they are one sealed token (meetings/identifier_key.py); the attributes read and write through it, and
    an unchanged value leaves the token alone, so saving a form unchanged does not stale the case's review.
    """

    __tablename__ = "case_identifiers"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    # The reporter's account, when they have one: a link, not a name, so it stays queryable.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Every identifier below, sealed; "" when none are held (a regional copy, or after purging).
    sealed: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When the retention policy took them out (`flask --app app purge-identifiers`); None while held.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient_name = SealedIdentifier()
    nhs_number = SealedIdentifier()
    hospital_number = SealedIdentifier()
    date_of_birth = SealedIdentifier()
    accession_number = SealedIdentifier()
    examination_date = SealedIdentifier()
    reporter_name = SealedIdentifier()
    reporter_email = SealedIdentifier()
    referrer_name = SealedIdentifier()

    case: Mapped[Case] = relationship(back_populates="identifiers")

    @classmethod
    def identifying_fields(cls) -> tuple[str, ...]:
        """The columns that identify someone (not the case they belong to, nor when they were purged)."""
        return "reporter_id", "sealed"

    def opened(self) -> dict:
        """Every identifier, opened once per sealed token. Raises `IdentifiersUnavailable` without the key."""
        token = self.sealed or ""
        cached = self.__dict__.get("_opened")
        if cached is None or cached[0] != token:
            cached = token, identifier_key.open_sealed(token)
            self.__dict__["_opened"] = cached
        return cached[1]

    @property
    def available(self) -> bool:
        try:
            self.opened()
        except identifier_key.IdentifiersUnavailable:
            return False
        return True

    def change(self, field: str, value) -> None:
        if field in identifier_key.DATES and not (value is None or isinstance(value, date)):
            raise TypeError(f"{field} takes a date, not {type(value).__name__}")
        values = self.opened()
        if values[field] != value:
            values = values | {field: value}
            self.sealed = identifier_key.seal(values)
            self.__dict__["_opened"] = self.sealed, values

    def forget(self) -> None:
        """Hold no identifiers at all (purging): needs no key, and leaves nothing to open."""
        self.sealed, self.reporter_id = "", None


class CaseReview(Base):
    """The chair's anonymisation review: what was approved for the room, and against which version.

    `fingerprint` digests everything identifiable about the case at approval (its text, identifiers and
    images); when the case changes the digest no longer matches and the case must be reviewed again. The
    chair's extra redactions and restored words outlive a stale review, so re-reviewing starts from them.
    """

    __tablename__ = "case_review"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    redact: Mapped[list] = mapped_column(JSON, default=list)
    keep: Mapped[list] = mapped_column(JSON, default=list)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The anonymised texts as approved: {"clinical_question": ..., "captions": {"<image id>": ...}, ...}
    approved: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="review")
    reviewed_by: Mapped[User | None] = relationship()
