"""Typed SQLAlchemy 2.0 models: the database is the source of truth.

Japanese domain terms are kept beside the English names; see docs/glossary.md.
Datetimes are stored as UTC and returned timezone-aware (``UTCDateTime``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from councilbot.domain.workflow import State, Transition


def utcnow() -> dt.datetime:
    # Stamps are recorded to the second, as the reference system does.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store aware datetimes as naive UTC (SQLite keeps no zone); read them back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UTCDateTime; attach a time zone")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _stored_enum(values: type[StrEnum]) -> Enum:
    """A workflow enum stored as its values in a VARCHAR(20), as before the column was typed:
    the schema is unchanged, and a value outside the enum is refused before it is written."""
    return Enum(
        values,
        native_enum=False,
        validate_strings=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class CouncilSession(Base):
    """会期: a regular (定例会) or extraordinary (臨時会) session."""

    __tablename__ = "council_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # 令和8年12月定例会
    kind: Mapped[str] = mapped_column(String(20), default="定例会")
    era_code: Mapped[str] = mapped_column(String(20))  # "R8-12": the key prefix
    opens: Mapped[dt.date | None] = mapped_column(Date)
    answer_deadline: Mapped[dt.datetime | None]  # 答弁締切
    review_meeting: Mapped[dt.datetime | None]  # 答弁検討会
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    questions: Mapped[list[Question]] = relationship(back_populates="session")


class Member(Base):
    """議員: identified by seat number (議席番号)."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    seat: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    reading: Mapped[str | None] = mapped_column(String(100))
    faction: Mapped[str | None] = mapped_column(String(100))  # 会派
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def seat_label(self) -> str:
        return f"{self.seat}番"


class Department(Base):
    """部 or 課. Divisions (課) carry duties (事務分掌) used for routing."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    duties: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str | None] = mapped_column(String(40))  # chat channel id
    is_general_affairs: Mapped[bool] = mapped_column(Boolean, default=False)
    # In the organisation file last loaded. A department dropped from it stays (users, questions and
    # stamps still name it) but is no longer suggested by routing.
    current: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent")


class User(Base):
    """A staff member known to the bot, mapped from their chat user id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(40), unique=True)  # Slack user id
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    position: Mapped[str] = mapped_column(String(20))  # 係長, 課長, 部長, 副市長, 教育長, 市長, 秘書
    roles: Mapped[list[str]] = mapped_column(default=list)  # general_affairs, admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department | None] = relationship()


class ApprovalChainConfig(Base):
    """The review chain (答弁検討の順序) for one kind of answerer, e.g. 市長: 課長→部長→市長."""

    __tablename__ = "approval_chains"

    id: Mapped[int] = mapped_column(primary_key=True)
    answerer_kind: Mapped[str] = mapped_column(String(20), unique=True)
    stages: Mapped[list[str]] = mapped_column()


class Question(Base):
    """One question item (質問項目) of a member's notice, and its way through review."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("session_id", "member_id", "question_type", "item_no", name="uq_question_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  # R8-12-16-1-2-1
    session_id: Mapped[int] = mapped_column(ForeignKey("council_sessions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    question_type: Mapped[str] = mapped_column(String(20))  # 代表質問 / 一般質問 / 委員会
    speaking_order: Mapped[int] = mapped_column(Integer, default=0)  # 発言順
    item_no: Mapped[str] = mapped_column(String(40))  # canonical 1-(2)-①
    item_sort: Mapped[str] = mapped_column(String(20))  # zero-padded for ORDER BY
    parent_titles: Mapped[str] = mapped_column(Text, default="")  # context from the outline
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[State] = mapped_column(_stored_enum(State), default=State.RECEIVED)
    stage_index: Mapped[int | None] = mapped_column(Integer)  # position in the chain while in review
    review_round: Mapped[int] = mapped_column(Integer, default=1)  # grows with each send-back
    responsible_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    answerer: Mapped[str | None] = mapped_column(String(40))  # 市長, 教育長, 総務部長 …
    due_at: Mapped[dt.datetime | None]
    source_ref: Mapped[str | None] = mapped_column(String(200), unique=True)  # e.g. chat message id: intake idempotency
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    session: Mapped[CouncilSession] = relationship(back_populates="questions")
    member: Mapped[Member] = relationship()
    responsible_department: Mapped[Department | None] = relationship()
    related_departments: Mapped[list[Department]] = relationship(secondary="question_related_departments")
    revisions: Mapped[list[AnswerRevision]] = relationship(
        back_populates="question", order_by="AnswerRevision.number", cascade="all, delete-orphan"
    )
    stamps: Mapped[list[ApprovalStamp]] = relationship(order_by="ApprovalStamp.id", cascade="all, delete-orphan")
    comments: Mapped[list[Comment]] = relationship(order_by="Comment.id", cascade="all, delete-orphan")

    @property
    def latest_revision(self) -> AnswerRevision | None:
        return self.revisions[-1] if self.revisions else None


class QuestionRelatedDepartment(Base):
    """関係課: divisions that contribute to an answer without owning it."""

    __tablename__ = "question_related_departments"

    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)


class QuestionLink(Base):
    """A likely duplicate: the same topic asked by another member in the same session."""

    __tablename__ = "question_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    score: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnswerRevision(Base):
    """One version of the answer (答弁) and back data (バックデータ). Never updated, only added."""

    __tablename__ = "answer_revisions"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    number: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(Text)
    back_data: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    origin: Mapped[str] = mapped_column(String(20), default="human")  # human / ai / offline
    model: Mapped[str | None] = mapped_column(String(100))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    is_ai_label: Mapped[bool] = mapped_column(Boolean, default=False)  # 「AI下書き（要確認）」
    cited_refs: Mapped[list[str]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    question: Mapped[Question] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship()


class ApprovalStamp(Base):
    """A stamp in the review chain: who acted at which stage, and when (to the second)."""

    __tablename__ = "approval_stamps"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    action: Mapped[Transition] = mapped_column(_stored_enum(Transition))
    stage: Mapped[str | None] = mapped_column(String(20))  # 課長, 部長, 市長 …
    review_round: Mapped[int] = mapped_column(Integer, default=1)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    revision_number: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    stamped_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    department: Mapped[Department | None] = relationship()


class Comment(Base):
    """答弁確認コメント: discussion on one item."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class PastAnswer(Base):
    """過去答弁: imported history and every finalised answer. The search index derives from this table.

    History is kept as given: member, faction and department are plain text so that
    reorganised divisions and former members stay searchable under their old names.
    """

    __tablename__ = "past_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(200), unique=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    session_name: Mapped[str | None] = mapped_column(String(100))
    date: Mapped[dt.date | None] = mapped_column(Date)
    question_type: Mapped[str | None] = mapped_column(String(20))
    member: Mapped[str | None] = mapped_column(String(100))
    seat: Mapped[str | None] = mapped_column(String(20))
    faction: Mapped[str | None] = mapped_column(String(100))
    item_no: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(100))
    answerer: Mapped[str | None] = mapped_column(String(40))
    back_data: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), default="import")  # import / final
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AnswerVector(Base):
    """A past answer's embedding for the optional semantic search stage (意味検索).

    Derived data like the search index, but kept in the database because it is
    costly to recompute (a model call per answer). ``text_hash`` names the text
    that was embedded, so a changed answer is embedded again; ``model`` names the
    embedder, so vectors of another model are never compared. Ids only grow
    (AUTOINCREMENT), so ``(count, max id)`` tells a reader whether anything changed.
    A row with ``dim`` 0 and no vector records an answer withheld from an external
    embedder (a confidentiality marker): it is not pending, and is checked again
    when its text changes.
    """

    __tablename__ = "answer_vectors"
    # Readers check (count, max id, sum of ids) of one model's vectors often: an index that holds all
    # three answers it without touching the vectors.
    __table_args__ = (Index("ix_answer_vectors_model_dim_id", "model", "dim", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    past_answer_id: Mapped[int] = mapped_column(ForeignKey("past_answers.id", ondelete="CASCADE"), unique=True)
    model: Mapped[str] = mapped_column(String(200))
    text_hash: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian, L2-normalised


class IndexQueueEntry(Base):
    """A past answer whose search-index entry is not yet known to match the database (索引待ち).

    Written in the same transaction as the change to ``past_answers``, removed only
    after the index has committed the ref's current state (present: indexed; gone:
    deleted). A process killed between the database commit and the index write
    therefore leaves the entry behind, and the next writer or search catches up.
    """

    __tablename__ = "index_queue"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(200))


class AuditEntry(Base):
    """Append-only audit log: who did what, when. Never message bodies."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # chat user id, or "cli" / "system"
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ExportRecord(Base):
    """An answer book written to EXPORT_DIR, with its checksum."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("council_sessions.id"))
    variant: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    item_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProcessedDelivery(Base):
    """Chat deliveries already handled (event ids, action ids): retries must not act twice."""

    __tablename__ = "processed_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrgSetting(Base):
    """Organisation-wide values from the organisation file, such as the city name."""

    __tablename__ = "org_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- Scheduling (issue 7) ---


class SchedulerLease(Base):
    """Who runs the scheduler: one holder at a time, until ``expires_at`` unless renewed."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime]
    acquired_at: Mapped[dt.datetime]


class SentNotification(Base):
    """One reminder message, recorded before any message of its run is sent.

    The unique key makes it go out once, whichever process runs. A run's rows are
    written together, so a leader that dies part-way leaves the rest recorded for
    the next leader: pending (``sending_at`` empty) rows are sent by whoever leads;
    a row whose send had started (``sending_at`` set, ``sent_at`` empty) when its
    process died is in doubt and is never sent again.
    """

    __tablename__ = "sent_notifications"
    __table_args__ = (UniqueConstraint("job_key", "fire_at", name="uq_sent_notification"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_key: Mapped[str] = mapped_column(String(200))  # e.g. session:3:deadline_eve|channel:C0KIKI
    fire_at: Mapped[dt.datetime]  # the reminder's planned time
    holder: Mapped[str] = mapped_column(String(200))  # the process that recorded it, then the one sending it
    claimed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    text: Mapped[str | None] = mapped_column(Text)  # what to send, so a successor sends the same words
    sending_at: Mapped[dt.datetime | None]  # a process has started sending it
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # refused sends so far
    next_attempt_at: Mapped[dt.datetime | None]  # after a refusal: not before this time


class WebSignInLink(Base):
    """A one-time sign-in link for the web view, sent by chat. Only the token's hash is kept."""

    __tablename__ = "web_sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A signed-in browser. The cookie holds the token; the database only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(20))  # link / header
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


# --- Answer commitments (issue 17) ---


class Commitment(Base):
    """答弁の約束: one thing an answer said the city would do, and its progress (進捗状況).

    Derived from a past answer's text (services/commitments.py) when it is imported or
    finalised; the progress is the division's, kept across re-extraction of the same statement.
    """

    __tablename__ = "commitments"
    __table_args__ = (
        UniqueConstraint("past_answer_id", "position", name="uq_commitment_position"),
        Index("ix_commitments_status_due", "status", "due_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    past_answer_id: Mapped[int] = mapped_column(ForeignKey("past_answers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the answer
    statement: Mapped[str] = mapped_column(Text)  # 本年度中に調査結果を取りまとめる予定
    subject: Mapped[str] = mapped_column(Text)  # 調査結果を取りまとめる
    strength: Mapped[str] = mapped_column(String(20))  # 実施 / 検討 / 調査・研究 / 要望・働きかけ / 現状維持
    timing_text: Mapped[str | None] = mapped_column(String(200))  # 本年度中, 次期計画の策定に合わせて
    due_start: Mapped[dt.date | None] = mapped_column(Date)
    due_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="未着手")  # 未着手 / 検討中 / 実施済 / 見送り
    status_note: Mapped[str | None] = mapped_column(Text)
    status_updated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    past_answer: Mapped[PastAnswer] = relationship()
    history: Mapped[list[CommitmentStatusChange]] = relationship(
        order_by="CommitmentStatusChange.id", cascade="all, delete-orphan", passive_deletes=True
    )


class CommitmentStatusChange(Base):
    """A change of a commitment's progress: who, when, from what to what, with the division's note."""

    __tablename__ = "commitment_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))  # chat user id, or "cli"
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CardCopy(Base):
    """Where a card about a question was posted (channel, ts), so every copy follows the item's state.

    A card goes to several people at once (each 総務課 member's DM, the 市長 and the 秘書);
    once one of them acts, the others' copies are updated so that nobody clicks a stale button.
    """

    __tablename__ = "card_copies"
    __table_args__ = (UniqueConstraint("channel", "ts", name="uq_card_copy"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str] = mapped_column(String(40))
    posted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)  # its buttons have been replaced
