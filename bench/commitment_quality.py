"""Commitment extraction quality on an annotated set, beside a naive baseline measured in the same run.

    python bench/commitment_quality.py [--gold bench/data/commitments_gold.jsonl] [--misses]

The gold set (bench/data/commitments_gold.jsonl) holds real-register answer text — closing
passages of the sample archive (councilbot/sample_data/) and sentences of the municipal
documents in /work/shared/seeds (whose dates are assumed, as noted) — each annotated by hand
with its commitments: a key phrase the statement must contain, the strength, the timing as
written and the day it is due by (null when the words name no date).

Annotation guideline: a commitment is what the city says it will do (or will not do), in any
forward-looking form, including 「〜を検討しております」 and 「〜に向けて準備を進めております」;
what it has done or is doing is not. Its strength follows the phrase nearest the predicate;
a continuing effort (引き続き / 今後とも / 今後も) is 現状維持; asking the state or others to act
is 要望・働きかけ. bench/data/commitments_heldout.jsonl (14 passages) was annotated after the
rules were written, to check them on text they were not tuned on.

Scores, for the product (domain/commitments.extract) and for the baseline:

* extraction: an extracted commitment is right when it contains a gold key phrase (each gold
  item matched once) and has its strength; precision over everything extracted, recall over
  the gold items;
* detection: the same, strength aside;
* timing: a matched commitment's timing is right when it is due the same day as the gold one
  (or, when the gold timing names no date, when both quote the same words); precision over
  the extracted commitments that carry a timing, recall over the gold ones that do.

Cost on import: the archive import extracts every record's commitments in the same
transaction. ``--import-records N`` (default 3000; 0 skips it) imports the sample archive,
repeated under new refs, into a fresh SQLite database twice — with the extraction and with
it switched off — and prints both rates (SPEC §5: at least 300 records/s).

Baseline: a sentence ending in 「まいります」 or 「予定です／予定でございます」 is one commitment;
its strength is the first of 要望/働きかけ, 研究/調査, 検討, 引き続き found anywhere in it
(実施 otherwise); its timing is the first 本年度/来年度/令和N年度/令和N年M月 in it, resolved by
the product's own resolver.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from councilbot.domain.commitments import CONSIDER, IMPLEMENT, MAINTAIN, REQUEST, STUDY, extract, resolve_timing  # noqa: E402
from councilbot.domain.rulecheck import sentences  # noqa: E402

TARGET = 0.9


@dataclass(frozen=True)
class Found:
    statement: str
    strength: str
    timing: str
    due: dt.date | None


def product(text: str, answered: dt.date) -> list[Found]:
    return [
        Found(c.statement, c.strength, c.timing.text if c.timing else "", c.timing.end if c.timing else None)
        for c in extract(text, answered)
    ]


_BASE_END = re.compile(r"(?:まいります|予定です|予定でございます)。$")
_BASE_STRENGTH = (
    (REQUEST, ("要望", "働きかけ")),
    (STUDY, ("研究", "調査")),
    (CONSIDER, ("検討",)),
    (MAINTAIN, ("引き続き",)),
)
_BASE_TIMING = re.compile(r"本年度|来年度|令和\d+年度|令和\d+年\d+月")


def baseline(text: str, answered: dt.date) -> list[Found]:
    found = []
    for start, end in sentences(text):
        sentence = text[start:end].strip()
        if not _BASE_END.search(sentence):
            continue
        strength = next((name for name, words in _BASE_STRENGTH if any(w in sentence for w in words)), IMPLEMENT)
        match = _BASE_TIMING.search(sentence)
        timing = resolve_timing(match.group(), answered) if match else None
        found.append(Found(sentence, strength, timing.text if timing else "", timing.end if timing else None))
    return found


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@dataclass
class Score:
    extracted: int = 0
    gold: int = 0
    right: int = 0  # key and strength
    detected: int = 0  # key only
    timed_extracted: int = 0
    timed_gold: int = 0
    timed_right: int = 0

    def line(self, name: str) -> str:
        def ratio(a: int, b: int) -> str:
            return f"{a / b:.3f}" if b else "  —  "

        return (
            f"{name:<10} extraction P {ratio(self.right, self.extracted)} R {ratio(self.right, self.gold)}"
            f"   detection P {ratio(self.detected, self.extracted)} R {ratio(self.detected, self.gold)}"
            f"   timing P {ratio(self.timed_right, self.timed_extracted)} R {ratio(self.timed_right, self.timed_gold)}"
            f"   (extracted {self.extracted}, gold {self.gold})"
        )


def _timing_right(gold: dict, found: Found) -> bool:
    if not gold["timing"] or not found.timing:
        return False
    if gold["due"]:
        return found.due == dt.date.fromisoformat(gold["due"])
    return found.due is None and (
        _norm(gold["timing"]) in _norm(found.timing) or _norm(found.timing) in _norm(gold["timing"])
    )


def score(items: list[dict], extractor, misses: list[str] | None = None) -> Score:  # type: ignore[no-untyped-def]
    s = Score()
    for item in items:
        answered = dt.date.fromisoformat(item["date"])
        found = extractor(item["text"], answered)
        golds = item["commitments"]
        s.extracted += len(found)
        s.gold += len(golds)
        s.timed_extracted += sum(1 for f in found if f.timing)
        s.timed_gold += sum(1 for g in golds if g["timing"])
        unmatched = list(found)
        for gold in golds:
            match = next((f for f in unmatched if _norm(gold["key"]) in _norm(f.statement)), None)
            if match is None:
                if misses is not None:
                    misses.append(f"  missed  {item['source']}: 「{gold['key']}」 {gold['strength']} {gold['timing']}")
                continue
            unmatched.remove(match)
            s.detected += 1
            if match.strength == gold["strength"]:
                s.right += 1
            elif misses is not None:
                misses.append(f"  strength {item['source']}: 「{gold['key']}」 {gold['strength']} ≠ {match.strength}")
            if _timing_right(gold, match):
                s.timed_right += 1
            elif (gold["timing"] or match.timing) and misses is not None:
                misses.append(
                    f"  timing   {item['source']}: 「{gold['key']}」 {gold['timing']} {gold['due']} ≠ {match.timing} {match.due}"
                )
        if misses is not None:
            misses += [f"  extra    {item['source']}: {f.statement[:50]}" for f in unmatched]
    return s


def import_rates(n: int) -> tuple[float, float]:
    """Records/s importing ``n`` sample records with the ledger, and without it."""
    import tempfile
    import time

    from councilbot.services import archive
    from councilbot.settings import Settings
    from councilbot.storage.db import ensure_schema, session_scope

    sample = [
        json.loads(line)
        for path in sorted((ROOT.parent / "councilbot" / "sample_data").glob("archive_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    records = [dict(sample[i % len(sample)], ref=f"BENCH-{i}") for i in range(n)]

    def rate() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Settings(DATABASE_URL=f"sqlite:///{tmp}/b.db", INDEX_DIR=f"{tmp}/index", EMBEDDINGS_PROVIDER="none")
            ensure_schema(cfg)
            started = time.perf_counter()
            with session_scope(cfg) as db:
                archive.import_records(db, cfg, records)
            return n / (time.perf_counter() - started)

    with_ledger = rate()
    kept = archive.sync_commitments
    archive.sync_commitments = lambda db, answers: 0  # type: ignore[assignment]
    try:
        without = rate()
    finally:
        archive.sync_commitments = kept  # type: ignore[assignment]
    return with_ledger, without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "data" / "commitments_gold.jsonl")
    parser.add_argument("--misses", action="store_true", help="list what the product got wrong")
    parser.add_argument(
        "--import-records", type=int, default=3000, help="records for the import-cost measurement (0: skip)"
    )
    args = parser.parse_args()
    items = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    misses: list[str] = []
    ours = score(items, product, misses)
    base = score(items, baseline)
    print(f"commitment extraction on {len(items)} annotated passages, {ours.gold} gold commitments (target ≥ {TARGET})")
    print(ours.line("product"))
    print(base.line("baseline"))
    if args.misses:
        print("\n".join(misses) or "  (none)")
    if args.import_records:
        with_ledger, without = import_rates(args.import_records)
        print(
            f"import of {args.import_records} records: {with_ledger:.0f} records/s with the ledger, {without:.0f} records/s without it"
        )


if __name__ == "__main__":
    from councilbot.app_context import ensure_context

    ensure_context()  # the application context the CLI would install
    main()
