"""evaluation: imported parts, the shortlist's decisions, vetoes, rectification problems

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:49:59.265919
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evaluation_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('aspect', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('measure', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['wave_id'], ['survey_wave.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluation_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_problem_unit_code'), ['unit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_problem_wave_id'), ['wave_id'], unique=False)

    op.create_table('evaluation_part_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('sub_parts', sa.JSON(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['imported_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['wave_id'], ['survey_wave.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wave_id', 'part', 'version')
    )
    with op.batch_alter_table('evaluation_part_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_part_import_wave_id'), ['wave_id'], unique=False)

    op.create_table('evaluation_shortlist_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=64), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('best', sa.JSON(), nullable=False),
    sa.Column('worst', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['wave_id'], ['survey_wave.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wave_id', 'step')
    )
    with op.batch_alter_table('evaluation_shortlist_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_shortlist_step_wave_id'), ['wave_id'], unique=False)

    op.create_table('evaluation_veto',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['wave_id'], ['survey_wave.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wave_id', 'unit_code')
    )
    with op.batch_alter_table('evaluation_veto', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_veto_wave_id'), ['wave_id'], unique=False)

    op.create_table('evaluation_part_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('sub_scores', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['evaluation_part_import.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('import_id', 'unit_code')
    )
    with op.batch_alter_table('evaluation_part_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_part_score_import_id'), ['import_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('evaluation_part_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_part_score_import_id'))

    op.drop_table('evaluation_part_score')
    with op.batch_alter_table('evaluation_veto', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_veto_wave_id'))

    op.drop_table('evaluation_veto')
    with op.batch_alter_table('evaluation_shortlist_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_shortlist_step_wave_id'))

    op.drop_table('evaluation_shortlist_step')
    with op.batch_alter_table('evaluation_part_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_part_import_wave_id'))

    op.drop_table('evaluation_part_import')
    with op.batch_alter_table('evaluation_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_problem_wave_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_problem_unit_code'))

    op.drop_table('evaluation_problem')
