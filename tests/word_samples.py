"""Answer-book contents shared by the Word tests."""

from __future__ import annotations

import datetime as dt

from councilbot.domain.book import AnswerBookContent, BookItem, BookMember


def item(
    item_no: str, title: str, *, answerer: str = "市長", draft_label: str | None = None, back_data: str = ""
) -> BookItem:
    return BookItem(
        key=f"R8-12-{item_no}",
        item_no=item_no,
        title=title,
        question=f"{title.removesuffix('について')}について、本市の現状と課題を伺う。\n併せて今後の方針を伺う。",
        answerer=answerer,
        answer=f"　{title}、お答えいたします。\n　本市では、令和5年度から取組を進めております。\tＤＸも推進します。",
        department="防災危機管理課",
        back_data=back_data,
        draft_label=draft_label,
    )


def book(
    *, include_back_data: bool = False, is_draft: bool = False, missing: list[str] | None = None
) -> AnswerBookContent:
    members = [
        BookMember(
            "16番",
            "山田 太郎",
            "新政会",
            "代表質問",
            [
                item("1-(1)-①", "避難所の女性への配慮について", back_data="令和5年度　避難所開設12回"),
                item(
                    "1-(1)-②",
                    "災害時のトイレ対策について",
                    answerer="危機管理部長",
                    draft_label="案（部長確認中）" if is_draft else None,
                ),
                item("2", "物価高騰対策について", answerer="副市長"),
            ],
        ),
        BookMember(
            "3番",
            "青木 健一",
            "市民クラブ",
            "一般質問",
            [
                item(
                    "1-(2)", "不登校児童生徒への支援について", answerer="教育長", back_data="校内教育支援センター　8校"
                ),
            ],
        ),
        BookMember(
            "21番",
            "松本 陽子",
            "日本共産党",
            "一般質問",
            [
                item(
                    "3-(1)",
                    "介護保険料の負担軽減について",
                    answerer="健康福祉部長",
                    draft_label="案（課長確認中）" if is_draft else None,
                ),
            ],
        ),
    ]
    return AnswerBookContent(
        city="桜ヶ丘市",
        session_title="令和8年12月定例会",
        title="答弁検討会資料" if is_draft else "答弁書",
        date=dt.date(2026, 12, 1),
        members=members,
        include_back_data=include_back_data,
        is_draft=is_draft,
        missing=missing or [],
    )
