"""answer vectors for the optional semantic search stage

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('answer_vectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('past_answer_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['past_answer_id'], ['past_answers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('past_answer_id'),
    sqlite_autoincrement=True,
    )
    op.create_index('ix_answer_vectors_model_dim_id', 'answer_vectors', ['model', 'dim', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_answer_vectors_model_dim_id', table_name='answer_vectors')
    op.drop_table('answer_vectors')
