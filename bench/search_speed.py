"""Import rate, index size and query latency on large archives, beside SQLite FTS5 on the same data.

    python bench/search_speed.py [--sizes 20000,100000] [--queries 200] [--no-semantic]

Records are synthesised from real municipal text (the bundled sample archive
and ../shared/seeds): each record takes most of its sentences from one topic
source and a few from others, with numbers varied, so that term frequencies
look like an archive spanning many subjects rather than one repeated text.

For each size it prints: import rate through ``import_records`` (database +
index, records/s), index size, p50/p95 of warm keyword searches
(``search_archive``) and of similar-question lookups (``find_similar``); then
the same for SQLite FTS5 (trigram tokenizer; LIKE for terms under three
characters, which trigram cannot match).

Then, unless ``--no-semantic``, the optional semantic stage (EMBEDDINGS_PROVIDER=local):
passage embedding throughput of the bundled USE multilingual v3 on ~100
records (and the hours that means for the archive), query embedding latency,
and similar-question lookups with the semantic stage on. Embedding the whole
archive for real would take hours, so every record gets a synthetic random
unit vector, stored as ``fill_vectors`` stores them: those lookups measure
latency and memory only, never quality (bench/search_quality.py does that).
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

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from sqlalchemy import delete, insert, select  # noqa: E402

from councilbot.search.analysis import morph_terms, normalize  # noqa: E402
from councilbot.services import semantic  # noqa: E402
from councilbot.services.archive import import_records  # noqa: E402
from councilbot.services.context import current_context  # noqa: E402
from councilbot.services.search import find_similar, search_archive  # noqa: E402
from councilbot.settings import Settings  # noqa: E402
from councilbot.storage.db import ensure_schema, session_scope  # noqa: E402
from councilbot.storage.models import AnswerVector, PastAnswer  # noqa: E402

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
        sents = [
            s.strip().replace("**", "")
            for s in _SENT.split(path.read_text(encoding="utf-8"))
            if 15 < len(s.strip()) < 220
        ]
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
        records.append(
            {
                "ref": f"SYN-{i:06d}",
                "session": f"令和{max(year - 2018, 1)}年{rng.choice([3, 6, 9, 12])}月定例会",
                "date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "member": rng.choice(members),
                "faction": rng.choice(factions),
                "title": vary(t["title"]),
                "question": question,
                "answer": answer,
                "department": t["department"],
                "answerer": rng.choice(["市長", "副市長", "教育長", "総務部長"]),
            }
        )
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
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


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
    con.executemany(
        "INSERT INTO f VALUES (?,?,?,?)", [(r["ref"], r["title"], r["question"], r["answer"]) for r in records]
    )
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

    result = {
        "rate": rate,
        "size": (tmp / "fts.db").stat().st_size,
        "kw": timed(search, queries),
        "sim": timed(similar, similar_texts),
    }
    con.close()
    return result


def run(size: int, n_queries: int, with_semantic: bool = True) -> None:
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
        sem = semantic_lookups(cfg, records, similar_texts) if with_semantic else None
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\n== {size:,} records ({n_queries} keyword queries, {len(similar_texts)} similar lookups;"
        f" {segments} index segments; load average {load} on {os.cpu_count()} cores)"
    )
    print(f"{'':<26}{'import rec/s':>13}{'size MB':>9}{'kw p50':>9}{'kw p95':>9}{'sim p50':>9}{'sim p95':>9}")
    print(
        f"{'councilbot (Whoosh)':<26}{rate:>13.0f}{index_mb:>9.1f}{pct(kw, 50):>9.1f}{pct(kw, 95):>9.1f}"
        f"{pct(sim, 50):>9.1f}{pct(sim, 95):>9.1f}"
    )
    print(
        f"{'SQLite FTS5 trigram':<26}{f['rate']:>13.0f}{f['size'] / 1e6:>9.1f}{pct(f['kw'], 50):>9.1f}"
        f"{pct(f['kw'], 95):>9.1f}{pct(f['sim'], 50):>9.1f}{pct(f['sim'], 95):>9.1f}"
    )
    print(
        "(latencies in ms; councilbot times include database hydration and snippets; FTS5 import excludes the app database)"
    )
    if sem is not None:
        print_semantic(size, similar_texts, sem)


# ---- semantic stage (EMBEDDINGS_PROVIDER=local) ---------------------------------

DIM = 512  # USE multilingual v3
_embedding_stats: dict = {}  # measured once per process, reused for every size


def embedding_stats(records: list[dict], query_texts: list[str]) -> dict:
    """Passage throughput on ~100 records (batches of FILL_BATCH, as fill_vectors sends them) and query latency."""
    if _embedding_stats:
        return _embedding_stats
    from councilbot.adapters.embeddings import LocalEmbedder

    embedder = LocalEmbedder()
    t = time.perf_counter()
    embedder.embed(["市の見解を伺う。"], kind="query")  # loads the model
    load_s = time.perf_counter() - t
    sample = random.Random(5).sample(records, min(100, len(records)))
    passages = [semantic.passage_text(r["title"], r["question"], r["answer"]) for r in sample]
    t = time.perf_counter()
    for start in range(0, len(passages), semantic.FILL_BATCH):
        embedder.embed(passages[start : start + semantic.FILL_BATCH], kind="passage")
    passage_rate = len(passages) / (time.perf_counter() - t)
    queries = [q.strip()[: semantic.QUERY_MAX_CHARS] for q in query_texts[:50]]  # as semantic_ranking sends them
    query_ms = timed(lambda q: embedder.embed([q], kind="query"), queries)
    _embedding_stats.update(
        load_s=load_s,
        passages=len(passages),
        passage_rate=passage_rate,
        passage_chars=sum(map(len, passages)) / len(passages),
        query_ms=query_ms,
        n_queries=len(queries),
    )
    return _embedding_stats


def semantic_state() -> semantic.SemanticState:
    """The matrices and embedders the product keeps in this process's application context."""
    return current_context().state(semantic.SemanticState)


def expire_matrix_cache() -> None:
    """Make the next lookup run its freshness check against the database, even if a recent one would be trusted."""
    semantic_state().touch()


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def semantic_lookups(cfg: Settings, records: list[dict], similar_texts: list[str]) -> dict:
    """Embedding speed, then synthetic unit vectors for every record and similar-question lookups over them."""
    from councilbot.adapters.embeddings import LocalEmbedder
    from councilbot.search.index import Filters, open_index

    stats = embedding_stats(records, similar_texts)  # also loads the model before any lookup is timed
    model = LocalEmbedder.name
    scfg = Settings(DATABASE_URL=cfg.database_url, INDEX_DIR=cfg.index_dir, EMBEDDINGS_PROVIDER="local")
    lcfg = Settings(DATABASE_URL=cfg.database_url, INDEX_DIR=cfg.index_dir, EMBEDDINGS_PROVIDER="none")
    out: dict = {"embedding": stats}
    with session_scope(cfg) as db:
        ids = list(db.scalars(select(PastAnswer.id).order_by(PastAnswer.id)))
        nrng = np.random.default_rng(13)
        t = time.perf_counter()
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            vecs = nrng.standard_normal((len(chunk), DIM), dtype=np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            db.execute(
                insert(AnswerVector),
                [
                    {
                        "past_answer_id": pid,
                        "model": model,
                        "text_hash": "synthetic",
                        "dim": DIM,
                        "vector": vec.astype("<f4").tobytes(),
                    }
                    for pid, vec in zip(chunk, vecs)
                ],
            )
        db.commit()
        out["insert_rate"] = len(ids) / (time.perf_counter() - t)
        out["vectors"] = len(ids)
    out["db_mb"] = Path(cfg.database_url.removeprefix("sqlite:///")).stat().st_size / 1e6

    with session_scope(scfg) as db:
        # Lexical-only similar lookups at the same limit, on the same texts.
        out["lex"] = timed(lambda q: find_similar(db, lcfg, q, limit=10), similar_texts)
        semantic_state().matrices.clear()  # the first lookup after the vectors are written loads the matrix
        rss = rss_mb()
        t = time.perf_counter()
        find_similar(db, scfg, similar_texts[0], limit=10)
        out["first_ms"] = (time.perf_counter() - t) * 1000
        out["rss_growth_mb"] = rss_mb() - rss
        matrix = semantic._load_matrix(db, scfg, model)
        out["matrix_mb"] = matrix.rows.nbytes / 1e6
        out["matrix_shape"] = matrix.rows.shape
        # The load alone, measured again from an empty cache.
        semantic_state().matrices.clear()
        t = time.perf_counter()
        semantic._load_matrix(db, scfg, model)
        out["load_ms"] = (time.perf_counter() - t) * 1000
        out["sem"] = timed(lambda q: find_similar(db, scfg, q, limit=10), similar_texts)

        # Where a steady-state lookup spends its time, beside the query embedding measured separately.
        def check(_: int) -> None:
            expire_matrix_cache()
            semantic._load_matrix(db, scfg, model)

        out["check_ms"] = timed(check, list(range(50)))
        qvecs = semantic._embedder(scfg).embed([similar_texts[0].strip()], kind="query")
        rows = semantic._load_matrix(db, scfg, model).rows

        def dense(_: int) -> None:
            scores = rows @ qvecs[0]
            top = np.argpartition(-scores, 499)[:500]
            top[np.argsort(-scores[top])]

        out["dense_ms"] = timed(dense, list(range(50)))
        # With a filter set (department, year...), the dense ranking looks 500 deep and checks every ref
        # against the index (filter_refs).
        index = open_index(scfg.index_dir)
        refs = semantic._load_matrix(db, scfg, model).refs
        samples = [random.Random(i).sample(refs, min(500, len(refs))) for i in range(50)]
        out["filter_ms"] = timed(lambda r: index.filter_refs(r, Filters()), samples)

        # One answer finalised (its vector rewritten): the next lookup brings the cached matrix up to date.
        pid = db.scalar(select(AnswerVector.past_answer_id).order_by(AnswerVector.id).limit(1))
        blob = db.scalar(select(AnswerVector.vector).where(AnswerVector.past_answer_id == pid))
        db.execute(delete(AnswerVector).where(AnswerVector.past_answer_id == pid))
        db.execute(
            insert(AnswerVector),
            [{"past_answer_id": pid, "model": model, "text_hash": "synthetic2", "dim": DIM, "vector": blob}],
        )
        db.commit()
        expire_matrix_cache()
        t = time.perf_counter()
        semantic._load_matrix(db, scfg, model)
        out["refresh_ms"] = (time.perf_counter() - t) * 1000
    semantic_state().matrices.clear()  # release the matrix before the next size
    return out


def print_semantic(size: int, similar_texts: list[str], sem: dict) -> None:
    e = sem["embedding"]
    hours = size / e["passage_rate"] / 3600
    print(f"-- semantic stage, EMBEDDINGS_PROVIDER=local (USE multilingual v3 in-process; {os.cpu_count()} cores)")
    print(
        f"   model load {e['load_s']:.1f} s; passage embedding {e['passage_rate']:.1f} passages/s"
        f" ({e['passages']} records, {e['passage_chars']:.0f} chars each on average, batches of {semantic.FILL_BATCH})"
        f" -> embedding all {size:,} records would take {hours:.1f} h"
    )
    print(
        f"   query embedding ({e['n_queries']} queries): p50 {pct(e['query_ms'], 50):.1f} ms,"
        f" p95 {pct(e['query_ms'], 95):.1f} ms"
    )
    print(
        f"   SYNTHETIC vectors below (random unit vectors, dim {DIM}, one per record): latency and memory only,"
        f" not search quality"
    )
    print(
        f"   vectors written {sem['vectors']:,} at {sem['insert_rate']:.0f} rows/s; database now {sem['db_mb']:.0f} MB;"
        f" matrix {sem['matrix_shape'][0]:,}x{sem['matrix_shape'][1]} float32 = {sem['matrix_mb']:.1f} MB in memory"
        f" (process RSS +{sem['rss_growth_mb']:.0f} MB on first load)"
    )
    print(
        f"   first lookup after the vectors were written {sem['first_ms']:.0f} ms"
        f" (matrix load alone {sem['load_ms']:.0f} ms); refresh after one vector rewritten {sem['refresh_ms']:.0f} ms"
    )
    print(f"   {'find_similar limit=10 (' + str(len(similar_texts)) + ' texts)':<36}{'p50':>9}{'p95':>9}")
    print(f"   {'lexical only (provider none)':<36}{pct(sem['lex'], 50):>9.1f}{pct(sem['lex'], 95):>9.1f}")
    print(f"   {'lexical + semantic, fused (local)':<36}{pct(sem['sem'], 50):>9.1f}{pct(sem['sem'], 95):>9.1f}")
    print(
        f"   of which: query embedding p50 {pct(e['query_ms'], 50):.1f}; matrix freshness check (database query)"
        f" p50 {pct(sem['check_ms'], 50):.1f}; dense scores + top 500 p50 {pct(sem['dense_ms'], 50):.1f};"
        f" filter_refs on 500 refs (with a filter set) p50 {pct(sem['filter_ms'], 50):.1f} (ms, measured apart)"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"   (load average {load} after the semantic section)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Search speed vs SQLite FTS5")
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated archive sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="skip the semantic stage (embedding throughput, lookups over synthetic vectors)",
    )
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        run(size, args.queries, args.semantic)


if __name__ == "__main__":
    from councilbot.app_context import ensure_context

    ensure_context()  # the application context the CLI would install
    main()
