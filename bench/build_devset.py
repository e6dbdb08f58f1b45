"""Build the search/routing development set from ../shared/seeds (see shared/DEVSET.md).

Output: bench/data/devset.jsonl, one JSON object per line, of two kinds:

* ``{"kind": "record", ...}`` — an archive record (SPEC §4.3) to import;
* ``{"kind": "query", "id", "text", "relevant": [ref, …], "department": str | null, "source"}``
  — a question, the records that answer it, and the division that should get it;
* ``{"kind": "department", "name", "duties"}`` — the dev city's current divisions (the sample
  city's organisation file plus devset_questions.EXTRA_DIVISIONS). Routing may suggest only these.

Routing labels are the dev city's divisions (devset_questions.MIC_CASE_DIVISIONS …), while the
archive keeps divisions as given, as a real archive does: of the labelled records, a third carry
the current name, a third the name the division had before a reorganisation (FORMER_NAMES) and a
third the other city's own name from the seed (住民窓口センター, 庶務・年金係, …), or the former name
where the other city's name is a current name of a different division here (see archive_name).

Another city's set in the same format can be scored with
``bench/search_quality.py --devset FILE``.

Sources (real municipal text; the wording of a query never comes from its own record):

* seed 004 (MIC case collection): each case → a record (事業の概要 and the interview
  answers; division = the unit named last on the ☆担当 line); the query is a
  council-style question written by the team (devset_questions.py), and each
  specific interview question (Q1. …) is also a query;
* seed 002 (Matsusaka DX plan): each initiative → a record (【取組概要】 and its
  schedule); the query is its 《現状・課題等》 text (retrieval only);
* seed 001 (Matsudo vision): each 取組状況 row → a record (内容 and 効果); the query
  is the 件名 asked as a question (retrieval only);
* seed 000 (Matsumoto 庁議 papers): each report item → a record (its body); the
  query is its title asked as a question; division = the 担当 line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from devset_questions import (
    EXTRA_DIVISIONS,
    EXTRA_QUESTIONS,
    FORMER_NAMES,
    MATSUMOTO_ITEM_DIVISIONS,
    MIC_CASE_DIVISIONS,
    MIC_CASE_QUESTIONS,
)

ROOT = Path(__file__).resolve().parent
SAMPLE_ORG = ROOT.parent / "councilbot" / "sample_data" / "org.yaml"
DEFAULT_SEEDS = ROOT.parent.parent / "shared" / "seeds"
DEFAULT_OUT = ROOT / "data" / "devset.jsonl"
MAX_ANSWER_CHARS = 3000
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮"


def clean(text: str) -> str:
    text = text.replace("**", "")
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"[ \t\u3000]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def unwrap(lines: list[str]) -> str:
    """Join hard-wrapped lines (庁議資料) back into paragraphs."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        out += line if out and not out.endswith(("。", "）", "」")) else ("\n" + line if out else line)
    return out


def question_from_title(title: str) -> str:
    title = re.sub(r"(について|の実施|の導入|の稼働)$", "", title.strip())
    return f"{title}について伺う。"


# ---- seed 004 ---------------------------------------------------------------

_CASE_HEADER = re.compile(r"^(\d{1,2})\s+(.+?)\s*【([^】]+)】\s*$")
_TANTO = re.compile(r"☆\s*担当[：:]\s*(.+?)\s*☆")
_INTERVIEW_Q = re.compile(
    r"^(?:-\s*)?(?:Q\s*\d*[.．:：]?\s*)?(.{6,80}?(?:教えてください|ますか|ですか|でしょうか)[。？?]?)$"
)
# Interview prompts asked of every case say nothing about this one; list items are survey forms, not questions.
_GENERIC_Q = re.compile(
    r"他自治体|他団体|よく質問|よくある|きっかけ|背景|工夫|コスト|展望|成果|経緯|注意点|反応|声を|支援策|どのような方|^-\s(?!Q)"
)


def mic_cases(text: str) -> dict[int, dict]:
    lines = text.splitlines()
    starts: dict[int, tuple[int, str]] = {}
    for i, line in enumerate(lines):
        m = _CASE_HEADER.match(line.strip())
        if m and "…" not in line and int(m.group(1)) not in starts and i > 80:
            starts[int(m.group(1))] = (i, m.group(2))
    order = sorted(starts.items(), key=lambda kv: kv[1][0])
    cases = {}
    for k, (n, (start, title)) in enumerate(order):
        end = order[k + 1][1][0] if k + 1 < len(order) else len(lines)
        body = "\n".join(lines[start:end])
        tanto = _TANTO.search(body)
        unit = tanto.group(1).split()[-1] if tanto else None
        questions, answer_lines = [], []
        for line in body.splitlines():
            s = clean(line)
            if not s or _CASE_HEADER.match(s) or s in ("(総務省)",) or s.startswith(("☆", "【参考情報】", "関連URL")):
                continue
            if re.fullmatch(r"\(.{1,10}\)", s):
                continue
            qm = _INTERVIEW_Q.match(s)
            if qm:
                if not _GENERIC_Q.search(s):
                    questions.append(qm.group(1))
                continue
            answer_lines.append(s)
        cases[n] = {
            "title": clean(title),
            "answer": "\n".join(answer_lines)[:MAX_ANSWER_CHARS],
            "department": unit,
            "questions": questions,
        }
    return cases


# ---- seed 002 ---------------------------------------------------------------


def matsusaka_initiatives(text: str) -> list[dict]:
    parts = re.split(r"\n\((\d)\)-([①-⑮]) ([^\n]+)\n", text)
    out = []
    for i in range(1, len(parts) - 3, 4):
        group, circled, name, body = parts[i], parts[i + 1], parts[i + 2], parts[i + 3]
        if "【取組概要】" not in body or "《現状・課題等》" not in body:
            continue
        overview = body.split("【取組概要】", 1)[1].split("《現状・課題等》", 1)[0]
        issues = body.split("《現状・課題等》", 1)[1]
        issues_text, _, schedule = issues.partition("主な取組事項")
        schedule_items = [ln.split("\t")[0] for ln in schedule.splitlines()[1:] if "\t" in ln and "▶" in ln]
        issues_text = "\n".join(ln for ln in issues_text.splitlines() if ln.strip().startswith("-"))
        out.append(
            {
                "ref": f"mat-002-{group}-{CIRCLED.index(circled) + 1}",
                "title": clean(name),
                "answer": clean(overview) + ("\n主な取組事項：" + "、".join(schedule_items) if schedule_items else ""),
                "query": clean(issues_text.replace("- ", "")),
            }
        )
    return out


# ---- seed 001 ---------------------------------------------------------------


def matsudo_rows(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        cells = line.split("\t")
        if len(cells) == 5 and cells[0].isdigit() and "令和" in cells[1]:
            n, _, subject, content, effect = cells
            first = re.split(r"[。、]", content)[0]
            out.append(
                {
                    "ref": f"mad-001-{n}",
                    "subject": clean(subject),
                    "first": clean(first)[:40],
                    "answer": clean(content) + "\n" + clean(effect),
                }
            )
    return out


# ---- seed 000 ---------------------------------------------------------------


def matsumoto_items(text: str) -> list[dict]:
    agenda = dict(re.findall(r"⑵?⑴?⑶?⑷?\s*(「?[^\n（]+?」?[^\n（]*?)\s*[·・.]+\s*（([^）]+)）", text))
    chunks = text.split("（報告事項）")[1:]
    out = []
    for i, chunk in enumerate(chunks, 1):
        lines = [ln.strip() for ln in chunk.splitlines()]
        body_start = next(j for j, ln in enumerate(lines) if ln.startswith("１"))
        title = unwrap(lines[:body_start]).replace("\n", "")
        tanto = re.search(r"^担当\s+(\S+)", chunk, re.M)
        department = tanto.group(1) if tanto else None
        if department is None:
            for item, dept in agenda.items():
                if title[:6] in item:
                    department = dept.replace(" ", "")
        body = unwrap([ln for ln in lines[body_start:] if not re.match(r"^(庁 議 資 料|[０-９\d．.]+$|担当\s)", ln)])
        out.append(
            {
                "ref": f"mtm-000-{i}",
                "title": title,
                "answer": body[:MAX_ANSWER_CHARS],
                "department": unicodedata.normalize("NFKC", department) if department else None,
            }
        )
    return out


def dev_city_divisions() -> list[dict]:
    """The sample city's divisions (departments without children) with their duties, plus the extra ones."""
    import yaml

    def leaves(entries: list[dict]) -> list[dict]:
        found = []
        for entry in entries:
            found += leaves(entry["children"]) if entry.get("children") else [entry]
        return found

    org = yaml.safe_load(SAMPLE_ORG.read_text(encoding="utf-8"))
    divisions = [{"name": d["name"], "duties": d.get("duties", "")} for d in leaves(org["departments"])]
    return divisions + [{"name": name, "duties": duties} for name, duties in EXTRA_DIVISIONS]


def archive_name(position: int, current: str, given: str | None, divisions: set[str]) -> str:
    """The division an archive record carries: current, former or the other city's, in turn.

    The other city's name can be one of the dev city's current names for another division (its
    情報政策課 did the aerial-photo taxation case, 税務課's here): an archive saying a current
    division answered while the label says another would be a contradiction no router could
    resolve, so such a record carries the former name instead (still not a current name).
    """
    other = given if given and (given == current or given not in divisions) else FORMER_NAMES[current]
    return (current, FORMER_NAMES[current], other)[position % 3]


def build(seeds: Path) -> list[dict]:
    read = lambda prefix: next(seeds.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")  # noqa: E731
    divisions = dev_city_divisions()
    current_names = {d["name"] for d in divisions}
    rows: list[dict] = [{"kind": "department", **d} for d in divisions]
    queries: list[dict] = []

    cases = mic_cases(read("004"))
    written = dict(MIC_CASE_QUESTIONS)
    for n, case in sorted(cases.items()):
        ref = f"mic-004-{n}"
        current = MIC_CASE_DIVISIONS[n]
        rows.append(
            {
                "kind": "record",
                "ref": ref,
                "title": case["title"],
                "question": question_from_title(case["title"]),
                "answer": case["answer"],
                "department": archive_name(n, current, case["department"], current_names),
                "answerer": "部長",
            }
        )
        if n in written:
            queries.append({"text": written[n], "relevant": [ref], "department": current, "source": "004-written"})
        for q in case["questions"]:
            queries.append({"text": q, "relevant": [ref], "department": current, "source": "004-interview"})

    for item in matsusaka_initiatives(read("002")):
        rows.append(
            {
                "kind": "record",
                "ref": item["ref"],
                "title": item["title"],
                "question": question_from_title(item["title"]),
                "answer": item["answer"],
            }
        )
        if item["query"]:
            queries.append(
                {"text": item["query"], "relevant": [item["ref"]], "department": None, "source": "002-issues"}
            )

    for row in matsudo_rows(read("001")):
        rows.append(
            {
                "kind": "record",
                "ref": row["ref"],
                "title": row["first"],
                "question": question_from_title(row["first"]),
                "answer": row["answer"],
            }
        )
        queries.append(
            {
                "text": question_from_title(row["subject"]),
                "relevant": [row["ref"]],
                "department": None,
                "source": "001-subject",
            }
        )

    for i, item in enumerate(matsumoto_items(read("000")), 1):
        first = re.split(r"[。]", re.sub(r"^１\s*趣旨\s*", "", item["answer"]))[0]
        current = MATSUMOTO_ITEM_DIVISIONS[i]
        rows.append(
            {
                "kind": "record",
                "ref": item["ref"],
                "title": first[:40],
                "question": question_from_title(first[:40]),
                "answer": item["answer"],
                "department": archive_name(i, current, item["department"], current_names),
                "answerer": "部長",
            }
        )
        queries.append(
            {
                "text": question_from_title(item["title"]),
                "relevant": [item["ref"]],
                "department": current,
                "source": "000-title",
            }
        )

    refs = {r["ref"] for r in rows if r["kind"] == "record"}
    for text, relevant in EXTRA_QUESTIONS:
        missing = set(relevant) - refs
        if missing:
            raise SystemExit(f"devset_questions.py names unknown refs: {sorted(missing)}")
        queries.append({"text": text, "relevant": relevant, "department": None, "source": "written"})

    for i, q in enumerate(queries, 1):
        q.update(kind="query", id=f"q{i:03d}")
    return rows + queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    items = build(args.seeds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    kinds = Counter(i["kind"] for i in items)
    n_route = sum(1 for i in items if i["kind"] == "query" and i.get("department"))
    print(
        f"{args.out}: {kinds['department']} divisions, {kinds['record']} records, "
        f"{kinds['query']} queries ({n_route} with a division)"
    )


if __name__ == "__main__":
    main()
