"""Minutes: published versions, case summaries; the delivery log; sites' risk distribution and names setting

Revision ID: 63c6731e9312
Revises: 659e9c1c7de0
Create Date: 2026-11-22 15:45:34.915888

"""
from alembic import op
import sqlalchemy as sa

import meetings.models.base


# revision identifiers, used by Alembic.
revision = '63c6731e9312'
down_revision = '659e9c1c7de0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('claimed_at', meetings.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', meetings.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', meetings.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('kind', 'subject_id', 'recipient', name=op.f('uq_delivery_kind_subject_id_recipient'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_subject_id'), ['subject_id'], unique=False)

    op.create_table('minutes_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('minutes_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('published_at', meetings.models.base.UTCDateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_by_name', sa.String(length=200), nullable=False),
    sa.Column('amendment_note', sa.Text(), nullable=False),
    sa.Column('learning', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['minutes_id'], ['minutes.id'], name=op.f('fk_minutes_version_minutes_id_minutes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user.id'], name=op.f('fk_minutes_version_published_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_version')),
    sa.UniqueConstraint('minutes_id', 'number', name=op.f('uq_minutes_version_minutes_id_number'))
    )
    with op.batch_alter_table('minutes_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minutes_version_minutes_id'), ['minutes_id'], unique=False)

    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', meetings.models.base.UTCDateTime(), nullable=True))

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes_summary', sa.Text(), nullable=True))

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_distribution', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('minutes_list_names', sa.Boolean(), server_default=sa.true(), nullable=False))



def downgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('minutes_summary')

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('minutes_list_names')
        batch_op.drop_column('risk_distribution')

    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('minutes_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minutes_version_minutes_id'))

    op.drop_table('minutes_version')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_subject_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_status'))

    op.drop_table('delivery')
