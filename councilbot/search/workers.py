"""Worker processes for bulk index writes: text analysis in parallel, writing in the caller.

Analysis (Sudachi and the term views) is about half the work of indexing a
record and needs nothing but the record, so `archive import` and `index
rebuild` hand it to a forked process and write the segment in the
calling process, which alone holds the index lock and touches the index files.

A worker must never outlive its parent: it would keep a copy of the parent's
descriptors, the index writer lock's among them (issue 13: Whoosh's own
worker processes survived ``kill -9`` and kept the index locked). Each worker
asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``) and
exits at once if the parent is already gone; the pool is terminated when the
write ends, however it ends.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import multiprocessing.pool
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import chain, islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting processes costs more than it saves.
PARALLEL_MIN_ITEMS = 1000
# Items per task sent to the worker, and per batch queued: at most two batches are in flight, so memory
# stays bounded however long the input (Pool.imap alone would read all of it ahead). An analysed record
# is about 60 kB of postings in memory; two batches of four tasks keep the worker busy while the caller
# catches up (smaller tasks cost more in messages than they save).
TASK_ITEMS = 32
BATCH_ITEMS = 128
# One worker analyses while this process writes the segment. A second made a 100,000-answer import
# only about 15% faster on two cores, and every worker maps Sudachi's dictionary (about 160 MB resident)
# and holds its own heap: the processes' resident sets would then add up to over 700 MB instead of
# about 440 MB (bench/import_memory.py).
MAX_WORKERS = 1
PR_SET_PDEATHSIG = 1


def worker_count() -> int:
    """Analysis processes to start: MAX_WORKERS at most, one per core; none on a single core, where fork
    and prctl are missing, or beside other threads."""
    if not sys.platform.startswith("linux"):
        return 0
    # Forking a process that runs other threads can copy a lock one of them holds, and the child then
    # waits for ever: a Slack or web process catching up a large backlog analyses in-process instead.
    if threading.active_count() > 1:
        return 0
    cores = len(os.sched_getaffinity(0))
    return min(cores, MAX_WORKERS) if cores > 1 else 0


def die_with_parent(parent: int) -> None:
    """Pool initializer: the kernel kills this process when its parent dies (Linux), and a parent that died
    before that request took effect is noticed here (the process was re-parented)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle; it terminates the pool


@contextmanager
def parallel_map(fn: Callable[[T], R], items: Iterable[T], *, min_items: int | None = None) -> Iterator[Iterator[R]]:
    """``fn`` over ``items``, results in input order: in worker processes when there are at least
    ``min_items`` (default PARALLEL_MIN_ITEMS) items and more than one core, else in this process. ``fn``
    must be a module-level function. The workers are gone when the ``with`` block ends."""
    if min_items is None:
        min_items = PARALLEL_MIN_ITEMS
    items = iter(items)
    head = list(islice(items, min_items))
    workers = worker_count()
    if len(head) < min_items or not workers:
        yield map(fn, chain(head, items))
        return
    _release_free_memory()
    # The workers share the parent's pages until either side writes to one. A collection writes to every
    # object it examines, so the objects that exist now are left out of collections (both sides) while
    # the workers live: otherwise each worker soon holds a private copy of the parent's heap.
    frozen_by_caller = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            yield _ordered_results(pool, fn, chain(head, items))
        finally:
            pool.terminate()
            pool.join()
    finally:
        if not frozen_by_caller:  # a caller's own freeze (a server at start-up, say) is not ours to undo
            gc.unfreeze()


def _release_free_memory() -> None:
    """Collect garbage and hand free heap back to the system before forking, so that no worker starts with
    a copy of memory nobody uses (after a large database read, say)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)  # glibc; other C libraries have no such call
    except AttributeError:
        pass


def _ordered_results(pool: multiprocessing.pool.Pool, fn: Callable[[T], R], items: Iterator[T]) -> Iterator[R]:
    in_flight: deque[Iterator[R]] = deque()
    while batch := list(islice(items, BATCH_ITEMS)):
        in_flight.append(pool.imap(fn, batch, chunksize=TASK_ITEMS))
        if len(in_flight) > 1:
            yield from in_flight.popleft()
    while in_flight:
        yield from in_flight.popleft()
