"""chat: pending reminder messages and the copies of each card

Revision ID: 0004_chat
Revises: 0003
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_chat'
down_revision = '0004_commitments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sent_notifications') as batch:
        batch.add_column(sa.Column('text', sa.Text(), nullable=True))
        batch.add_column(sa.Column('sending_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('sent_notifications') as batch:
        batch.alter_column('attempts', server_default=None)
    op.create_table('card_copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('ts', sa.String(length=40), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.Column('settled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'ts', name='uq_card_copy')
    )
    op.create_index(op.f('ix_card_copies_question_id'), 'card_copies', ['question_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_card_copies_question_id'), table_name='card_copies')
    op.drop_table('card_copies')
    with op.batch_alter_table('sent_notifications') as batch:
        batch.drop_column('next_attempt_at')
        batch.drop_column('attempts')
        batch.drop_column('sending_at')
        batch.drop_column('text')
