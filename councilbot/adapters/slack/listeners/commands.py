"""``/council`` and its subcommands (English words or Japanese aliases).

The acknowledgement is immediate: help and unknown input are answered in the
acknowledgement itself; modals (ask, answer) are opened right after it while
the trigger_id is fresh; search, status, diff, draft, export, reopen and withdraw
run lazily after it and answer through the response_url, the division's channel,
or a file upload.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.announce import announce
from councilbot.adapters.slack.dispatch import Runtime, reporting, with_runtime
from councilbot.adapters.slack.drafts import open_answer_modal, stream_draft
from councilbot.adapters.slack.idempotency import command_delivery
from councilbot.adapters.slack.listeners.replies import ephemeral
from councilbot.adapters.slack.notifier import unreachable
from councilbot.domain.japanese import nfkc
from councilbot.errors import InvalidInput
from councilbot.services import review
from councilbot.services.books import export_book
from councilbot.services.common import get_question
from councilbot.services.search import search_archive
from councilbot.services.status import session_status
from councilbot.services.web_access import issue_sign_in_link
from councilbot.storage.models import User

COMMAND = "/council"
SEARCH_LIMIT = 10
MAX_QUERY = 200

SUBCOMMANDS = {
    "ask": "ask",
    "質問": "ask",
    "draft": "draft",
    "下書き": "draft",
    "answer": "answer",
    "答弁": "answer",
    "diff": "diff",
    "差分": "diff",
    "search": "search",
    "検索": "search",
    "status": "status",
    "進捗": "status",
    "export": "export",
    "出力": "export",
    "reopen": "reopen",
    "校了解除": "reopen",
    "withdraw": "withdraw",
    "取下げ": "withdraw",
    "取り下げ": "withdraw",
    "web": "web",
    "画面": "web",
    "help": "help",
    "ヘルプ": "help",
}
# Subcommands that need a key, and what follows it in the example shown when it is missing.
NEEDS_KEY = {"draft": "", "answer": "", "diff": "", "reopen": " 理由", "withdraw": " 理由"}
LAZY = frozenset({"draft", "search", "status", "diff", "export", "reopen", "withdraw", "web"})

EXPORT_FLAGS = {"--back-data": "back_data", "バックデータ付き": "back_data", "--draft": "draft", "検討会資料": "draft"}
EXPORT_BY = {"member": "member", "議員別": "member", "department": "department", "課別": "department"}


@dataclass(frozen=True)
class Invocation:
    name: str | None  # None: not a subcommand
    word: str  # what the user typed first
    arg: str


def parse(text: str | None) -> Invocation:
    words = (text or "").replace("\u3000", " ").strip().split(maxsplit=1)
    if not words:
        return Invocation("help", "", "")
    word = words[0]
    return Invocation(SUBCOMMANDS.get(word.lower()), word, words[1].strip() if len(words) > 1 else "")


@dataclass
class ExportRequest:
    session: str | None = None
    by: str | None = None
    only: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)


def parse_export(arg: str) -> ExportRequest:
    try:
        words = shlex.split(arg.replace("\u3000", " "))
    except ValueError:
        raise InvalidInput("出力の指定を読み取れません。引用符の対応を確かめてください。") from None
    req = ExportRequest()
    it = iter(words)
    for word in it:
        if word in EXPORT_FLAGS:
            req.flags[EXPORT_FLAGS[word]] = True
        elif word in EXPORT_BY:
            req.by = EXPORT_BY[word]
        elif word in ("--by", "--only"):
            value = next(it, None)
            if value is None:
                raise InvalidInput(f"{word} のあとに値を指定してください。")
            if word == "--by":
                req.by = EXPORT_BY.get(value, value)
            else:
                req.only = value
        elif word.startswith("--"):
            raise InvalidInput(f"出力のオプション「{word}」はありません。`/council help` で使い方を確かめてください。")
        elif req.session is None:
            req.session = word
        else:
            raise InvalidInput(f"「{word}」を読み取れません。会期は一つだけ指定してください。")
    return req


def parse_diff(arg: str) -> tuple[str, int | None, int | None]:
    """``KEY`` (the last two revisions) or ``KEY 旧 新``; a version may be written 2, ２ or 第2版."""
    key, *rest = arg.split()
    versions = [nfkc(v).removeprefix("第").removesuffix("版") for v in rest]
    if len(versions) not in (0, 2) or not all(v.isdigit() for v in versions):
        raise InvalidInput(
            f"比較する版は二つ、番号で指定してください（例: `/council diff {key} 1 2`）。省略すると最新の2版を比較します。"
        )
    if not versions:
        return key, None, None
    return key, int(versions[0]), int(versions[1])


def register(app: App, rt: Runtime) -> None:
    # bolt tells lazy functions apart by name; this listener has one.
    app.command(COMMAND)(ack=with_runtime(rt, acknowledge), lazy=[with_runtime(rt, run_lazily)])


def acknowledge(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    inv = parse(body.get("text"))
    if inv.name is None or inv.name == "help":
        ack(response_type="ephemeral", **blocks.help_message(inv.word if inv.name is None else None).payload())
        return
    if inv.name in NEEDS_KEY and not inv.arg:
        ack(
            response_type="ephemeral",
            **blocks.error_message(
                f"質問のキーを指定してください（例: `/council {inv.word} R8-12-16-1-2-1{NEEDS_KEY[inv.name]}`）。"
            ).payload(),
        )
        return
    ack()
    if inv.name == "ask":
        client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.question_modal(None, blocks.metadata(channel=body.get("channel_id"))),
        )
    elif inv.name == "answer":
        open_answer_modal(rt, client, body, inv.arg, reply=ephemeral(respond))


def run_lazily(rt: Runtime, body: dict[str, Any], respond: Respond) -> None:
    inv = parse(body.get("text"))
    if inv.name not in LAZY or (inv.name in NEEDS_KEY and not inv.arg):
        return
    reply = ephemeral(respond)
    user_id = body["user_id"]
    if inv.name == "draft":
        stream_draft(
            rt,
            user_id,
            inv.arg,
            delivery=command_delivery(body),
            reply=reply,
            on_started=lambda channel: respond(response_type="ephemeral", text=blocks.draft_started(inv.arg, channel)),
        )
        return
    with reporting(reply):
        if inv.name == "export":
            export(rt, body, inv.arg)
            return
        if inv.name in ("reopen", "withdraw"):
            reopen_or_withdraw(rt, body, inv, respond)
            return
        if inv.name == "web":
            send_web_link(rt, user_id, respond)
            return
        message = rt.run(user_id, lambda db, user: _read(rt, db, inv))
        respond(response_type="ephemeral", **message.payload())


def _read(rt: Runtime, db: Session, inv: Invocation) -> blocks.SlackMessage:
    if inv.name == "search":
        if not inv.arg:
            raise InvalidInput("検索する語句を指定してください（例: `/council search 避難所 女性`）。")
        if len(inv.arg) > MAX_QUERY:
            raise InvalidInput(f"検索語句が長すぎます。{MAX_QUERY}文字以内にしてください。")
        return blocks.search_results(inv.arg, search_archive(db, rt.settings, inv.arg, limit=SEARCH_LIMIT))
    if inv.name == "diff":
        key, old, new = parse_diff(inv.arg)
        return blocks.revision_diff(get_question(db, key).key, review.revision_diff(db, key, old, new))
    return blocks.status_message(session_status(db, inv.arg or None), rt.settings.tz_name)


def reopen_or_withdraw(rt: Runtime, body: dict[str, Any], inv: Invocation, respond: Respond) -> None:
    """校了解除 or 取下げ with its reason (General Affairs: the service checks); then those concerned are told."""
    key, _, reason = inv.arg.partition(" ")
    act, what = (review.reopen, "校了解除") if inv.name == "reopen" else (review.withdraw, "取下げ処理")

    def work(db: Session, user: User) -> tuple[blocks.SlackMessage, str]:
        result = act(db, rt.settings, user, key, reason=reason.strip())
        return blocks.stamped(result, what, rt.settings.tz_name), result.question.key

    done, canonical = rt.run(body["user_id"], work, delivery=command_delivery(body))
    respond(response_type="ephemeral", **done.payload())
    announce(rt, canonical)


def send_web_link(rt: Runtime, user_id: str, respond: Respond) -> None:
    """A one-time sign-in link to the web view, by direct message only: it signs its holder in."""
    url = rt.run(user_id, lambda db, user: issue_sign_in_link(db, rt.settings, user))
    rt.notifier.post_to_user(user_id, blocks.web_sign_in_link(url, rt.settings.web_link_minutes))
    respond(response_type="ephemeral", text="Web画面へのサインイン用リンクを、ダイレクトメッセージでお送りしました。")


def export(rt: Runtime, body: dict[str, Any], arg: str) -> None:
    """The book is written, recorded, and then uploaded to the channel where it was asked for."""
    req = parse_export(arg)

    def work(db: Session, user: User) -> tuple[Any, str]:
        result = export_book(
            db,
            rt.settings,
            user,
            req.session,
            by=req.by,
            only=req.only,
            back_data=req.flags.get("back_data", False),
            draft=req.flags.get("draft", False),
        )
        return result, result.path.name

    result, name = rt.run(body["user_id"], work, delivery=command_delivery(body))
    comment = blocks.export_comment(result, req.session or "開会中の会期")
    try:
        rt.notifier.upload_file(body["channel_id"], result.path, title=name, comment=comment)
    except SlackApiError as exc:
        if not unreachable(exc):
            raise
        # The bot is not in that channel: hand the book to the person who asked.
        rt.notifier.upload_file(rt.notifier.dm_channel(body["user_id"]), result.path, title=name, comment=comment)
