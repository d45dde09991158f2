"""Flask extensions, created unbound here and bound to the app in `create_app`."""
import sqlite3

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from meetings.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL lets followers read while the chair writes; SQLite leaves foreign keys off unless asked."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def insert_if_absent(model, values: dict, unique: list[str], connection=None) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING on the `unique` columns: the new row's id, or None if one was there.

    However many requests insert the same row at the same moment, the database keeps one and nobody's
    transaction fails on the way. It runs in the session's transaction unless given a `connection`.
    """
    bind = connection if connection is not None else db.session
    dialect = (connection if connection is not None else db.session.get_bind()).dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return bind.execute(
        dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(model.id)
    ).scalar()
