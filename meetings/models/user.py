"""People who use Lightbox, their roles and their professional registration."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.site import Site


class Role(StrEnum):
    ADMIN = "admin"
    CHAIR = "chair"
    # Triages the cases local chairs forward to the network and runs its regional meetings.
    REGIONAL_CHAIR = "regional_chair"
    RISK = "risk"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.CHAIR: "Chair",
    Role.REGIONAL_CHAIR: "Regional chair",
    Role.RISK: "Risk and governance",
    Role.MEMBER: "Member",
}


class Profession(LabelledEnum):
    CONSULTANT_RADIOLOGIST = "consultant_radiologist"
    TRAINEE_RADIOLOGIST = "trainee_radiologist"
    REPORTING_RADIOGRAPHER = "reporting_radiographer"
    RADIOGRAPHER = "radiographer"
    SONOGRAPHER = "sonographer"
    OTHER = "other"


class ProfessionalBody(StrEnum):
    GMC = "GMC"
    HCPC = "HCPC"
    NONE = "none"

    @property
    def label(self) -> str:
        return "None" if self is ProfessionalBody.NONE else self.value


def registration_label(body: str, number: str | None) -> str:
    """"GMC 1234567" or "HCPC RA12345", as a certificate prints it; empty when there is none."""
    return f"{body} {number}" if body != ProfessionalBody.NONE and number else ""


def _new_login_token() -> str:
    return secrets.token_urlsafe(16)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class User(UserMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    profession: Mapped[str] = mapped_column(String(32), default=Profession.OTHER)
    professional_body: Mapped[str] = mapped_column(String(8), default=ProfessionalBody.NONE)
    registration_number: Mapped[str | None] = mapped_column(String(16))
    # Part of the session id: rotating it signs the person out everywhere and voids old invites.
    login_token: Mapped[str] = mapped_column(String(32), default=_new_login_token)
    # Part of the signed calendar feed link: a reset changes it, and with it every link already given out.
    calendar_key: Mapped[str] = mapped_column(String(32), default=_new_login_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    home_site: Mapped[Site | None] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=UserRole.role
    )

    @property
    def roles(self) -> set[Role]:
        return {Role(row.role) for row in self.role_rows}

    @roles.setter
    def roles(self, wanted) -> None:
        wanted = {Role(r) for r in wanted}
        self.role_rows = [row for row in self.role_rows if row.role in wanted] + [
            UserRole(role=r) for r in sorted(wanted - self.roles)
        ]

    @property
    def registration(self) -> str:
        return registration_label(self.professional_body, self.registration_number)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def has_accepted_invite(self) -> bool:
        return self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.login_token}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.rotate_login_token()

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def rotate_login_token(self) -> None:
        self.login_token = _new_login_token()

    def reset_calendar_key(self) -> None:
        self.calendar_key = _new_login_token()

    def __repr__(self) -> str:
        return f"<User {self.email}>"
