"""The analysis workers of bulk index writes: results in order, and no worker outlives its parent."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from councilbot.search import workers
from councilbot.search.index import IndexDoc, WhooshIndex
from councilbot.search.workers import die_with_parent, parallel_map

ROOT = Path(__file__).parent.parent
needs_two_cores = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2 or not sys.platform.startswith("linux"),
    reason="workers start only on Linux with two cores or more",
)


@pytest.fixture
def only_thread(monkeypatch):
    """Workers are not forked beside other threads, and earlier tests in this process leave some
    (schedulers, embedding threads): these tests stand for a command running alone."""
    monkeypatch.setattr(workers.threading, "active_count", lambda: 1)


def square(x: int) -> int:
    return x * x


def pid_of_worker(_: int) -> int:
    return os.getpid()


def children(pid: int) -> set[int]:
    """Live children of every thread of ``pid``."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out.update(int(c) for c in (task / "children").read_text().split())
    return out


def gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by whoever inherited it counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return any(line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines())


def wait_gone(pids: set[int], timeout_s: float = 30.0) -> set[int]:
    """Poll until every process in ``pids`` has exited or the timeout passes; returns those still running."""
    deadline = time.monotonic() + timeout_s
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if not gone(pid)}
        if alive:
            time.sleep(0.01)
    return alive


@needs_two_cores
def test_results_come_back_in_input_order_from_worker_processes_that_are_gone_afterwards(only_thread):
    items = range(5000)  # more than two batches in flight
    with parallel_map(square, items, min_items=10) as results:
        assert list(results) == [x * x for x in items]
    with parallel_map(pid_of_worker, range(200), min_items=10) as results:
        started = children(os.getpid())
        pids = set(results)
    assert os.getpid() not in pids and pids <= started
    assert wait_gone(started) == set()


@needs_two_cores
def test_objects_are_left_out_of_collections_only_while_the_workers_live(only_thread):
    # Collections write to the objects they examine: while the workers share the parent's pages,
    # neither side's collections may touch what existed before the fork.
    assert gc.get_freeze_count() == 0
    with parallel_map(pid_of_worker, range(200), min_items=10) as results:
        assert gc.get_freeze_count() > 0
        assert os.getpid() not in set(results)
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a caller's own freeze stays
    try:
        with parallel_map(pid_of_worker, range(200), min_items=10) as results:
            list(results)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_beside_another_thread_the_work_stays_in_this_process():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with parallel_map(pid_of_worker, range(200), min_items=10) as results:
            assert set(results) == {os.getpid()}
    finally:
        stop.set()
        other.join()


def test_few_items_are_handled_in_this_process():
    with parallel_map(pid_of_worker, range(5), min_items=10) as results:
        assert set(results) == {os.getpid()}


def test_a_worker_whose_parent_is_already_gone_exits_at_start():
    # The parent died between fork and prctl: the worker was re-parented and must not run on.
    child = multiprocessing.get_context("fork").Process(target=die_with_parent, args=(os.getpid() + 1_000_000,))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 1


# The child's workers each leave their pid in a file from inside a task that never ends (a file each: two
# processes writing lines to one pipe may interleave); the child waits for a result.
KILLED_PARENT = (
    "from councilbot.search import workers\n"
    "from councilbot.search.workers import parallel_map\n"
    "from tests.test_search_workers import hang\n"
    "workers.MAX_WORKERS = 2  # more than one, each of which must go\n"
    "with parallel_map(hang, range(100), min_items=10) as results:\n"
    "    next(results)\n"
)


def hang(_: int) -> None:
    Path(os.environ["WORKER_PIDS"], str(os.getpid())).touch()
    threading.Event().wait()


def wait_for_files(folder: Path, count: int, timeout_s: float = 120.0) -> set[int]:
    """Poll until ``count`` pid files are in ``folder`` or the timeout passes; returns the pids seen."""
    deadline = time.monotonic() + timeout_s
    while len(seen := {int(p.name) for p in folder.iterdir()}) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen


@needs_two_cores
def test_workers_die_when_their_parent_is_killed(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT],
        cwd=ROOT,
        env={**os.environ, "WORKER_PIDS": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        pids = wait_for_files(tmp_path, 2)  # both workers are busy
        alive = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        try:
            _, err = proc.communicate(timeout=60)  # the pipe closes once the workers are gone too
        except subprocess.TimeoutExpired:
            err = b"(the workers still hold the child's stderr open)"
    assert alive and len(pids) == 2, err.decode(errors="replace")[-2000:]
    assert wait_gone(pids) == set()


DOCS = [
    IndexDoc(f"W-{i}", f"{topic}について（{i}）", f"{topic}の今後の取組を伺う。", f"{topic}を着実に進めてまいります。")
    for i, topic in enumerate(["学校給食費の無償化", "避難所の運営", "防犯カメラの設置", "公共交通の確保"] * 5)
]


@needs_two_cores
def test_an_index_written_with_workers_answers_as_one_written_in_this_process(tmp_path, monkeypatch, only_thread):
    inline = WhooshIndex(tmp_path / "inline")
    inline.rebuild(DOCS)
    monkeypatch.setattr(workers, "PARALLEL_MIN_ITEMS", 2)
    parallel = WhooshIndex(tmp_path / "parallel")
    parallel.rebuild(DOCS)
    assert parallel.update(DOCS[:5]) == 5
    inline.update(DOCS[:5])
    for query in ("給食", "避難所の運営", "防犯カメラ 設置", "バスの路線を確保してほしい。市の見解を伺う。"):
        assert parallel.search(query) == inline.search(query)
