"""Progress of long work (issue 15): a bar with an estimate on a terminal, a plain line now and then
otherwise, and, when the work stops, what was kept and how to go on."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import func, select

from councilbot.adapters.cli.progress import ProgressDisplay, progress
from councilbot.storage.db import session_scope
from councilbot.storage.models import AnswerVector
from tests.fake_openai_server import FakeOpenAIServer, Reply
from tests.support import SAMPLE


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_a_line_at_most_every_interval_with_an_estimate_and_one_at_the_end():
    out, clock = io.StringIO(), Clock()
    display = ProgressDisplay("ベクトルを作成中", stream=out, interactive=False, interval=10.0, clock=clock)
    for done in range(1, 101):
        clock.now = done * 0.5  # half a second per answer: 50 s in all
        display(done, 100)
    display.finish()
    lines = out.getvalue().splitlines()
    assert lines == [
        "ベクトルを作成中 1/100件（1%）、残り約50秒",
        "ベクトルを作成中 21/100件（21%）、残り約40秒",
        "ベクトルを作成中 41/100件（41%）、残り約30秒",
        "ベクトルを作成中 61/100件（61%）、残り約20秒",
        "ベクトルを作成中 81/100件（81%）、残り約10秒",
        "ベクトルを作成中 100/100件（100%）",
    ]


def test_an_unknown_total_is_counted_without_an_estimate():
    out = io.StringIO()
    with progress("答弁.jsonl を取り込み中", stream=out, interactive=False, interval=0.0) as report:
        report(1000, None)
        report(1500, None)
    assert out.getvalue().splitlines() == ["答弁.jsonl を取り込み中 1,000件", "答弁.jsonl を取り込み中 1,500件"]


def test_on_a_terminal_a_bar_with_position_and_estimate():
    main_fd, terminal_fd = os.openpty()
    with os.fdopen(terminal_fd, "w", encoding="utf-8") as terminal:
        display = ProgressDisplay("検索索引を作り直し中", stream=terminal)
        assert display.interactive
        for done in (500, 1000, 1200):
            display(done, 1200)
        display.finish()
        terminal.flush()
    # One read returns whatever the pty has passed on so far; with the terminal side closed,
    # reading until the end (EIO on Linux) gets everything that was written.
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    shown = b"".join(chunks).decode("utf-8")
    assert "検索索引を作り直し中" in shown
    assert "#" in shown and "1200/1200" in shown


def test_work_that_stops_says_how_far_it_got_and_how_to_go_on():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with progress(
            "ベクトルを作成中",
            resume="`councilbot index rebuild` で続きから作成します。",
            stream=out,
            interactive=False,
        ) as report:
            report(64, 243)
            raise KeyboardInterrupt
    assert out.getvalue().splitlines()[-1] == (
        "ベクトルを作成中に中断しました（64件まで処理）。`councilbot index rebuild` で続きから作成します。"
    )


def test_index_rebuild_reports_progress_on_stderr_and_keeps_stdout_for_results(cli, settings, monkeypatch):
    run = cli(settings)
    assert run("archive", "import", str(SAMPLE / "archive_1.jsonl"), "--no-vectors").returncode == 0
    monkeypatch.setenv("EMBEDDINGS_PROVIDER", "none")
    from councilbot.settings import get_settings

    get_settings.cache_clear()
    result = run("index", "rebuild")
    assert result.returncode == 0
    assert result.stdout == "検索索引を作り直しました（125件）。\n"
    assert result.stderr.splitlines() == ["検索索引を作り直し中 125/125件（100%）"]


def test_a_vector_fill_that_fails_midway_keeps_its_batches_and_says_to_rerun_index_rebuild(cli, settings, monkeypatch):
    with FakeOpenAIServer() as server:
        for name, value in {
            "EMBEDDINGS_PROVIDER": "openai",
            "EMBEDDINGS_MODEL": "city-embed",
            "EMBEDDINGS_BASE_URL": server.base_url,
            "LLM_MAX_RETRIES": "0",
        }.items():
            monkeypatch.setenv(name, value)
        run = cli(settings)
        monkeypatch.setenv("EMBEDDINGS_PROVIDER", "openai")  # cli() set the fixture's own provider
        from councilbot.settings import get_settings

        get_settings.cache_clear()
        assert run("archive", "import", str(SAMPLE / "archive_1.jsonl"), "--no-vectors").returncode == 0
        server.queue(Reply(text=""), Reply(status=500))  # the second batch of 32 fails
        result = run("index", "rebuild")
    assert result.returncode == 1
    assert (
        "意味検索用のベクトルを作成中に中断しました（32件まで処理）。作成済みのベクトルは保存されています。"
        "`councilbot index rebuild` を実行すると、残りを続きから作成します。" in result.stderr
    )
    with session_scope(settings) as db:
        assert db.scalar(select(func.count()).select_from(AnswerVector)) == 32


def test_work_refused_before_it_begins_gets_no_resume_line():
    out = io.StringIO()
    with pytest.raises(ValueError):
        with progress("答弁書を作成中", resume="もう一度出力してください。", stream=out, interactive=False):
            raise ValueError("bad input")
    assert out.getvalue() == ""


def test_a_stop_during_the_index_catch_up_after_the_commit_says_the_records_are_in(cli, settings, monkeypatch):
    import councilbot.services.archive as archive
    from councilbot.storage.models import IndexQueueEntry, PastAnswer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(archive, "catch_up_index", interrupted)
    run = cli(settings)
    result = run("archive", "import", str(SAMPLE / "archive_1.jsonl"), "--no-vectors")
    assert result.returncode != 0
    err = result.stderr
    assert "1件も取り込んでいません" not in err
    assert "archive_1.jsonl の取り込みは完了しています。" in err
    with session_scope(settings) as db:
        assert db.scalar(select(func.count()).select_from(PastAnswer)) == 125
        assert db.scalar(select(func.count()).select_from(IndexQueueEntry)) == 125  # the index catches up later


def test_bad_input_met_during_the_work_is_a_refusal_with_no_resume_line():
    from councilbot.errors import InvalidInput

    out = io.StringIO()
    with pytest.raises(InvalidInput):
        with progress(
            "答弁書を作成中", resume="もう一度出力してください。", stream=out, interactive=False, clock=Clock()
        ) as report:
            report(3, 10)
            raise InvalidInput("4項目めの答弁が空です。")
    assert "中断" not in out.getvalue() and out.getvalue().splitlines() == ["答弁書を作成中 3/10件（30%）"]
