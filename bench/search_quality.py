"""Search and routing quality on a development set, beside a plain character-bigram BM25 baseline.

    python bench/search_quality.py [--devset bench/data/devset.jsonl]

The devset format is described in bench/build_devset.py (records, queries with
relevant refs and the expected division; optional ``{"kind": "department",
"name", "duties"}`` lines load an organisation for duties matching). Prints
recall@5, MRR@10 and routing top-1 for:

* product/similar — ``find_similar`` (the lookup intake, assignment and drafting use);
* product/search  — ``search_archive`` (what ``councilbot search`` runs);
* product/route   — ``route_question`` (routing only; on the halves too, beside the baseline's);
* baseline        — BM25 over raw character bigrams of title+question+answer, no
  normalisation, no morphology; its routing is the top hit's division.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from councilbot.services.archive import import_records  # noqa: E402
from councilbot.services.routing import route_question  # noqa: E402
from councilbot.services.search import find_similar, search_archive  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Search and routing quality vs a bigram BM25 baseline")
    parser.add_argument("--devset", type=Path, default=ROOT / "data" / "devset.jsonl")
    parser.add_argument("--show-misses", action="store_true", help="list the queries the product ranks badly")
    args = parser.parse_args()
    records, queries, departments = load(args.devset)
    division_of = {r["ref"]: r.get("department") for r in records}

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Settings(DATABASE_URL=f"sqlite:///{tmp}/quality.db", INDEX_DIR=Path(tmp) / "index")
        ensure_schema(cfg)
        with session_scope(cfg) as db:
            for d in departments:
                db.add(Department(name=d["name"], duties=d.get("duties", "")))
            db.flush()
            report = import_records(db, cfg, records)
        if report.errors:
            raise SystemExit(f"devset records rejected: {report.errors[:3]}")
        with session_scope(cfg) as db:
            similar = [[r.ref for r in find_similar(db, cfg, q["text"], limit=10)] for q in queries]
            search = [[r.ref for r in search_archive(db, cfg, q["text"], limit=10)] for q in queries]
            routes = {i: route_question(db, cfg, q["text"], limit=1) for i, q in enumerate(queries) if q.get("department")}
    route_ok = {i: bool(r) and r[0].department == queries[i]["department"] for i, r in routes.items()}

    baseline = BigramBM25(records)
    base_ranked = [baseline.rank(q["text"]) for q in queries]
    base_route_ok = {i: bool(base_ranked[i]) and division_of[base_ranked[i][0]] == queries[i]["department"] for i in routes}

    def accuracy(ok: dict[int, bool], idx: list[int]) -> float:
        judged = [ok[i] for i in idx if i in ok]
        return sum(judged) / max(len(judged), 1)

    route_acc, base_route = accuracy(route_ok, list(routes)), accuracy(base_route_ok, list(routes))

    print(f"devset: {args.devset} — {len(records)} records, {len(queries)} queries, {len(routes)} with a division")
    print(f"{'system':<22}{'recall@5':>10}{'MRR@10':>10}{'route top-1':>13}")
    r, m = metrics(similar, queries)
    print(f"{'product (similar)':<22}{r:>10.3f}{m:>10.3f}{route_acc:>13.3f}")
    r, m = metrics(search, queries)
    print(f"{'product (search)':<22}{r:>10.3f}{m:>10.3f}{'':>13}")
    r, m = metrics(base_ranked, queries)
    print(f"{'baseline bigram BM25':<22}{r:>10.3f}{m:>10.3f}{base_route:>13.3f}")

    # Tune on one half, report on the other: a setting that only helps the half it was chosen on is overfitted.
    print("\nproduct (similar) on two halves of the queries (even / odd positions):")
    for half in (0, 1):
        idx = list(range(half, len(queries), 2))
        r, m = metrics([similar[i] for i in idx], [queries[i] for i in idx])
        rb, mb = metrics([base_ranked[i] for i in idx], [queries[i] for i in idx])
        print(f"  {('even', 'odd')[half]:<16} n={len(idx):<4} recall@5 {r:.3f} (baseline {rb:.3f})  MRR@10 {m:.3f} (baseline {mb:.3f})"
              f"  route top-1 {accuracy(route_ok, idx):.3f} (baseline {accuracy(base_route_ok, idx):.3f})")

    by_source: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(queries):
        by_source[q.get("source", "-")].append(i)
    print("\nproduct (similar) by query source:")
    for source, idx in sorted(by_source.items()):
        r, m = metrics([similar[i] for i in idx], [queries[i] for i in idx])
        rb, mb = metrics([base_ranked[i] for i in idx], [queries[i] for i in idx])
        print(f"  {source:<16} n={len(idx):<4} recall@5 {r:.3f} (baseline {rb:.3f})  MRR@10 {m:.3f} (baseline {mb:.3f})")
    if args.show_misses:
        for refs, q in zip(similar, queries):
            if not set(q["relevant"]) & set(refs[:1]):
                print(f"  miss {q['id']} want {q['relevant']} got {refs[:3]} :: {q['text'][:50]}")


if __name__ == "__main__":
    main()
