"""``archive import --dry-run`` and ``--json`` for JSON Lines, CSV and answer books (SPEC §4.2)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from councilbot.storage.db import session_scope
from councilbot.storage.models import PastAnswer

RECORD = {
    "ref": "R4-6-1",
    "session": "令和4年6月定例会",
    "date": "2022/06/14",
    "member": "青木 健一",
    "title": "避難所の運営について",
    "question": "避難所の運営体制について伺う。",
    "answer": "自主防災組織と協力して避難所を運営しております。",
    "department": "危機管理課",
}


@pytest.fixture
def run(org, cli):
    return cli(org)


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "過去答弁.jsonl"
    lines = [
        json.dumps(RECORD, ensure_ascii=False),
        "{broken",
        json.dumps(dict(RECORD, ref="R4-6-2", title=""), ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def count(settings) -> int:
    with session_scope(settings) as db:
        return db.scalar(select(func.count()).select_from(PastAnswer))


def test_dry_run_json_shows_what_would_be_stored_and_writes_nothing(org, run, jsonl):
    result = run("archive", "import", str(jsonl), "--dry-run", "--json")
    document = json.loads(result.stdout)
    assert [r["ref"] for r in document["records"]] == ["R4-6-1", "R4-6-2"]
    assert document["records"][0]["date"] == "2022-06-14"  # as it would be stored
    assert document["records"][1]["title"] == "避難所の運営体制について伺う"  # the default title
    assert [s["line"] for s in document["skipped"]] == [2]
    assert document["counts"] == {"records": 2, "errors": 1, "created": 0, "updated": 0}
    assert result.returncode == 1 and result.stderr.count("\n") == 1  # a line to fix: said, nothing saved
    assert count(org) == 0


def test_dry_run_without_json_says_what_it_would_do(org, run, jsonl):
    result = run("archive", "import", str(jsonl), "--dry-run")
    assert "取り込める記録 2件、エラー 1件（確認のみ・保存していません）" in result.stdout
    assert "2行目" in result.stderr
    assert count(org) == 0


def test_json_import_of_a_file_with_a_broken_line_stores_nothing_and_names_the_line(org, run, jsonl):
    result = run("archive", "import", str(jsonl), "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 1  # the file goes in whole or not at all
    assert document["records"] == [] and document["counts"]["created"] == 0 and count(org) == 0
    assert [s["line"] for s in document["skipped"]] == [2]


def test_json_import_prints_the_records_as_stored(org, run, jsonl):
    jsonl.write_text(
        "\n".join(line for line in jsonl.read_text(encoding="utf-8").splitlines() if line != "{broken") + "\n",
        encoding="utf-8",
    )
    result = run("archive", "import", str(jsonl), "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 0
    assert document["counts"]["created"] == 2 and count(org) == 2
    assert document["records"][0] == {k: v for k, v in dict(RECORD, date="2022-06-14").items()}
