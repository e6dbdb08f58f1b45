"""The demo's commitments part (issue 17): an earlier commitment brought back and checked.

Called from demo.py: after assignment (what the city said before to the same member
on the same topic), after drafting (the rule checker's findings against it, and the
drafter filling in the progress asked for), and at the end (the division records
progress; the ledger is exported).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain import commitments as commitment_rules
from councilbot.domain.drafting import PROGRESS_PLACEHOLDER
from councilbot.services import commitments as ledger
from councilbot.services.common import get_question
from councilbot.services.drafting import DraftOutcome
from councilbot.settings import Settings
from councilbot.storage.models import Department, User

Say = Callable[[str], None]
DEMO_PROGRESS = "その後、担当課において検討を進めているところでございます。"
COMMITMENT_RULES = {rule_id for rule_id, _severity, _form in ledger.CONFLICT_RULES.values()}


def say_brought_back(db: Session, keys: Sequence[str], say: Say) -> None:
    """Questions whose member was promised something on the same topic before."""
    found = False
    for key in keys:
        question = get_question(db, key)
        earlier = ledger.earlier_commitments(db, question)
        if not earlier:
            continue
        if not found:
            say("  ◆ 前回答弁の約束（同じ議員・同じ趣旨の過去答弁から。担当課への割当てと下書きに表示します）")
            found = True
        say(f"  {key:<18} {question.member.name}議員「{question.title}」")
        for e in earlier:
            say(f"    {e.line}（{e.strength}・進捗: {e.status}）")


def say_findings(outcome: DraftOutcome, say: Say) -> None:
    """The drafter told to report progress, and the draft checked against the earlier commitments."""
    if outcome.earlier_commitments:
        say(
            f"    ※ 前回答弁の約束 {len(outcome.earlier_commitments)}件を下書きに示し、進捗を報告する欄（要確認）を設けました"
        )
    for finding in outcome.findings:
        if finding.rule_id in COMMITMENT_RULES:
            say(f"    ⚠ [{finding.rule_id}] {finding.message}")


def with_progress_reported(answer: str) -> str:
    """The drafter fills in the progress the offline draft asked for."""
    return answer.replace(PROGRESS_PLACEHOLDER, DEMO_PROGRESS)


def ledger_step(db: Session, cfg: Settings, export_dir: str, say: Say) -> None:
    """The division records progress on the commitment brought back; the ledger is exported."""
    from councilbot.adapters.word.commitments_report import render_commitments_report
    from councilbot.fsutil import atomic_write_bytes

    on = ledger.today(cfg)
    overdue = ledger.list_commitments(db, on=on, overdue=True)
    say(
        f"  台帳：過去答弁から読み取った約束 {len(ledger.list_commitments(db, on=on))}件、うち期限超過 {len(overdue)}件"
    )
    target = next((r for r in overdue if "補聴器" in r.title), overdue[0] if overdue else None)
    if target is not None:
        staff = _staff_of(db, target.division)
        if staff is not None:
            ledger.update_status(
                db,
                staff,
                target.id,
                commitment_rules.DONE,
                "令和8年3月に先行自治体の調査結果を取りまとめ、第10期計画の策定委員会に報告しました。",
            )
            say(
                f"  {target.division} {staff.position} {staff.name}：[{target.id}]「{target.statement}」の進捗を「実施済」に更新（監査ログに記録）"
            )
    rows = ledger.list_commitments(db, on=on, division=target.division if target else None)
    stamp = on.strftime("%Y%m%d")
    docx_path = render_commitments_report(
        rows, f"{export_dir}/議会答弁の進捗状況_{stamp}.docx", on=on, scope=target.division if target else ""
    )
    csv_path = atomic_write_bytes(
        f"{export_dir}/答弁の約束_{stamp}.csv", ledger.ledger_csv(ledger.list_commitments(db, on=on)).encode("utf-8")
    )
    say(f"  進捗状況の報告書（{target.division if target else '全体'}、{len(rows)}件）: {docx_path}")
    say(f"  台帳のCSV: {csv_path}")
    for line in ledger.session_overview(db, cfg).lines():
        say(f"  {line}")


def _staff_of(db: Session, division: str) -> User | None:
    return db.scalar(
        select(User)
        .join(Department, User.department_id == Department.id)
        .where(Department.name == division)
        .order_by(User.id)
    )
