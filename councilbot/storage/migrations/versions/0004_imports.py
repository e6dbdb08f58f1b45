"""index queue: past answers whose search-index entry awaits the committed state

Revision ID: 0004_imports
Revises: 0003
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_imports'
down_revision = '0004_routing'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('index_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    # Answers in the database before this queue existed are indexed already, or caught up by
    # `councilbot index rebuild`.


def downgrade() -> None:
    op.drop_table('index_queue')
