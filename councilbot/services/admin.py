"""What only a system administrator (システム管理者, role ``admin``) may do.

The organisation file decides who holds every role (admin included), every
approval chain and every session, so loading it is the admin's alone (SPEC §2).
Council work — assignment, 校了 and its reopening, withdrawal, session dates,
exports — is General Affairs' (see review.py, sessions.py, books.py).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from councilbot.domain.permissions import require_admin
from councilbot.services.common import actor_of
from councilbot.services.org import OrgReport, load_org
from councilbot.storage.models import User


def load_organisation(db: Session, user: User, path: str | Path, *, tz_name: str) -> OrgReport:
    """組織ファイルの読み込み, by an admin."""
    require_admin(actor_of(user), "組織ファイルの読み込み")
    return load_org(db, path, actor=user.chat_id, tz_name=tz_name)
