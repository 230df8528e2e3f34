"""Outbox records from phones, stored once per client-generated key.

One row per carer action (check-in, check-out, note) sent by a phone, unique on the
key the phone generated, with the outcome that every repeat of the same key gets back.
Conflicting actions (visit reassigned, cancelled...) are kept and flagged.

Revision ID: b4b44f8558bc
Revises: 4e4b274cc393
Create Date: 2026-11-29 06:34:15.581886

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4b44f8558bc'
down_revision = '4e4b274cc393'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('captured_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("action IN ('check_in', 'check_out', 'note')", name=op.f('ck_outbox_record_action')),
    sa.CheckConstraint("outcome IN ('applied', 'conflict')", name=op.f('ck_outbox_record_outcome')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_outbox_record_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user.id'], name=op.f('fk_outbox_record_resolved_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_outbox_record_user_id_user')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_outbox_record_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_record')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_record_key'))
    )
    with op.batch_alter_table('outbox_record', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_record_org_flagged', ['organisation_id', 'flagged'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_record_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_record_visit_id'), ['visit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('outbox_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_record_visit_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_record_user_id'))
        batch_op.drop_index('ix_outbox_record_org_flagged')

    op.drop_table('outbox_record')
