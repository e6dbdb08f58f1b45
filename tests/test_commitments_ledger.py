"""The commitments ledger end to end: extracted on import and on 校了, listed and exported by the CLI
(CSV and .docx read back), progress updated and audited, brought back on a new question and checked
against its draft, and reminded through the scheduler once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import docx
import pytest
from sqlalchemy import select

from councilbot.adapters.scheduler import SchedulerRunner
from councilbot.domain.commitments import REMINDER_JOB_ID
from councilbot.errors import InvalidInput, PermissionDenied
from councilbot.services import commitments as ledger
from councilbot.services import review
from councilbot.services.archive import import_records
from councilbot.services.common import get_question, get_user
from councilbot.services.drafting import draft_question
from councilbot.services.reminders import compose
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AuditEntry, Commitment, CommitmentStatusChange
from tests.fake_openai_server import FakeOpenAIServer
from tests.slack_helpers import new_question
from tests.test_drafting_service import remote
from tests.test_schedule import RecordingNotifier

TZ = ZoneInfo("Asia/Tokyo")
TODAY = dt.date(2026, 12, 9)

SHELTER = {
    "ref": "R7-9-16-1-1",
    "session": "令和7年9月定例会",
    "date": "2025-09-10",
    "question_type": "一般質問",
    "member": "山田 太郎",
    "seat": "16番",
    "faction": "新政会",
    "item_no": "1-(1)",
    "title": "避難所運営の改善について",
    "question": "能登半島地震では、避難所に授乳室や福祉スペースがなく、女性や高齢者が困難を抱えた。本市の避難所の現状と今後の対応を伺う。",
    "answer": (
        "お答えいたします。避難所における女性や高齢者への配慮は、避難生活の安全と尊厳を守るうえで重要な課題であると認識しております。"
        "本市では、指定避難所38か所のうち12か所で福祉スペースの確保を終えております。"
        "残る避難所につきましては、本年度中に避難所運営マニュアルを改訂し、福祉スペースの配置を定める予定でございます。"
        "また、授乳室の設置につきましては、施設の状況を踏まえ、検討してまいります。"
    ),
    "department": "危機管理課",
    "answerer": "市長",
}
LUNCH = {
    "ref": "R7-6-21-2",
    "session": "令和7年6月定例会",
    "date": "2025-06-16",
    "question_type": "一般質問",
    "member": "松本 陽子",
    "seat": "21番",
    "faction": "日本共産党",
    "item_no": "2",
    "title": "学校給食費の無償化について",
    "question": "国の制度を待たずに学校給食費の無償化に踏み切るべきと考えるが、見解を伺う。",
    "answer": (
        "お答えいたします。全ての児童生徒の給食費を無償化した場合、年間で約4億8,000万円の財源が毎年度必要となります。"
        "国に対しては、全国市長会などを通じ、全額国費による中学校を含めた無償化の実施を要望してまいります。"
    ),
    "department": "学校教育課",
    "answerer": "教育長",
}
MANUAL = "残る避難所につきましては、本年度中に避難所運営マニュアルを改訂し、福祉スペースの配置を定める予定"


@pytest.fixture
def ledgered(org: Settings) -> Settings:
    with session_scope(org) as db:
        import_records(db, org, [SHELTER, LUNCH])
    return org


def rows(cfg: Settings, **filters):  # type: ignore[no-untyped-def]
    with session_scope(cfg) as db:
        return ledger.list_commitments(db, on=TODAY, **filters)


def commitment_id(cfg: Settings, statement: str) -> int:
    return next(r.id for r in rows(cfg) if r.statement == statement)


def test_import_extracts_commitments_and_a_reimport_keeps_progress(ledgered: Settings) -> None:
    found = [(r.ref, r.statement, r.strength, r.timing, r.due_end, r.status) for r in rows(ledgered)]
    assert found == [
        (
            "R7-6-21-2",
            "国に対しては、全国市長会などを通じ、全額国費による中学校を含めた無償化の実施を要望する",
            "要望・働きかけ",
            "",
            None,
            "未着手",
        ),
        ("R7-9-16-1-1", MANUAL, "実施", "本年度中", dt.date(2026, 3, 31), "未着手"),
        ("R7-9-16-1-1", "授乳室の設置につきましては、施設の状況を踏まえ、検討する", "検討", "", None, "未着手"),
    ]
    manual = commitment_id(ledgered, MANUAL)
    with session_scope(ledgered) as db:
        ledger.update_status(
            db, get_user(db, "UKK1"), manual, "検討中", "改訂案を作成中。令和8年2月の防災会議に諮る予定。"
        )
    request = next(r.id for r in rows(ledgered, division="学校教育課"))
    edited = dict(SHELTER, answer=SHELTER["answer"].replace("施設の状況を踏まえ、", ""))
    with session_scope(ledgered) as db:
        import_records(db, ledgered, [edited, LUNCH])
    assert [r.id for r in rows(ledgered, division="学校教育課")] == [
        request
    ]  # unchanged: the same row, which chat buttons name
    after = {r.statement: (r.id, r.status) for r in rows(ledgered, division="危機管理課")}
    assert after[MANUAL] == (manual, "検討中")  # the same statement keeps its row and its progress
    assert "授乳室の設置につきましては、検討する" in after


def test_ledger_cli_filters_and_exports_csv_and_docx(ledgered: Settings, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = cli(ledgered)
    listed = run("commitments", "--division", "危機管理課")
    assert listed.returncode == 0 and MANUAL in listed.stdout and "無償化" not in listed.stdout
    assert "山田 太郎議員「避難所運営の改善について」" in listed.stdout
    member = run("commitments", "--member", "松本")
    assert "要望・働きかけ" in member.stdout and "避難所" not in member.stdout
    overdue = run("commitments", "--overdue", "--json")
    assert [c["statement"] for c in json.loads(overdue.stdout)["commitments"]] == [MANUAL]  # due 2026-03-31, still open

    exported = run("commitments", "--csv")
    table = list(csv.DictReader(io.StringIO(exported.stdout.lstrip("\ufeff"))))
    assert [(r["答弁番号"], r["区分"], r["期限"], r["担当課"], r["進捗状況"]) for r in table] == [
        ("R7-6-21-2", "要望・働きかけ", "", "学校教育課", "未着手"),
        ("R7-9-16-1-1", "実施", "2026-03-31", "危機管理課", "未着手"),
        ("R7-9-16-1-1", "検討", "", "危機管理課", "未着手"),
    ]

    to_file = run("commitments", "--csv", str(tmp_path / "約束.csv"))
    assert to_file.returncode == 0 and (tmp_path / "約束.csv").read_bytes().decode(
        "utf-8-sig"
    ) == exported.stdout.lstrip("\ufeff")
    both = run("commitments", "--csv", "--docx", str(tmp_path / "x.docx"))
    assert both.returncode == 1 and "一つだけ" in both.stderr and not (tmp_path / "x.docx").exists()

    path = tmp_path / "進捗状況.docx"
    written = run("commitments", "--division", "危機管理課", "--docx", str(path))
    assert written.returncode == 0 and "2件" in written.stdout
    document = docx.Document(str(path))
    assert document.paragraphs[0].text == "議会答弁の進捗状況"
    (grid,) = document.tables
    header = [c.text for c in grid.rows[0].cells]
    assert header == ["議員", "件名", "質問要旨", "答弁要旨", "進捗状況", "担当課"]
    first = [c.text for c in grid.rows[1].cells]
    assert (
        first[0] == "山田 太郎"
        and first[3].startswith(MANUAL)
        and "【未着手】（期限超過）" in first[4]
        and first[5] == "危機管理課"
    )
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "ＭＳ 明朝"


def test_status_updates_are_the_divisions_audited_and_bad_input_changes_nothing(ledgered: Settings, cli) -> None:  # type: ignore[no-untyped-def]
    manual = commitment_id(ledgered, MANUAL)
    with session_scope(ledgered) as db:
        with pytest.raises(PermissionDenied, match="危機管理課"):
            ledger.update_status(db, get_user(db, "UGK1"), manual, "実施済", "他課による更新")  # another division
        with pytest.raises(InvalidInput):
            ledger.update_status(db, get_user(db, "UKK1"), manual, "実施済", "  ")  # no note
    run = cli(ledgered)
    refused = run("commitments", "update", str(manual), "--status", "完了", "--note", "改訂済み")
    assert (
        refused.returncode == 1
        and refused.stderr.count("\n") == 1
        and "未着手・検討中・実施済・見送り" in refused.stderr
    )
    assert run("commitments", "update", "9999", "--status", "実施済", "--note", "x").returncode == 1

    with session_scope(ledgered) as db:
        ledger.update_status(
            db,
            get_user(db, "UKK2"),
            manual,
            "実施済",
            "令和8年3月にマニュアルを改訂し、全避難所の福祉スペースを定めた。",
        )
    done = run("commitments", "update", str(manual), "--status", "見送り", "--note", "総務課による訂正（テスト）")
    assert done.returncode == 0

    with session_scope(ledgered) as db:
        history = [
            (h.old_status, h.new_status, h.actor)
            for h in db.scalars(select(CommitmentStatusChange).order_by(CommitmentStatusChange.id))
        ]
        audits = list(
            db.scalars(select(AuditEntry).where(AuditEntry.action == "commitment.status").order_by(AuditEntry.id))
        )
    assert history == [("未着手", "実施済", "UKK2"), ("実施済", "見送り", "cli")]
    assert [(a.actor, a.target, a.details["old"], a.details["new"]) for a in audits] == [
        ("UKK2", f"commitment:{manual}", "未着手", "実施済"),
        ("cli", f"commitment:{manual}", "実施済", "見送り"),
    ]
    assert "マニュアル" not in json.dumps([a.details for a in audits], ensure_ascii=False)  # notes stay out of the log
    assert rows(ledgered, overdue=True) == []  # no longer open


def _finalised(cfg: Settings, answer: str) -> str:
    key = new_question(cfg, assign_to="危機管理課", answer=answer, submit=True)
    for approver in ("UKK2", "USB1", "USC1"):
        with session_scope(cfg) as db:
            review.approve(db, get_user(db, approver), key)
    with session_scope(cfg) as db:
        review.finalize(db, cfg, get_user(db, "UGA1"), key)
    return key


def test_a_finalised_answer_enters_the_ledger_and_leaves_it_when_reopened(org: Settings) -> None:
    key = _finalised(
        org, "お答えいたします。福祉避難所の指定につきましては、来年度中に社会福祉施設との協定を締結してまいります。"
    )
    with session_scope(org) as db:
        today = ledger.today(org)
        (row,) = ledger.list_commitments(db, on=today)
        fiscal_end = dt.date(today.year + (1 if today.month >= 4 else 0) + 1, 3, 31)
        assert (row.ref, row.strength, row.timing, row.due_end) == (key, "実施", "来年度中", fiscal_end)
        review.reopen(db, org, get_user(db, "UGA1"), key, reason="数値の誤りを訂正するため")
    with session_scope(org) as db:
        assert db.scalars(select(Commitment)).all() == []


def test_an_earlier_commitment_is_brought_back_to_the_draft_and_the_draft_is_checked(ledgered: Settings) -> None:
    key = new_question(ledgered, assign_to="危機管理課")
    with session_scope(ledgered) as db:
        question = get_question(db, key)
        earlier = ledger.earlier_commitments(db, question)
        assert [e.line for e in earlier] == [
            f"前回答弁（令和7年9月）: {MANUAL}",
            "前回答弁（令和7年9月）: 授乳室の設置につきましては、施設の状況を踏まえ、検討する",
        ]
        weaker = "授乳室の設置につきましては、国の動向を注視してまいります。"
        findings = ledger.contradiction_findings(db, ledgered, question, weaker)
    assert {f.rule_id for f in findings} == {"commitment_weaker", "commitment_dropped"}
    weak = next(f for f in findings if f.rule_id == "commitment_weaker")
    assert "前回答弁（令和7年9月）（R7-9-16-1-1）" in weak.message and "後退" in weak.message
    assert weak.excerpt.startswith("授乳室の設置")

    with session_scope(ledgered) as db:
        outcome = draft_question(db, ledgered, key, actor=get_user(db, "UKK1"))
    assert outcome.earlier_commitments == [e.line for e in earlier]
    assert (
        f"令和7年9月の定例会で「{MANUAL}」とお答えした件につきましては、（要確認）その後の進捗を記載いたします。"
        in outcome.text
    )
    assert any("進捗を報告してください" in n for n in outcome.notices)


def test_a_model_is_told_the_earlier_commitments_as_data(ledgered: Settings) -> None:
    key = new_question(ledgered, assign_to="危機管理課")
    with FakeOpenAIServer(
        default_text="お答えいたします。授乳室の設置につきましては、研究してまいります。\n【参照】R7-9-16-1-1"
    ) as server:
        model = remote(ledgered, server)
        with session_scope(model) as db:
            outcome = draft_question(db, model, key, actor=get_user(db, "UKK1"))
        (request,) = [r for r in server.requests if not r.is_embeddings]
    user = request.content("user")
    assert "<earlier_commitments>\nこの議員には、同じ趣旨の質問に次のとおり答弁しています。" in user and MANUAL in user
    assert {f.rule_id for f in outcome.findings} >= {"commitment_weaker", "commitment_dropped"}


def test_an_earlier_answer_with_a_confidentiality_marker_is_not_sent_to_a_model(org: Settings) -> None:
    marked = dict(SHELTER, answer="【取扱注意】" + SHELTER["answer"] + "担当者の連絡先は090-1234-5678です。")
    with session_scope(org) as db:
        import_records(db, org, [marked])
    key = new_question(org, assign_to="危機管理課")
    with FakeOpenAIServer(default_text="お答えいたします。避難所の運営を改善してまいります。\n【参照】なし") as server:
        model = remote(org, server)
        with session_scope(model) as db:
            outcome = draft_question(db, model, key, actor=get_user(db, "UKK1"))
        sent = json.dumps([r.body for r in server.requests], ensure_ascii=False)
    assert "earlier_commitments" not in sent and "マニュアルを改訂" not in sent
    assert outcome.earlier_commitments  # staff still see it, and the draft is still checked against it
    assert "commitment_dropped" in {f.rule_id for f in outcome.findings}


def test_overdue_commitments_are_reminded_weekly_to_the_division_and_general_affairs_once(ledgered: Settings) -> None:
    monday = dt.datetime(2026, 12, 7, 8, 45, 30, tzinfo=TZ)
    with session_scope(ledgered) as db:
        messages = compose(db, REMINDER_JOB_ID, now=monday, tz=TZ)
        assert compose(db, REMINDER_JOB_ID, now=monday + dt.timedelta(hours=3), tz=TZ) == []  # too late to be useful
    assert sorted(m.recipient.target for m in messages) == ["C0KIKI", "C0SOMU"]
    division = next(m.text for m in messages if m.recipient.target == "C0KIKI")
    assert "危機管理課" in division and MANUAL in division and "令和8年3月31日" in division and "無償化" not in division

    notifier = RecordingNotifier()
    runner = SchedulerRunner(ledgered, notifier, clock=lambda: monday)
    runner.fire(REMINDER_JOB_ID)
    runner.fire(REMINDER_JOB_ID)  # fired again (a take-over): nothing goes out twice
    assert sorted(channel for channel, _ in notifier.posts) == ["C0KIKI", "C0SOMU"]


def test_session_overview_names_questions_with_earlier_commitments_and_overdue_divisions(
    ledgered: Settings, cli
) -> None:  # type: ignore[no-untyped-def]
    key = new_question(ledgered, assign_to="危機管理課")
    shown = cli(ledgered)("commitments", "overview")
    assert shown.returncode == 0
    assert f"・{key} 前回答弁（令和7年9月）: {MANUAL} ほか1件" in shown.stdout
    assert "・危機管理課 1件" in shown.stdout


def test_the_ledger_on_postgresql(pg_org: Settings) -> None:
    """The same ledger on PostgreSQL: batch insert, member match and ordering in SQL, progress kept on re-import."""
    with session_scope(pg_org) as db:
        import_records(db, pg_org, [SHELTER, LUNCH])
    assert [r.ref for r in rows(pg_org)] == ["R7-6-21-2", "R7-9-16-1-1", "R7-9-16-1-1"]
    manual = commitment_id(pg_org, MANUAL)
    with session_scope(pg_org) as db:
        ledger.update_status(db, get_user(db, "UKK1"), manual, "検討中", "改訂案を作成中。")
    with session_scope(pg_org) as db:
        import_records(db, pg_org, [SHELTER])
    assert [(r.id, r.status) for r in rows(pg_org, overdue=True)] == [(manual, "検討中")]
    key = new_question(pg_org, assign_to="危機管理課")
    with session_scope(pg_org) as db:
        assert next(e.id for e in ledger.earlier_commitments(db, get_question(db, key))) == manual
