"""Drafting records and the review chain (答弁作成・答弁検討・校了).

Every action goes through ``_act``: load the item, refuse a stale version,
plan the transition from the workflow table, check the actor's right to it,
apply it, stamp it and audit it — all in the caller's transaction.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from councilbot.domain.permissions import check_transition, may_comment
from councilbot.domain.workflow import State, Step, Transition, plan, rule_for
from councilbot.errors import InvalidInput, InvalidTransition, PermissionDenied, StaleVersion
from councilbot.services.audit import record_audit
from councilbot.services.common import actor_of, chain_of, get_question, item_context
from councilbot.settings import Settings
from councilbot.storage.models import (
    AnswerRevision,
    ApprovalStamp,
    Comment,
    Question,
    User,
    utcnow,
)

MAX_ANSWER = 20000
MAX_COMMENT = 2000


@dataclass
class ActionResult:
    question: Question
    step: Step
    stamp: ApprovalStamp | None


def _taken_first(db: Session, user: User, question: Question, name: Transition) -> str | None:
    """The truth for the loser of a race: someone else took ``name`` first, which ``user`` could also have taken.

    E.g. the 市長 and the 秘書 both approve: the second is told who approved, not that they
    lack the right (the item has moved past their stage) or merely that it changed.
    """
    last = question.stamps[-1] if question.stamps else None
    if last is None or last.action != name or last.user_id == user.id:
        return None
    t = rule_for(name)
    try:
        check_transition(t, actor_of(user), item_context(db, question, at_stage=last.stage))
    except PermissionDenied:
        return None
    stage = f"{last.stage}として" if last.stage else ""
    return f"「{question.key}」は、{last.user.name}さんが先に{stage}{t.label}しました。この操作は不要です。最新の状態を確認してください。"


def _check_version(db: Session, user: User, question: Question, name: Transition, expected_version: int | None) -> None:
    if expected_version is not None and question.version != expected_version:
        raise StaleVersion(
            _taken_first(db, user, question, name)
            or f"「{question.key}」は他の方が先に更新しました。最新の内容を読み込み直してから、もう一度操作してください。"
        )


def _flush(db: Session, question: Question) -> None:
    """Flush, turning a lost optimistic-lock race into a Japanese refusal."""
    try:
        db.flush()
    except StaleDataError:
        raise StaleVersion(
            f"「{question.key}」は他の方が同時に更新しました。最新の内容を読み込み直してから、もう一度操作してください。"
        ) from None


def check_action(
    db: Session,
    user: User,
    question: Question,
    name: Transition,
    *,
    expected_version: int | None = None,
    note: str | None = None,
) -> Step:
    """Where ``name`` would take ``question``, once the version, the workflow and ``user``'s right allow it; raises otherwise."""
    _check_version(db, user, question, name, expected_version)
    # No chain before an answerer is set (received items): only assign/withdraw apply then.
    chain = chain_of(db, question) if question.answerer else None
    try:
        step = plan(
            name,
            State(question.status),
            chain=chain,
            stage_index=question.stage_index,
            review_round=question.review_round,
            note=note,
            key=question.key,
        )
        check_transition(step.transition, actor_of(user), item_context(db, question))
    except (InvalidTransition, PermissionDenied):
        overtaken = _taken_first(db, user, question, name)
        if overtaken:
            raise StaleVersion(overtaken) from None
        raise
    return step


def _act(
    db: Session,
    user: User,
    key: str,
    name: Transition,
    *,
    expected_version: int | None,
    note: str | None = None,
) -> ActionResult:
    question = get_question(db, key, for_update=True)
    step = check_action(db, user, question, name, expected_version=expected_version, note=note)
    question.status = step.state
    question.stage_index = step.stage_index
    question.review_round = step.review_round
    # Every action is a change others must not overwrite from a stale copy:
    # force the UPDATE so the version counter moves even when the state does not.
    question.updated_at = utcnow()
    flag_modified(question, "updated_at")
    record: ApprovalStamp | None = None
    if step.transition.stamped:
        latest = question.latest_revision
        record = ApprovalStamp(
            question_id=question.id,
            action=name,
            stage=step.stage,
            review_round=step.stamp_round,
            user_id=user.id,
            department_id=user.department_id,
            revision_number=latest.number if latest else None,
            comment=(note or "").strip() or None,
        )
        db.add(record)
    _flush(db, question)
    record_audit(
        db,
        user.chat_id,
        f"question.{name}",
        question.key,
        status=question.status,
        stage=step.stage,
        version=question.version,
    )
    return ActionResult(question, step, record)


def save_revision(
    db: Session,
    user: User,
    key: str,
    *,
    answer: str,
    back_data: str = "",
    expected_version: int | None = None,
    origin: str = "human",
    model: str | None = None,
    prompt_hash: str | None = None,
    tokens_in: int | None = None,
    tokens_out: int | None = None,
    cited_refs: list[str] | None = None,
    note: str | None = None,
) -> AnswerRevision:
    """Add a new revision of the answer and back data; earlier ones are kept."""
    text = (answer or "").strip()
    if not text:
        raise InvalidInput("答弁が空です。答弁の本文を入力してください。")
    if len(text) > MAX_ANSWER or len(back_data or "") > MAX_ANSWER:
        raise InvalidInput(f"答弁またはバックデータが長すぎます。{MAX_ANSWER}文字以内にしてください。")
    result = _act(db, user, key, Transition.SAVE_DRAFT, expected_version=expected_version)
    question = result.question
    previous = question.latest_revision
    if origin == "human" and previous is not None and previous.is_ai_label and previous.answer == text:
        # Saved without editing: still the model's text, and still labelled as such.
        origin, model, prompt_hash = previous.origin, previous.model, previous.prompt_hash
        cited_refs = cited_refs or list(previous.cited_refs or [])
    revision = AnswerRevision(
        question=question,
        number=(question.latest_revision.number + 1) if question.latest_revision else 1,
        answer=text,
        back_data=(back_data or "").strip(),
        author_id=user.id,
        origin=origin,
        model=model,
        prompt_hash=prompt_hash,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        is_ai_label=origin != "human",
        cited_refs=cited_refs or [],
        note=note,
    )
    db.add(revision)
    db.flush()
    record_audit(db, user.chat_id, "answer.revise", question.key, revision=revision.number, origin=origin)
    return revision


def submit(db: Session, user: User, key: str, *, expected_version: int | None = None) -> ActionResult:
    question = get_question(db, key)
    if question.latest_revision is None:
        raise InvalidInput(f"「{question.key}」にはまだ答弁案がありません。答弁を保存してから確認依頼してください。")
    return _act(db, user, key, Transition.SUBMIT, expected_version=expected_version)


def submit_answer(
    db: Session, user: User, key: str, *, answer: str, back_data: str = "", expected_version: int | None = None
) -> ActionResult:
    """The drafter's 「保存して確認依頼」: one revision and the request for review, together or not at all."""
    save_revision(db, user, key, answer=answer, back_data=back_data, expected_version=expected_version)
    return submit(db, user, key)


def approve(
    db: Session, user: User, key: str, *, expected_version: int | None = None, comment: str | None = None
) -> ActionResult:
    return _act(db, user, key, Transition.APPROVE, expected_version=expected_version, note=comment)


def send_back(db: Session, user: User, key: str, *, comment: str, expected_version: int | None = None) -> ActionResult:
    return _act(db, user, key, Transition.SEND_BACK, expected_version=expected_version, note=comment)


def finalize(
    db: Session, settings: Settings, user: User, key: str, *, expected_version: int | None = None
) -> ActionResult:
    """校了: the answer is frozen and enters the searchable archive at once."""
    from councilbot.services.archive import record_final_answer

    result = _act(db, user, key, Transition.FINALIZE, expected_version=expected_version)
    record_final_answer(db, settings, result.question)
    return result


def _take_back(
    db: Session,
    settings: Settings,
    user: User,
    key: str,
    name: Transition,
    *,
    reason: str,
    expected_version: int | None,
) -> ActionResult:
    """The answer is no longer final (or the question no longer stands): it leaves the archive."""
    from councilbot.services.archive import retract_final_answer

    result = _act(db, user, key, name, expected_version=expected_version, note=reason)
    retract_final_answer(db, settings, result.question.key)
    return result


def reopen(
    db: Session, settings: Settings, user: User, key: str, *, reason: str, expected_version: int | None = None
) -> ActionResult:
    """校了解除: the answer is open for revision again."""
    return _take_back(db, settings, user, key, Transition.REOPEN, reason=reason, expected_version=expected_version)


def withdraw(
    db: Session, settings: Settings, user: User, key: str, *, reason: str, expected_version: int | None = None
) -> ActionResult:
    """取下げ: the question no longer needs an answer."""
    return _take_back(db, settings, user, key, Transition.WITHDRAW, reason=reason, expected_version=expected_version)


def add_comment(db: Session, user: User, key: str, body: str) -> Comment:
    text = (body or "").strip()
    if not text:
        raise InvalidInput("コメントが空です。")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"コメントが長すぎます（{MAX_COMMENT}文字まで）。")
    question = get_question(db, key)
    related = frozenset(d.name for d in question.related_departments)
    if not may_comment(actor_of(user), item_context(db, question), related):
        raise PermissionDenied("この質問にコメントできるのは、担当課・関係課・決裁者・総務課の職員です。")
    comment = Comment(question_id=question.id, user_id=user.id, body=text)
    db.add(comment)
    db.flush()
    record_audit(db, user.chat_id, "comment.add", question.key, comment_id=comment.id)
    return comment


def revision_diff(db: Session, key: str, old: int | None = None, new: int | None = None) -> str:
    """Line diff between two revisions (default: the last two), for 「どこが変わったか」."""
    question = get_question(db, key)
    revisions = {r.number: r for r in question.revisions}
    if len(revisions) < 2 and (old is None or new is None):
        raise InvalidInput(f"「{question.key}」の答弁は改訂が1版しかないため、比較できません。")
    numbers = sorted(revisions)
    new = new if new is not None else numbers[-1]
    old = old if old is not None else numbers[numbers.index(new) - 1]
    if old not in revisions or new not in revisions:
        raise InvalidInput(f"第{old}版または第{new}版が見つかりません（{numbers[0]}〜{numbers[-1]}版があります）。")

    def lines(r: AnswerRevision) -> list[str]:
        # Japanese prose has few line breaks: compare sentence by sentence.
        text = r.answer + ("\n【バックデータ】\n" + r.back_data if r.back_data else "")
        return [s + "\n" for s in text.replace("。", "。\n").splitlines() if s.strip()]

    return "".join(difflib.unified_diff(lines(revisions[old]), lines(revisions[new]), f"第{old}版", f"第{new}版", n=1))
