"""Managing people and sites. Services flush; the view commits."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from meetings import audit, mail
from meetings.auth.service import find_user_by_email, invite_token, normalise_email
from meetings.extensions import db
from meetings.models import Role, Site, User
from meetings.professions import normalise_registration
from meetings.web import external_url

USERS_PAGE_SIZE = 25


class AdminRuleError(ValueError):
    """A change an admin may not make (to their own account, or a duplicate)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def sites_to_choose(include_inactive_id: int | None = None) -> list[Site]:
    """Active sites by name, plus the one a person already belongs to even if inactive."""
    sites = db.session.scalars(select(Site).order_by(Site.name))
    return [s for s in sites if s.active or s.id == include_inactive_id]


def search_users(q: str, page: int):
    query = select(User).order_by(func.lower(User.name), User.id)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
    return db.paginate(query, page=page, per_page=USERS_PAGE_SIZE, error_out=False)


def _apply(user: User, data: dict) -> None:
    user.name = data["name"].strip()
    user.email = normalise_email(data["email"])
    user.roles = data["roles"]
    user.home_site_id = data["home_site_id"]
    user.profession = data["profession"]
    user.professional_body = data["professional_body"]
    user.registration_number = normalise_registration(data["registration_number"]) or None


def _check_email_free(email: str, user: User | None = None) -> None:
    existing = find_user_by_email(email)
    if existing is not None and existing is not user:
        raise AdminRuleError("email", "Someone already has this email address")


def send_invite(user: User) -> None:
    link = external_url("auth.accept_invite", token=invite_token(user))
    mail.send(mail.build_message(user.email, "You are invited to Lightbox", "email/invite", user=user, link=link))


def invite_user(data: dict) -> User:
    _check_email_free(data["email"])
    user = User(password_hash=None)
    _apply(user, data)
    db.session.add(user)
    db.session.flush()
    audit.record("user.invited", user, roles=sorted(user.roles))
    send_invite(user)
    return user


def update_user(user: User, data: dict, acting: User) -> None:
    _check_email_free(data["email"], user)
    if user.id == acting.id and Role.ADMIN not in {Role(r) for r in data["roles"]}:
        raise AdminRuleError("roles", "You cannot remove your own admin role; ask another admin")
    _apply(user, data)
    audit.record("user.updated", user, roles=sorted(user.roles))


def set_active(user: User, active: bool, acting: User) -> None:
    if user.id == acting.id and not active:
        raise AdminRuleError("active", "You cannot deactivate your own account")
    user.active = active
    if not active:
        user.rotate_login_token()  # ends their sessions on every device
    audit.record("user.reactivated" if active else "user.deactivated", user)


def _check_site_unique(name: str, code: str, site: Site | None = None) -> None:
    for field, column, value in (("name", Site.name, name), ("code", Site.code, code)):
        existing = db.session.scalar(select(Site).where(func.lower(column) == value.lower()))
        if existing is not None and existing is not site:
            raise AdminRuleError(field, f"Another site already has this {field}")


def _lines(text: str | None) -> str:
    return "\n".join(line.strip() for line in (text or "").splitlines() if line.strip())


def save_site(data: dict, site: Site | None = None) -> Site:
    name, code = data["name"].strip(), data["code"].strip().upper()
    _check_site_unique(name, code, site)
    if site is None:
        site = Site()
        db.session.add(site)
    site.name, site.code = name, code
    site.radpeer_enabled = bool(data.get("radpeer_enabled"))
    site.minutes_list_names = bool(data.get("minutes_list_names"))
    site.risk_distribution = _lines(data.get("risk_distribution"))
    site.invite_distribution = _lines(data.get("invite_distribution"))
    db.session.flush()
    audit.record("site.saved", site, name=name, code=code, radpeer=site.radpeer_enabled,
                 minutes_list_names=site.minutes_list_names, risk_distribution=site.risk_addresses,
                 invite_distribution=site.invite_addresses)
    return site


def set_site_active(site: Site, active: bool) -> None:
    site.active = active
    audit.record("site.reactivated" if active else "site.deactivated", site)
