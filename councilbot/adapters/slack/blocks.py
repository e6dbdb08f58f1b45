"""Everything councilbot shows in Slack: messages, modals and the App Home, in one place.

Builders take domain objects and return Block Kit payloads within Slack's limits
(section text 3,000 characters, 50 blocks per message, 100 per view, input
values 3,000 characters, button values 2,000). Long text is split, never cut
silently. Every button carries the question key and the version the user saw,
so the service can refuse a stale click.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from councilbot.domain.chains import EXECUTIVES
from councilbot.domain.intake_parse import QUESTION_TYPES, ParsedQuestion
from councilbot.domain.rulecheck import severity_label
from councilbot.domain.workflow import TRANSITIONS
from councilbot.storage.models import AnswerRevision, Comment, Question

SECTION_LIMIT = 3000
INPUT_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
FALLBACK_TEXT_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
OPTIONS_LIMIT = 100
METADATA_LIMIT = 3000
PROGRESS_TAIL = 2500  # characters of a draft shown while the model writes

# action_id / callback_id: the listeners register on these names.
ASSIGN_CONFIRM = "assign_confirm"
ASSIGN_OPEN = "assign_open"
REASSIGN_OPEN = "reassign_open"
DRAFT = "draft"
ANSWER_OPEN = "answer_open"
SUBMIT = "submit_review"
APPROVE = "approve"
SEND_BACK_OPEN = "send_back_open"
FINALIZE = "finalize"
REOPEN_OPEN = "reopen_open"
COMMENT_OPEN = "comment_open"
INTAKE_COMPLETE = "intake_complete"
DIFF = "revision_diff"

QUESTION_VIEW = "question_modal"
ASSIGN_VIEW = "assign_modal"
REASSIGN_VIEW = "reassign_modal"
ANSWER_VIEW = "answer_modal"
NOTE_VIEW = "note_modal"

# Block ids of modal inputs, read back by the view listeners.
QUESTION_BODY = "body"  # 質問要旨: body_0, body_1 … (``_long_inputs``), read back with ``joined_input``
ANSWER_BLOCK = "answer"
BACK_DATA_BLOCK = "back_data"
SUBMIT_BLOCK = "submit"
NOTE_BLOCK = "note"
DEPARTMENT_BLOCK = "department"
RELATED_BLOCK = "related"
ANSWERER_BLOCK = "answerer"

HELP = """*councilbot の使い方*（`/council` のあとに続けて入力してください）
• `/council ask`（質問）: 質問を登録する画面を開きます
• `/council draft キー`（下書き）: 答弁案を生成AIで作成します
• `/council answer キー`（答弁）: 答弁とバックデータを入力・修正します（編集できない方には、質問・答弁・バックデータ・決裁の記録を表示します）
• `/council diff キー [版 版]`（差分）: 答弁の版どうしの変更点を表示します（省略時は最新の2版）
• `/council search 語句`（検索）: 過去の答弁を検索します
• `/council status [会期]`（進捗）: 担当課・段階ごとの進み具合を表示します
• `/council export [会期] [--by member|department] [--only 名前] [--back-data] [--draft]`（出力）: 答弁書（Word）を作成します（総務課）
• `/council reopen キー 理由`（校了解除）: 校了した答弁を、理由を添えて修正できる状態に戻します（総務課）
• `/council withdraw キー 理由`（取下げ）: 質問を、理由を添えて取り下げます。同じ趣旨の質問を一つの答弁にまとめる場合などに使います（総務課）
• `/council web`（画面）: Web画面（会期の進捗・答弁検討会・過去答弁の検索）へのサインイン用リンクを、ダイレクトメッセージでお送りします
• `/council help`（ヘルプ）: この説明を表示します
キーは質問の登録時に表示される `R8-12-16-1-2-1` や `Q-12` の形の文字列です。
メッセージのメニュー「議会質問として登録」からも質問を登録できます。"""


@dataclass(frozen=True)
class SlackMessage:
    """A chat message: fallback text (notifications, screen readers) and blocks.

    ``text`` is plain text as people read it, never markup: ``payload`` escapes it,
    so what a user typed (``<!channel>``) cannot become a mention or a link. The
    blocks are mrkdwn built with ``escape``.
    """

    text: str
    blocks: list[dict[str, Any]]

    def payload(self) -> dict[str, Any]:
        return {
            "text": truncate(escape_entities(self.text), FALLBACK_TEXT_LIMIT),
            "blocks": self.blocks[:MESSAGE_BLOCK_LIMIT],
        }


# --- primitives ------------------------------------------------------------

# Slack's formatting marks, where Slack would read them as marks: not inside a word
# (a URL's or an identifier's "_" stays as it is).
_MARK = re.compile(r"(?<![0-9A-Za-z])[*_~`]|[*_~`](?![0-9A-Za-z])")
_FULL_WIDTH_MARKS = {"*": "＊", "_": "＿", "~": "～", "`": "｀"}
_QUOTE_START = re.compile(r"^&gt;", re.MULTILINE)


def escape_entities(text: str | None) -> str:
    """Slack's control characters (&, <, >) as entities: no mention, link or channel-wide ping."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str | None) -> str:
    """What a person wrote, shown in mrkdwn exactly as written: entities, and no bold,
    italics, strike, code or quote made of their marks (shown as full-width marks)."""
    marked = _MARK.sub(lambda m: _FULL_WIDTH_MARKS[m.group()], escape_entities(text))
    return _QUOTE_START.sub("＞", marked)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, broken after a line or a sentence where possible."""
    pieces: list[str] = []
    rest = text or ""
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n"), window.rfind("。"))
        cut = cut + 1 if cut >= limit // 2 else limit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT) or " "}}


def sections(text: str) -> list[dict[str, Any]]:
    """Long mrkdwn text as consecutive sections, each within Slack's limit."""
    return [section(piece) for piece in split_text(text)]


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150)}}


def plain(text: str, limit: int = OPTION_TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit)}


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element = {"type": "button", "text": plain(label, BUTTON_TEXT_LIMIT), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def item_value(question: Question, **extra: str) -> str:
    """A button's value: the key and the version the user sees (optimistic locking)."""
    return json.dumps({"key": question.key, "version": question.version, **extra}, ensure_ascii=False)


def parse_value(value: str | None) -> dict[str, Any]:
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def metadata(**values: Any) -> str:
    text = json.dumps({k: v for k, v in values.items() if v is not None}, ensure_ascii=False)
    if len(text) > METADATA_LIMIT:
        raise ValueError("private_metadata is over Slack's limit")
    return text


def fmt_time(value: dt.datetime | None, tz_name: str) -> str:
    return "—" if value is None else value.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%d %H:%M:%S")


def fmt_day(value: dt.datetime | None, tz_name: str) -> str:
    return "—" if value is None else value.astimezone(ZoneInfo(tz_name)).strftime("%m月%d日 %H:%M")


def mention(chat_ids: Iterable[str]) -> str:
    return " ".join(f"<@{c}>" for c in chat_ids)


def error_message(text: str) -> SlackMessage:
    """Our sentence (commands in `backticks`) naming what the user gave: entities only."""
    return SlackMessage(text, [section(f":warning: {escape_entities(text)}")])


def web_sign_in_link(url: str, minutes: int) -> SlackMessage:
    """The one-time link to the web view (our words and our URL: entities only)."""
    text = (
        f"Web画面（会期の進捗・答弁検討会・過去答弁の検索・答弁書）へのサインイン用リンクです。{minutes}分以内に"
        f"一度だけ使えます。他の人には転送しないでください。\n{url}"
    )
    return SlackMessage(text, [section(escape_entities(text))])


def help_message(unknown: str | None = None) -> SlackMessage:
    def lead(word: str) -> str:
        return f"「{word}」というコマンドはありません。\n" if unknown else ""

    return SlackMessage(lead(unknown or "") + "councilbot の使い方", sections(lead(escape(unknown)) + HELP))


# --- question items ----------------------------------------------------------


def question_fields(question: Question, label: str | None = None) -> list[dict[str, Any]]:
    member = question.member
    facts = [
        f"*キー*\n`{question.key}`",
        f"*会期*\n{escape(question.session.name)}",
        f"*議員*\n{member.seat_label} {escape(member.name)}（{escape(member.faction or '会派なし')}）",
        f"*種類・項目*\n{escape(question.question_type)} {escape(question.item_no)}",
    ]
    if question.responsible_department:
        facts.append(
            f"*担当課・答弁者*\n{escape(question.responsible_department.name)}・{escape(question.answerer or '未定')}"
        )
    if label:
        facts.append(f"*状況*\n{escape(label)}")
    blocks = [
        section(f"*{escape(question.title)}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]},
    ]
    blocks += sections(f"*質問要旨*\n{escape(question.body)}")
    return blocks


def stamps_block(question: Question, tz_name: str) -> list[dict[str, Any]]:
    """Every stamp with name and time, as the reference system shows them."""
    if not question.stamps:
        return []
    lines = []
    for s in question.stamps:
        what = TRANSITIONS[s.action].label if s.action in TRANSITIONS else s.action
        stage = f"{s.stage}・" if s.stage and s.action in ("approve", "send_back") else ""
        comment = f"「{escape(truncate(s.comment, 200))}」" if s.comment else ""
        lines.append(f"{fmt_time(s.stamped_at, tz_name)} {stage}{what} {escape(s.user.name)}{comment}")
    return sections("*決裁の記録*\n" + "\n".join(lines))


def answer_blocks(revision: AnswerRevision | None, *, ai_label: str | None = None) -> list[dict[str, Any]]:
    if revision is None:
        return [section("_答弁はまだ入力されていません。_")]
    title = f"*答弁（第{revision.number}版）*" + (f" 【{ai_label}】" if ai_label else "")
    blocks = sections(f"{title}\n{escape(revision.answer)}")
    if revision.back_data:
        blocks += sections(f"*バックデータ*\n{escape(revision.back_data)}")
    return blocks


def intake_record(question: Question, duplicates: Sequence[tuple[Question, float]], *, created: bool) -> SlackMessage:
    lead = (
        f"質問を登録しました。キーは `{question.key}` です。"
        if created
        else f"この質問は `{question.key}` として登録済みです。"
    )
    blocks = [section(lead), *question_fields(question)]
    if duplicates:
        lines = [
            f"• `{q.key}` {escape(q.member.name)}議員「{escape(q.title)}」（類似度 {score:.2f}）"
            for q, score in duplicates
        ]
        blocks += sections("*同じ趣旨と思われる質問があります。答弁の整合を確認してください。*\n" + "\n".join(lines))
    blocks.append(context("担当課は総務課が決定します。進み具合は `/council status` で確認できます。"))
    return SlackMessage(lead, blocks)


def intake_incomplete(parsed: ParsedQuestion, channel: str, ts: str) -> SlackMessage:
    missing = "・".join(parsed.missing)
    text = f"質問として読み取れなかった項目があります（{missing}）。下のボタンから入力して登録してください。"
    return SlackMessage(
        text,
        [
            section(escape(text)),
            actions(
                button("不足項目を入力して登録", INTAKE_COMPLETE, json.dumps({"channel": channel, "ts": ts}), "primary")
            ),
        ],
    )


def _text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    max_length: int = INPUT_LIMIT,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }


def _select(
    block_id: str,
    label: str,
    options: Sequence[str],
    *,
    initial: str | None = None,
    optional: bool = False,
    multi: bool = False,
    initial_many: Sequence[str] = (),
) -> dict[str, Any]:
    opts = [{"text": plain(o), "value": o} for o in options[:OPTIONS_LIMIT]]
    element: dict[str, Any] = {
        "type": "multi_static_select" if multi else "static_select",
        "action_id": "value",
        "options": opts,
    }
    if initial in options:
        element["initial_option"] = {"text": plain(initial), "value": initial}
    chosen = [o for o in initial_many if o in options]
    if multi and chosen:
        element["initial_options"] = [{"text": plain(o), "value": o} for o in chosen]
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }


def _modal(
    callback_id: str, title: str, blocks: list[dict[str, Any]], private_metadata: str, submit: str = "登録"
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("キャンセル", 24),
        "private_metadata": private_metadata,
        "blocks": blocks[:VIEW_BLOCK_LIMIT],
    }


def question_modal(parsed: ParsedQuestion | None, private_metadata: str) -> dict[str, Any]:
    p = parsed or ParsedQuestion()
    blocks: list[dict[str, Any]] = []
    if p.missing:
        blocks.append(section(f"読み取れなかった項目（{escape('・'.join(p.missing))}）を入力してください。"))
    blocks += [
        _text_input(
            "session",
            "会期",
            initial=p.session_name,
            optional=True,
            placeholder="例: 令和8年12月定例会（空欄なら開会中の会期）",
            max_length=100,
        ),
        _select("question_type", "質問の種類", QUESTION_TYPES, initial=p.question_type or "一般質問"),
        _text_input("seat", "議席番号", initial=str(p.seat) if p.seat else None, placeholder="例: 16", max_length=10),
        _text_input("item_no", "項目番号", initial=p.item_no, placeholder="例: 1-(2)-①", max_length=40),
        _text_input("title", "件名", initial=p.title, placeholder="例: 避難所運営について", max_length=200),
    ]
    body = _long_inputs(QUESTION_BODY, "質問要旨", p.body or "", optional=False)
    if len(body) > 2:  # the text fills more than one input: say so, since Slack caps each at 3,000
        blocks.append(
            context(
                f"質問要旨が長いため（{len(p.body or '')}文字）、{len(body) - 1}つの欄に分けて表示しています。登録するときは、すべての欄を順につなげて一つの質問要旨にします。"
            )
        )
    blocks += body
    return _modal(QUESTION_VIEW, "議会質問の登録", blocks, private_metadata)


# --- assignment ----------------------------------------------------------------


def _suggestion_lines(suggestions: Sequence[Any]) -> str:
    lines = []
    for i, s in enumerate(suggestions, 1):
        reasons = "；".join(escape(r) for r in (s.reasons or [])) or "過去の答弁と事務分掌から推定"
        evidence = "、".join(_ref_link(e) for e in (s.evidence or [])[:5])
        lines.append(
            f"{i}. *{escape(s.department)}*（スコア {s.score:.2f}）\n   理由: {reasons}"
            + (f"\n   類似の過去答弁: {evidence}" if evidence else "")
        )
    return "\n".join(lines)


def _ref_link(ref: str) -> str:
    """A past answer's reference: a link when it is a URL, the key otherwise."""
    return f"<{ref}|{escape(ref)}>" if ref.startswith(("https://", "http://")) else f"`{escape(ref)}`"


def assignment_card(question: Question, suggestions: Sequence[Any], assignable: Sequence[str]) -> SlackMessage:
    """Suggested divisions with their reasons, and one click for the best one that can be assigned.

    Past answers count under the division name they were given, which may be gone after a
    reorganisation: such a name is shown as evidence only, never offered as the owner.
    """
    text = f"「{question.key}」の担当課を決めてください。"
    blocks = [section(f"*担当決定のお願い* `{question.key}`"), *question_fields(question)]
    current = [s for s in suggestions if s.department in assignable]
    former = [s for s in suggestions if s.department not in assignable]
    if current:
        blocks += sections("*担当課の候補*\n" + _suggestion_lines(current))
        top = current[0].department
        buttons = [button(f"{top}に決定", ASSIGN_CONFIRM, item_value(question, department=top), "primary")]
    else:
        blocks.append(section("_担当課の候補が見つかりませんでした。担当課を選んでください。_"))
        buttons = []
    if former:
        lines = [
            f"• {escape(s.department)}: " + ("、".join(_ref_link(e) for e in (s.evidence or [])[:5]) or "—")
            for s in former
        ]
        blocks += sections(
            "*旧組織名の過去答弁*（現在の組織にない課名のため、担当課には選べません。所管を引き継いだ課の参考にしてください）\n"
            + "\n".join(lines)
        )
    buttons.append(button("別の課を選ぶ・関係課を追加", ASSIGN_OPEN, item_value(question)))
    blocks.append(actions(*buttons))
    blocks.append(context("担当決定は総務課（議会担当）の職員が行えます。"))
    return SlackMessage(text, blocks)


def _owner_inputs(
    divisions: Sequence[str],
    answerers: Sequence[str],
    *,
    department: str | None = None,
    related: Sequence[str] = (),
    answerer: str | None = None,
) -> list[dict[str, Any]]:
    return [
        _select(DEPARTMENT_BLOCK, "担当課", divisions, initial=department),
        _select(RELATED_BLOCK, "関係課（任意）", divisions, optional=True, multi=True, initial_many=related),
        _select(ANSWERER_BLOCK, "答弁者（空欄なら担当部長）", answerers, initial=answerer, optional=True),
    ]


def assign_modal(
    question: Question, divisions: Sequence[str], answerers: Sequence[str], suggested: str | None, private_metadata: str
) -> dict[str, Any]:
    blocks = [
        section(f"`{question.key}` {escape(question.title)}"),
        *_owner_inputs(divisions, answerers, department=suggested),
    ]
    return _modal(ASSIGN_VIEW, "担当課の決定", blocks, private_metadata, submit="決定")


def reassign_modal(
    question: Question, divisions: Sequence[str], answerers: Sequence[str], private_metadata: str
) -> dict[str, Any]:
    """The new owner and the reason. An executive answerer is kept; a 部長 follows the new division unless chosen."""
    current = question.responsible_department.name if question.responsible_department else "未定"
    related = [d.name for d in question.related_departments]
    kept = question.answerer if question.answerer in EXECUTIVES else None
    blocks = [
        section(
            f"`{question.key}` {escape(question.title)}\n現在の担当: {escape(current)}・{escape(question.answerer or '未定')}"
        ),
        *_owner_inputs(divisions, answerers, related=related, answerer=kept),
        _text_input(
            NOTE_BLOCK, "担当変更の理由（新しい担当課と元の担当課に伝えます）", multiline=True, max_length=2000
        ),
    ]
    return _modal(REASSIGN_VIEW, "担当変更", blocks, private_metadata, submit="変更する")


def reassign_button(question: Question) -> dict[str, Any]:
    return button("担当変更", REASSIGN_OPEN, item_value(question))


def assigned_post(
    question: Question,
    drafters: Sequence[str],
    similar: Sequence[Any],
    *,
    previous: str | None = None,
    reason: str | None = None,
) -> SlackMessage:
    """The item in its division's channel; after a reassignment, with where it came from and why."""
    dept = question.responsible_department.name if question.responsible_department else ""
    if previous:
        lead = f"{mention(drafters)} 質問 `{question.key}` の担当が{escape(previous)}から{escape(dept)}に変更されました。答弁を作成してください。".strip()
    else:
        lead = f"{mention(drafters)} {escape(dept)}に質問 `{question.key}` が割り当てられました。答弁を作成してください。".strip()
    blocks = [section(lead)]
    if reason:
        blocks += sections(f"*担当変更の理由*\n{escape(reason)}")
    blocks += question_fields(question)
    if question.related_departments:
        blocks.append(context("関係課: " + "、".join(escape(d.name) for d in question.related_departments)))
    if similar:
        lines = [
            f"• {_ref_link(r.ref)} {escape(r.session or '')} {escape(r.title or '')}（{escape(r.department or '')}）\n   {escape(truncate(r.snippet or '', 200))}"
            for r in similar
        ]
        blocks += sections("*類似の過去答弁*\n" + "\n".join(lines))
    blocks.append(
        actions(
            button("AIで下書き", DRAFT, item_value(question), "primary"),
            button("答弁を入力", ANSWER_OPEN, item_value(question)),
            button("コメント", COMMENT_OPEN, item_value(question)),
            reassign_button(question),
        )
    )
    return SlackMessage(f"{dept}に質問 {question.key} が割り当てられました。", blocks)


def reassigned_away(question: Question, previous: str, reason: str, by: str, recipients: Sequence[str]) -> SlackMessage:
    """What the division that no longer owns an item is told."""
    dept = question.responsible_department.name if question.responsible_department else ""
    lead = (
        f"{mention(recipients)} 質問 `{question.key}`「{escape(question.title)}」の担当は、{escape(by)}さんにより"
        f"{escape(previous)}から{escape(dept)}に変更されました。{escape(previous)}での対応は不要です。"
    ).strip()
    return SlackMessage(
        f"{question.key} の担当は{dept}に変更されました。",
        [section(lead), *sections(f"*担当変更の理由*\n{escape(reason)}")],
    )


# --- drafting --------------------------------------------------------------------


def draft_started(key: str, channel: str) -> str:
    """Where the draft is being written: mrkdwn with a link to the channel."""
    return f"`{escape(key)}` の答弁案を <#{channel}> で作成しています。"


def draft_progress(key: str, text_so_far: str) -> SlackMessage:
    shown = text_so_far if len(text_so_far) <= PROGRESS_TAIL else "…" + text_so_far[-PROGRESS_TAIL:]
    body = f"\n{escape(shown)}" if shown else ""
    return SlackMessage(
        f"「{key}」の答弁案を作成しています。",
        [section(f":hourglass_flowing_sand: `{escape(key)}` の答弁案を作成しています…{body}")],
    )


def draft_result(question: Question, outcome: Any) -> SlackMessage:
    blocks = [
        section(
            f"`{outcome.key}` の答弁案（第{outcome.revision}版・{escape(outcome.label)}）を作成しました。必ず内容を確認し、修正してから確認依頼してください。"
        )
    ]
    blocks += sections(escape(outcome.text))
    blocks.append(
        context(
            f"{outcome.chars}文字・読み上げ約{max(1, round(outcome.speaking_seconds / 60))}分・モデル {escape(outcome.model)}"
        )
    )
    if outcome.findings:
        lines = [
            f"• 【{escape(severity_label(f.severity))}】{escape(f.message)}"
            + (f"（「{escape(truncate(f.excerpt, 40))}」）" if f.excerpt else "")
            for f in outcome.findings
        ]
        blocks += sections("*ルール確認の結果*\n" + "\n".join(lines))
    if outcome.citations:
        lines = [
            f"• {_ref_link(c.key)} {escape(c.session)} {escape(c.title)}" + ("（引用）" if c.cited else "")
            for c in outcome.citations
        ]
        blocks += sections("*参照した過去答弁*\n" + "\n".join(lines))
    if outcome.notices:
        blocks.append(context(escape(" ".join(outcome.notices))))
    blocks.append(
        actions(
            button("答弁を編集", ANSWER_OPEN, item_value(question), "primary"),
            button("このまま確認依頼", SUBMIT, item_value(question)),
        )
    )
    return SlackMessage(f"{outcome.key} の答弁案を作成しました。", blocks[:MESSAGE_BLOCK_LIMIT])


def answer_modal(question: Question, private_metadata: str) -> dict[str, Any]:
    """Answer and back data, prefilled with the latest revision; long text spans several inputs."""
    latest = question.latest_revision
    blocks = [section(f"`{question.key}` {escape(question.title)}")]
    blocks += _long_inputs(ANSWER_BLOCK, "答弁", latest.answer if latest else "", optional=False)
    blocks += _long_inputs(
        BACK_DATA_BLOCK, "バックデータ（読み上げない補足資料）", latest.back_data if latest else "", optional=True
    )
    blocks.append(
        {
            "type": "input",
            "block_id": SUBMIT_BLOCK,
            "optional": True,
            "label": plain("確認依頼"),
            "element": {
                "type": "checkboxes",
                "action_id": "value",
                "options": [{"text": plain("保存して課長に確認依頼する"), "value": "submit"}],
            },
        }
    )
    return _modal(ANSWER_VIEW, "答弁の入力", blocks, private_metadata, submit="保存")


def answer_view(question: Question, label: str, tz_name: str, why: str, ai_label: str | None) -> dict[str, Any]:
    """The whole item to read — question, answer, back data, stamps — for someone who may not edit it now."""
    blocks = [
        context(f":lock: 閲覧のみできます。{escape(why)}"),
        *question_fields(question, label),
        *answer_blocks(question.latest_revision, ai_label=ai_label),
        *stamps_block(question, tz_name),
    ]
    return {
        "type": "modal",
        "title": plain("答弁の確認", 24),
        "close": plain("閉じる", 24),
        "blocks": blocks[:VIEW_BLOCK_LIMIT],
    }


def _long_inputs(prefix: str, label: str, text: str, *, optional: bool) -> list[dict[str, Any]]:
    """One input per 3,000 characters, and one empty input to continue in."""
    parts = [p for p in split_text(text, INPUT_LIMIT) if p]
    inputs = [
        _text_input(
            f"{prefix}_{i}",
            label if i == 0 else f"{label}（続き{i + 1}）",
            initial=part,
            multiline=True,
            optional=optional or i > 0,
        )
        for i, part in enumerate(parts)
    ]
    n = len(parts)
    inputs.append(
        _text_input(
            f"{prefix}_{n}", label if n == 0 else f"{label}（続き{n + 1}）", multiline=True, optional=optional or n > 0
        )
    )
    return inputs


def joined_input(values: dict[str, dict[str, Any]], prefix: str) -> str:
    """The text of ``_long_inputs`` put back together, in order."""
    parts = sorted(
        ((int(bid.rsplit("_", 1)[1]), v) for bid, v in values.items() if bid.startswith(prefix + "_")),
        key=lambda p: p[0],
    )
    return "".join((v.get("value", {}).get("value") or "") for _, v in parts)


# --- review ----------------------------------------------------------------------


def item_card(
    question: Question,
    label: str,
    tz_name: str,
    *,
    text: str,
    lead: str,
    buttons: Sequence[dict[str, Any]],
    ai_label: str | None = None,
) -> SlackMessage:
    """The whole item with ``lead`` (mrkdwn) on top; ``text`` is the same news in plain words."""
    blocks = [
        section(lead),
        *question_fields(question, label),
        *answer_blocks(question.latest_revision, ai_label=ai_label),
        *stamps_block(question, tz_name),
    ]
    if len(question.revisions) >= 2:
        buttons = [*buttons, button("変更点", DIFF, item_value(question))]
    if buttons:
        blocks.append(actions(*buttons))
    # Stay within a message's 50 blocks: the buttons matter more than the oldest text.
    if len(blocks) > MESSAGE_BLOCK_LIMIT:
        blocks = [
            *blocks[: MESSAGE_BLOCK_LIMIT - 2],
            context("（長いため一部を省略しました。全文は `/council answer " + question.key + "` で確認できます。）"),
            blocks[-1],
        ]
    return SlackMessage(text, blocks)


def review_request(
    question: Question, label: str, tz_name: str, stage: str, recipients: Sequence[str], ai_label: str | None
) -> SlackMessage:
    text = f"{question.key} の答弁について、{stage}として確認をお願いします。"
    lead = f"{mention(recipients)} `{question.key}` の答弁について、{escape(stage)}として確認をお願いします。"
    buttons = [
        button("承認", APPROVE, item_value(question), "primary"),
        button("差戻し", SEND_BACK_OPEN, item_value(question), "danger"),
        button("コメント", COMMENT_OPEN, item_value(question)),
    ]
    return item_card(question, label, tz_name, text=text, lead=lead, buttons=buttons, ai_label=ai_label)


def sent_back(
    question: Question, label: str, tz_name: str, comment: str, by: str, recipients: Sequence[str]
) -> SlackMessage:
    text = f"{question.key} の答弁が{by}さんから差し戻されました。修正して、もう一度確認依頼してください。"
    lead = f"{mention(recipients)} `{question.key}` の答弁が{escape(by)}さんから差し戻されました。\n> {escape(comment)}\n修正して、もう一度確認依頼してください。"
    buttons = [
        button("答弁を修正", ANSWER_OPEN, item_value(question), "primary"),
        button("コメント", COMMENT_OPEN, item_value(question)),
    ]
    return item_card(question, label, tz_name, text=text, lead=lead, buttons=buttons)


def ready_to_finalize(question: Question, label: str, tz_name: str, recipients: Sequence[str]) -> SlackMessage:
    text = f"{question.key} の答弁は決裁が終わりました。内容を確認して校了してください。"
    lead = f"{mention(recipients)} `{question.key}` の答弁は決裁が終わりました。内容を確認して校了してください。"
    buttons = [
        button("校了", FINALIZE, item_value(question), "primary"),
        button("差戻し", SEND_BACK_OPEN, item_value(question), "danger"),
    ]
    return item_card(question, label, tz_name, text=text, lead=lead, buttons=buttons)


def finalized(question: Question, label: str, tz_name: str) -> SlackMessage:
    text = f"{question.key} の答弁を校了しました。過去答弁として検索できるようになりました。"
    lead = f"`{question.key}` の答弁を校了しました。過去答弁として検索できるようになりました。"
    return item_card(
        question,
        label,
        tz_name,
        text=text,
        lead=lead,
        buttons=[button("校了を解除", REOPEN_OPEN, item_value(question), "danger")],
    )


def reopened(question: Question, label: str, tz_name: str, reason: str, recipients: Sequence[str]) -> SlackMessage:
    text = f"{question.key} の校了が解除されました（理由: {reason}）。答弁を修正して確認依頼してください。"
    lead = f"{mention(recipients)} `{question.key}` の校了が解除されました（理由: {escape(reason)}）。答弁を修正して確認依頼してください。"
    return item_card(
        question,
        label,
        tz_name,
        text=text,
        lead=lead,
        buttons=[button("答弁を修正", ANSWER_OPEN, item_value(question), "primary")],
    )


def settled_card(question: Question, label: str, tz_name: str) -> SlackMessage:
    """What an earlier copy of a card becomes once someone has acted: what happened and by whom, no buttons."""
    last = question.stamps[-1] if question.stamps else None
    head = f"{question.key}「{question.title}」"
    if last is None:
        text = f"{head}は更新されました。現在の状況: {label}"
    elif last.action == "withdraw":
        text = f"{head}は{last.user.name}さんにより取り下げられました（{fmt_time(last.stamped_at, tz_name)}、理由: {last.comment or ''}）。この質問への対応は不要です。"
    else:
        what = TRANSITIONS[last.action].label if last.action in TRANSITIONS else last.action
        stage = f"{last.stage}・" if last.stage and last.action in ("approve", "send_back") else ""
        text = f"{head}は、{last.user.name}さんが{stage}{what}しました（{fmt_time(last.stamped_at, tz_name)}）。現在の状況: {label}"
    return SlackMessage(
        text, [section(f":information_source: {escape(text)}"), context("このメッセージのボタンは使えなくなりました。")]
    )


def final_notice(question: Question, by: str) -> SlackMessage:
    """The division's channel is told that its answer is final."""
    text = f"{question.key} の答弁が校了しました（{by}）。"
    return SlackMessage(text, [section(f"`{question.key}` の答弁が校了しました（{escape(by)}）。")])


def withdrawn_notice(question: Question, by: str, reason: str) -> SlackMessage:
    """The division's channel is told that the question was withdrawn, and why."""
    text = f"{question.key}「{question.title}」は取り下げられました（{by}、理由: {reason}）。この質問の答弁作成と決裁は不要です。"
    return SlackMessage(
        text,
        sections(
            f"`{question.key}`「{escape(question.title)}」は取り下げられました（{escape(by)}、理由: {escape(reason)}）。この質問の答弁作成と決裁は不要です。"
        ),
    )


def stamped(result: Any, what: str, tz_name: str) -> SlackMessage:
    """What a transition did, with who and when: 「R8-12-… を課長・承認しました（井上 晴美 2026-11-20 10:00:05）」.

    After an assignment the message keeps a 担当変更 button, for General Affairs to change its mind.
    """
    stamp = result.stamp
    name = result.step.transition.name
    stage = f"{result.step.stage}・" if result.step.stage and name in ("approve", "send_back") else ""
    who = f"（{stamp.user.name} {fmt_time(stamp.stamped_at, tz_name)}）" if stamp else ""
    done = action_done(f"{result.question.key} を{stage}{what}しました{who}。")
    if name in ("assign", "reassign"):
        return SlackMessage(done.text, [*done.blocks, actions(reassign_button(result.question))])
    return done


def answer_saved(question: Question, submitted: bool) -> SlackMessage:
    revision = question.latest_revision
    number = revision.number if revision else 0
    if submitted:
        return action_done(f"{question.key} の答弁（第{number}版）を保存し、確認を依頼しました。")
    text = f"{question.key} の答弁（第{number}版）を保存しました。確認依頼はまだです。"
    return SlackMessage(
        text,
        [
            section(f":pencil: {escape(text)}"),
            actions(
                button("確認依頼", SUBMIT, item_value(question), "primary"),
                button("答弁を編集", ANSWER_OPEN, item_value(question)),
            ),
        ],
    )


def action_done(text: str) -> SlackMessage:
    """What replaces a message's buttons once someone has acted on it."""
    return SlackMessage(text, [section(f":white_check_mark: {escape(text)}")])


_NOTE_KINDS = {
    "send_back": ("差戻し", "差戻しの理由（答弁確認コメント）", "差し戻す"),
    "reopen": ("校了の解除", "校了を解除する理由", "解除する"),
    "comment": ("コメント", "コメント（答弁確認コメント）", "投稿"),
}


def note_modal(kind: str, question: Question, private_metadata: str) -> dict[str, Any]:
    title, label, submit = _NOTE_KINDS[kind]
    blocks = [
        section(f"`{question.key}` {escape(question.title)}"),
        _text_input(NOTE_BLOCK, label, multiline=True, max_length=2000),
    ]
    return _modal(NOTE_VIEW, title, blocks, private_metadata, submit=submit)


def revision_diff(key: str, diff: str) -> SlackMessage:
    """A unified diff of two revisions (sentence by sentence) as 【削除】/【追加】 lines, within a message's limits."""
    lines = diff.splitlines()
    if len(lines) < 2:
        text = f"{key} の比較した二つの版では、答弁とバックデータに違いはありません。"
        return SlackMessage(text, [section(escape(text))])
    old, new = lines[0].removeprefix("--- ").strip(), lines[1].removeprefix("+++ ").strip()
    shown: list[str] = []
    for line in lines[2:]:
        if line.startswith("@@"):
            shown += ["⋯"] if shown else []
        elif line.startswith(("-", "+")):
            shown.append(f"{'【削除】' if line[0] == '-' else '【追加】'}{escape(line[1:])}")
        else:
            shown.append(f"　　　　{escape(line[1:])}")
    title = f"{key} の答弁の変更点（{old} → {new}）"
    blocks = [
        section(f"*`{escape(key)}` の答弁の変更点（{escape(old)} → {escape(new)}）*"),
        *sections("\n".join(shown)),
    ]
    legend = context(
        "【削除】は前の版にあって新しい版にない文、【追加】は新しい版で加わった文です。前後の変わらない文も一部表示しています。"
    )
    if len(blocks) >= MESSAGE_BLOCK_LIMIT:
        blocks = [*blocks[: MESSAGE_BLOCK_LIMIT - 2], context("（変更点が多いため、最初の部分のみ表示しています。）")]
    return SlackMessage(title, [*blocks, legend])


def follow_up_failed(audiences: Sequence[str]) -> str:
    """The action is saved, but the next people were not told: who to contact instead."""
    whom = "、".join(audiences)
    return (
        f"操作は完了し、記録されています。ただし、次に対応する方（{whom}）への Slack の通知を送れませんでした。"
        "お手数ですが、直接ご連絡ください。この操作をやり直す必要はありません。"
    )


def comment_posted(comment: Comment, key: str, tz_name: str) -> SlackMessage:
    text = f"{comment.user.name}さんのコメント（{key}）"
    return SlackMessage(
        text,
        [
            context(f"*{escape(comment.user.name)}* {fmt_time(comment.created_at, tz_name)} `{escape(key)}`"),
            *sections(escape(comment.body)),
        ],
    )


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
            f"• `{o.key}` {escape(o.department)} {escape(o.label)}（締切 {fmt_day(o.due_at, tz_name)}）{escape(truncate(o.title, 40))}"
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
            due = f"　締切 {fmt_day(item.due_at, tz_name)}" if item.due_at else ""
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


def notice_imported(filename: str, keys: Sequence[str]) -> SlackMessage:
    text = f"通告書「{filename}」から質問を{len(keys)}件登録しました。"
    return SlackMessage(text, sections(escape(text) + "\n" + "\n".join(f"• `{k}`" for k in keys)))
