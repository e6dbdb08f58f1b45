"""Who may do what. Checked on the server for every action: a chat button can be
clicked by anyone in the workspace, so the click itself proves nothing.

Reading and searching is open to all staff (全庁で閲覧可能); writing is by role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from councilbot.domain.chains import EXECUTIVES
from councilbot.domain.workflow import TransitionRule, Who
from councilbot.errors import PermissionDenied

DRAFTER_POSITIONS = frozenset({"係長", "主査", "主任", "担当"})
SECRETARY = "秘書"
ROLE_GENERAL_AFFAIRS = "general_affairs"
ROLE_ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """The acting user as the rules see them."""

    chat_id: str
    name: str
    position: str
    department: str | None
    parent_department: str | None  # the 部 above the user's 課
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_general_affairs(self) -> bool:
        return ROLE_GENERAL_AFFAIRS in self.roles

    @property
    def is_admin(self) -> bool:
        return ROLE_ADMIN in self.roles


@dataclass(frozen=True)
class ItemContext:
    """What the rules need to know of a question item."""

    responsible_department: str | None
    responsible_parent: str | None  # the 部 above the responsible 課
    current_stage: str | None  # 課長 / 部長 / 市長 … while in review
    # Where the executive of the current stage sits (e.g. 市長室): their secretaries are there.
    executive_offices: frozenset[str] = frozenset()


def holds_stage(actor: Actor, stage: str, item: ItemContext) -> bool:
    """Does ``actor`` stamp at ``stage`` for this item?"""
    if stage == "課長":
        return actor.position == "課長" and actor.department == item.responsible_department
    if stage == "部長":
        return actor.position == "部長" and actor.department == item.responsible_parent
    if stage in EXECUTIVES:
        # An executive's secretary (秘書) works their queue, from the same office only.
        return actor.position == stage or (actor.position == SECRETARY and actor.department in item.executive_offices)
    return actor.position == stage


def is_drafter(actor: Actor, item: ItemContext) -> bool:
    return actor.position in DRAFTER_POSITIONS and actor.department == item.responsible_department


def acts_as(who: Who, actor: Actor, item: ItemContext) -> bool:
    """Is ``actor`` one of ``who`` for this item?"""
    if who is Who.GENERAL_AFFAIRS:
        return actor.is_general_affairs
    if who is Who.DRAFTER:
        return is_drafter(actor, item)
    return item.current_stage is not None and holds_stage(actor, item.current_stage, item)


_WHO_LABELS = {
    Who.GENERAL_AFFAIRS: "総務課（議会担当）",
    Who.DRAFTER: "担当課の係長",
    Who.STAGE_HOLDER: "現在の決裁段階の担当者",
}


def check_transition(t: TransitionRule, actor: Actor, item: ItemContext) -> None:
    """Raise ``PermissionDenied`` with a Japanese message unless ``actor`` may take ``t``."""
    if any(acts_as(who, actor, item) for who in t.who):
        return
    needed = "または".join(
        f"{_WHO_LABELS[w]}（{item.current_stage}）" if w is Who.STAGE_HOLDER and item.current_stage else _WHO_LABELS[w]
        for w in t.who
    )
    raise PermissionDenied(f"{actor.name}さんには「{t.label}」の権限がありません。{needed}が行えます。")


def require_general_affairs(actor: Actor, action: str) -> None:
    if not actor.is_general_affairs:
        raise PermissionDenied(f"「{action}」は総務課（議会担当）の職員のみ行えます。")


def require_admin(actor: Actor, action: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"「{action}」はシステム管理者のみ行えます。")


def may_comment(actor: Actor, item: ItemContext, related_departments: frozenset[str]) -> bool:
    """Comments: the divisions involved, their approvers, executives and General Affairs."""
    return (
        actor.is_general_affairs
        or actor.department in {item.responsible_department, item.responsible_parent, *related_departments}
        or actor.position in (*EXECUTIVES, SECRETARY)
    )
