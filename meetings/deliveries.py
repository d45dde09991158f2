"""The delivery log: email queued one row per recipient, sent, and retried until the mail server takes it.

A kind of email says how its message is built (`@builds("minutes")`); `queue` records who should get it;
`send_pending` sends what is waiting, from a request's background thread or from
`flask --app app send-pending-mail` run by cron. Each delivery is claimed before it is sent and marked once
the mail server took it, so two senders at once never send it twice, and a claim left by a sender that died
expires, so nothing is lost. Delivery is at least once, not exactly once: a sender that dies after the mail
server took a message but before marking it leaves a claim that expires, and the message goes again. A failure
is logged on its row (the chair sees it) and tried again, up to MAX_ATTEMPTS.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import ColumnElement, and_, func, or_, select, update

from meetings import mail
from meetings.extensions import db, insert_if_absent
from meetings.models import Delivery, DeliveryStatus, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_EXPIRES = timedelta(minutes=15)

_builders: dict[str, Callable[[Delivery], EmailMessage]] = {}


def builds(kind: str):
    """Register the function that builds a delivery's message: it is given the delivery row."""
    def register(build: Callable[[Delivery], EmailMessage]):
        _builders[kind] = build
        return build
    return register


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str = ""


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0


def queue(kind: str, subject_id: int, recipients: Iterable[Recipient], again: bool = False) -> int:
    """Queue one delivery per address (compared without case); how many were new. Runs in the session's
    transaction, so the deliveries exist exactly when what they deliver does. `again` sends once more to an
    address that had it already (a fresh link, say), as a pending delivery that starts its attempts anew."""
    queued, seen = 0, set()
    for recipient in recipients:
        address = recipient.address.strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        made = insert_if_absent(Delivery, {
            "kind": kind, "subject_id": subject_id, "recipient": address.lower(),
            "recipient_name": recipient.name[:200],
            "status": DeliveryStatus.PENDING, "attempts": 0, "last_error": "", "created_at": utcnow(),
        }, ["kind", "subject_id", "recipient"])
        queued += made is not None
        if made is None and again:
            # A delivery a sender is working on now is left to it; one it already sent goes again.
            db.session.execute(update(Delivery).where(
                Delivery.kind == kind, Delivery.subject_id == subject_id, Delivery.recipient == address.lower(),
                or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < utcnow() - CLAIM_EXPIRES))
                .values(status=DeliveryStatus.PENDING, attempts=0, last_error="", sent_at=None))
    return queued


def tally(kinds: Iterable[str], subject_ids: list[int]) -> dict[int, Counter]:
    """How many of each subject's deliveries are sent, pending and failed, counted in the database: the
    chairs' pages ask for it every few seconds while emails go out."""
    counts: dict[int, Counter] = {subject_id: Counter() for subject_id in subject_ids}
    if subject_ids:
        for subject_id, status, count in db.session.execute(
                select(Delivery.subject_id, Delivery.status, func.count())
                .where(Delivery.kind.in_(list(kinds)), Delivery.subject_id.in_(subject_ids))
                .group_by(Delivery.subject_id, Delivery.status)):
            counts[subject_id][status] = count
    return counts


def _claimable() -> ColumnElement[bool]:
    return and_(Delivery.status != DeliveryStatus.SENT,
                or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < utcnow() - CLAIM_EXPIRES))


def send_pending(kinds: Iterable[str] | None = None, subject_ids: Iterable[int] | None = None,
                 retry_exhausted: bool = False) -> Outcome:
    """Send every delivery not yet sent (of these kinds and subjects), oldest first.

    Deliveries that failed MAX_ATTEMPTS times wait for someone to ask again (`retry_exhausted`): an address
    that bounces every time should not be hammered by cron for ever. It commits the session first, so the
    claims, written on connections of their own, never wait behind it.
    """
    query = select(Delivery.id).where(_claimable())
    if not retry_exhausted:
        query = query.where(Delivery.attempts < MAX_ATTEMPTS)
    if kinds is not None:
        query = query.where(Delivery.kind.in_(list(kinds)))
    if subject_ids is not None:
        query = query.where(Delivery.subject_id.in_(list(subject_ids)))
    waiting = list(db.session.scalars(query.order_by(Delivery.id)))
    db.session.commit()
    outcome = Outcome()
    for delivery_id in waiting:
        claimed_at = _claim(delivery_id)
        if claimed_at is None:
            continue
        delivery = db.session.get(Delivery, delivery_id)
        try:
            mail.send(_builders[delivery.kind](delivery))
        except Exception as error:  # noqa: BLE001 - one bad address or a mail server hiccup must not stop the rest
            log.exception("%s delivery %s to %s failed; it will be tried again", delivery.kind, delivery.id,
                          delivery.recipient)
            db.session.rollback()
            _finish(delivery_id, claimed_at, status=DeliveryStatus.FAILED, last_error=_describe(error),
                    attempts=Delivery.attempts + 1)
            outcome.failed += 1
            continue
        _finish(delivery_id, claimed_at, status=DeliveryStatus.SENT, sent_at=utcnow(), last_error="",
                attempts=Delivery.attempts + 1)
        outcome.sent += 1
    db.session.expire_all()
    return outcome


def _describe(error: Exception) -> str:
    """A failure as the chair reads it: what went wrong, without a traceback."""
    return f"{type(error).__name__}: {error}"[:500]


def _claim(delivery_id: int):
    """Claim the delivery on a connection of its own, committed at once; the claim's time, or None if it
    was sent or taken by someone else meanwhile."""
    now = utcnow()
    with db.engine.begin() as connection:
        taken = connection.execute(update(Delivery).where(Delivery.id == delivery_id, _claimable())
                                   .values(claimed_at=now)).rowcount
    return now if taken else None


def _finish(delivery_id: int, claimed_at, **values) -> None:
    """Record how the send went. If the database cannot be reached now, the claim expires and the delivery
    is tried again later; the rest of the batch still goes."""
    try:
        with db.engine.begin() as connection:
            connection.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.claimed_at == claimed_at)
                               .values(claimed_at=None, **values))
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("delivery %s: outcome %s not recorded", delivery_id, values.get("status"))


def send_soon(subject_ids: list[int], kinds: Iterable[str] | None = None, retry_exhausted: bool = False) -> None:
    """Send these subjects' deliveries once the request's changes are committed: in the background unless
    configured otherwise, so the chair's page comes straight back. What fails waits for the next try."""
    kinds = list(kinds) if kinds is not None else None
    if not current_app.config["MAIL_IN_BACKGROUND"]:
        send_pending(kinds, subject_ids, retry_exhausted)
        return
    app = current_app._get_current_object()
    threading.Thread(target=_send_in_background, args=(app, subject_ids, kinds, retry_exhausted), daemon=True,
                     name=f"deliveries-{subject_ids}").start()


def _send_in_background(app: Flask, subject_ids: list[int], kinds: list[str] | None, retry_exhausted: bool) -> None:
    # A request context of its own, on BASE_URL, so the emails' links can be built.
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        try:
            send_pending(kinds, subject_ids, retry_exhausted)
        except Exception:  # noqa: BLE001 - a background thread has nobody to tell; cron tries again
            log.exception("Deliveries for %s not sent; send-pending-mail will try again", subject_ids)
        finally:
            db.session.remove()
