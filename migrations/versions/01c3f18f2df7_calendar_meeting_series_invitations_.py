"""Calendar: meeting series, invitations, feeds keys, site invite lists

Revision ID: 01c3f18f2df7
Revises: 63c6731e9312
Create Date: 2026-11-22 17:18:31.535453

"""
import secrets

from alembic import op
import sqlalchemy as sa

import meetings.models.base


# revision identifiers, used by Alembic.
revision = '01c3f18f2df7'
down_revision = '63c6731e9312'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meeting_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('online_url', sa.String(length=500), nullable=False),
    sa.Column('created_at', meetings.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['user.id'], name=op.f('fk_meeting_series_chair_id_user')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_meeting_series_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_series'))
    )
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('sent_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', meetings.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_invitation_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_meeting_id'), ['meeting_id'], unique=False)

    # On SQLite this rebuilds the meeting table; migrations/env.py turns foreign keys off around it.
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('reminder_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('series_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_meeting_series_id_meeting_series'), 'meeting_series',
                                    ['series_id'], ['id'], ondelete='SET NULL')
    op.create_index(op.f('ix_meeting_series_id'), 'meeting', ['series_id'], unique=False)

    op.add_column('site', sa.Column('invite_distribution', sa.Text(), server_default='', nullable=False))
    op.add_column('user', sa.Column('calendar_key', sa.String(length=32), server_default='', nullable=False))

    # Every existing person gets a key of their own.
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('calendar_key', sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(user.c.id)).all():
        connection.execute(user.update().where(user.c.id == user_id).values(calendar_key=secrets.token_urlsafe(16)))


def downgrade():
    op.drop_column('user', 'calendar_key')
    op.drop_column('site', 'invite_distribution')
    op.drop_index(op.f('ix_meeting_series_id'), table_name='meeting')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_meeting_series_id_meeting_series'), type_='foreignkey')
        for column in ('series_id', 'series_date', 'reminder_minutes', 'listed'):
            batch_op.drop_column(column)
    op.drop_index(op.f('ix_invitation_meeting_id'), table_name='invitation')
    op.drop_table('invitation')
    op.drop_table('meeting_series')
