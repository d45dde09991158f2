"""Identifiers sealed at rest: the plain-text identifier columns become one token sealed with IDENTIFIER_KEY

Every approval that was current stays current: the review fingerprint now digests the sealed token instead
of the plain identifiers, so each one is recomputed here, from the fingerprint as it stood at this revision.

Revision ID: 5d1e8a7c4b20
Revises: 3620c2b72ac6
Create Date: 2026-11-22 10:05:00.000000

"""
import hashlib
import json
from datetime import date

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import MultiFernet
from flask import current_app

from meetings.identifier_key import parse


# revision identifiers, used by Alembic.
revision = '5d1e8a7c4b20'
down_revision = '3620c2b72ac6'
branch_labels = None
depends_on = None

# As they were at this revision (migrations must not follow later changes to the app).
PLAIN = (('patient_name', sa.String(200)), ('nhs_number', sa.String(10)), ('hospital_number', sa.String(32)),
         ('date_of_birth', sa.Date()), ('accession_number', sa.String(32)), ('examination_date', sa.Date()),
         ('reporter_name', sa.String(200)), ('reporter_email', sa.String(254)), ('referrer_name', sa.String(200)))
DATES = ('date_of_birth', 'examination_date')
REVIEWED_FIELDS = ('clinical_question', 'report_text', 'outcome_text', 'suggested_learning', 'body_region')
# The plain columns' order in the old fingerprint, which listed every column but `purged_at`.
OLD_ORDER = ('case_id', 'patient_name', 'nhs_number', 'hospital_number', 'date_of_birth', 'accession_number',
             'examination_date', 'reporter_id', 'reporter_name', 'reporter_email', 'referrer_name')

case = sa.table('case', sa.column('id', sa.Integer), sa.column('site_id', sa.Integer),
                *(sa.column(field, sa.Text) for field in REVIEWED_FIELDS))
image = sa.table('case_image', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer),
                 sa.column('position', sa.Integer), sa.column('caption', sa.Text),
                 sa.column('redaction_boxes', sa.JSON))
review = sa.table('case_review', sa.column('case_id', sa.Integer), sa.column('fingerprint', sa.String))


def _identifiers(with_plain: bool):
    columns = [sa.column('case_id', sa.Integer), sa.column('reporter_id', sa.Integer)]
    columns += [sa.column(name, type_) for name, type_ in PLAIN] if with_plain else [sa.column('sealed', sa.Text)]
    return sa.table('case_identifiers', *columns)


def _keys():
    keys = parse(current_app.config.get('IDENTIFIER_KEY') or '')
    if not keys:
        raise RuntimeError('Cases hold identifiers, and this upgrade seals them: set IDENTIFIER_KEY first (make one '
                           'with `flask --app app new-identifier-key`; the README explains keeping it).')
    return keys


def _fingerprint(conn, case_id: int, identifiers: list) -> str:
    """`meetings.cases.review.fingerprint` as it stood at this revision, with the identifiers' part given."""
    row = conn.execute(sa.select(case).where(case.c.id == case_id)).one()
    images = conn.execute(sa.select(image.c.id, image.c.caption, image.c.redaction_boxes)
                          .where(image.c.case_id == case_id).order_by(image.c.position, image.c.id)).all()
    content = {
        'fields': [getattr(row, field) for field in REVIEWED_FIELDS],
        'site': row.site_id,
        'identifiers': identifiers,
        'captions': [[each.id, each.caption] for each in images],
        'boxes': [[each.id, each.redaction_boxes] for each in images],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _old_part(case_id: int, row) -> list:
    values = row._mapping if row is not None else {'case_id': case_id}
    return [str(values.get(column)) for column in OLD_ORDER]


def _new_part(row) -> list:
    return [row.sealed or '', row.reporter_id] if row is not None else ['', None]


def _refingerprint(conn, before, after) -> None:
    """Carry every current approval across: a review whose fingerprint matched `before` gets `after`'s."""
    for case_id, fingerprint in conn.execute(sa.select(review.c.case_id, review.c.fingerprint)
                                             .where(review.c.fingerprint.is_not(None))).all():
        if fingerprint == _fingerprint(conn, case_id, before(case_id)):
            conn.execute(review.update().where(review.c.case_id == case_id)
                         .values(fingerprint=_fingerprint(conn, case_id, after(case_id))))


def upgrade():
    conn = op.get_bind()
    plain, sealed = _identifiers(True), _identifiers(False)
    old_rows = {row.case_id: row for row in conn.execute(sa.select(plain))}
    tokens = {}
    for case_id, row in old_rows.items():
        held = {name: value.isoformat() if isinstance(value, date) else value
                for name, _ in PLAIN if (value := getattr(row, name)) not in (None, '')}
        if held:
            # Asked for before the schema changes: SQLite cannot take back a column once added.
            keys = _keys()
            tokens[case_id] = keys[0].encrypt(json.dumps(held, sort_keys=True).encode()).decode()

    with op.batch_alter_table('case_identifiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Text(), nullable=False, server_default=''))
    for case_id, token in tokens.items():
        conn.execute(sealed.update().where(sealed.c.case_id == case_id).values(sealed=token))
    new_rows = {row.case_id: row for row in conn.execute(sa.select(sealed))}
    _refingerprint(conn, lambda case_id: _old_part(case_id, old_rows.get(case_id)),
                   lambda case_id: _new_part(new_rows.get(case_id)))

    with op.batch_alter_table('case_identifiers', schema=None) as batch_op:
        for name, _ in PLAIN:
            batch_op.drop_column(name)


def downgrade():
    conn = op.get_bind()
    plain, sealed = _identifiers(True), _identifiers(False)
    new_rows = {row.case_id: row for row in conn.execute(sa.select(sealed))}
    opened = {}
    for case_id, row in new_rows.items():
        if row.sealed:
            held = json.loads(MultiFernet(_keys()).decrypt(row.sealed.encode()))
            opened[case_id] = {name: (date.fromisoformat(held[name]) if name in DATES else held[name])
                               if name in held else (None if name in DATES else '') for name, _ in PLAIN}

    with op.batch_alter_table('case_identifiers', schema=None) as batch_op:
        for name, type_ in PLAIN:
            batch_op.add_column(sa.Column(name, type_, nullable=name in DATES,
                                          server_default=None if name in DATES else ''))
    for case_id, values in opened.items():
        conn.execute(plain.update().where(plain.c.case_id == case_id).values(values))
    old_rows = {row.case_id: row for row in conn.execute(sa.select(plain))}
    _refingerprint(conn, lambda case_id: _new_part(new_rows.get(case_id)),
                   lambda case_id: _old_part(case_id, old_rows.get(case_id)))

    with op.batch_alter_table('case_identifiers', schema=None) as batch_op:
        batch_op.drop_column('sealed')
