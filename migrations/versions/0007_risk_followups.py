"""Risk follow-ups: translatable alert reasons and change-detection state.

Revision ID: c3e7f2a9b407
Revises: b2d6e1f8a306
Create Date: 2026-11-29 09:15:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c3e7f2a9b407'
down_revision = 'b2d6e1f8a306'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
