"""Command start-up: ``councilbot --help`` and cold ``search`` / ``route`` on the sample archive.

    .venv/bin/python bench/startup.py [--runs 5] [--compare main]

Each command runs in a fresh process (nothing cached in memory, as a user runs it), the
commands taken in turn for ``--runs`` rounds, beside ``python -c pass`` measured in the same
rounds (the floor any command pays). Prints the median wall time and the median CPU time
(user + system) of each, and what it costs above the floor. Targets (issue 15): ``--help``
under 0.3 s, a cold ``search`` or ``route`` under 1 s, above ``python -c pass``.

``--compare REV`` also runs the same commands with the code of git revision REV (exported to
a temporary folder, same virtual environment, same database), interleaved with the rest.
The semantic stage is as configured by default (on); the keyword searched matches, so, as
for most searches, the model is not needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "councilbot" / "sample_data"
# Runs `councilbot` from the source folder in argv[1], whatever the editable install points at.
LAUNCHER = (
    "import sys; src = sys.argv.pop(1); "
    "sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '__module__', '').startswith('__editable__')]; "
    "sys.path.insert(0, src); import councilbot.adapters.cli as cli; sys.argv[0] = 'councilbot'; "
    "getattr(cli, 'console_main', cli.main)()"
)
COMMANDS = {
    "councilbot --help": ["--help"],
    "councilbot search 避難所": ["search", "避難所", "--limit", "5"],
    "councilbot route 学校給食費…": ["route", "学校給食費の無償化について伺う"],
}
TARGETS = {"councilbot --help": 0.3, "councilbot search 避難所": 1.0, "councilbot route 学校給食費…": 1.0}


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run; the command must succeed."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{argv} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def export_revision(rev: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "councilbot"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description="Command start-up times beside python -c pass")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", metavar="REV", help="also measure the code of this git revision")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "INDEX_DIR": f"{tmp}/index",
            "PROMPTS_DIR": str(ROOT / "councilbot" / "prompts"),
            "EXPORT_DIR": f"{tmp}/exports",
        }
        setup_env = {**env, "EMBEDDINGS_PROVIDER": "none"}  # the vectors play no part in what is timed
        here = [sys.executable, "-c", LAUNCHER, str(ROOT)]
        subprocess.run([*here, "org", "load", str(SAMPLE / "org.yaml")], env=setup_env, check=True, capture_output=True)
        subprocess.run(
            [*here, "archive", "import", *map(str, sorted(SAMPLE.glob("archive_*.jsonl")))],
            env=setup_env,
            check=True,
            capture_output=True,
        )

        sources = {"this tree": str(ROOT)}
        if args.compare:
            sources[args.compare] = str(export_revision(args.compare, Path(tmp) / "compare"))
        for src in sources.values():  # as after `make venv` (`make bytecode`), whatever PYTHONDONTWRITEBYTECODE says
            subprocess.run([sys.executable, "-m", "compileall", "-q", f"{src}/councilbot"], check=True)
        jobs = {("floor", "python -c pass"): [sys.executable, "-c", "pass"]}
        for label, src in sources.items():
            for name, argv in COMMANDS.items():
                jobs[(label, name)] = [sys.executable, "-c", LAUNCHER, src, *argv]
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in jobs}
        for argv in jobs.values():  # one warm-up each: the page cache, not the process, is warmed
            run(argv, env)
        load = os.getloadavg()[0]
        for _ in range(args.runs):
            for key, argv in jobs.items():
                samples[key].append(run(argv, env))

    def medians(key: tuple[str, str]) -> tuple[float, float]:
        return (statistics.median(w for w, _ in samples[key]), statistics.median(c for _, c in samples[key]))

    floor_wall, floor_cpu = medians(("floor", "python -c pass"))
    print(
        f"start-up: median of {args.runs} runs, commands taken in turn; {os.cpu_count()} cores,"
        f" load average {load:.1f} at start; sample archive (243 answers), semantic stage on"
    )
    print(f"{'code':<12}{'command':<30}{'wall s':>8}{'CPU s':>8}{'wall-pass':>11}{'CPU-pass':>10}{'target':>9}")
    print(f"{'':<12}{'python -c pass (baseline)':<30}{floor_wall:>8.2f}{floor_cpu:>8.2f}")
    for label in sources:
        for name in COMMANDS:
            wall, cpu = medians((label, name))
            print(
                f"{label:<12}{name:<30}{wall:>8.2f}{cpu:>8.2f}{wall - floor_wall:>11.2f}{cpu - floor_cpu:>10.2f}"
                f"{'< ' + str(TARGETS[name]):>9}"
            )


if __name__ == "__main__":
    main()
