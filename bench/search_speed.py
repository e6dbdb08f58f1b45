"""Import rate, index size and query latency on large archives, beside SQLite FTS5 on the same data.

    python bench/search_speed.py [--sizes 20000,100000] [--queries 200]

Records are synthesised from real municipal text (the bundled sample archive
and ../shared/seeds): each record takes most of its sentences from one topic
source and a few from others, with numbers varied, so that term frequencies
look like an archive spanning many subjects rather than one repeated text.

For each size it prints: import rate through ``import_records`` (database +
index, records/s), index size, p50/p95 of warm keyword searches
(``search_archive``) and of similar-question lookups (``find_similar``); then
the same for SQLite FTS5 (trigram tokenizer; LIKE for terms under three
characters, which trigram cannot match).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from councilbot.search.analysis import morph_terms, normalize  # noqa: E402
from councilbot.services.archive import import_records  # noqa: E402
from councilbot.services.search import find_similar, search_archive  # noqa: E402
from councilbot.settings import Settings  # noqa: E402
from councilbot.storage.db import ensure_schema, session_scope  # noqa: E402

SAMPLE = ROOT.parent / "councilbot" / "sample_data"
SEEDS = ROOT.parent.parent / "shared" / "seeds"
_SENT = re.compile(r"(?<=。)")


def topics() -> list[dict]:
    """Topic sources: each sample archive record, and each paragraph-sized chunk of the seeds."""
    out = []
    for path in sorted(SAMPLE.glob("archive_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            sents = [s.strip() for s in _SENT.split(r["question"] + r["answer"]) if len(s.strip()) > 12]
            out.append({"title": r["title"], "sentences": sents, "department": r.get("department") or "企画課"})
    for path in sorted(SEEDS.glob("*.txt")):
        sents = [s.strip().replace("**", "") for s in _SENT.split(path.read_text(encoding="utf-8")) if 15 < len(s.strip()) < 220]
        for i in range(0, len(sents) - 8, 8):
            chunk = sents[i : i + 8]
            out.append({"title": chunk[0][:30], "sentences": chunk, "department": f"{path.stem[:3]}課"})
    return out


def synthesise(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    pool = topics()
    all_sents = [s for t in pool for s in t["sentences"]]
    members = [f"議員{i:02d} 太郎" for i in range(40)]
    factions = ["新政会", "市民クラブ", "公明党", "日本共産党", "無所属の会"]

    def vary(s: str) -> str:
        return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(0, 9)), s)

    records = []
    for i in range(n):
        t = rng.choice(pool)
        own = t["sentences"]
        question = "".join(vary(rng.choice(own)) for _ in range(2)) + "市の見解を伺う。"
        answer = "".join(vary(rng.choice(own)) for _ in range(rng.randint(3, 6)))
        answer += "".join(vary(rng.choice(all_sents)) for _ in range(rng.randint(1, 2)))
        year = rng.randint(2010, 2025)
        records.append({
            "ref": f"SYN-{i:06d}", "session": f"令和{max(year - 2018, 1)}年{rng.choice([3, 6, 9, 12])}月定例会",
            "date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "member": rng.choice(members),
            "faction": rng.choice(factions), "title": vary(t["title"]), "question": question, "answer": answer,
            "department": t["department"], "answerer": rng.choice(["市長", "副市長", "教育長", "総務部長"]),
        })
    return records


def keyword_queries(records: list[dict], k: int, seed: int = 11) -> list[str]:
    """1–2 content words from random titles: what staff type into a search box (some are one or two characters)."""
    rng = random.Random(seed)
    out = []
    while len(out) < k:
        words = [w for w in morph_terms(normalize(rng.choice(records)["title"])) if len(w) >= 2]
        if words:
            out.append(" ".join(rng.sample(words, min(len(words), rng.choice([1, 1, 2])))))
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, items) -> list[float]:
    for item in items[:20]:  # warm caches and searchers
        fn(item)
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fts5(records: list[dict], queries: list[str], similar_texts: list[str], tmp: Path) -> dict:
    con = sqlite3.connect(tmp / "fts.db")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(ref UNINDEXED, title, question, answer, tokenize='trigram')")
    t = time.perf_counter()
    con.executemany("INSERT INTO f VALUES (?,?,?,?)", [(r["ref"], r["title"], r["question"], r["answer"]) for r in records])
    con.commit()
    rate = len(records) / (time.perf_counter() - t)

    def terms(text: str) -> list[str]:
        return [w for w in normalize(text).split(" ") if w]

    def search(text: str) -> list:
        words = terms(text)
        long_words = [w for w in words if len(w) >= 3]
        short = [w for w in words if len(w) < 3]
        sql, args = "SELECT ref FROM f", []
        where = []
        if long_words:
            where.append("f MATCH ?")
            args.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long_words))
        for w in short:
            where.append("(title LIKE ? OR question LIKE ? OR answer LIKE ?)")
            args += [f"%{w}%"] * 3
        sql += " WHERE " + " AND ".join(where) + (" ORDER BY bm25(f)" if long_words else "") + " LIMIT 10"
        return con.execute(sql, args).fetchall()

    def similar(text: str) -> list:
        norm = normalize(text).replace(" ", "")
        grams = list(dict.fromkeys(norm[i : i + 3] for i in range(len(norm) - 2)))[:40]
        q = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
        return con.execute("SELECT ref FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 5", (q,)).fetchall()

    result = {"rate": rate, "size": (tmp / "fts.db").stat().st_size, "kw": timed(search, queries),
              "sim": timed(similar, similar_texts)}
    con.close()
    return result


def run(size: int, n_queries: int) -> None:
    records = synthesise(size)
    queries = keyword_queries(records, n_queries)
    rng = random.Random(3)
    similar_texts = [r["question"] for r in rng.sample(records, min(100, size))]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cfg = Settings(DATABASE_URL=f"sqlite:///{tmp}/speed.db", INDEX_DIR=tmp / "index")
        ensure_schema(cfg)
        t = time.perf_counter()
        with session_scope(cfg) as db:
            import_records(db, cfg, records)
        rate = size / (time.perf_counter() - t)
        with session_scope(cfg) as db:
            kw = timed(lambda q: search_archive(db, cfg, q, limit=10), queries)
            sim = timed(lambda q: find_similar(db, cfg, q, limit=5), similar_texts)
        index_mb = dir_size(tmp / "index") / 1e6
        segments = len(list((tmp / "index").glob("gen-*/*.seg")))
        f = fts5(records, queries, similar_texts, tmp)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n== {size:,} records ({n_queries} keyword queries, {len(similar_texts)} similar lookups;"
          f" {segments} index segments; load average {load} on {os.cpu_count()} cores)")
    print(f"{'':<26}{'import rec/s':>13}{'size MB':>9}{'kw p50':>9}{'kw p95':>9}{'sim p50':>9}{'sim p95':>9}")
    print(f"{'councilbot (Whoosh)':<26}{rate:>13.0f}{index_mb:>9.1f}{pct(kw, 50):>9.1f}{pct(kw, 95):>9.1f}"
          f"{pct(sim, 50):>9.1f}{pct(sim, 95):>9.1f}")
    print(f"{'SQLite FTS5 trigram':<26}{f['rate']:>13.0f}{f['size'] / 1e6:>9.1f}{pct(f['kw'], 50):>9.1f}"
          f"{pct(f['kw'], 95):>9.1f}{pct(f['sim'], 50):>9.1f}{pct(f['sim'], 95):>9.1f}")
    print("(latencies in ms; councilbot times include database hydration and snippets; FTS5 import excludes the app database)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Search speed vs SQLite FTS5")
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated archive sizes")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        run(size, args.queries)


if __name__ == "__main__":
    main()
