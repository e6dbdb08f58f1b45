"""What every view shares: Slack's limits, action and block ids, ``SlackMessage``, escaping and
splitting text, buttons and values, the facts of a question item, and modal inputs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from councilbot.domain.japanese import local_time
from councilbot.domain.workflow import TRANSITIONS
from councilbot.storage.models import AnswerRevision, Question

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
QUESTION_BODY = "body"  # 質問要旨: body_0, body_1 … (``long_inputs``), read back with ``joined_input``
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
        lines.append(f"{local_time(s.stamped_at, tz_name, seconds=True)} {stage}{what} {escape(s.user.name)}{comment}")
    return sections("*決裁の記録*\n" + "\n".join(lines))


def answer_blocks(revision: AnswerRevision | None, *, ai_label: str | None = None) -> list[dict[str, Any]]:
    if revision is None:
        return [section("_答弁はまだ入力されていません。_")]
    title = f"*答弁（第{revision.number}版）*" + (f" 【{ai_label}】" if ai_label else "")
    blocks = sections(f"{title}\n{escape(revision.answer)}")
    if revision.back_data:
        blocks += sections(f"*バックデータ*\n{escape(revision.back_data)}")
    return blocks


def text_input(
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


def select_menu(
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
    if initial is not None and initial in options:
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


def modal_view(
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


def long_inputs(prefix: str, label: str, text: str, *, optional: bool) -> list[dict[str, Any]]:
    """One input per 3,000 characters, and one empty input to continue in."""
    parts = [p for p in split_text(text, INPUT_LIMIT) if p]
    inputs = [
        text_input(
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
        text_input(
            f"{prefix}_{n}", label if n == 0 else f"{label}（続き{n + 1}）", multiline=True, optional=optional or n > 0
        )
    )
    return inputs


def joined_input(values: dict[str, dict[str, Any]], prefix: str) -> str:
    """The text of ``long_inputs`` put back together, in order."""
    parts = sorted(
        ((int(bid.rsplit("_", 1)[1]), v) for bid, v in values.items() if bid.startswith(prefix + "_")),
        key=lambda p: p[0],
    )
    return "".join((v.get("value", {}).get("value") or "") for _, v in parts)
