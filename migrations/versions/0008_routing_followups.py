"""Routing follow-ups: travel minutes between stops on the carer's day.

Revision ID: d4f8a3b0c508
Revises: c3e7f2a9b407
Create Date: 2026-11-29 09:15:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'd4f8a3b0c508'
down_revision = 'c3e7f2a9b407'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
