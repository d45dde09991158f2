"""Who may see which governance figures. A site's headline figures are its own people's to see; who did
what (per person) is for the person and their site's chairs; the network's comparison is for those who
run the network."""
from __future__ import annotations

from meetings.cases.access import chairs_region, chairs_site
from meetings.models import Role, Site, User


def can_view_site(user: User, site: Site) -> bool:
    return user.has_role(Role.ADMIN) or user.home_site_id == site.id


def can_view_network(user: User) -> bool:
    return user.has_role(Role.ADMIN) or chairs_region(user)


def can_see_people(user: User, site: Site) -> bool:
    """Each reporter's attendance and cases submitted: the site's chairs and admins."""
    return user.has_role(Role.ADMIN) or chairs_site(user, site.id)


def can_export(user: User, site: Site) -> bool:
    """The annual report and the incident export: the site's chairs and risk staff, and admins."""
    if user.has_role(Role.ADMIN):
        return True
    return user.home_site_id == site.id and user.has_role(Role.CHAIR, Role.RISK)
