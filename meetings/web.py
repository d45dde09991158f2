"""Shared web plumbing: template helpers, error pages, htmx detection, one commit per request."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, render_template, request, stream_with_context, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from meetings import nhs_number, qr
from meetings.extensions import db, login_manager
from meetings.identifier_key import IdentifiersUnavailable

ERROR_MESSAGES = {
    400: ("Something was wrong with that request", "Go back, check what you entered and try again."),
    403: ("You do not have access to this page", "If you think you should, ask a Lightbox admin at your site."),
    404: ("Page not found", "Check the address, or go back to the home page."),
    405: ("That cannot be done here", "Go back and try again from the page's own buttons."),
    413: ("That file is too large", "Go back and choose a smaller file."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Sorry, something went wrong", "Nothing you entered was saved. Try again in a moment."),
    503: ("Lightbox cannot reach its database just now", "Nothing you entered was saved. Try again in a minute."),
}


# The largest id a route takes: a database integer. A longer number is no such page (404), not an error.
MAX_ID = 2**31 - 1
# The furthest page a list goes to; further is past the end, not an overflow.
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """`<int:...>` in every route, bounded to what the database can hold."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def whole_number(value: str | None) -> bool:
    """Digits a person could type for a count or an id: str.isdigit() alone also accepts "²", which int()
    refuses, and int() refuses more than 4,300 digits."""
    return bool(value) and len(value) <= 9 and value.isascii() and value.isdigit()


def page_number() -> int:
    """The `page` asked for in the query string, from 1 to MAX_PAGE."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def external_url(endpoint: str, **values) -> str:
    """An absolute link for email and calendars, on BASE_URL (the address people use, not the proxy's)."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def zone() -> ZoneInfo:
    """The configured zone (Europe/London unless set): what people's clocks say."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_time(value: datetime | None) -> datetime | None:
    """A stored UTC time in the configured zone."""
    if value is None:
        return None
    return value.astimezone(zone())


def format_datetime(value: datetime | None, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    value = local_time(value)
    return value.strftime(fmt) if value else ""


def format_date(value: date | None, fmt: str = "%-d %b %Y") -> str:
    return value.strftime(fmt) if value else ""


def clock(seconds: int) -> str:
    """A duration as a clock reads: 4:05, or 1:02:09 past an hour."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plural(count: float, one: str, many: str | None = None) -> str:
    """The word for `count` of a thing: plural(1, "action") is "action", plural(3, "box", "boxes") "boxes"."""
    return one if count == 1 else (many or one + "s")


def today_local() -> date:
    return datetime.now(zone()).date()


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF to download; never cached, as it names people."""
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


def csv_safe(value):
    """Spreadsheets run a cell that starts with = + - or @ as a formula: typed text must not."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(header: list[str], rows: Iterable[Iterable], filename: str) -> Response:
    """A CSV download, streamed a row at a time (a filtered view can run to thousands of rows); `rows` may
    go on reading the database as it is sent."""
    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        for batch in ([header], rows):
            for row in batch:
                writer.writerow([csv_safe(cell) for cell in row])
                yield out.getvalue()
                out.seek(0)
                out.truncate()

    return Response(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


def png_response(png: bytes) -> Response:
    """An image that may change (new redaction boxes): revalidated each time, answered 304 when unchanged."""
    response = Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-cache"})
    response.add_etag()
    return response.make_conditional(request)


def render_error(code: int, message: str | None = None, title: str | None = None):
    usual_title, advice = ERROR_MESSAGES.get(code, ERROR_MESSAGES[500])
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, code=code, title=title or usual_title, advice=message or advice), code


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["nhs_number"] = nhs_number.formatted
    app.jinja_env.globals["is_htmx"] = is_htmx
    app.jinja_env.globals["qr_svg"] = qr.qr_svg
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.filters["plural"] = plural

    @app.teardown_request
    def rollback_unfinished(exc):
        # One commit per request, in the view; anything uncommitted here is abandoned.
        if exc is not None:
            db.session.rollback()

    @app.before_request
    def refuse_nul_characters():
        # No one types a NUL, PostgreSQL cannot store one, and SQLite would keep text no page shows whole.
        typed = [request.path, *request.args.values()]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            typed += [part for pair in request.form.items(multi=True) for part in pair if part]
        if any("\x00" in text for text in typed):
            return render_error(400, "That held a character Lightbox cannot store (a NUL). Go back, retype it "
                                     "and try again.")
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, "This form had expired. Go back, reload the page and submit it again.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        # The database went away, restarted or is full. The request's work is abandoned, and the page is
        # drawn without asking the database anything more, not even who is signed in (the session cookie is
        # left alone, so nobody is signed out by a blip). Logged without the statement's parameters.
        app.logger.error("Database unavailable on %s %s: %s", request.method, request.path,
                         getattr(error, "orig", None) or type(error).__name__)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - its connection is gone already; the page must still go out
            pass
        g._login_user = login_manager.anonymous_user()  # what Flask-Login's current_user reads
        return render_error(503)

    @app.errorhandler(IdentifiersUnavailable)
    def identifiers_unavailable(error):
        # Raised only where identifiers are needed to show or to check something (pages showing approved
        # text withhold the rest instead); nothing has been written, and the page says who can help.
        app.logger.warning("Identifiers unavailable on %s %s: %s", request.method, request.path, error)
        db.session.rollback()
        return render_error(503, str(error), title="Identifiers unavailable")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code and error.code >= 300 and error.code < 400:
            return error
        if (error.code or 500) >= 500:
            # A failed flush leaves the session refusing every query, the error page's own included.
            db.session.rollback()
        # Also receives unhandled exceptions, wrapped as InternalServerError (tests see them raised).
        return render_error(error.code or 500)
