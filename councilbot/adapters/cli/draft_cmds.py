"""``councilbot draft KEY [--json]``: draft one answer with the configured drafter (SPEC §4.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from councilbot.adapters.cli.common import db_session, emit_json, operator, settings

if TYPE_CHECKING:
    from councilbot.services.drafting import DraftOutcome


def register(cli: click.Group) -> None:
    cli.add_command(draft_cmd)


@click.command("draft", help="質問KEYの答弁案を、類似の過去答弁をもとに prompts/ のルールに従って作成します")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
def draft_cmd(key: str, as_json: bool) -> None:
    from councilbot.services.drafting import draft_question

    cfg = settings()
    streamed = 0

    def show(text: str) -> None:
        nonlocal streamed
        click.echo(text[streamed:], nl=False)
        streamed = len(text)

    with db_session(cfg) as db:
        if not as_json:
            click.echo(f"答弁案を作成しています（{key}）…")
        outcome = draft_question(db, cfg, key, actor=operator(db), on_delta=None if as_json else show)
    if as_json:
        emit_json(outcome.to_dict())
    else:
        click.echo("")
        click.echo(render_outcome(outcome, include_text=False))  # the text was shown as it was written


def render_outcome(outcome: DraftOutcome, *, include_text: bool = True) -> str:
    from councilbot.domain.rulecheck import severity_label

    minutes, seconds = divmod(outcome.speaking_seconds, 60)
    tokens = "" if outcome.tokens_in is None else f"、トークン 入力{outcome.tokens_in}・出力{outcome.tokens_out}"
    lines = [
        "─" * 30,
        f"【{outcome.label}】{outcome.key} 第{outcome.revision}版として保存しました。",
        f"作成: {outcome.model}（プロンプト {outcome.prompt_hash[:12]}{tokens}）",
        f"文字数 {outcome.chars}字、読み上げ約{minutes}分{seconds:02d}秒",
        *(["", outcome.text, ""] if include_text else []),
        f"■ ルール確認（{len(outcome.findings)}件）",
    ]
    lines += [
        f"  [{f.rule_id}] {severity_label(f.severity)} {_position(f.start, f.end)}"
        f"{f'「{f.excerpt}」' if f.excerpt else ''}: {f.message}"
        for f in outcome.findings
    ] or ["  指摘はありません。"]
    lines.append("■ 参照した過去答弁（検索で見つかった順。◎ 下書きが使用を明示したもの）")
    lines += [
        f"  {'◎' if c.cited else '・'} {c.key} {c.session} {c.title}（{c.department or '担当不明'}、検索順位 {c.rank}位）"
        for c in outcome.citations
    ] or ["  類似の過去答弁は見つかりませんでした。"]
    lines += [f"※ {note}" for note in outcome.notices]
    return "\n".join(lines)


def _position(start: int, end: int) -> str:
    return "末尾" if start == end else f"{start + 1}〜{end}文字目"
