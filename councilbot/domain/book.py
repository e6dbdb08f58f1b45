"""What goes into an answer book (答弁書), independent of storage and of Word.

The books service fills these from the database; the Word adapter renders them.
The same shapes come back out when a past book is read, so a round trip can be
compared field by field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Printed under an answer that is a generative-AI draft used without editing: the
# cities' rules say output used as it is must be labelled as AI-made.
AI_AS_IS_NOTE = "※この答弁は、生成AIが作成した下書きを編集せずに使用しています。"


@dataclass
class BookItem:
    """One question item and its answer."""

    key: str  # stable question key, e.g. "R8-12-16-1-2-1"
    item_no: str  # display number, e.g. "1-(2)-①"
    title: str  # 件名 of the item
    question: str  # 質問要旨
    answerer: str  # 答弁者, e.g. "市長", "教育長", "総務部長"
    answer: str  # 答弁 text ("" when not yet written)
    department: str = ""  # 担当課
    back_data: str = ""  # バックデータ: supporting notes, printed only when asked for
    # None for a finalised (校了) answer; otherwise the 案 label with the current
    # stage, e.g. "案（部長確認中）", used by the review-meeting variant.
    draft_label: str | None = None
    ai_as_is: bool = False  # the answer is a generative-AI draft no person has edited


@dataclass
class BookMember:
    """One member's questions, in the order they speak."""

    seat: str  # 議席番号, e.g. "16番"
    name: str
    faction: str
    question_type: str  # 代表質問 / 一般質問 / 委員会
    items: list[BookItem] = field(default_factory=list)


@dataclass
class AnswerBookContent:
    """A whole book or an extract (per division or per member)."""

    city: str  # e.g. "桜ヶ丘市"
    session_title: str  # e.g. "令和8年12月定例会"
    title: str  # e.g. "答弁書", "答弁書（総務課抜粋）", "答弁検討会資料"
    date: dt.date  # date printed on the cover
    members: list[BookMember]  # already in speaking order (代表質問 before 一般質問)
    include_back_data: bool = False
    is_draft: bool = False  # review-meeting variant: unfinished answers included, marked 案
    missing: list[str] = field(default_factory=list)  # keys/titles not yet final (final book lists them)
