"""For everyone: search results, the session's progress, the App Home, and the comment on an
exported book."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from councilbot.adapters.slack.blocks.assignment import _ref_link
from councilbot.adapters.slack.blocks.common import (
    HELP,
    MESSAGE_BLOCK_LIMIT,
    VIEW_BLOCK_LIMIT,
    SlackMessage,
    context,
    escape,
    header,
    section,
    sections,
    truncate,
)
from councilbot.domain.japanese import day_label

# --- everyone ----------------------------------------------------------------------


def search_results(query: str, results: Sequence[Any]) -> SlackMessage:
    if not results:
        text = f"「{query}」に当たる過去の答弁は見つかりませんでした。語句を変えてお試しください。"
        return SlackMessage(text, [section(escape(text))])
    blocks = [section(f"「{escape(query)}」の検索結果（{len(results)}件）")]
    for r in results[:20]:
        line = f"{_ref_link(r.ref)} *{escape(r.title or '')}*\n{escape(r.session or '')}・{escape(r.member or '')}・{escape(r.department or '')}・{escape(r.answerer or '')}\n{escape(truncate(r.snippet or '', 400))}"
        blocks.append(section(line))
    return SlackMessage(f"「{query}」の検索結果（{len(results)}件）", blocks[:MESSAGE_BLOCK_LIMIT])


def status_message(status: Any, tz_name: str) -> SlackMessage:
    title = f"{status.session.name}の進み具合"
    blocks = [header(title)]
    if status.overdue:
        lines = [
            f"• `{o.key}` {escape(o.department)} {escape(o.label)}（締切 {day_label(o.due_at, tz_name)}）{escape(truncate(o.title, 40))}"
            for o in status.overdue[:40]
        ]
        more = f"\nほか{len(status.overdue) - 40}件" if len(status.overdue) > 40 else ""
        blocks += sections(
            f"*:rotating_light: 締切を過ぎた質問（{len(status.overdue)}件）*\n" + "\n".join(lines) + more
        )
    if not status.divisions:
        blocks.append(section("この会期の質問はまだ登録されていません。"))
    for d in status.divisions[:40]:
        counts = "、".join(f"{escape(label)} {n}件" for label, n in sorted(d.counts.items()))
        overdue = f"　:rotating_light: 締切超過 {d.overdue}件" if d.overdue else ""
        blocks.append(section(f"*{escape(d.department)}*（{d.total}件）{overdue}\n{counts}"))
    totals = "、".join(f"{escape(label)} {n}件" for label, n in sorted(status.totals.items()))
    if totals:
        blocks.append(context(f"全体: {totals}"))
    return SlackMessage(title, blocks[:MESSAGE_BLOCK_LIMIT])


def home_view(name: str | None, queue: Sequence[Any], tz_name: str, *, error: str | None = None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("councilbot 議会答弁")]
    if error:
        blocks.append(section(f":warning: {escape(error)}"))
    elif name is None:
        blocks.append(
            section(
                "職員として登録されていないため、担当の一覧を表示できません。管理者に組織ファイルへの登録を依頼してください。"
            )
        )
    elif not queue:
        blocks.append(section(f"{escape(name)}さんが対応する質問は、いまはありません。"))
    else:
        blocks.append(section(f"*{escape(name)}さんが対応する質問（{len(queue)}件）*"))
        for item in queue[:80]:
            due = f"　締切 {day_label(item.due_at, tz_name)}" if item.due_at else ""
            blocks.append(section(f"`{item.key}` {escape(item.title)}\n{escape(item.label)}：{escape(item.why)}{due}"))
    blocks += [{"type": "divider"}, *sections(HELP)]
    return {"type": "home", "blocks": blocks[:VIEW_BLOCK_LIMIT]}


def export_comment(result: Any, session_name: str) -> str:
    """The upload's comment, which Slack reads as mrkdwn."""
    text = f"{escape(session_name)}の答弁書を作成しました（{result.item_count}件、SHA-256: {result.sha256[:16]}…）。"
    if result.missing:
        text += f"\n校了していない質問が{len(result.missing)}件あります: " + "、".join(
            m.split(" ", 1)[0] for m in result.missing[:20]
        )
    return text
