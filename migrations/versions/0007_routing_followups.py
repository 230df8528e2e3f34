"""Routing follow-ups: travel minutes between stops on the carer's day.

Revision ID: d4f8a3b0c508
Revises: b2d6e1f8a306
Create Date: 2026-11-29 09:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4f8a3b0c508'
down_revision = 'b2d6e1f8a306'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visit_assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('travel_min', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('travel_from_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('visit_assignment', schema=None) as batch_op:
        batch_op.drop_column('travel_from_id')
        batch_op.drop_column('travel_min')
