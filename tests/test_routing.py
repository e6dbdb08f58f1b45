"""Routing: votes of similar past answers plus duties (事務分掌)."""

import pytest

from councilbot.errors import InvalidInput
from councilbot.services import routing
from councilbot.services.archive import import_records
from councilbot.services.routing import route_question
from councilbot.services.search import SearchResult, text_similarity


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


def test_word_and_character_views_vote_together(db, org, monkeypatch):
    def result(ref, department, score):
        return SearchResult(ref=ref, key=ref, score=score, title="", session=None, member=None, faction=None,
                            department=department, answerer=None, date=None, snippet="", question="", answer="")

    # The word view narrowly prefers 市民課; the character view clearly prefers 情報政策課.
    views = {False: [result("W-1", "市民課", 1.0), result("B-1", "情報政策課", 0.9)],
             True: [result("B-1", "情報政策課", 1.0), result("C-1", "市民課", 0.5)]}
    monkeypatch.setattr(routing, "find_similar", lambda db, settings, text, *, limit, characters, semantic: views[characters])
    top = route_question(db, org, "xyzzy")[0]
    assert top.department == "情報政策課"
    assert top.evidence == ["B-1"]
