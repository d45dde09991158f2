"""The emails of feedback and pats, sent through the delivery log so a mail server that is down loses none.

The feedback email says only that there is feedback, and where to read it: what it says stays behind a
sign-in or the reporter's own link, where every view is audited. A home site's chairs are told that one of
their reporters received feedback, never who or what. A pat's email carries its (scrubbed) message.
"""
from __future__ import annotations

from email.message import EmailMessage

from meetings import deliveries, mail
from meetings.deliveries import Recipient
from meetings.extensions import db
from meetings.feedback import links, service
from meetings.models import Delivery, Feedback, Pat
from meetings.web import external_url

FEEDBACK = "feedback"
FEEDBACK_NOTICE = "feedback_notice"
PAT = "pat"


def queue_for(feedback: Feedback) -> None:
    """Queue the reporter's email, and the home site chairs' notice, in the sending transaction."""
    deliveries.queue(FEEDBACK, feedback.id, [Recipient(feedback.recipient_email, feedback.recipient_name)])
    if feedback.home_site is not None:
        deliveries.queue(FEEDBACK_NOTICE, feedback.id, [Recipient(chair.email, chair.name)
                                                        for chair in service.home_site_chairs(feedback.home_site)])


def queue_new_link(feedback: Feedback) -> None:
    deliveries.queue(FEEDBACK, feedback.id, [Recipient(feedback.recipient_email, feedback.recipient_name)],
                     again=True)


def send_soon(feedback: Feedback) -> None:
    deliveries.send_soon([feedback.id], kinds=(FEEDBACK, FEEDBACK_NOTICE))


def retry(feedback: Feedback) -> None:
    """Try the feedback's emails again now, however often they failed: the chair asked."""
    deliveries.send_soon([feedback.id], kinds=(FEEDBACK, FEEDBACK_NOTICE), retry_exhausted=True)


def queue_pat(pat: Pat) -> None:
    deliveries.queue(PAT, pat.id, [Recipient(pat.recipient.email, pat.recipient.name)])


def send_pat_soon(pat: Pat) -> None:
    deliveries.send_soon([pat.id], kinds=(PAT,))


def delivery_states(feedbacks: list[Feedback]) -> dict[int, str]:
    """"sent", "pending" or "failed" for each feedback's email to its reporter, counted in one query."""
    counts = deliveries.tally((FEEDBACK,), [feedback.id for feedback in feedbacks])
    return {feedback_id: next((state for state in ("failed", "pending", "sent") if tallied[state]), "pending")
            for feedback_id, tallied in counts.items()}


@deliveries.builds(FEEDBACK)
def feedback_email(delivery: Delivery) -> EmailMessage:
    feedback = db.session.get(Feedback, delivery.subject_id)
    if feedback.by_link:
        url = external_url("feedback.by_link", token=links.token_for(feedback))
    else:
        url = external_url("feedback.received", feedback_id=feedback.id)
    return mail.build_message(delivery.recipient, "Confidential feedback on a case you reported", "email/feedback",
                              feedback=feedback, name=delivery.recipient_name, url=url)


@deliveries.builds(FEEDBACK_NOTICE)
def feedback_notice_email(delivery: Delivery) -> EmailMessage:
    feedback = db.session.get(Feedback, delivery.subject_id)
    return mail.build_message(delivery.recipient, "Feedback reached one of your site's reporters",
                              "email/feedback_notice", feedback=feedback, name=delivery.recipient_name)


@deliveries.builds(PAT)
def pat_email(delivery: Delivery) -> EmailMessage:
    pat = db.session.get(Pat, delivery.subject_id)
    return mail.build_message(delivery.recipient, f"A pat on the back from {pat.sender.name}", "email/pat",
                              pat=pat, name=delivery.recipient_name, url=external_url("feedback.pat", pat_id=pat.id))
