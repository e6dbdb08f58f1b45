"""Routing: votes of similar past answers plus duties (事務分掌)."""

import pytest

from councilbot.errors import InvalidInput
from councilbot.services import routing
from councilbot.services.archive import import_records
from councilbot.services.org import load_org
from councilbot.services.routing import route_question
from councilbot.services.search import SearchResult, text_similarity
from councilbot.storage.db import session_scope
from tests.support import DATA


def test_duties_alone_route_a_question(db, org):
    top = route_question(db, org, "避難所の備蓄について伺う")[0]
    assert top.department == "危機管理課"
    assert any("事務分掌" in r and "避難所" in r for r in top.reasons)


def _past(ref, department, title, question, answer="状況を踏まえて検討してまいります。"):
    return {"ref": ref, "title": title, "question": question, "answer": answer, "department": department}


def test_answers_of_divisions_the_organisation_lacks_vote_for_current_divisions(db, org):
    # Answers filed under another city's names and a name from before a reorganisation.
    import_records(
        db,
        org,
        [
            _past("OTHER-1", "住民窓口センター", "避難所の備蓄について", "避難所の備蓄食料の更新について伺う。"),
            _past("OTHER-2", "防災安全室", "避難所の運営について", "避難所の備蓄と運営体制について伺う。"),
            _past("OTHER-3", "庶務・年金係", "不登校への対応について", "不登校の児童生徒への支援について伺う。"),
        ],
    )
    suggestions = route_question(db, org, "避難所の備蓄食料について伺う", limit=5)
    current = {"総務課", "危機管理課", "学校教育課", "市長室"}
    assert {s.department for s in suggestions} <= current
    top = suggestions[0]
    assert top.department == "危機管理課"
    assert {"OTHER-1", "OTHER-2"} <= set(top.evidence)
    assert "当時の担当: " in top.reasons[0] and "防災安全室" in top.reasons[0]


def test_a_renamed_division_is_suggested_under_its_new_name(db, org, tmp_path):
    import_records(
        db,
        org,
        [
            _past(f"KIKI-{i}", "危機管理課", "防災無線について", f"防災行政無線の聞こえにくさへの対策について伺う。{i}")
            for i in range(3)
        ],
    )
    text = (DATA / "org_small.yaml").read_text(encoding="utf-8")
    path = tmp_path / "org.yaml"
    path.write_text(
        text.replace("name: 危機管理課", "name: 防災課").replace("department: 危機管理課", "department: 防災課"),
        encoding="utf-8",
    )
    load_org(db, path, actor="test")
    suggestions = route_question(db, org, "防災行政無線が聞こえにくいとの声への対策を伺う", limit=5)
    assert suggestions[0].department == "防災課"
    assert "危機管理課" not in {s.department for s in suggestions}
    assert set(suggestions[0].evidence) == {"KIKI-0", "KIKI-1", "KIKI-2"}


def test_an_answer_of_an_unknown_division_follows_the_archive_when_duties_say_nothing(db, org):
    # 「学校給食」 is in no division's duties; the archive's own answers on it are 学校教育課's.
    import_records(
        db,
        org,
        [
            _past(
                "GAKU-1",
                "学校教育課",
                "学校給食のアレルギー対応について",
                "学校給食における食物アレルギー対応について伺う。",
            ),
            _past("GAKU-2", "学校教育課", "学校給食の地産地消について", "学校給食への地場産食材の活用について伺う。"),
            _past("OLD-1", "給食センター", "学校給食費について", "学校給食費の保護者負担について伺う。"),
        ],
    )
    top = route_question(db, org, "学校給食費の負担軽減について伺う")[0]
    assert top.department == "学校教育課"
    assert "OLD-1" in top.evidence


def test_without_an_organisation_archive_divisions_are_suggested_as_given(settings):
    with session_scope(settings) as db:
        import_records(
            db,
            settings,
            [
                _past(f"OLD-{i}", "旧住宅対策室", "空き家対策について", f"空き家の増加への対策について伺う。{i}")
                for i in range(3)
            ],
        )
        top = route_question(db, settings, "空き家バンクの活用について伺う")[0]
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
        return SearchResult(
            ref=ref,
            score=score,
            title="",
            session=None,
            member=None,
            faction=None,
            department=department,
            answerer=None,
            date=None,
            snippet="",
            question="",
            answer="",
        )

    # The word view narrowly prefers 総務課; the character view clearly prefers 危機管理課.
    views = {
        False: [result("W-1", "総務課", 1.0), result("B-1", "危機管理課", 0.9)],
        True: [result("B-1", "危機管理課", 1.0), result("C-1", "総務課", 0.5)],
    }
    monkeypatch.setattr(
        routing, "find_similar", lambda db, settings, text, *, limit, characters, semantic: views[characters]
    )
    top = route_question(db, org, "xyzzy")[0]
    assert top.department == "危機管理課"
    assert top.evidence == ["B-1"]


def test_a_former_division_name_the_duties_explain_places_its_answers_though_the_text_reads_otherwise(db, org):
    # 文書管理係 is what 総務課's duties describe (文書の収受及び管理); its answer on keeping the records of
    # shelter operation reads like 危機管理課's duties, yet it is 総務課's answer today.
    import_records(
        db,
        org,
        [
            _past(
                "OLD-DOC",
                "文書管理係",
                "避難所の運営記録について",
                "避難所の運営記録の保存について伺う。",
                "記録は保存年限を定めて保存してまいります。",
            )
        ],
    )
    suggestions = route_question(db, org, "避難所の運営記録の保存期間について伺う", limit=5)
    by_division = {s.department: s for s in suggestions}
    assert "OLD-DOC" in by_division["総務課"].evidence
    assert "OLD-DOC" not in by_division.get("危機管理課", routing.RouteSuggestion("", 0.0)).evidence
    assert {s.department for s in suggestions} <= {"総務課", "危機管理課", "学校教育課", "市長室"}


def test_an_unknown_name_no_duty_explains_follows_its_answers_text(db, org):
    import_records(
        db,
        org,
        [
            _past(
                "OTHER-META",
                "メタバース推進室",
                "不登校児童生徒のオンライン支援について",
                "不登校の児童生徒が仮想空間で学べる居場所づくりについて伺う。",
            )
        ],
    )
    top = route_question(db, org, "不登校の児童生徒が仮想空間で学べる場について伺う")[0]
    assert top.department == "学校教育課"
    assert "OTHER-META" in top.evidence
    assert "当時の担当: メタバース推進室" in top.reasons[0]
