"""Search and routing quality on a development set, beside a plain character-bigram BM25 baseline.

    python bench/search_quality.py [--devset bench/data/devset.jsonl]

The devset format is described in bench/build_devset.py (records, queries with
relevant refs and the expected division; optional ``{"kind": "department",
"name", "duties"}`` lines load an organisation for duties matching). Prints
recall@5, MRR@10 and routing top-1 for:

* product (+semantic) — the default configuration: lexical ranking fused with the semantic stage
  (``--embeddings`` picks the embedder; ``local`` is the bundled model);
* lexical only        — the same with ``EMBEDDINGS_PROVIDER=none``;
each as ``find_similar`` (the lookup intake, assignment and drafting use), ``search_archive``
(what ``councilbot search`` runs) and ``route_question`` (routing top-1 and top-3, on the halves
too, beside the division of the best ``find_similar`` hit alone);
and for the baseline: BM25 over raw character bigrams of title+question+answer, no
normalisation, no morphology; its routing is the top hit's division. Routing also prints the
median time per question. ``--show-misses`` lists search misses and routing misses; a routing miss
names the division the archive files its relevant answers under, so a label that disagrees with
the archive (the answer filed under a different current division) shows as such.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from councilbot.services.archive import import_records  # noqa: E402
from councilbot.services.routing import route_question  # noqa: E402
from councilbot.services.search import find_similar, search_archive  # noqa: E402
from councilbot.services.semantic import fill_vectors  # noqa: E402
from councilbot.settings import Settings  # noqa: E402
from councilbot.storage.db import ensure_schema, session_scope  # noqa: E402
from councilbot.storage.models import Department  # noqa: E402


def load(path: Path) -> tuple[list[dict], list[dict], list[dict]]:
    records, queries, departments = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            {"record": records, "query": queries, "department": departments}[item.pop("kind")].append(item)
    return records, queries, departments


class BigramBM25:
    """The baseline: raw character bigrams, Okapi BM25 (k1=1.2, b=0.75)."""

    def __init__(self, records: list[dict]) -> None:
        self.refs = [r["ref"] for r in records]
        self.docs = [Counter(self._bigrams(f"{r.get('title', '')}{r['question']}{r['answer']}")) for r in records]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / len(self.docs)
        self.df = Counter(t for d in self.docs for t in d)
        self.n = len(self.docs)

    @staticmethod
    def _bigrams(text: str) -> list[str]:
        chars = [c for c in text if not c.isspace()]
        return ["".join(chars[i : i + 2]) for i in range(len(chars) - 1)]

    def rank(self, text: str, k: int = 10) -> list[str]:
        q = set(self._bigrams(text))
        scores = []
        for i, d in enumerate(self.docs):
            s = 0.0
            for t in q:
                tf = d.get(t)
                if tf:
                    idf = math.log(1 + (self.n - self.df[t] + 0.5) / (self.df[t] + 0.5))
                    s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.avg))
            scores.append((s, i))
        scores.sort(reverse=True)
        return [self.refs[i] for s, i in scores[:k] if s > 0]


def metrics(ranked: list[list[str]], queries: list[dict]) -> tuple[float, float]:
    recall, mrr = 0.0, 0.0
    for refs, q in zip(ranked, queries):
        relevant = set(q["relevant"])
        recall += len(relevant & set(refs[:5])) / min(len(relevant), 5)
        mrr += next((1.0 / (i + 1) for i, r in enumerate(refs[:10]) if r in relevant), 0.0)
    return recall / len(queries), mrr / len(queries)


def devset_database(folder: str, records: list[dict], departments: list[dict]) -> Settings:
    """A database and index in ``folder`` holding the dev set's records and divisions; the stage off."""
    cfg = Settings(
        DATABASE_URL=f"sqlite:///{folder}/quality.db", INDEX_DIR=Path(folder) / "index", EMBEDDINGS_PROVIDER="none"
    )
    ensure_schema(cfg)
    with session_scope(cfg) as db:
        for d in departments:
            db.add(Department(name=d["name"], duties=d.get("duties", "")))
        db.flush()
        report = import_records(db, cfg, records)
    if report.errors:
        raise SystemExit(f"devset records rejected: {report.errors[:3]}")
    return cfg


def evaluate(cfg: Settings, queries: list[dict]) -> dict:
    """The product's rankings and routes for every query under one configuration."""
    with session_scope(cfg) as db:
        similar = [[r.ref for r in find_similar(db, cfg, q["text"], limit=10)] for q in queries]
        search = [[r.ref for r in search_archive(db, cfg, q["text"], limit=10)] for q in queries]
        routes, route_seconds = {}, []
        for i, q in enumerate(queries):
            if q.get("department"):
                started = time.perf_counter()
                routes[i] = route_question(db, cfg, q["text"], limit=3)
                route_seconds.append(time.perf_counter() - started)
    route_ok = {i: bool(r) and r[0].department == queries[i]["department"] for i, r in routes.items()}
    route_top3 = {i: queries[i]["department"] in [s.department for s in r] for i, r in routes.items()}
    return {
        "similar": similar,
        "search": search,
        "route_ok": route_ok,
        "route_top3": route_top3,
        "routes": {i: [(s.department, s.score) for s in r] for i, r in routes.items()},
        "route_ms": 1000 * statistics.median(route_seconds) if route_seconds else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Search and routing quality vs a bigram BM25 baseline")
    parser.add_argument("--devset", type=Path, default=ROOT / "data" / "devset.jsonl")
    parser.add_argument(
        "--embeddings",
        default="local",
        choices=["local", "openai", "azure", "none"],
        help="embedder for the semantic configuration (openai/azure read EMBEDDINGS_* and OPENAI_* "
        "from the environment); none measures the lexical product only",
    )
    parser.add_argument("--show-misses", action="store_true", help="list the queries the product ranks badly")
    args = parser.parse_args()
    records, queries, departments = load(args.devset)
    division_of = {r["ref"]: r.get("department") for r in records}

    systems: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lexical = devset_database(tmp, records, departments)
        systems["lexical only"] = evaluate(lexical, queries)
        if args.embeddings != "none":
            semantic = Settings(**{**lexical.model_dump(by_alias=True), "EMBEDDINGS_PROVIDER": args.embeddings})
            started = time.perf_counter()
            with session_scope(semantic) as db:
                filled = fill_vectors(db, semantic)
            elapsed = time.perf_counter() - started
            print(
                f"semantic stage: {args.embeddings}, {filled.embedded} records embedded in {elapsed:.1f} s "
                f"({filled.embedded / max(elapsed, 1e-9):.1f} records/s)"
            )
            systems["product (+semantic)"] = evaluate(semantic, queries)

    baseline = BigramBM25(records)
    base_ranked = [baseline.rank(q["text"]) for q in queries]
    routed = [i for i, q in enumerate(queries) if q.get("department")]
    base_route_ok = {
        i: bool(base_ranked[i]) and division_of[base_ranked[i][0]] == queries[i]["department"] for i in routed
    }

    def accuracy(ok: dict[int, bool], idx: list[int]) -> float:
        judged = [ok[i] for i in idx if i in ok]
        return sum(judged) / max(len(judged), 1)

    print(
        f"devset: {args.devset} — {len(departments)} divisions, {len(records)} records, {len(queries)} queries, "
        f"{len(routed)} with a division"
    )
    print(f"{'system':<32}{'recall@5':>10}{'MRR@10':>10}{'route top-1':>13}")
    for name, result in systems.items():
        r, m = metrics(result["similar"], queries)
        print(f"{name + ' (similar)':<32}{r:>10.3f}{m:>10.3f}{accuracy(result['route_ok'], routed):>13.3f}")
        r, m = metrics(result["search"], queries)
        print(f"{name + ' (search)':<32}{r:>10.3f}{m:>10.3f}{'':>13}")
    r, m = metrics(base_ranked, queries)
    print(f"{'baseline bigram BM25':<32}{r:>10.3f}{m:>10.3f}{accuracy(base_route_ok, routed):>13.3f}")

    # Routing beside the division of the product's best hit alone (as the archive gives it), on each half.
    print("\nrouting (suggestions must be current divisions; the archive also names renamed and other cities' ones):")
    print(f"{'system':<24}{'half':<8}{'n':>4}{'top-1':>8}{'top-3':>8}{'best hit':>10}")
    for name, result in systems.items():
        best_hit_ok = {
            i: bool(result["similar"][i]) and division_of[result["similar"][i][0]] == queries[i]["department"]
            for i in routed
        }
        for label, idx in (("all", routed), ("even", routed[0::2]), ("odd", routed[1::2])):
            print(
                f"{name:<24}{label:<8}{len(idx):>4}{accuracy(result['route_ok'], idx):>8.3f}"
                f"{accuracy(result['route_top3'], idx):>8.3f}{accuracy(best_hit_ok, idx):>10.3f}"
            )
        print(f"{name:<24}median routing time per question {result['route_ms']:.0f} ms")

    # Tune on one half, report on the other: a setting that only helps the half it was chosen on is overfitted.
    for name, result in systems.items():
        similar = result["similar"]
        print(f"\n{name} (similar) on two halves of the queries (even / odd positions):")
        for half in (0, 1):
            idx = list(range(half, len(queries), 2))
            r, m = metrics([similar[i] for i in idx], [queries[i] for i in idx])
            rb, mb = metrics([base_ranked[i] for i in idx], [queries[i] for i in idx])
            print(
                f"  {('even', 'odd')[half]:<16} n={len(idx):<4} recall@5 {r:.3f} (baseline {rb:.3f})  MRR@10 {m:.3f} "
                f"(baseline {mb:.3f})  route top-1 {accuracy(result['route_ok'], idx):.3f} "
                f"(baseline {accuracy(base_route_ok, idx):.3f})"
            )

    by_source: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(queries):
        by_source[q.get("source", "-")].append(i)
    for name, result in systems.items():
        similar = result["similar"]
        print(f"\n{name} (similar) by query source:")
        for source, idx in sorted(by_source.items()):
            r, m = metrics([similar[i] for i in idx], [queries[i] for i in idx])
            rb, mb = metrics([base_ranked[i] for i in idx], [queries[i] for i in idx])
            print(
                f"  {source:<16} n={len(idx):<4} recall@5 {r:.3f} (baseline {rb:.3f})  MRR@10 {m:.3f} (baseline {mb:.3f})"
            )
    if args.show_misses:
        for name, result in systems.items():
            print(f"\n{name} misses (right answer not first):")
            for refs, q in zip(result["similar"], queries):
                if not set(q["relevant"]) & set(refs[:1]):
                    print(f"  miss {q['id']} want {q['relevant']} got {refs[:3]} :: {q['text'][:50]}")
            print(f"\n{name} routing misses (expected division not first):")
            for i, ok in sorted(result["route_ok"].items()):
                if not ok:
                    q = queries[i]
                    got = ", ".join(f"{d} {s:.2f}" for d, s in result["routes"][i])
                    # The division the archive gives the relevant answers: a current name other than the label
                    # means the archive and the label disagree (a label ambiguity, not a routing error).
                    filed = ", ".join(sorted({str(division_of[ref]) for ref in q["relevant"]}))
                    print(
                        f"  route {q['id']} ({('even', 'odd')[routed.index(i) % 2]}) want {q['department']} "
                        f"got {got}; relevant filed under {filed} :: {q['text'][:60]}"
                    )


if __name__ == "__main__":
    from councilbot.app_context import ensure_context

    ensure_context()  # the application context the CLI would install
    main()
