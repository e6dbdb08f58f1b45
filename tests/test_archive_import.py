"""Archive import: formats, idempotent upsert by ref, line-numbered errors, index kept in step."""

import json
import os

import pytest
from sqlalchemy import func, select

from councilbot.errors import InvalidInput
from councilbot.services.archive import ImportRefused, import_file, import_records
from councilbot.services.search import find_similar, rebuild_index, search_archive
from councilbot.storage.db import session_scope
from councilbot.storage.models import PastAnswer

RECORD = {
    "ref": "R4-6-1",
    "session": "令和4年6月定例会",
    "date": "2022-06-14",
    "member": "青木 健一",
    "faction": "市民クラブ",
    "title": "避難所の運営について",
    "question": "避難所の運営体制について伺う。",
    "answer": "自主防災組織と協力して避難所を運営しております。",
    "department": "危機管理課",
    "answerer": "総務部長",
}


def count(settings):
    with session_scope(settings) as db:
        return db.scalar(select(func.count()).select_from(PastAnswer))


def test_jsonl_reimport_updates_instead_of_duplicating(settings, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(RECORD, ensure_ascii=False) + "\n", encoding="utf-8")
    with session_scope(settings) as db:
        assert import_file(db, settings, path).created == 1
    changed = dict(RECORD, answer="防災備蓄を拡充しております。")
    path.write_text(json.dumps(changed, ensure_ascii=False) + "\n", encoding="utf-8")
    with session_scope(settings) as db:
        report = import_file(db, settings, path)
    assert (report.created, report.updated) == (0, 1)
    assert count(settings) == 1
    with session_scope(settings) as db:
        hits = search_archive(db, settings, "備蓄")
        assert [h.ref for h in hits] == ["R4-6-1"]
        assert "【備蓄】" in hits[0].snippet
        assert search_archive(db, settings, "自主防災組織") == []


def _jsonl(path, lines):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _good(i):
    return json.dumps(dict(RECORD, ref=f"G-{i}"), ensure_ascii=False).encode("utf-8")


def test_bad_lines_are_all_reported_with_line_numbers_and_nothing_of_the_file_is_imported(settings, tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps(RECORD, ensure_ascii=False),
        "{broken",
        json.dumps({"question": "q"}),
        json.dumps(dict(RECORD, ref="R4-6-2", date="6月14日"), ensure_ascii=False),
        "",
        json.dumps(dict(RECORD, ref="R4-6-3"), ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as refused, session_scope(settings) as db:
        import_file(db, settings, path)
    report = refused.value.report
    assert [e.line for e in report.errors] == [2, 3, 4]
    assert "答弁" in report.errors[1].message and "日付" in report.errors[2].message
    assert "1件も取り込んでいません" in refused.value.message
    assert count(settings) == 0


BAD_LINES = {
    "invalid UTF-8": (b'{"question": "\xff\xfe", "answer": "a"}', "UTF-8"),
    "unpaired surrogate": (b'{"question": "\\ud800", "answer": "a"}', "サロゲート"),
    "10,000-deep nesting": (b"[" * 10_000 + b"]" * 10_000, "入れ子が深すぎます"),
}


@pytest.mark.parametrize("kind", BAD_LINES)
def test_a_bad_line_after_a_thousand_good_ones_refuses_the_whole_file_and_says_why(settings, tmp_path, cli, kind):
    bad, problem = BAD_LINES[kind]
    path = _jsonl(
        tmp_path / "history.jsonl", [*(_good(i) for i in range(1000)), bad, *(_good(i) for i in range(1000, 1200))]
    )
    result = cli(settings)("archive", "import", str(path))
    assert result.returncode == 1
    assert "history.jsonl 1001行目" in result.stderr and problem in result.stderr
    assert "1件も取り込んでいません" in result.stderr
    assert "予期しない" not in result.stderr and "Error" not in result.stderr
    assert count(settings) == 0
    with session_scope(settings) as db:
        assert search_archive(db, settings, "避難所") == []


def test_a_file_that_imports_is_reported_file_by_file_beside_one_that_does_not(settings, tmp_path, cli):
    good = _jsonl(tmp_path / "good.jsonl", [_good(1), _good(2)])
    bad = _jsonl(tmp_path / "bad.jsonl", [_good(3), b"{broken"])
    result = cli(settings)("archive", "import", str(good), str(bad))
    assert result.returncode == 1
    assert "good.jsonl: 新規 2件" in result.stdout
    assert "bad.jsonl 2行目" in result.stderr and "bad.jsonl" in result.stderr.splitlines()[-1]
    assert count(settings) == 2


def test_duplicate_refs_in_one_file_refuse_it_naming_both_lines(settings, tmp_path):
    path = _jsonl(
        tmp_path / "dup.jsonl",
        [_good(1), _good(2), json.dumps(dict(RECORD, ref="G-1", answer="別の答弁"), ensure_ascii=False).encode()],
    )
    with pytest.raises(ImportRefused) as refused, session_scope(settings) as db:
        import_file(db, settings, path)
    [error] = refused.value.report.errors
    assert error.line == 3 and "1行目" in error.message and "G-1" in error.message
    assert count(settings) == 0


def test_importing_the_same_file_again_counts_every_record_as_unchanged(settings, tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", [_good(1), _good(2)])
    with session_scope(settings) as db:
        assert import_file(db, settings, path).created == 2
    with session_scope(settings) as db:
        report = import_file(db, settings, path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_csv_names_the_line_it_cannot_decode_or_parse(settings, tmp_path):
    header = b"title,question,answer\n"
    row = "件名,問い,答弁です\n".encode()
    undecodable = tmp_path / "bytes.csv"
    undecodable.write_bytes(header + row * 3 + b"x,\x82 ,y\n" + row)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(header + row + b"a,b\x00,c\n")
    for path, line, problem in ((undecodable, 5, "読めない文字"), (nul, 3, "NUL")):
        with pytest.raises(ImportRefused) as refused, session_scope(settings) as db:
            import_file(db, settings, path)
        [error] = refused.value.report.errors
        assert error.line == line and problem in error.message
    assert count(settings) == 0


def test_csv_import_and_records_without_ref_are_idempotent(settings, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        'title,question,answer,department\n件名,"問い,その1",答弁です,市民課\n,,答弁のみ,\n', encoding="utf-8"
    )
    for _ in range(2):
        with pytest.raises(ImportRefused) as refused, session_scope(settings) as db:
            import_file(db, settings, path)
        assert [e.line for e in refused.value.report.errors] == [3]
    path.write_text('title,question,answer,department\n件名,"問い,その1",答弁です,市民課\n', encoding="utf-8")
    for _ in range(2):
        with session_scope(settings) as db:
            assert import_file(db, settings, path).imported == 1
    assert count(settings) == 1


def test_unsupported_file_is_refused(settings, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"x")
    with session_scope(settings) as db, pytest.raises(InvalidInput):
        import_file(db, settings, path)


def test_rolled_back_import_leaves_no_search_hit(settings):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), session_scope(settings) as db:
        import_records(db, settings, [RECORD])
        raise Boom
    with session_scope(settings) as db:
        assert search_archive(db, settings, "避難所") == []


def test_index_rebuild_restores_a_deleted_index(settings):
    with session_scope(settings) as db:
        import_records(
            db,
            settings,
            [
                RECORD,
                dict(
                    RECORD,
                    ref="R5-1",
                    title="学校給食",
                    question="給食費について伺う。",
                    answer="給食費の支援を行います。",
                    department="学校教育課",
                ),
            ],
        )
    import shutil

    shutil.rmtree(settings.index_dir)
    with session_scope(settings) as db:
        # A missing index is rebuilt from the database on first use.
        assert next(r.ref for r in find_similar(db, settings, "給食費の支援について伺う")) == "R5-1"
        assert rebuild_index(db, settings) == 2


def test_an_answer_book_with_one_bad_answer_is_refused_whole_naming_it(settings, tmp_path):
    import dataclasses

    from councilbot.adapters.word import render_answer_book
    from tests.word_samples import book

    content = book()
    first = content.members[0]
    too_long = dataclasses.replace(first.items[1], answer="お答えいたします。" * 6000)
    content.members[0] = dataclasses.replace(first, items=[first.items[0], too_long, *first.items[2:]])
    path = render_answer_book(content, tmp_path / "答弁書.docx")
    with pytest.raises(ImportRefused) as refused, session_scope(settings) as db:
        import_file(db, settings, path)
    [error] = refused.value.report.errors
    assert str(error).startswith("2件目: ") and "答弁" in error.message and "長すぎます" in error.message
    assert count(settings) == 0


def test_an_empty_or_unreadable_file_gets_its_own_line(settings, tmp_path, cli):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    result = cli(settings)("archive", "import", str(empty))
    assert result.returncode == 1 and "記録がありません" in result.stderr
    if os.geteuid() != 0:  # root reads every file
        locked = _jsonl(tmp_path / "locked.jsonl", [_good(1)])
        locked.chmod(0)
        result = cli(settings)("archive", "import", str(locked))
        assert result.returncode == 1 and "権限" in result.stderr and "予期しない" not in result.stderr
