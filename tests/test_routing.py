"""Routing: votes of similar past answers plus duties (事務分掌)."""

import pytest

from councilbot.errors import InvalidInput
from councilbot.services.archive import import_records
from councilbot.services.routing import route_question
from councilbot.services.search import text_similarity


def test_duties_alone_route_a_question(db, org):
    top = route_question(db, org, "避難所の備蓄について伺う")[0]
    assert top.department == "危機管理課"
    assert any("事務分掌" in r and "避難所" in r for r in top.reasons)


def test_archive_departments_vote_under_their_own_name(db, org):
    import_records(db, org, [
        {"ref": f"OLD-{i}", "title": "空き家対策について", "question": f"空き家の増加への対策について伺う。{i}",
         "answer": "空き家バンクの活用を進めております。", "department": "旧住宅対策室"} for i in range(3)
    ])
    top = route_question(db, org, "空き家バンクの活用について伺う")[0]
    assert top.department == "旧住宅対策室"
    assert set(top.evidence) == {"OLD-0", "OLD-1", "OLD-2"}
    assert "類似の過去答弁3件" in top.reasons[0]


def test_empty_text_is_refused(db, org):
    with pytest.raises(InvalidInput):
        route_question(db, org, "  ")


def test_text_similarity_ignores_stock_phrases():
    a = "学校給食費の無償化について市の見解を伺う。"
    assert text_similarity(a, "学校給食費の無償化について伺います。") > 0.8
    assert text_similarity(a, "避難所の運営について市の見解を伺う。") < 0.2
    assert text_similarity("", a) == 0.0
