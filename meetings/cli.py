"""`flask --app app ...` commands."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from meetings import identifier_key
from meetings.auth.forms import MIN_PASSWORD_LENGTH
from meetings.auth.service import find_user_by_email, normalise_email
from meetings.extensions import db
from meetings.identifier_key import IdentifiersUnavailable
from meetings.models import Role, Site, User
from meetings.operations.backup import backup, restore


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)
    app.cli.add_command(anonymise_text)
    app.cli.add_command(send_certificates)
    app.cli.add_command(send_action_reminders)
    app.cli.add_command(minutes_pdf)
    app.cli.add_command(invite_ics)
    app.cli.add_command(send_pending_mail)
    app.cli.add_command(annual_report)
    app.cli.add_command(rebuild_library)
    app.cli.add_command(purge_identifiers)
    app.cli.add_command(new_identifier_key)
    app.cli.add_command(rotate_identifier_key)
    app.cli.add_command(backup)
    app.cli.add_command(restore)


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]), default=["admin"],
              show_default=True, help="Repeat for several roles.")
@click.option("--site", "site_code", default=None, help="Home site code; the first site when omitted.")
@click.password_option(help=f"At least {MIN_PASSWORD_LENGTH} characters.")
def create_user(email: str, name: str, roles: tuple[str, ...], site_code: str | None, password: str) -> None:
    """Create a user who can sign in at once (the first admin, typically)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters", param_hint="password")
    if find_user_by_email(email) is not None:
        raise click.ClickException(f"a user with the email {email} already exists")
    site = None
    if site_code:
        site = db.session.scalar(select(Site).where(Site.code == site_code.upper()))
        if site is None:
            raise click.ClickException(f"no site with code {site_code}")
    else:
        site = db.session.scalar(select(Site).order_by(Site.id))
    user = User(email=normalise_email(email), name=name.strip(), home_site=site)
    user.roles = roles
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {user.email} with roles: {', '.join(sorted(user.roles))}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo(if_empty: bool) -> None:
    """Load synthetic demo data (idempotent) and print the demo sign-ins."""
    from meetings import demo

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("Database already has users; demo data not loaded.")
        return
    demo.seed()
    db.session.commit()
    from flask import current_app

    from meetings import deliveries

    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        deliveries.send_pending()  # the published demo minutes: to instance/outbox unless MAIL_SERVER is set
    click.echo("Demo sign-ins (password for all: " + demo.DEMO_PASSWORD + "):")
    for email, roles in demo.DEMO_SIGN_INS:
        click.echo(f"  {email:<34} {roles}")


@click.command("anonymise-text")
def anonymise_text() -> None:
    """Scrub JSON Lines from standard input: {"text": ..., "known": {...}} in, {"text", "findings"} out.

    One output line for every input line, in order; a line that cannot be read gets {"error": ...} and
    the run goes on. Offsets count Unicode code points in the input text.
    """
    import json
    import sys

    from meetings.anonymise.text import Known, scrub

    for line in sys.stdin:
        try:
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON: {exc}") from None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            known = Known.from_json(item.get("known") or {})
            result = scrub(item["text"], known)
            answer = {"text": result.text,
                      "findings": [{"kind": f.kind, "start": f.start, "end": f.end} for f in result.findings]}
        except ValueError as exc:
            answer = {"error": str(exc)}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@click.command("send-certificates")
def send_certificates() -> None:
    """Email the CPD certificates not yet sent for every closed register (cron-safe: none is sent twice)."""
    from flask import current_app

    from meetings.models import Attendance, Meeting, Register
    from meetings.register import certificates

    meetings = db.session.scalars(select(Meeting).join(Register, Register.meeting_id == Meeting.id).where(
        Register.closed_at.is_not(None),
        select(Attendance.id).where(Attendance.meeting_id == Meeting.id, certificates.unsent()).exists(),
    )).all()
    total_sent = total_failed = 0
    # Links in the emails are built on BASE_URL, as in a request.
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        for meeting in meetings:
            sent, failed = certificates.email_unsent(meeting)
            total_sent, total_failed = total_sent + sent, total_failed + failed
    click.echo(f"Certificates emailed: {total_sent}; failed (will be tried again): {total_failed}")
    if total_failed:
        raise SystemExit(1)


@click.command("send-action-reminders")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as if on this date (YYYY-MM-DD); today in the configured time zone when omitted.")
def send_action_reminders(today) -> None:
    """Email owners their actions due within 7 days or overdue (once a day), and each site's risk staff a
    weekly digest (once a week). Cron-safe: run it as often as you like, nothing is sent twice."""
    from flask import current_app

    from meetings.actions import reminders
    from meetings.web import today_local

    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        outcome = reminders.send_reminders(today.date() if today else today_local())
    click.echo(f"Action reminders and digests sent: {outcome.sent}; sent before: {outcome.already_sent}; "
               f"failed (will be tried again): {outcome.failed}")
    if outcome.failed:
        raise SystemExit(1)


@click.command("minutes")
@click.argument("meeting_id", type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Where to write the PDF.")
def minutes_pdf(meeting_id: int, out: str) -> None:
    """Write a meeting's minutes as PDF: the published version if there is one, else the draft, marked DRAFT
    on every page."""
    from pathlib import Path

    from flask import current_app

    from meetings.minutes import service
    from meetings.models import Meeting

    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise click.ClickException(f"no meeting with id {meeting_id}")
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        latest = service.read_minutes(meeting).latest
        pdf = latest.pdf if latest is not None else service.draft_pdf(meeting)
    Path(out).write_bytes(pdf)
    click.echo(f"Wrote {'version ' + str(latest.number) if latest else 'the DRAFT'} of the minutes of "
               f"{meeting.title!r} to {out} ({len(pdf):,} bytes)")


@click.command("invite")
@click.argument("meeting_id", type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Where to write the .ics file.")
def invite_ics(meeting_id: int, out: str) -> None:
    """Write a meeting's invite (METHOD:REQUEST, or CANCEL once cancelled) with everyone it invites as
    attendees, for a calendar system that sends invitations itself. Sends nothing."""
    from pathlib import Path

    from flask import current_app

    from meetings.calendar import invitations
    from meetings.live import service as live
    from meetings.models import Meeting

    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise click.ClickException(f"no meeting with id {meeting_id}")
    live.state_of(meeting)  # the invite carries the attendance sign-in link, made with its join code
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        attendees = invitations.invitees(meeting)
        ics = invitations.invite_ics(meeting, attendees)
    db.session.commit()  # the sign-in link's join code, if this is the meeting's first
    Path(out).write_bytes(ics)
    click.echo(f"Wrote the {invitations.method_of(meeting)} for {meeting.title!r} ({len(attendees)} attendees, "
               f"sequence {meeting.ical_sequence}) to {out}")


@click.command("send-pending-mail")
def send_pending_mail() -> None:
    """Send every queued email not yet delivered (published minutes, learning bulletins), retrying those
    that failed, up to five tries each. Cron-safe: nothing is sent twice."""
    from flask import current_app

    from meetings import deliveries

    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        outcome = deliveries.send_pending()
    click.echo(f"Emails sent: {outcome.sent}; failed (will be tried again): {outcome.failed}")
    if outcome.failed:
        raise SystemExit(1)


@click.command("annual-report")
@click.option("--site", "site_code", required=True, help="The site's code, as in Sites (for example NGH).")
@click.option("--year", type=int, required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Where to write the PDF.")
def annual_report(site_code: str, year: int, out: str) -> None:
    """Write a site's annual learning report as PDF: scorecard, charts, themes and every action's status."""
    from pathlib import Path

    from flask import current_app

    from meetings.governance import report
    from meetings.governance.period import FIRST_YEAR
    from meetings.web import today_local

    if not FIRST_YEAR <= year <= today_local().year:
        raise click.BadParameter(f"choose a year from {FIRST_YEAR} to {today_local().year}", param_hint="--year")
    site = db.session.scalar(select(Site).where(Site.code == site_code.strip().upper()))
    if site is None:
        codes = ", ".join(db.session.scalars(select(Site.code).order_by(Site.code)))
        raise click.ClickException(f"no site with code {site_code}; the sites are {codes}")
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        pdf = report.annual_report(site, year, today_local())
    Path(out).write_bytes(pdf)
    click.echo(f"Wrote the {year} annual learning report for {site.name} to {out} ({len(pdf):,} bytes)")


@click.command("rebuild-library")
def rebuild_library() -> None:
    """Put every presented case of every ended meeting in the case library (after upgrading to a version
    with the library, after a bulk import, or once the identifier key is back). Safe to run again."""
    from meetings.governance import library
    from meetings.web import plural

    try:
        recorded = library.rebuild()
    except IdentifiersUnavailable as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"The case library holds {recorded} presented {plural(recorded, 'case')}.")


@click.command("purge-identifiers")
@click.option("--days", type=click.IntRange(0), default=None,
              help="Days after a case's learning is done; IDENTIFIER_RETENTION_DAYS (90) when omitted.")
@click.option("--dry-run", is_flag=True, help="Say which cases are due, and purge nothing.")
def purge_identifiers(days: int | None, dry_run: bool) -> None:
    """Purge the identifiers of cases whose learning was done long enough ago: feedback complete, presented
    without feedback, or declined (cron-friendly: it purges each case once, and running again changes nothing)."""
    from flask import current_app

    from meetings.models import utcnow
    from meetings.operations import purge
    from meetings.web import plural

    days = current_app.config["IDENTIFIER_RETENTION_DAYS"] if days is None else days
    now = utcnow()
    if dry_run:
        due = purge.due(now, days)
        click.echo(f"{len(due)} {plural(len(due), 'case')} due for purging ({days} days after their learning was done): "
                   + (", ".join(f"C{case.id}" for case in due) or "none"))
        return
    try:
        purged = purge.purge_due(now, days)
    except IdentifiersUnavailable as error:
        # Purging scrubs the case's texts against its identifiers, so it waits for the key.
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Purged the identifiers of {purged} {plural(purged, 'case')} ({days} days after their learning was done).")


@click.command("new-identifier-key")
def new_identifier_key() -> None:
    """Print a new key for IDENTIFIER_KEY (it changes nothing: see the README's key management)."""
    click.echo(identifier_key.new_key())


@click.command("rotate-identifier-key")
def rotate_identifier_key() -> None:
    """Reseal every case's identifiers with the first key in IDENTIFIER_KEY, so the others can be retired."""
    from meetings.operations import rekey
    from meetings.web import plural

    try:
        rotation = rekey.rotate()
    except IdentifiersUnavailable as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Resealed {rotation.resealed} {plural(rotation.resealed, 'case')} with the first key "
               f"({rotation.already} already were; {rotation.approvals_kept} current "
               f"{plural(rotation.approvals_kept, 'approval')} kept).")
    if rotation.unopenable:
        raise click.ClickException(
            f"{len(rotation.unopenable)} {plural(len(rotation.unopenable), 'case')} sealed with a key not in "
            "IDENTIFIER_KEY could not be resealed: " + ", ".join(f"C{case_id}" for case_id in rotation.unopenable)
            + ". Add the key that sealed them and run this again before retiring any key.")
