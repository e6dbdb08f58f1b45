"""A Whoosh segment writer that pools postings per term, in compact arrays.

Whoosh's own pool keeps every posting as a Python tuple (about 150 bytes),
sorts them all, spills sorted runs to disk by pickling each posting, merges
the runs posting by posting, and looks each posting's field length up in the
segment's column file. On this data (about 370 postings a record) that was
three quarters of `archive import` and `index rebuild`.

:class:`TermPool` keeps one entry per term instead: document numbers, weights
and value bytes in arrays (12 bytes a posting; weights as 32-bit floats, which
is how the segment stores them). Documents are added in increasing document
number, so each term's postings are already in order: only the terms are
sorted, a run on disk is one record per term, and merging runs concatenates
each term's arrays in run order. :class:`TermPoolWriter`
then hands the postings to the codec's field writer with field lengths read
once per field. The segment written is the one Whoosh would write.
"""

from __future__ import annotations

import heapq
import pickle
from array import array
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

# Bytes counted per posting (document number, weight, value) and per term (dictionary entry, key, arrays).
POSTING_BYTES = 12
TERM_BYTES = 400

# What Whoosh's ``field.index`` yields for each distinct term of a value: (term bytes, frequency, weight, value bytes).
FieldItem = tuple[bytes, int, float, bytes | None]
# A document ready for :meth:`TermPoolWriter.add_analysed`: its plain field values (stored, filters, sort
# keys) and, for each text field, the ``field.index`` items computed beforehand (in a worker process).
AnalysedDoc = tuple[dict[str, str], dict[str, list[FieldItem]]]
# (fieldname, term bytes, document numbers, weights, values): one term's postings.
TermPostings = tuple[str, bytes, array, array, bytes]  # type: ignore[type-arg]


def _no_postings() -> tuple[array, array, bytearray]:  # type: ignore[type-arg]
    """A term's empty posting arrays: document numbers, weights (32-bit, as the segment stores them), values."""
    return array("I"), array("f"), bytearray()


class TermPool:
    """Postings grouped by term, spilled to term-sorted runs beyond ``limitmb`` (see module docstring)."""

    def __init__(self, tempstore: Any, limitmb: float) -> None:
        self._store = tempstore
        self._limit = limitmb * 1024 * 1024
        self._size = 0
        self._terms: dict[tuple[str, bytes], tuple[array, array, bytearray]] = {}  # type: ignore[type-arg]
        self._runs: list[str] = []
        # Bytes of each field's posting values; fixed per field format (frequency: 4, existence: 0).
        self.value_width: dict[str, int] = {}

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """One posting as Whoosh's own writer passes it (merging segments): (fieldname, term, docnum, weight, value)."""
        fieldname, tbytes, docnum, weight, vbytes = item
        self.add_field(fieldname, docnum, [(tbytes, 0, weight, vbytes)])

    def add_field(self, fieldname: str, docnum: int, items: Iterable[FieldItem]) -> int:
        """A document's postings in one field, given as Whoosh's ``field.index`` items; returns their total frequency."""
        terms = self._terms
        width = self.value_width.get(fieldname)
        length = added = 0
        for tbytes, freq, weight, vbytes in items:
            vbytes = vbytes or b""
            if width is None:
                width = self.value_width[fieldname] = len(vbytes)
            elif len(vbytes) != width:
                raise ValueError(f"field {fieldname!r}: posting values of varying length cannot be pooled")
            entry = terms.get((fieldname, tbytes))
            if entry is None:
                entry = terms[fieldname, tbytes] = _no_postings()
                self._size += TERM_BYTES
            entry[0].append(docnum)
            entry[1].append(weight)
            entry[2].extend(vbytes)
            length += freq
            added += 1
        self._size += added * POSTING_BYTES
        if self._size > self._limit:
            self._save()
        return length

    def _save(self) -> None:
        name = f"terms-{len(self._runs)}.run"
        with self._store.create_file(name).raw_file() as fh:
            for key in sorted(self._terms):
                docs, weights, values = self._terms[key]
                pickle.dump((*key, docs.tobytes(), weights.tobytes(), bytes(values)), fh, pickle.HIGHEST_PROTOCOL)
        self._runs.append(name)
        self._terms = {}
        self._size = 0

    def _read_run(self, name: str) -> Iterator[tuple[str, bytes, bytes, bytes, bytes]]:
        with self._store.open_file(name).raw_file() as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return

    def terms(self) -> Iterator[TermPostings]:
        """Every term's postings, in (fieldname, term) order, each term's in document order."""
        if not self._runs:
            for key in sorted(self._terms):
                docs, weights, values = self._terms[key]
                yield (*key, docs, weights, bytes(values))
            return
        if self._terms:
            self._save()
        term: tuple[str, bytes] | None = None
        docs, weights, values = _no_postings()
        # heapq.merge keeps equal terms in run order, which is document order.
        for fieldname, tbytes, d, w, v in heapq.merge(*map(self._read_run, self._runs), key=itemgetter(0, 1)):
            if (fieldname, tbytes) != term:
                if term is not None:
                    yield (*term, docs, weights, bytes(values))
                term = (fieldname, tbytes)
                docs, weights, values = _no_postings()
            docs.frombytes(d)
            weights.frombytes(w)
            values += v
        if term is not None:
            yield (*term, docs, weights, bytes(values))

    def cleanup(self) -> None:
        for name in self._runs:
            try:
                self._store.delete_file(name)
            except OSError:
                pass
        self._runs = []
        self._terms = {}


class TermPoolWriter(SegmentWriter):  # type: ignore[misc]
    """Whoosh's segment writer with a :class:`TermPool` in place of its posting pool."""

    def __init__(self, ix: Any, *, limitmb: float) -> None:
        super().__init__(ix, limitmb=limitmb)
        self.pool = TermPool(self._tempstorage, limitmb)

    def add_analysed(self, doc: AnalysedDoc) -> None:
        """Whoosh's ``add_document`` (no boosts, spelling or vectors: the schema has none) for a document whose
        text fields were analysed already, so that analysis can run in other processes."""
        plain, analysed = doc
        perdoc = self.perdocwriter
        perdoc.start_doc(self.docnum)
        try:
            for fieldname in sorted([*plain, *analysed]):
                field = self.schema[fieldname]
                value = plain.get(fieldname)
                items = analysed[fieldname] if value is None else field.index(value) if field.indexed else ()
                length = self.pool.add_field(fieldname, self.docnum, items)
                perdoc.add_field(fieldname, field, value if field.stored else None, length if field.scorable else 0)
                if field.column_type and value is not None:
                    perdoc.add_column_value(fieldname, field.column_type, field.to_column_value(value))
        except BaseException:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        try:
            _write_postings(self.fieldwriter, self.schema, self.pool, lengths, self.docnum)
        finally:
            lengths.close()
        self.fieldwriter.close()


def _field_lengths(lengths: Any, fieldname: str, doc_count: int) -> list[int]:
    """Each document's length of ``fieldname`` as the segment stores it (what Whoosh gives each posting)."""
    column = lengths._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return [0] * doc_count
    return [byte_to_length(b) if b else 0 for b in (column[d] for d in range(doc_count))]


def _write_postings(fieldwriter: Any, schema: Any, pool: TermPool, lengths: Any, doc_count: int) -> None:
    current = None
    field_lengths: list[int] = []
    width = 0
    for fieldname, tbytes, docs, weights, values in pool.terms():
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            current = fieldname
            fieldwriter.start_field(fieldname, schema[fieldname])
            field_lengths = _field_lengths(lengths, fieldname, doc_count)
            width = pool.value_width[fieldname]
        fieldwriter.start_term(tbytes)
        _add_term_postings(fieldwriter._postwriter, docs, weights, values, width, field_lengths)
        fieldwriter.finish_term()
    if current is not None:
        fieldwriter.finish_field()


def _add_term_postings(
    postwriter: Any,
    docs: array,  # type: ignore[type-arg]
    weights: array,  # type: ignore[type-arg]
    values: bytes,
    width: int,
    lengths: list[int],
) -> None:
    """What Whoosh 3's ``add_posting`` does one posting at a time (it checks and appends each), a block at a time:
    the block buffers and statistics the codec's ``_write_block`` reads."""
    limit = postwriter._blocklimit
    start, n = 0, len(docs)
    while start < n:
        if len(postwriter._ids) >= limit:
            postwriter._write_block()
        end = min(n, start + limit - len(postwriter._ids))
        block_weights = weights[start:end].tolist()
        postwriter._ids.extend(docs[start:end])
        postwriter._weights.extend(block_weights)
        postwriter._maxweight = max(postwriter._maxweight, *block_weights)
        if width:
            postwriter._values.extend(values[i * width : (i + 1) * width] for i in range(start, end))
        block_lengths = [length for length in (lengths[d] for d in docs[start:end]) if length]
        if block_lengths:
            low = min(block_lengths)
            if postwriter._minlength is None or low < postwriter._minlength:
                postwriter._minlength = low
            postwriter._maxlength = max(postwriter._maxlength, *block_lengths)
        start = end
