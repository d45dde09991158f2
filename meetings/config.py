"""Settings from environment variables, with defaults that are safe on a laptop."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(instance_path: str) -> str:
    """The SQLAlchemy URL from DATABASE_URL, defaulting to SQLite in the instance folder.

    Hosting platforms hand out `postgres://` URLs; SQLAlchemy wants the psycopg 3 dialect named.
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'lightbox.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # O_EXCL so two workers starting at once cannot each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def identifier_key() -> str:
    """IDENTIFIER_KEY, or the contents of the file IDENTIFIER_KEY_FILE names (a secrets mount); "" if neither.

    Never generated: servers that each made their own could not read what the others sealed."""
    key = os.environ.get("IDENTIFIER_KEY", "").strip()
    path = os.environ.get("IDENTIFIER_KEY_FILE", "").strip()
    if not key and path:
        try:
            key = Path(path).read_text().strip()
        except OSError as error:
            raise ValueError(f"IDENTIFIER_KEY_FILE names {path}, which cannot be read ({error.strerror})") from None
    return key


def load(instance_path: str) -> dict:
    """Every setting the app reads, as a dict for `app.config.update`."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    secure_cookies = _bool("SESSION_COOKIE_SECURE", False)
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        # Seals patient and reporter identifiers at rest (meetings/identifier_key.py).
        "IDENTIFIER_KEY": identifier_key(),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TIMEZONE": os.environ.get("TIMEZONE", "Europe/London"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Mail: with no MAIL_SERVER, messages are written as .eml files to instance/outbox.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "Lightbox <lightbox@localhost>"),
        "MAIL_OUTBOX": os.environ.get("MAIL_OUTBOX", str(Path(instance_path) / "outbox")),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # How many proxies (load balancers) stand in front and set X-Forwarded-For; 0 trusts none.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down must not take sign-in and the register down with it: count in memory until it is back.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "SIGN_IN_RATE_LIMIT": os.environ.get("SIGN_IN_RATE_LIMIT", "10 per minute;50 per hour"),
        "INVITE_MAX_AGE_DAYS": int(os.environ.get("INVITE_MAX_AGE_DAYS", "7")),
        # How long a reporter without an account can read their feedback by its emailed link.
        "FEEDBACK_LINK_DAYS": int(os.environ.get("FEEDBACK_LINK_DAYS", "30")),
        # Days after a case's learning is done (feedback complete; else its meeting ended, or it was declined)
        # that `purge-identifiers` takes its identifiers out.
        "IDENTIFIER_RETENTION_DAYS": int(os.environ.get("IDENTIFIER_RETENTION_DAYS", "90")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_NAME": "lightbox_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead, so a long meeting never expires a form
        # A submission carries up to three images; each is capped on its own too.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_REQUEST_BYTES", str(70 * 1024 * 1024))),
        "MAX_IMAGE_BYTES": int(os.environ.get("MAX_IMAGE_BYTES", str(20 * 1024 * 1024))),
        "MAX_IMAGE_PIXELS": int(os.environ.get("MAX_IMAGE_PIXELS", str(40_000_000))),
        # How long each worker may answer "unchanged" to followers without asking the database again.
        "LIVE_VERSION_CACHE_SECONDS": float(os.environ.get("LIVE_VERSION_CACHE_SECONDS", "0.5")),
        # CPD: credits per hour attended (the Royal College of Radiologists' scheme gives one), and how often
        # the presence code on the projector changes.
        "CPD_CREDITS_PER_HOUR": float(os.environ.get("CPD_CREDITS_PER_HOUR", "1")),
        "PRESENCE_CODE_MINUTES": float(os.environ.get("PRESENCE_CODE_MINUTES", "5")),
        # Closing the register emails certificates from a background thread, so the chair is not kept
        # waiting; `flask --app app send-certificates` sends any left unsent (say a worker restarted).
        "CERTIFICATES_IN_BACKGROUND": _bool("CERTIFICATES_IN_BACKGROUND", True),
        # Published minutes and bulletins are sent the same way; `send-pending-mail` retries what failed.
        "MAIL_IN_BACKGROUND": _bool("MAIL_IN_BACKGROUND", True),
        # NHS numbers 999 000 0000-999 999 9999 are for testing; real departments refuse them.
        "ALLOW_TEST_NHS_NUMBERS": _bool("ALLOW_TEST_NHS_NUMBERS", False),
    }
