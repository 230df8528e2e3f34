"""Seal the authenticator seeds at rest (webapp.auth.sealing).

The column widens for the Fernet token, and seeds stored in clear are sealed under the key of
the application running the migration (its SECRET_KEY). Downgrading opens them again.

Revision ID: e7c1a9d2f410
Revises: d4f8a3b0c508
Create Date: 2026-11-29 16:45:00

"""
import sqlalchemy as sa
from alembic import op

from webapp.auth.sealing import is_sealed, seal, unseal

# revision identifiers, used by Alembic.
revision = 'e7c1a9d2f410'
down_revision = 'd4f8a3b0c508'
branch_labels = None
depends_on = None

_user = sa.table('user', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String))


def _rewrite(change):
    bind = op.get_bind()
    rows = bind.execute(sa.select(_user.c.id, _user.c.totp_secret)
                        .where(_user.c.totp_secret.is_not(None))).all()
    for user_id, stored in rows:
        bind.execute(_user.update().where(_user.c.id == user_id)
                     .values(totp_secret=change(stored)))


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    _rewrite(lambda stored: stored if is_sealed(stored) else seal(stored))


def downgrade():
    _rewrite(unseal)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
