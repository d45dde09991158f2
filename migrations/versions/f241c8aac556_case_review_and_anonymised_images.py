"""case review and anonymised images

Revision ID: f241c8aac556
Revises: db94f9e2a12c
Create Date: 2026-11-22 11:28:45.363932

"""
from alembic import op
import sqlalchemy as sa

import meetings.models.base


# revision identifiers, used by Alembic.
revision = 'f241c8aac556'
down_revision = 'db94f9e2a12c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_review',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('redact', sa.JSON(), nullable=False),
    sa.Column('keep', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', meetings.models.base.UTCDateTime(), nullable=True),
    sa.Column('approved', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_review_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], name=op.f('fk_case_review_reviewed_by_id_user')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_review'))
    )
    with op.batch_alter_table('case_image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('redaction_boxes', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table("case_image", schema=None) as batch_op:
        batch_op.drop_column('redaction_boxes')
        batch_op.drop_column('anonymised')

    op.drop_table('case_review')
