"""Loading the organisation file (組織ファイル): departments and their duties (事務分掌),
council members, staff with positions and roles, approval chains and sessions.

Errors name the line and field, so whoever edits the YAML can fix it at once.
Loading is an upsert: the file can be edited and loaded again. What the file no
longer lists stops applying: departments are kept but are no longer current,
staff lose access, council members become inactive, approval chains fall back
to the defaults.

The file is bounded before it is built (size, nesting, and what YAML aliases
expand to), because routing reads the duties for every new question.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.chains import chain_problem
from councilbot.domain.era import parse_session_name
from councilbot.domain.japanese import nfkc
from councilbot.domain.permissions import DRAFTER_POSITIONS, ROLE_ADMIN, ROLE_GENERAL_AFFAIRS
from councilbot.errors import InvalidInput
from councilbot.services.audit import record_audit
from councilbot.services.common import CLI_USER_ID
from councilbot.storage.models import ApprovalChainConfig, CouncilSession, Department, Member, OrgSetting, User

POSITION_ORDER = ("職員", "担当", "主任", "主査", "係長", "課長", "部長", "教育長", "副市長", "市長", "秘書")
POSITIONS = frozenset(POSITION_ORDER)
assert DRAFTER_POSITIONS <= POSITIONS
ROLES = frozenset({ROLE_GENERAL_AFFAIRS, ROLE_ADMIN})

# Bounds that a real organisation file stays far below (a city of 300 divisions is ~100 KB).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_EXPANDED_CHARS = 2_000_000  # text once YAML aliases are expanded
MAX_NESTING = 24  # departments within departments, each a mapping within a list
MAX_TEXT_CHARS = 200
MAX_DUTIES_CHARS = 5000


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
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


def _text(entry: dict[str, Any], field: str, source: str, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A one-line text field; "" when absent. Lists, mappings, yes/no and dates are refused by name."""
    value = entry.get(field)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _fail(
            entry, field, "は文字で書いてください（並びや「項目: 値」の形、はい/いいえ、日付は使えません）。", source
        )
    text = nfkc(str(value))
    if len(text) > max_chars:
        raise _fail(entry, field, f"が長すぎます（{len(text)}文字。上限は{max_chars}文字です）。", source)
    return text


def _required(entry: dict[str, Any], field: str, source: str) -> str:
    text = _text(entry, field, source)
    if not text:
        raise _fail(entry, field, "がありません。", source)
    return text


def _flag(entry: dict[str, Any], field: str, source: str) -> bool:
    value = entry.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _fail(entry, field, "は true か false で書いてください。", source)
    return value


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
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise InvalidInput(f"{source}: 組織ファイルが大きすぎます（上限{MAX_FILE_BYTES // 1024 // 1024}MB）。")
    try:
        _check_shape(text, source)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}行目" if mark else "不明な位置"
        raise InvalidInput(f"{source} {where}: YAMLの書き方に誤りがあります。") from None
    except ValueError:
        # YAML reads 2026-13-45 as a date and fails inside the parser.
        raise InvalidInput(f"{source}: 日付または日時に存在しない値があります（例: 2026-11-27T17:00）。") from None
    if data is None:
        raise InvalidInput(
            f"{source}: 組織ファイルが空です（departments などの項目を書いてください）。何も読み込んでいません。"
        )
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: 組織ファイルの形式ではありません（departments などの項目が必要です）。")
    return data


def _check_shape(text: str, source: str) -> None:
    """Refuse, before anything is built, nesting deeper than MAX_NESTING and aliases expanding past MAX_EXPANDED_CHARS.

    Works on the parser's event stream, which is flat: a deeply nested value
    would exhaust the recursion of PyYAML's composer, and a few kilobytes of
    aliases can stand for gigabytes of text once read as values.
    """
    path: list[list[Any]] = []  # per open collection: [is_mapping, key or index, expecting a key]
    starts: list[tuple[str | None, int]] = []  # per open collection: (anchor, size when it opened)
    anchored: dict[str, int] = {}
    size = 0

    def where() -> str:
        named = ""
        for is_mapping, key, _ in path[:4]:
            if is_mapping and key is not None:
                named += f".{key}" if named else str(key)
            elif not is_mapping:
                named += f"[{key + 1}]"
        return (named + ("…" if len(path) > 4 else "")) or "先頭"

    def fail(event: yaml.Event, problem: str) -> InvalidInput:
        line = f"{event.start_mark.line + 1}行目: " if event.start_mark else ""  # the parser marks every event
        return InvalidInput(f"{source} {line}「{where()}」{problem}")

    def child_done() -> None:
        if path:
            frame = path[-1]
            if frame[0]:
                frame[2] = not frame[2]
            else:
                frame[1] += 1

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(path) >= MAX_NESTING:
                raise fail(event, f"の入れ子が深すぎます（{MAX_NESTING}段まで）。")
            starts.append((event.anchor, size))
            is_mapping = isinstance(event, yaml.MappingStartEvent)
            path.append([True, None, True] if is_mapping else [False, 0, False])
            size += 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            path.pop()
            anchor, opened = starts.pop()
            if anchor:
                anchored[anchor] = size - opened
            child_done()
        elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            if isinstance(event, yaml.ScalarEvent):
                grown = len(event.value) + 1
                if event.anchor:
                    anchored[event.anchor] = grown
                if path and path[-1][0] and path[-1][2]:
                    path[-1][1] = event.value  # a key: name the field that follows
            else:
                grown = anchored.get(event.anchor or "", 1)  # an alias always names its anchor
            size += grown
            if size > MAX_EXPANDED_CHARS:
                raise fail(event, "で、別名（*）の展開により内容が大きくなりすぎます。別名を使わずに書いてください。")
            child_done()


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
        dept.duties = _text(entry, "duties", source, max_chars=MAX_DUTIES_CHARS)
        dept.channel = _text(entry, "channel", source) or None
        dept.is_general_affairs = _flag(entry, "general_affairs", source)
        dept.current = True
        db.add(dept)
        seen[name] = dept
        for child in _entries(entry, "children", source):
            upsert_department(child, dept)

    for entry in departments:
        upsert_department(entry, None)
    for name, dept in seen.items():
        if name not in names_in_file:
            dept.current = False  # reorganised away; what names it stays readable
    db.flush()

    members = _entries(data, "members", source)
    seats: set[int] = set()
    existing_members = {m.seat: m for m in db.scalars(select(Member))}
    for entry in members:
        try:
            seat = int(_text(entry, "seat", source).replace("番", ""))
        except ValueError:
            raise _fail(entry, "seat", "は議席番号（数字）にしてください。", source) from None
        if seat in seats:
            raise _fail(entry, "seat", f"{seat}番が重複しています。", source)
        seats.add(seat)
        member = existing_members.get(seat) or Member(seat=seat)
        member.name = _required(entry, "name", source)
        member.reading = _text(entry, "reading", source) or None
        member.faction = _text(entry, "faction", source) or None
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
        if dept_name not in names_in_file:
            raise _fail(entry, "department", f"「{dept_name}」は departments にありません。", source)
        position = _required(entry, "position", source)
        if position not in POSITIONS:
            raise _fail(entry, "position", f"「{position}」は使えません（{'、'.join(POSITION_ORDER)}）。", source)
        roles = entry.get("roles") or []
        if not isinstance(roles, list) or any(not isinstance(r, str) or r not in ROLES for r in roles):
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
        problem = chain_problem(stages)
        if problem:
            raise _fail(chains, f"chains.{kind}", problem, source)
        chain = existing_chains.get(kind) or ApprovalChainConfig(answerer_kind=kind)
        chain.stages = [str(s) for s in stages]
        db.add(chain)
    for kind, chain in existing_chains.items():
        if kind not in chains:
            db.delete(chain)  # removed from the file: the default chain for that answerer applies again

    sessions = _entries(data, "sessions", source)
    existing_sessions = {s.name: s for s in db.scalars(select(CouncilSession))}
    for entry in sessions:
        raw_name = _required(entry, "name", source)
        try:
            parsed = parse_session_name(raw_name)
        except InvalidInput as exc:
            raise _fail(entry, "name", f"を読み取れません（{exc.message}）", source) from None
        session = existing_sessions.get(parsed.name) or CouncilSession(name=parsed.name)
        session.kind = _text(entry, "kind", source) or parsed.kind
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
        session.closed = _flag(entry, "closed", source)
        db.add(session)

    city = _text(data, "city", source)
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
    record_audit(
        db, actor, "org.load", source, departments=report.departments, members=report.members, users=report.users
    )
    return report


def city_name(db: Session) -> str:
    setting = db.get(OrgSetting, "city")
    return setting.value if setting else ""
