"""Loading the organisation file (組織ファイル): departments and their duties (事務分掌),
council members, staff with positions and roles, approval chains and sessions.

Errors name the line and field, so whoever edits the YAML can fix it at once.
Loading is an upsert: the file can be edited and loaded again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.era import parse_session_name
from councilbot.domain.permissions import DRAFTER_POSITIONS, ROLE_ADMIN, ROLE_GENERAL_AFFAIRS
from councilbot.errors import InvalidInput
from councilbot.services.audit import record_audit
from councilbot.services.common import CLI_USER_ID, nfkc
from councilbot.storage.models import ApprovalChainConfig, CouncilSession, Department, Member, OrgSetting, User

POSITION_ORDER = ("職員", "担当", "主任", "主査", "係長", "課長", "部長", "教育長", "副市長", "市長", "秘書")
POSITIONS = frozenset(POSITION_ORDER)
assert DRAFTER_POSITIONS <= POSITIONS
ROLES = frozenset({ROLE_GENERAL_AFFAIRS, ROLE_ADMIN})


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {k.value: k.start_mark.line + 1 for k, _v in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class OrgReport:
    city: str
    departments: int
    members: int
    users: int
    chains: int
    sessions: int


def _fail(entry: dict[str, Any] | None, field: str, problem: str, source: str) -> InvalidInput:
    number = (entry or {}).get("__lines__", {}).get(field.split(".")[-1]) or (entry or {}).get("__line__")
    line = f"{number}行目" if number else "先頭"
    return InvalidInput(f"{source} {line}: 「{field}」{problem}")


def _required(entry: dict[str, Any], field: str, source: str) -> str:
    value = entry.get(field)
    if value is None or not str(value).strip():
        raise _fail(entry, field, "がありません。", source)
    return nfkc(str(value))


def _local_datetime(value: Any, entry: dict[str, Any], field: str, tz: ZoneInfo, source: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise _fail(entry, field, "は「2026-11-27T17:00」の形で書いてください。", source) from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _entries(data: dict[str, Any], field: str, source: str) -> list[dict[str, Any]]:
    """A section that must be a list of mappings, e.g. ``members:``."""
    value = data.get(field) or []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise _fail(data, field, "は「- name: …」のような項目の並びにしてください。", source)
    return value


def read_org_file(path: str | Path) -> dict[str, Any]:
    source = Path(path).name
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"組織ファイル「{path}」が見つかりません。") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"組織ファイル「{source}」をUTF-8として読めません。文字コードを確かめてください。") from None
    except OSError:
        raise InvalidInput(f"組織ファイル「{path}」を読めません。ファイルを指定してください。") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}行目" if mark else "不明な位置"
        raise InvalidInput(f"{source} {where}: YAMLの書き方に誤りがあります。") from None
    except ValueError:
        # YAML reads 2026-13-45 as a date and fails inside the parser.
        raise InvalidInput(f"{source}: 日付または日時に存在しない値があります（例: 2026-11-27T17:00）。") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: 組織ファイルの形式ではありません（departments などの項目が必要です）。")
    return data


def load_org(db: Session, path: str | Path, *, actor: str, tz_name: str = "Asia/Tokyo") -> OrgReport:
    """Validate the whole file first, then write it in the caller's transaction."""
    source = Path(path).name
    data = read_org_file(path)
    tz = ZoneInfo(tz_name)

    departments = _entries(data, "departments", source)
    if not departments:
        raise _fail(data, "departments", "に部・課が一つもありません。", source)

    # Departments, parents first.
    seen: dict[str, Department] = {d.name: d for d in db.scalars(select(Department))}
    names_in_file: set[str] = set()

    def upsert_department(entry: dict[str, Any], parent: Department | None) -> None:
        name = _required(entry, "name", source)
        if name in names_in_file:
            raise _fail(entry, "name", f"「{name}」が重複しています。", source)
        names_in_file.add(name)
        dept = seen.get(name) or Department(name=name)
        dept.parent = parent
        dept.duties = nfkc(str(entry.get("duties") or ""))
        dept.channel = str(entry["channel"]) if entry.get("channel") else None
        dept.is_general_affairs = bool(entry.get("general_affairs", False))
        db.add(dept)
        seen[name] = dept
        for child in _entries(entry, "children", source):
            upsert_department(child, dept)

    for entry in departments:
        upsert_department(entry, None)
    db.flush()

    members = _entries(data, "members", source)
    seats: set[int] = set()
    existing_members = {m.seat: m for m in db.scalars(select(Member))}
    for entry in members:
        try:
            seat = int(str(entry.get("seat", "")).replace("番", ""))
        except ValueError:
            raise _fail(entry, "seat", "は議席番号（数字）にしてください。", source) from None
        if seat in seats:
            raise _fail(entry, "seat", f"{seat}番が重複しています。", source)
        seats.add(seat)
        member = existing_members.get(seat) or Member(seat=seat)
        member.name = _required(entry, "name", source)
        member.reading = nfkc(entry.get("reading")) or None
        member.faction = nfkc(entry.get("faction")) or None
        member.active = True
        db.add(member)
    for seat, member in existing_members.items():
        if seat not in seats:
            member.active = False  # left the council; their questions stay

    users = _entries(data, "users", source)
    ids: set[str] = set()
    existing_users = {u.chat_id: u for u in db.scalars(select(User))}
    for entry in users:
        chat_id = _required(entry, "id", source)
        if chat_id in ids:
            raise _fail(entry, "id", f"「{chat_id}」が重複しています。", source)
        ids.add(chat_id)
        dept_name = _required(entry, "department", source)
        if dept_name not in seen:
            raise _fail(entry, "department", f"「{dept_name}」は departments にありません。", source)
        position = _required(entry, "position", source)
        if position not in POSITIONS:
            raise _fail(entry, "position", f"「{position}」は使えません（{'、'.join(POSITION_ORDER)}）。", source)
        roles = entry.get("roles") or []
        if not isinstance(roles, list) or any(r not in ROLES for r in roles):
            raise _fail(entry, "roles", f"は {', '.join(sorted(ROLES))} から選んでください。", source)
        user = existing_users.get(chat_id) or User(chat_id=chat_id)
        user.name = _required(entry, "name", source)
        user.department = seen[dept_name]
        user.position = position
        user.roles = list(roles)
        user.active = True
        db.add(user)
    for chat_id, user in existing_users.items():
        if chat_id not in ids and chat_id != CLI_USER_ID:
            # No longer in the organisation: no access, no roles; their stamps stay.
            user.active = False
            user.roles = []

    chains = data.get("chains") or {}
    if not isinstance(chains, dict):
        raise _fail(data, "chains", "は「答弁者: [課長, 部長, …]」の形にしてください。", source)
    existing_chains = {c.answerer_kind: c for c in db.scalars(select(ApprovalChainConfig))}
    for kind, stages in chains.items():
        if not isinstance(kind, str):
            raise _fail(chains, "chains", f"の答弁者「{kind}」は役職名（例: 市長、部長）にしてください。", source)
        if kind.startswith("__"):
            continue
        if not isinstance(stages, list) or not stages or any(s not in POSITIONS for s in stages):
            raise _fail(chains, f"chains.{kind}", "は役職名の並び（例: [課長, 部長, 市長]）にしてください。", source)
        chain = existing_chains.get(kind) or ApprovalChainConfig(answerer_kind=kind)
        chain.stages = [str(s) for s in stages]
        db.add(chain)

    sessions = _entries(data, "sessions", source)
    existing_sessions = {s.name: s for s in db.scalars(select(CouncilSession))}
    for entry in sessions:
        raw_name = _required(entry, "name", source)
        try:
            parsed = parse_session_name(raw_name)
        except InvalidInput as exc:
            raise _fail(entry, "name", f"を読み取れません（{exc.message}）", source) from None
        session = existing_sessions.get(parsed.name) or CouncilSession(name=parsed.name)
        session.kind = nfkc(entry.get("kind")) or parsed.kind
        session.era_code = parsed.code
        opens = entry.get("opens")
        if opens is not None and not isinstance(opens, dt.date):
            try:
                opens = dt.date.fromisoformat(str(opens))
            except ValueError:
                raise _fail(entry, "opens", "は「2026-12-01」の形で書いてください。", source) from None
        session.opens = opens
        session.answer_deadline = _local_datetime(entry.get("answer_deadline"), entry, "answer_deadline", tz, source)
        session.review_meeting = _local_datetime(entry.get("review_meeting"), entry, "review_meeting", tz, source)
        session.closed = bool(entry.get("closed", False))
        db.add(session)

    city = nfkc(str(data.get("city") or ""))
    if city:
        db.merge(OrgSetting(key="city", value=city))
    db.flush()
    report = OrgReport(
        city=city,
        departments=len(names_in_file),
        members=len(seats),
        users=len(ids),
        chains=len([k for k in chains if not k.startswith("__")]),
        sessions=len(sessions),
    )
    record_audit(db, actor, "org.load", source, departments=report.departments, members=report.members, users=report.users)
    return report


def city_name(db: Session) -> str:
    setting = db.get(OrgSetting, "city")
    return setting.value if setting else ""
