"""Lookups every service needs: users as actors, questions by key, sessions, chains; rows a write touched."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.chains import EXECUTIVES, ApprovalChain, chain_for
from councilbot.domain.japanese import nfkc
from councilbot.domain.permissions import ROLE_ADMIN, ROLE_GENERAL_AFFAIRS, Actor, ItemContext
from councilbot.domain.workflow import State
from councilbot.errors import NotFound, PermissionDenied
from councilbot.storage.models import ApprovalChainConfig, CouncilSession, Department, Question, User

CLI_USER_ID = "cli"


def get_user(db: Session, chat_id: str) -> User:
    user = db.scalar(select(User).where(User.chat_id == chat_id, User.active.is_(True)))
    if user is None:
        raise PermissionDenied(
            "職員として登録されていないため操作できません。管理者に組織ファイルへの登録を依頼してください。"
        )
    return user


def cli_user(db: Session) -> User:
    """The operator at the server's command line, who holds General Affairs and admin rights.

    Running ``councilbot`` on the server already implies those rights; a user row
    lets stamps and audit entries name the command line as the actor.
    """
    user = db.scalar(select(User).where(User.chat_id == CLI_USER_ID))
    if user is None:
        user = User(
            chat_id=CLI_USER_ID, name="管理コマンド", position="システム", roles=[ROLE_GENERAL_AFFAIRS, ROLE_ADMIN]
        )
        db.add(user)
        db.flush()
    return user


def actor_of(user: User) -> Actor:
    dept = user.department
    return Actor(
        chat_id=user.chat_id,
        name=user.name,
        position=user.position,
        department=dept.name if dept else None,
        roles=frozenset(user.roles or ()),
    )


_KEY_ID = re.compile(r"^Q-?(\d+)$", re.IGNORECASE)


def get_question(db: Session, key: str, *, for_update: bool = False) -> Question:
    """By stable key (``R8-12-16-1-2-1``) or by number (``Q-123``)."""
    norm = nfkc(key).upper()
    match = _KEY_ID.match(norm)
    stmt = (
        select(Question).where(Question.id == int(match.group(1)))
        if match
        else select(Question).where(Question.key == norm)
    )
    if for_update and db.bind is not None and db.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    question = db.scalar(stmt)
    if question is None:
        raise NotFound(f"質問「{key}」が見つかりません。キー（例: R8-12-16-1-2-1）を確かめてください。")
    return question


def get_council_session(db: Session, name: str | None = None) -> CouncilSession:
    """By name (「令和8年12月定例会」) or code (``R8-12``); none given → the newest open session."""
    if not name:
        session = db.scalar(
            select(CouncilSession)
            .where(CouncilSession.closed.is_(False))
            .order_by(CouncilSession.opens.desc().nulls_last(), CouncilSession.id.desc())
        )
        if session is None:
            raise NotFound("開会中の会期が登録されていません。組織ファイルの sessions に会期を追加してください。")
        return session
    norm = nfkc(name).replace(" ", "")
    session = db.scalar(
        select(CouncilSession).where((CouncilSession.name == norm) | (CouncilSession.era_code == norm.upper()))
    )
    if session is None:
        raise NotFound(f"会期「{name}」が見つかりません。「令和8年12月定例会」のように正式名で指定してください。")
    return session


def get_department(db: Session, name: str) -> Department:
    dept = db.scalar(select(Department).where(Department.name == nfkc(name)))
    if dept is None:
        raise NotFound(f"所属「{name}」は組織ファイルに登録されていません。")
    return dept


def configured_chains(db: Session) -> dict[str, tuple[str, ...]]:
    return {c.answerer_kind: tuple(c.stages) for c in db.scalars(select(ApprovalChainConfig))}


def chain_of(db: Session, question: Question) -> ApprovalChain:
    return chain_for(question.answerer, configured_chains(db))


def item_context(db: Session, question: Question, *, at_stage: str | None = None) -> ItemContext:
    """What the rules need to know of ``question``; ``at_stage``: as if it were at that review stage."""
    dept = question.responsible_department
    stage = at_stage
    if stage is None and question.status == State.IN_REVIEW and question.stage_index is not None:
        stage = chain_of(db, question).stage(question.stage_index)
    offices: frozenset[str] = frozenset()
    if stage in EXECUTIVES:
        offices = frozenset(
            db.scalars(
                select(Department.name)
                .join(User, User.department_id == Department.id)
                .where(User.position == stage, User.active.is_(True))
            )
        )
    return ItemContext(
        responsible_department=dept.name if dept else None,
        responsible_parent=dept.parent.name if dept and dept.parent else None,
        current_stage=stage,
        executive_offices=offices,
    )
