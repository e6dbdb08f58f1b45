"""answer commitments and their progress history

Revision ID: 0004_commitments
Revises: 0003
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_commitments'
down_revision = '0004_web'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('past_answer_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('strength', sa.String(length=20), nullable=False),
    sa.Column('timing_text', sa.String(length=200), nullable=True),
    sa.Column('due_start', sa.Date(), nullable=True),
    sa.Column('due_end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('status_updated_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['past_answer_id'], ['past_answers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('past_answer_id', 'position', name='uq_commitment_position'),
    )
    op.create_index('ix_commitments_past_answer_id', 'commitments', ['past_answer_id'], unique=False)
    op.create_index('ix_commitments_status_due', 'commitments', ['status', 'due_end'], unique=False)
    op.create_table('commitment_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('old_status', sa.String(length=20), nullable=False),
    sa.Column('new_status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_commitment_status_changes_commitment_id', 'commitment_status_changes', ['commitment_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_commitment_status_changes_commitment_id', table_name='commitment_status_changes')
    op.drop_table('commitment_status_changes')
    op.drop_index('ix_commitments_status_due', table_name='commitments')
    op.drop_index('ix_commitments_past_answer_id', table_name='commitments')
    op.drop_table('commitments')
