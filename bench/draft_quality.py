"""Offline draft quality on the development set, beside the offline drafter on main.

    python bench/draft_quality.py [--devset bench/data/devset.jsonl] [--embeddings none|local] [--show-misses]

For each dev-set question with a known past answer (``relevant``), the past answers
the product offers (``find_similar``, as ``draft`` does) are drafted from by

* now      — the offline drafter of this checkout;
* baseline — the offline drafter as it is on ``main`` (its source read with
             ``git show main:councilbot/domain/offline_draft.py``), same sources, same style guide;

and each draft is scored:

* right answer — the draft cites (draws on) one of the question's relevant past answers;
* key facts    — of the drafts that draw on a right answer whose text has dates, amounts or
                 counts, the share that keeps at least one of them;
* checker      — no error-level finding from the product's rule check (guard included);
* dated        — no word relative to the day a past answer was given (本定例会, 今回, 本年度, 昨年度, 現在 …)
                 copied as if said today.

``offered`` is the ceiling: the share of questions for which a right answer was offered at all.

The dev set's records carry no dates, but a city's archive always does, and the drafters
weigh recency. So the set is run twice: undated, and with each record given a date
(deterministic, from its ref, spread over 令和元年–令和7年) as an archive would have.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import re
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from search_quality import load  # noqa: E402

from councilbot.domain import offline_draft  # noqa: E402
from councilbot.domain.drafting import ChatMessage, DraftRequest  # noqa: E402
from councilbot.domain.rulecheck import check_answer  # noqa: E402
from councilbot.services.archive import import_records  # noqa: E402
from councilbot.services.drafting import grounding_source, split_citations  # noqa: E402
from councilbot.services.prompt_files import SHIPPED_PROMPTS, load_prompt_dir  # noqa: E402
from councilbot.services.search import find_similar  # noqa: E402
from councilbot.services.semantic import fill_vectors  # noqa: E402
from councilbot.settings import Settings  # noqa: E402
from councilbot.storage.db import ensure_schema, session_scope  # noqa: E402

KEY_FACT = re.compile(
    r"(?:令和|平成)?[0-9０-９][0-9０-９,，.．]*\s*(?:年度|年|か月|月|日|円|万円|億円|件|人|名|か所|校|台|%|％|パーセント|時間)"
)
RELATIVE_TO_ITS_DAY = re.compile(
    r"本定例会|今定例会|本議会|今議会|今回|本年度|今年度|昨年度|来年度|本年|昨年|来年|(?<!月)現在|(?<!月)現時点"
)
SOURCE_LIMIT = 5


def baseline_compose() -> Callable[[DraftRequest], list[str]]:
    """``compose`` of the offline drafter on main, loaded from git without touching the checkout."""
    source = subprocess.run(
        ["git", "show", "main:councilbot/domain/offline_draft.py"],
        cwd=ROOT.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("offline_on_main")
    exec(compile(source, "main:councilbot/domain/offline_draft.py", "exec"), module.__dict__)
    return module.compose


def dated(records: list[dict]) -> list[dict]:
    """Each record with a session date drawn from its ref (the same on every run)."""
    start, span = dt.date(2019, 6, 1), 6 * 365
    return [
        {
            **r,
            "date": (
                start + dt.timedelta(days=int(hashlib.sha256(r["ref"].encode()).hexdigest(), 16) % span)
            ).isoformat(),
        }
        for r in records
    ]


def score(drafts: list[tuple[dict, list[str], str, list]], prompts) -> dict[str, float]:  # type: ignore[no-untyped-def]
    instructions = prompts.instructions(answerer="市長")
    right = facts_kept = facts_total = clean = dated = 0
    for query, relevant_answers, text, offered in drafts:
        body, cited = split_citations(text)
        hit = bool(set(cited) & set(query["relevant"]))
        right += hit
        facts = {m.group() for answer in relevant_answers for m in KEY_FACT.finditer(answer)}
        if hit and facts:
            facts_total += 1
            facts_kept += any(f in body for f in facts)
        findings = check_answer(
            body,
            prompts.rules,
            question=query["text"],
            sources=[s.answer for s in offered],
            protected_texts=[instructions],
            guard=prompts.guard,
        )
        clean += not any(f.severity == "error" for f in findings)
        dated += not RELATIVE_TO_ITS_DAY.search(body)
    n = len(drafts) or 1
    return {
        "right answer": right / n,
        "key facts": facts_kept / (facts_total or 1),
        "checker": clean / n,
        "dated": dated / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Offline draft quality vs the offline drafter on main")
    parser.add_argument("--devset", type=Path, default=ROOT / "data" / "devset.jsonl")
    parser.add_argument(
        "--embeddings",
        default="none",
        choices=["none", "local"],
        help="semantic stage for the similar-answer lookup (none: lexical, fast; local: the product default)",
    )
    parser.add_argument("--show-misses", action="store_true", help="list questions whose draft misses the right answer")
    args = parser.parse_args()
    records, queries, _ = load(args.devset)
    queries = [q for q in queries if q.get("relevant")]
    print(
        f"dev set: {len(queries)} questions with a known past answer, {len(records)} past answers; "
        f"search: {'lexical' if args.embeddings == 'none' else 'lexical + semantic (' + args.embeddings + ')'}"
    )
    for label, archive in (("undated archive", records), ("dated archive", dated(records))):
        print(f"\n{label}")
        run_set(archive, queries, args.embeddings, args.show_misses)


def run_set(records: list[dict], queries: list[dict], embeddings: str, show_misses: bool) -> None:
    answers = {r["ref"]: r["answer"] for r in records}
    prompts = load_prompt_dir(SHIPPED_PROMPTS)
    composers = {"baseline (main)": baseline_compose(), "now": offline_draft.compose}
    drafts: dict[str, list] = {name: [] for name in composers}
    offered_right = 0
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Settings(
            DATABASE_URL=f"sqlite:///{tmp}/drafts.db", INDEX_DIR=Path(tmp) / "index", EMBEDDINGS_PROVIDER=embeddings
        )
        ensure_schema(cfg)
        with session_scope(cfg) as db:
            report = import_records(db, cfg, records)
            if report.errors:
                raise SystemExit(f"devset records rejected: {report.errors[:3]}")
            fill_vectors(db, cfg)
        with session_scope(cfg) as db:
            for query in queries:
                offered = [grounding_source(r) for r in find_similar(db, cfg, query["text"], limit=SOURCE_LIMIT)]
                offered_right += any(s.key in query["relevant"] for s in offered)
                topic = query["text"].split("、")[0][:40]
                request = DraftRequest(
                    (ChatMessage("user", query["text"]),),
                    topic,
                    query["text"],
                    "",
                    "市長",
                    tuple(offered),
                    prompts.style,
                )
                relevant_answers = [answers[ref] for ref in query["relevant"] if ref in answers]
                for name, compose in composers.items():
                    drafts[name].append((query, relevant_answers, "\n".join(compose(request)), offered))

    results = {name: score(items, prompts) for name, items in drafts.items()}
    print(
        f"offered (ceiling): a right answer among the {SOURCE_LIMIT} offered for {offered_right / len(queries):.1%} of questions"
    )
    names = list(results)
    print(f"{'':14}" + "".join(f"{n:>18}" for n in names))
    for metric in results[names[0]]:
        print(f"{metric:14}" + "".join(f"{results[n][metric]:>18.1%}" for n in names))
    if show_misses:
        for query, _, text, offered in drafts["now"]:
            _, cited = split_citations(text)
            if not set(cited) & set(query["relevant"]):
                print(
                    f"  miss {query['id']}: cited {cited}, relevant {query['relevant']}, offered {[s.key for s in offered]}"
                )


if __name__ == "__main__":
    from councilbot.app_context import ensure_context

    ensure_context()  # the application context the CLI would install
    main()
