"""Archive import: formats, idempotent upsert by ref, line-numbered errors, index kept in step."""

import json

import pytest
from sqlalchemy import func, select

from councilbot.errors import InvalidInput
from councilbot.services.archive import import_file, import_records
from councilbot.services.search import find_similar, rebuild_index, search_archive
from councilbot.storage.db import session_scope
from councilbot.storage.models import PastAnswer

RECORD = {"ref": "R4-6-1", "session": "令和4年6月定例会", "date": "2022-06-14", "member": "青木 健一",
          "faction": "市民クラブ", "title": "避難所の運営について", "question": "避難所の運営体制について伺う。",
          "answer": "自主防災組織と協力して避難所を運営しております。", "department": "危機管理課", "answerer": "総務部長"}


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


def test_bad_lines_are_reported_with_line_numbers_and_good_lines_import(settings, tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(RECORD, ensure_ascii=False), "{broken", json.dumps({"question": "q"}),
             json.dumps(dict(RECORD, ref="R4-6-2", date="6月14日"), ensure_ascii=False), "",
             json.dumps(dict(RECORD, ref="R4-6-3"), ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with session_scope(settings) as db:
        report = import_file(db, settings, path)
    assert report.created == 2
    assert [e.line for e in report.errors] == [2, 3, 4]
    assert "答弁" in report.errors[1].message and "日付" in report.errors[2].message


def test_csv_import_and_records_without_ref_are_idempotent(settings, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("title,question,answer,department\n件名,\"問い,その1\",答弁です,市民課\n,,答弁のみ,\n",
                    encoding="utf-8")
    for _ in range(2):
        with session_scope(settings) as db:
            report = import_file(db, settings, path)
        assert report.imported == 1 and [e.line for e in report.errors] == [3]
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
        from councilbot.services import archive

        archive._queue_for_index(db, settings, [archive._doc(archive.validate_record(RECORD))], mode="update")
        raise Boom
    with session_scope(settings) as db:
        assert search_archive(db, settings, "避難所") == []


def test_index_rebuild_restores_a_deleted_index(settings):
    with session_scope(settings) as db:
        import_records(db, settings, [RECORD, dict(RECORD, ref="R5-1", title="学校給食", question="給食費について伺う。",
                                                    answer="給食費の支援を行います。", department="学校教育課")])
    import shutil

    shutil.rmtree(settings.index_dir)
    with session_scope(settings) as db:
        # A missing index is rebuilt from the database on first use.
        assert [r.ref for r in find_similar(db, settings, "給食費の支援について伺う")][0] == "R5-1"
        assert rebuild_index(db, settings) == 2
