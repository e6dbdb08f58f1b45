"""Peak memory and records/s of `archive import` and `index rebuild`, beside SQLite FTS5 in the same run.

    python bench/import_memory.py [--records 100000] [--baseline REV]

Writes a JSON Lines archive of synthetic records (bench/search_speed.py's
generator: real municipal sentences), then runs, each as its own process on a
fresh workspace (keyword search only, EMBEDDINGS_PROVIDER=none):

- ``councilbot archive import FILE`` (database + index),
- ``councilbot index rebuild``,
- SQLite FTS5 (trigram) loading the same file, streamed in chunks: the baseline.

Memory is the peak of the resident set summed over the process and all its
descendants (sampled every 50 ms from /proc, so worker processes count; forked
workers share most pages with their parent, which this sum counts in each),
the peak of the same sum of proportional sets (PSS: each shared page split
between its sharers), and the peak of the largest single process (the
kernel's high-water mark, exact).
``--baseline REV`` runs the same two commands on the code of git revision REV
(e.g. ``main``) first, for before/after figures from one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from search_speed import synthesise  # noqa: E402

FTS5_LOAD = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[2])
con.execute("CREATE VIRTUAL TABLE f USING fts5(ref UNINDEXED, title, question, answer, tokenize='trigram')")
chunk = []
with open(sys.argv[1], encoding="utf-8") as fh:
    for line in fh:
        r = json.loads(line)
        chunk.append((r["ref"], r["title"], r["question"], r["answer"]))
        if len(chunk) == 1000:
            con.executemany("INSERT INTO f VALUES (?,?,?,?)", chunk)
            chunk = []
con.executemany("INSERT INTO f VALUES (?,?,?,?)", chunk)
con.commit()
"""


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """Resident and proportional set (shared pages split between their sharers) of ``root`` and every
    descendant, in kB (0 once they are gone)."""
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/smaps_rollup").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        rss += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Rss:")), 0)
        pss += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Pss:")), 0)
        todo += [int(c) for c in children]
    return rss, pss


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, float, float]:
    """(seconds, CPU seconds of the process and its workers, peak MB of the process tree's resident sets,
    peak MB of its proportional sets, peak MB of the largest process) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.wait(0.05):
            rss, pss = _tree_memory_kb(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    largest = usage.ru_maxrss / 1024  # kB on Linux; includes the children it waited for
    return seconds, usage.ru_utime + usage.ru_stime, max(peak / 1024, largest), max(peak_pss / 1024, largest), largest


def councilbot_runs(
    source: Path, n: int, work: Path, code: Path
) -> dict[str, tuple[float, float, float, float, float]]:
    work.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work}/bench.db",
        "INDEX_DIR": str(work / "index"),
        "EXPORT_DIR": str(work / "exports"),
        "EMBEDDINGS_PROVIDER": "none",
        "PYTHONPATH": str(code),
    }
    python = [sys.executable, "-m", "councilbot"]
    return {
        "archive import": measure([*python, "archive", "import", str(source)], env, code),
        "index rebuild": measure([*python, "index", "rebuild"], env, code),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline", help="git revision to measure first (e.g. main)")
    args = parser.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        source = tmp / "archive.jsonl"
        with open(source, "w", encoding="utf-8") as fh:
            for record in synthesise(n):
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        rows: list[tuple[str, str, float, float, float, float, float]] = []
        if args.baseline:
            old = tmp / "baseline-code"
            old.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.baseline], cwd=ROOT.parent, check=True, capture_output=True
            )
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
            for stage, m in councilbot_runs(source, n, tmp / "baseline", old).items():
                rows.append((f"{args.baseline}", stage, *m))
        for stage, m in councilbot_runs(source, n, tmp / "current", ROOT.parent).items():
            rows.append(("this tree", stage, *m))
        fts = measure([sys.executable, "-c", FTS5_LOAD, str(source), str(tmp / "fts.db")], dict(os.environ), tmp)
        rows.append(("SQLite FTS5", "trigram load", *fts))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\n== {n:,} records (load average {load} on {os.cpu_count()} cores;"
        " target: under 500 MB at 100,000 records, in each memory column)"
    )
    print(
        f"{'code':<14}{'stage':<16}{'records/s':>10}{'seconds':>9}{'CPU s':>8}"
        f"{'peak MB':>9}{'peak PSS MB':>12}{'largest MB':>11}"
    )
    for code, stage, seconds, cpu, peak, pss, largest in rows:
        print(
            f"{code:<14}{stage:<16}{n / seconds:>10.0f}{seconds:>9.1f}{cpu:>8.1f}"
            f"{peak:>9.0f}{pss:>12.0f}{largest:>11.0f}"
        )
    print(
        "(peak: resident set of the process and its workers together, pages they share counted in each;"
        " peak PSS: the same with each shared page split between its sharers, the memory they really use;"
        " seconds include start-up; CPU s: user + system of the process and its workers, which a busy"
        " machine stretches less than seconds)"
    )


if __name__ == "__main__":
    main()
