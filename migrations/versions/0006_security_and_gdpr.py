"""Two-factor authentication, account lockout, audit search and GDPR erasure records.

* user: TOTP secret and state, recovery-code hashes, consecutive failures and lock time,
  password change time, erasure time (anonymised accounts).
* audit_event: a hash chain (prev_hash, hash) computed for the rows already there, then
  triggers that refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL): the trail is append-only.
  A later batch migration that recreates audit_event on SQLite must create them again.
* gdpr_erasure: which client or account was erased, when, by whom (ids only).

Revision ID: b2d6e1f8a306
Revises: a1c5d0e7f205
Create Date: 2026-11-29 09:15:00

"""
import hashlib
import json
from datetime import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2d6e1f8a306'
down_revision = 'a1c5d0e7f205'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
)
PG_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)


def _stamp(value):
    # Same canonical form as webapp.audit.services.payload (naive UTC, microseconds).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None) - value.utcoffset()
    return value.isoformat(timespec="microseconds")


def _chain_existing_rows(bind):
    rows = bind.execute(sa.text(
        "SELECT id, organisation_id, user_id, action, object_type, object_id, client_id, at, "
        "remote_addr, details FROM audit_event ORDER BY id")).all()
    prev = ""
    for row in rows:
        details = row.details
        if isinstance(details, str):
            details = json.loads(details)
        content = json.dumps([row.organisation_id, row.user_id, row.action, row.object_type,
                              row.object_id, row.client_id, _stamp(row.at), row.remote_addr,
                              details or {}], sort_keys=True, ensure_ascii=False,
                             separators=(",", ":"))
        digest = hashlib.sha256((prev + content).encode()).hexdigest()
        bind.execute(sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": digest, "i": row.id})
        prev = digest


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('recovery_codes', sa.JSON(), server_default='[]',
                                      nullable=False))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('locked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), server_default='',
                                      nullable=False))

    op.create_table('gdpr_erasure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('erased_by_id', sa.Integer(), nullable=True),
    sa.Column('erased_at', sa.DateTime(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gdpr_erasure')),
    sa.UniqueConstraint('subject_type', 'subject_id',
                        name=op.f('uq_gdpr_erasure_subject_type_subject_id'))
    )

    bind = op.get_bind()
    _chain_existing_rows(bind)
    for statement in (PG_TRIGGERS if bind.dialect.name == 'postgresql' else SQLITE_TRIGGERS):
        op.execute(statement)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    op.drop_table('gdpr_erasure')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('locked_at')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('recovery_codes')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_changed_at')
