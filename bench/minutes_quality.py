"""How well council minutes (会議録) become archive records, per house style and overall.

For each ``bench/data/minutes/<style>.txt`` (built by build_minutes_devset.py) beside its
``<style>.truth.jsonl``, prints:

* recovered — truth answer turns found as a record (answer text ≥ 0.9 alike in character bigrams);
* member / answerer / question — truth turns whose record has the right member (name and seat),
  answerer title and question text (the member's whole turn, whitespace aside);
* stray — records that answer no truth turn, as a share of the records made.

Beside it, what the plain JSON Lines path gives for the same text: the truth written as
archive records and checked by the importer (the ceiling a city reaches by keying the
minutes into JSON Lines by hand), and what ``archive import`` did with the .txt before
minutes were understood (refused: nothing recovered). The style ``heldout`` was not looked
at while tuning the parser and is printed apart. Last, the overall rates on variants of the same
files (double-spaced, no indentation, ASCII brackets, tabs after names).

    .venv/bin/python bench/minutes_quality.py [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from councilbot.domain.minutes import decode_text, parse_minutes  # noqa: E402
from councilbot.services.archive import validate_record  # noqa: E402

HELD_OUT = "heldout"
RATES = ("recovered", "member", "answerer", "question")


def key(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def bigrams(text: str) -> set[str]:
    k = key(text)
    return {k[i : i + 2] for i in range(len(k) - 1)}


def alike(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / (len(x | y) or 1)


def score(truth: list[dict], records: list[dict]) -> dict[str, float]:
    hits = dict.fromkeys(RATES, 0)
    used: set[int] = set()
    for t in truth:
        best = max(range(len(records)), key=lambda i: alike(t["answer"], records[i]["answer"]), default=None)
        if best is None or alike(t["answer"], records[best]["answer"]) < 0.9:
            continue
        used.add(best)
        r = records[best]
        hits["recovered"] += 1
        hits["member"] += key(r.get("member")) == key(t["member"]) and key(r.get("seat")) == key(t["seat"])
        hits["answerer"] += key(r.get("answerer")) == key(t["answerer"])
        hits["question"] += key(r.get("question")) == key(t["question"])
    out = {name: hits[name] / (len(truth) or 1) for name in RATES}
    out["stray"] = (len(records) - len(used)) / (len(records) or 1)
    out["n"] = len(truth)
    return out


def product_records(path: Path, variant=lambda text: text) -> list[dict]:  # type: ignore[no-untyped-def]
    parsed = parse_minutes(variant(decode_text(path.read_bytes(), path.name)))
    return [
        {"member": a.member, "seat": a.seat, "answerer": a.answerer, "question": a.question, "answer": a.answer}
        for a in parsed.answers
    ]


# The same files as other exports and copies make them: what a parser fit to the files alone would miss.
VARIANTS = {
    "double-spaced": lambda text: "\n\n".join(text.splitlines()),
    "no indentation": lambda text: "\n".join(line.lstrip("\u3000 ") for line in text.splitlines()),
    "ASCII brackets": lambda text: text.replace("（", "(").replace("）", ")"),
    "tabs after names": lambda text: text.replace("）\u3000", ")\t"),
}


def jsonl_records(truth: list[dict]) -> list[dict]:
    """The same text keyed in as JSON Lines and read by the importer's validation."""
    out = []
    for t in truth:
        values = validate_record(dict(t))
        out.append({k: values.get(k) for k in ("member", "seat", "answerer", "question", "answer")})
    return out


def fmt(row: dict[str, float]) -> str:
    return "  ".join(f"{row[name]:.3f}" for name in (*RATES, "stray"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "minutes")
    args = parser.parse_args()
    styles = sorted(p.name[: -len(".truth.jsonl")] for p in args.data.glob("*.truth.jsonl"))
    styles.sort(key=lambda s: s == HELD_OUT)
    header = f"{'style':<20}{'turns':>6}  " + "  ".join(f"{n[:9]:>9}" for n in (*RATES, "stray"))
    print("minutes → archive records (product | plain JSON Lines of the same text)")
    print(header)
    totals: dict[str, list] = {"product": [], "jsonl": []}
    for style in styles:
        truth = [json.loads(line) for line in open(args.data / f"{style}.truth.jsonl", encoding="utf-8")]
        product = score(truth, product_records(args.data / f"{style}.txt"))
        jsonl = score(truth, jsonl_records(truth))
        totals["product"].append(product)
        totals["jsonl"].append(jsonl)
        label = style + (" (held out)" if style == HELD_OUT else "")
        print(
            f"{label:<20}{product['n']:>6}  "
            + "  ".join(f"{product[n]:>9.3f}" for n in (*RATES, "stray"))
            + "   | JSON Lines "
            + fmt(jsonl)
        )
    for name, rows in totals.items():
        n = sum(r["n"] for r in rows)
        overall = {k: sum(r[k] * r["n"] for r in rows) / n for k in (*RATES, "stray")}
        if name == "product":
            print(f"{'overall':<20}{n:>6}  " + "  ".join(f"{overall[k]:>9.3f}" for k in (*RATES, "stray")), end="")
        else:
            print("   | JSON Lines " + fmt(overall))
    print("archive import of the same .txt before minutes were read: refused (recovered 0.000)")
    for name, variant in VARIANTS.items():
        rows = [
            score(
                [json.loads(line) for line in open(args.data / f"{style}.truth.jsonl", encoding="utf-8")],
                product_records(args.data / f"{style}.txt", variant),
            )
            for style in styles
        ]
        n = sum(r["n"] for r in rows)
        overall = {k: sum(r[k] * r["n"] for r in rows) / n for k in (*RATES, "stray")}
        print(f"{'  ' + name:<20}{n:>6}  " + "  ".join(f"{overall[k]:>9.3f}" for k in (*RATES, "stray")))
    files = [args.data / f"{style}.txt" for style in styles]
    truths = [args.data / f"{style}.truth.jsonl" for style in styles]
    started = time.perf_counter()
    parsed = sum(len(product_records(path)) for path in files)
    minutes_s = time.perf_counter() - started
    started = time.perf_counter()
    checked = sum(len(jsonl_records([json.loads(line) for line in open(p, encoding="utf-8")])) for p in truths)
    jsonl_s = time.perf_counter() - started
    print(
        f"reading: minutes {parsed / minutes_s:,.0f} answers/s (parse and pair) | "
        f"JSON Lines {checked / jsonl_s:,.0f} records/s (decode and check); division choice not included"
    )


if __name__ == "__main__":
    main()
