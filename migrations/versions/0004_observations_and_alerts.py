"""Carers' observations, risk scores and alerts, and the clients' risk profile.

One observation per visit and carer (the items of risk.schema.Observation, an optional
unique key so an offline replay is stored once); risk scores computed by the shipped model
with their French reasons and model version; alerts (high risk or change from the person's
usual state) with the coordinator's review; eight profile columns on client read by the
model, defaulting to "no" / 0 for existing rows.

Revision ID: 5f0edfff34fc
Revises: b4b44f8558bc
Create Date: 2026-11-29 07:02:24.099526

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f0edfff34fc'
down_revision = 'b4b44f8558bc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('risk_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('fall_risk_90d', sa.Float(), nullable=False),
    sa.Column('decline_risk_90d', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=80), nullable=False),
    sa.Column('n_observations', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_risk_score_client_id_client')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_risk_score_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_score'))
    )
    with op.batch_alter_table('risk_score', schema=None) as batch_op:
        batch_op.create_index('ix_risk_score_client_computed', ['client_id', 'computed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_score_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('risk_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('detected_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.CheckConstraint("action IS NULL OR action IN ('call_family', 'physio', 'inform_gp', 'adapt_plan', 'nothing')", name=op.f('ck_risk_alert_action')),
    sa.CheckConstraint("kind IN ('score', 'change')", name=op.f('ck_risk_alert_kind')),
    sa.CheckConstraint("status IN ('open', 'reviewed')", name=op.f('ck_risk_alert_status')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_risk_alert_client_id_client')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_risk_alert_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], name=op.f('fk_risk_alert_reviewed_by_id_user')),
    sa.ForeignKeyConstraint(['score_id'], ['risk_score.id'], name=op.f('fk_risk_alert_score_id_risk_score')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_alert')),
    sa.UniqueConstraint('client_id', 'kind', 'item', 'detected_at', name=op.f('uq_risk_alert_client_id_kind_item_detected_at'))
    )
    with op.batch_alter_table('risk_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_alert_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_risk_alert_org_status', ['organisation_id', 'status'], unique=False)

    op.create_table('observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('carer_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('fall', sa.String(length=16), nullable=True),
    sa.Column('near_fall', sa.Boolean(), nullable=True),
    sa.Column('mobility', sa.String(length=16), nullable=True),
    sa.Column('walking_aid_used', sa.Boolean(), nullable=True),
    sa.Column('meal_share', sa.Float(), nullable=True),
    sa.Column('drinks', sa.String(length=16), nullable=True),
    sa.Column('weight_kg', sa.Float(), nullable=True),
    sa.Column('mood', sa.String(length=16), nullable=True),
    sa.Column('confusion', sa.String(length=16), nullable=True),
    sa.Column('poor_sleep', sa.Boolean(), nullable=True),
    sa.Column('continence_change', sa.Boolean(), nullable=True),
    sa.Column('pain', sa.Boolean(), nullable=True),
    sa.Column('skin_redness', sa.Boolean(), nullable=True),
    sa.Column('breathlessness', sa.Boolean(), nullable=True),
    sa.Column('swelling', sa.Boolean(), nullable=True),
    sa.Column('social_contact', sa.Boolean(), nullable=True),
    sa.Column('help_toilet', sa.Boolean(), nullable=True),
    sa.Column('help_dressing', sa.Boolean(), nullable=True),
    sa.Column('help_transfers', sa.Boolean(), nullable=True),
    sa.Column('help_eating', sa.Boolean(), nullable=True),
    sa.Column('medication_as_planned', sa.Boolean(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('share_with_family', sa.Boolean(), nullable=False),
    sa.CheckConstraint("confusion IS NULL OR confusion IN ('none', 'some', 'marked')", name=op.f('ck_observation_confusion')),
    sa.CheckConstraint("drinks IS NULL OR drinks IN ('usual', 'less', 'very_little')", name=op.f('ck_observation_drinks')),
    sa.CheckConstraint("fall IS NULL OR fall IN ('none', 'without_injury', 'with_injury', 'found_on_floor')", name=op.f('ck_observation_fall')),
    sa.CheckConstraint("mobility IS NULL OR mobility IN ('usual', 'less_steady', 'more_help', 'bed_or_chair')", name=op.f('ck_observation_mobility')),
    sa.CheckConstraint("mood IS NULL OR mood IN ('usual', 'sad', 'anxious', 'agitated')", name=op.f('ck_observation_mood')),
    sa.CheckConstraint('meal_share IS NULL OR meal_share IN (0, 0.25, 0.5, 0.75, 1)', name=op.f('ck_observation_meal_share')),
    sa.CheckConstraint('weight_kg IS NULL OR (weight_kg >= 20.0 AND weight_kg <= 250.0)', name=op.f('ck_observation_weight_kg')),
    sa.ForeignKeyConstraint(['carer_id'], ['carer.id'], name=op.f('fk_observation_carer_id_carer')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_observation_client_id_client')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_observation_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_observation_user_id_user')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_observation_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observation')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_observation_idempotency_key')),
    sa.UniqueConstraint('visit_id', 'carer_id', name=op.f('uq_observation_visit_id_carer_id'))
    )
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_carer_id'), ['carer_id'], unique=False)
        batch_op.create_index('ix_observation_client_recorded', ['client_id', 'recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_visit_id'), ['visit_id'], unique=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walking_aid', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('n_medicines', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('n_psychotropics', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('antiepileptics', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('cognitive_impairment', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('parkinson', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('incontinence', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('vertigo', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('vertigo')
        batch_op.drop_column('incontinence')
        batch_op.drop_column('parkinson')
        batch_op.drop_column('cognitive_impairment')
        batch_op.drop_column('antiepileptics')
        batch_op.drop_column('n_psychotropics')
        batch_op.drop_column('n_medicines')
        batch_op.drop_column('walking_aid')

    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_visit_id'))
        batch_op.drop_index(batch_op.f('ix_observation_organisation_id'))
        batch_op.drop_index('ix_observation_client_recorded')
        batch_op.drop_index(batch_op.f('ix_observation_carer_id'))

    op.drop_table('observation')
    with op.batch_alter_table('risk_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_alert_org_status')
        batch_op.drop_index(batch_op.f('ix_risk_alert_client_id'))

    op.drop_table('risk_alert')
    with op.batch_alter_table('risk_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_score_organisation_id'))
        batch_op.drop_index('ix_risk_score_client_computed')

    op.drop_table('risk_score')
