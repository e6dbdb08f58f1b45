"""scheduling: scheduler lease and sent reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# APScheduler's own table (apscheduler_jobs) is created by its job store and
# left out of model comparison in env.py.


def upgrade() -> None:
    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('sent_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_key', sa.String(length=200), nullable=False),
    sa.Column('fire_at', sa.DateTime(), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_key', 'fire_at', name='uq_sent_notification')
    )


def downgrade() -> None:
    op.drop_table('sent_notifications')
    op.drop_table('scheduler_leases')
