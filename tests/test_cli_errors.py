"""The command line's contract (SPEC §4.2): bad input gives one Japanese line on stderr,
a non-zero exit and no traceback; ``--json`` gives one JSON document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import DATA, SAMPLE, workspace_settings


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "INDEX_DIR": str(tmp_path / "index"),
        "EXPORT_DIR": str(tmp_path / "exports"),
        "LLM_PROVIDER": "offline",
    }


@pytest.fixture
def run(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)  # relative paths in the commands resolve here
    return cli(workspace_settings(f"sqlite:///{tmp_path}/cli.db", tmp_path))


@pytest.fixture
def workspace(run):
    assert run("org", "load", str(DATA / "org_small.yaml")).returncode == 0
    assert run("archive", "import", str(SAMPLE / "archive_1.jsonl")).returncode == 0
    return run


def _one_japanese_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("エラー: ")
    return lines[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("draft", "R8-12-99-1"), "見つかりません"),
        (("org", "load", "nothere.yaml"), "見つかりません"),
        (("intake", "import", "nothere.txt"), "見つかりません"),
        (("search", ""), "検索する語句"),
        (("export", "--session", "令和9年3月定例会"), "見つかりません"),
        (("export", "--by", "faction"), "コマンドの指定に誤り"),
        (("no-such-command",), "コマンドの指定に誤り"),
        (("status", "十二月議会"), "見つかりません"),
    ],
)
def test_bad_input_is_one_japanese_line_without_traceback(workspace, args, expected):
    assert expected in _one_japanese_line(workspace(*args))


def test_archive_import_of_a_file_that_is_not_a_docx(workspace, tmp_path):
    fake = tmp_path / "答弁書.docx"
    fake.write_text("Wordではない", encoding="utf-8")
    assert "答弁書.docx" in _one_japanese_line(workspace("archive", "import", str(fake)))


def test_json_outputs_are_single_documents_in_the_spec_shape(workspace):
    search = json.loads(workspace("search", "避難所", "--json").stdout)
    assert search["query"] == "避難所" and search["results"]
    assert set(search["results"][0]) >= {
        "ref",
        "key",
        "score",
        "title",
        "session",
        "member",
        "department",
        "answerer",
        "snippet",
    }
    route = json.loads(workspace("route", "避難所における女性への配慮について伺う", "--json").stdout)
    top = route["suggestions"][0]
    assert set(top) >= {"department", "score", "evidence"} and top["department"] == "危機管理課"


def test_the_console_script_itself_reports_errors_the_same_way(tmp_path):
    env = {**os.environ, **_env(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "councilbot", "draft", "Q-1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert "見つかりません" in _one_japanese_line(result)
