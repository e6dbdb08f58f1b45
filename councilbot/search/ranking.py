"""BM25 scoring straight from Whoosh posting blocks.

Whoosh's matchers score one posting at a time through several layers of
Python objects (about 5 µs a posting), and their block-quality skipping rarely
fires on this data: a block's bound pairs the highest term weight of one record
with the shortest length of another, so nearly every block could beat the
current top ten. Keyword search therefore walked every posting of every term;
on 100,000 records a common word has tens of thousands of them.

This module reads whole posting blocks (ids and weights, decoded by Whoosh),
and scores them against a per-segment table of length norms, so a posting
costs a dictionary update. Whoosh still owns the files, segments, deletions
and commits; only scoring moves here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

K1 = 1.2
B = 0.75


class Ranker:
    """BM25 over one open searcher; caches each segment's length norms until the searcher is replaced."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self.n_docs = max(searcher.doc_count(), 1)
        self._leaves = [(s.reader(), offset) for s, offset in (searcher.subsearchers or [(searcher, 0)])]
        self._norms: dict[tuple[int, str], list[float]] = {}
        self._deleted = {
            offset + d
            for reader, offset in self._leaves
            if reader.has_deletions()
            for d in reader._perdoc.deleted_docs()
        }

    def doc_frequency(self, fieldname: str, text: str) -> int:
        return int(self.searcher.doc_frequency(fieldname, text))

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def _norm_table(self, i: int, fieldname: str) -> list[float]:
        """K1 * (1 - B + B * length / average length) for every record of leaf ``i``."""
        key = (i, fieldname)
        table = self._norms.get(key)
        if table is None:
            reader = self._leaves[i][0]
            avg = self.searcher.avg_field_length(fieldname, 1.0) or 1.0
            column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            by_byte = [K1 * (1.0 - B + B * byte_to_length(b) / avg) for b in range(256)]
            n = reader.doc_count_all()
            table = [by_byte[column[d]] for d in range(n)] if column is not None else [K1] * n
            self._norms[key] = table
        return table

    def _postings(self, fieldname: str, text: str) -> Iterator[tuple[int, list[int], list[float], list[float]]]:
        """(docnum offset, ids, weights, norm table) for each block of the term's postings in each segment."""
        for i, (reader, offset) in enumerate(self._leaves):
            if (fieldname, text) not in reader:
                continue
            norms = self._norm_table(i, fieldname)
            m = reader.postings(fieldname, text)
            if hasattr(m, "_read_ids"):  # Whoosh 3 block matcher: a block at a time
                while m.is_active():
                    m._read_ids()
                    m._read_weights()
                    yield offset, m._ids, m._weights, norms
                    m._next_block()
            else:  # a short list stored inline with the term
                ids, weights = [], []
                while m.is_active():
                    ids.append(m.id())
                    weights.append(m.weight())
                    m.next()
                yield offset, ids, weights, norms

    def term_scores(self, fieldname: str, text: str, weight: float = 1.0) -> dict[int, float]:
        """Global docnum → ``weight`` × BM25 contribution of one term (deleted records left out)."""
        df = self.doc_frequency(fieldname, text)
        out: dict[int, float] = {}
        if not df:
            return out
        w = weight * self.idf(df) * (K1 + 1.0)
        for offset, ids, weights, norms in self._postings(fieldname, text):
            for d, tf in zip(ids, weights):
                out[offset + d] = w * tf / (tf + norms[d])
        if self._deleted:
            for d in self._deleted.intersection(out):
                del out[d]
        return out
