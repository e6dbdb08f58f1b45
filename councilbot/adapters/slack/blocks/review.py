"""Review: the item card at each stage, stamps, notes (send-back, reopen, comment), saved answers
and revision differences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from councilbot.adapters.slack.blocks.assignment import reassign_button
from councilbot.adapters.slack.blocks.common import (
    ANSWER_OPEN,
    APPROVE,
    COMMENT_OPEN,
    DIFF,
    FINALIZE,
    MESSAGE_BLOCK_LIMIT,
    NOTE_BLOCK,
    NOTE_VIEW,
    REOPEN_OPEN,
    SEND_BACK_OPEN,
    SUBMIT,
    SlackMessage,
    actions,
    answer_blocks,
    button,
    context,
    escape,
    item_value,
    mention,
    modal_view,
    question_fields,
    section,
    sections,
    stamps_block,
    text_input,
)
from councilbot.domain.japanese import local_time
from councilbot.domain.workflow import TRANSITIONS
from councilbot.storage.models import Comment, Question

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
        text = f"{head}は{last.user.name}さんにより取り下げられました（{local_time(last.stamped_at, tz_name, seconds=True)}、理由: {last.comment or ''}）。この質問への対応は不要です。"
    else:
        what = TRANSITIONS[last.action].label if last.action in TRANSITIONS else last.action
        stage = f"{last.stage}・" if last.stage and last.action in ("approve", "send_back") else ""
        text = f"{head}は、{last.user.name}さんが{stage}{what}しました（{local_time(last.stamped_at, tz_name, seconds=True)}）。現在の状況: {label}"
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
    who = f"（{stamp.user.name} {local_time(stamp.stamped_at, tz_name, seconds=True)}）" if stamp else ""
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
        text_input(NOTE_BLOCK, label, multiline=True, max_length=2000),
    ]
    return modal_view(NOTE_VIEW, title, blocks, private_metadata, submit=submit)


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
            context(
                f"*{escape(comment.user.name)}* {local_time(comment.created_at, tz_name, seconds=True)} `{escape(key)}`"
            ),
            *sections(escape(comment.body)),
        ],
    )
