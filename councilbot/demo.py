"""``councilbot demo``: the whole workflow on the bundled sample city, narrated in Japanese.

Runs in its own workspace (database and index under ``workspace``, rebuilt each
time) with embedded defaults: SQLite, the local index, the offline drafter.
Each step goes through the same services the chat bot and the CLI use, acting
as the people who would really take it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot import demo_commitments
from councilbot.domain.workflow import State
from councilbot.services import assignment, books, intake, review
from councilbot.services.archive import import_file
from councilbot.services.common import get_question, get_user
from councilbot.services.drafting import draft_question
from councilbot.services.org import load_org
from councilbot.services.routing import route_question
from councilbot.services.search import SearchResult, search_archive
from councilbot.services.semantic import fill_vectors
from councilbot.services.status import next_actors, question_label, session_status
from councilbot.settings import Settings
from councilbot.storage.db import session_scope, upgrade
from councilbot.storage.models import User

SAMPLE_DIR = Path(__file__).with_name("sample_data")
SESSION = "令和8年12月定例会"
# One item is sent back at the 部長 stage so the transcript shows a real review.
SEND_BACK_COMMENT = "今後の方針が抽象的です。いつまでに何をするのか、もう一段具体的にしてください。"
# What the drafter adds in response, before the closing sentence.
SEND_BACK_FIX = "具体的には、本年度中に関係課による検討会議を設置し、令和9年度当初予算への反映を目指して取組の工程をお示ししてまいります。"


def _say(text: str = "") -> None:
    click.echo(text)


def _clock(tz: ZoneInfo) -> str:
    return dt.datetime.now(tz).strftime("%H:%M:%S")


def _person(user: User) -> str:
    dept = user.department.name if user.department else ""
    return f"{dept} {user.position} {user.name}"


def _ga(db: Session) -> User:
    return next(
        u
        for u in db.scalars(select(User).order_by(User.id))
        if "general_affairs" in (u.roles or []) and u.chat_id != "cli"
    )


def demo_clerk_id(cfg: Settings) -> str:
    """The General Affairs clerk who runs the demo's session (the web view signs them in)."""
    with session_scope(cfg) as db:
        return _ga(db).chat_id


def workspace_settings(base: Settings, workspace: Path) -> Settings:
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{workspace / 'councilbot.db'}",
            "index_dir": workspace / "index",
            "llm_provider": "offline",
            "embeddings_provider": "local",  # embedded defaults: the bundled model, nothing leaves the machine
        }
    )


def run_demo(base: Settings, workspace: Path) -> Path:
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    cfg = workspace_settings(base, workspace)
    tz = ZoneInfo(cfg.tz_name)
    upgrade(cfg)

    _say(f"━━━ councilbot 実演：{SESSION}の答弁作成 ━━━")
    _say(
        f"（作業フォルダ: {workspace}　データベース: SQLite　下書き: オフライン下書き　検索: キーワード＋意味検索（内蔵モデル））"
    )

    with session_scope(cfg) as db:
        report = load_org(db, SAMPLE_DIR / "org.yaml", actor="demo", tz_name=cfg.tz_name)
    _say(
        f"\n【1】組織の読込　{report.city}：部・課 {report.departments}、議員 {report.members}名、職員 {report.users}名"
    )

    total = 0
    for path in sorted(SAMPLE_DIR.glob("archive_*.jsonl")):
        with session_scope(cfg) as db:
            total += import_file(db, cfg, path).imported
    _say(f"【2】過去答弁の取込：{total}件を登録し、検索できるようにしました")
    _say("　　意味検索の準備中です（内蔵の小さなAIモデルを使います）…")
    started = time.monotonic()
    with session_scope(cfg) as db:
        filled = fill_vectors(db, cfg)
    _say(f"　　意味検索の準備：{filled.embedded}件の答弁を{time.monotonic() - started:.0f}秒で処理しました")

    with session_scope(cfg) as db:
        ga = _ga(db)
        results = intake.import_notice(db, ga, SAMPLE_DIR / "notice.txt", session_name=SESSION)
        _say(f"\n【3】質問取り（{_person(ga)}）　通告書 notice.txt から {len(results)}項目を受け付けました")
        for r in results:
            q = r.question
            _say(
                f"  {q.key:<18} {q.member.seat_label} {q.member.name}議員（{q.member.faction}）{q.question_type} {q.item_no}　{q.title}"
            )
            for other, score in r.duplicates:
                _say(
                    f"    ※ {other.key}（{other.member.name}議員）と内容が近いため関連付けました（類似度 {score:.2f}）"
                )
        keys = [r.question.key for r in results]

    _say("\n【4】担当決定（総務課）")
    for key in keys:
        with session_scope(cfg) as db:
            q = get_question(db, key)
            suggestions = route_question(db, cfg, f"{q.title}\n{q.body}", limit=3)
            top = suggestions[0]
            # Representative questions are answered by the mayor; general ones by the division's 部長.
            answerer = "市長" if q.question_type == "代表質問" else None
            result = assignment.assign(db, _ga(db), key, top.department, answerer=answerer)
            reasons = "、".join(top.reasons[:2])
            _say(f"  {key:<18} → {top.department}（答弁者: {result.question.answerer}）　根拠: {reasons}")
    with session_scope(cfg) as db:
        demo_commitments.say_brought_back(db, keys, _say)

    _say("\n【5】答弁作成（担当課の係長がAI下書きを確認し、修正して保存）")
    for key in keys:
        with session_scope(cfg) as db:
            q = get_question(db, key)
            drafter_id = next_actors(db, q)[0].chat_id
            outcome = draft_question(db, cfg, key, actor=get_user(db, drafter_id))
        cited = [c.key for c in outcome.citations if c.cited][:3]
        with session_scope(cfg) as db:
            drafter = get_user(db, drafter_id)
            person = _person(drafter)
            # The drafter reads the draft, adds the division's back data and saves it as their own.
            review.save_revision(
                db,
                drafter,
                key,
                answer=demo_commitments.with_progress_reported(outcome.text),
                back_data=f"根拠資料：{_first_department(db, key)}所管事業の実績（令和7年度）。参考答弁 {'、'.join(cited)}",
                note="下書きを担当係長が確認・修正",
            )
            review.submit(db, drafter, key)
        cites = "、".join(cited) or "なし"
        _say(
            f"  {key:<18} {person}：{outcome.label or '下書き'} {outcome.chars}字・読み上げ約{outcome.speaking_seconds // 60}分{outcome.speaking_seconds % 60:02d}秒"
            f"（参考: {cites}）ルール確認の指摘 {len(outcome.findings)}件 → 確認依頼"
        )
        demo_commitments.say_findings(outcome, _say)

    _say("\n【6】答弁検討（決裁）")
    sent_back = keys[1] if len(keys) > 1 else None
    for key in keys:
        line: list[str] = []
        while True:
            with session_scope(cfg) as db:
                q = get_question(db, key)
                if q.status != State.IN_REVIEW:
                    break
                stage = question_label(db, q)
                approver = next_actors(db, q)[0]
                if key == sent_back and q.review_round == 1 and stage.startswith("部長"):
                    review.send_back(db, approver, key, comment=SEND_BACK_COMMENT)
                    line.append(f"{approver.position} {approver.name} 差戻し {_clock(tz)}「{SEND_BACK_COMMENT[:24]}…」")
                    drafter = next_actors(db, q)[0]
                    sent = q.latest_revision
                    assert sent is not None  # it was submitted for review
                    review.save_revision(
                        db,
                        drafter,
                        key,
                        answer=_insert_before_closing(sent.answer, SEND_BACK_FIX),
                        back_data=sent.back_data,
                    )
                    review.submit(db, drafter, key)
                    line.append(f"{drafter.name} 修正・再依頼")
                    continue
                review.approve(db, approver, key)
                line.append(f"{approver.position} {approver.name} 承認 {_clock(tz)}")
        _say(f"  {key:<18} " + " → ".join(line))

    with session_scope(cfg) as db:
        ga = _ga(db)
        for key in keys:
            review.finalize(db, cfg, ga, key)
        _say(f"\n【7】校了（{_person(ga)}）：{len(keys)}件の答弁を確定し、過去答弁として検索できるようにしました")
        status = session_status(db, SESSION)
        _say("  進捗：" + "、".join(f"{k} {v}件" for k, v in status.totals.items()))

    with session_scope(cfg) as db:
        ga = _ga(db)
        book = books.export_book(db, cfg, ga, SESSION)
        review_book = books.export_book(
            db, cfg, ga, SESSION, back_data=True, by="department", only=_first_department(db, keys[0])
        )
    _say(f"\n【8】答弁書を出力しました（{book.item_count}項目）")
    _say(f"  {book.path}")
    _say(f"  SHA-256: {book.sha256}")
    _say(f"  担当課別抜粋（バックデータ付き）: {review_book.path}")

    with session_scope(cfg) as db:
        hits = search_archive(db, cfg, "避難所", limit=3)
    _say("\n【9】過去答弁の検索「避難所」")
    _say_hits(hits)
    with session_scope(cfg) as db:
        hits = search_archive(db, cfg, "野良猫", limit=3)
    _say("\n【10】言葉は違っても意味の近い過去答弁を探す「野良猫」")
    _say_hits(hits)
    _say("\n【11】答弁の約束の台帳（進捗の更新と「議会答弁の進捗状況」の出力）")
    with session_scope(cfg) as db:
        demo_commitments.ledger_step(db, cfg, str(cfg.export_dir), _say)
    _say(f"\n実演が完了しました。答弁書: {book.path}")
    return book.path


def _say_hits(hits: list[SearchResult]) -> None:
    for hit in hits:
        _say(f"  {hit.ref}　{hit.session or ''} {hit.member or ''}　{hit.title}")


def _insert_before_closing(answer: str, sentence: str) -> str:
    """Put ``sentence`` before the answer's last sentence (its closing resolve)."""
    body, sep, last = answer.strip().rstrip("。").rpartition("。")
    return f"{body}。{sentence}{last}。" if sep else f"{sentence}{answer}"


def _first_department(db: Session, key: str) -> str:
    department = get_question(db, key).responsible_department
    assert department is not None  # assigned in step 4
    return department.name
