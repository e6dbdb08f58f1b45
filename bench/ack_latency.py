"""Slack acknowledgement latency while 20 users ask for drafts at once (SPEC §5: p99 under 1 s).

The real app is served over HTTP (waitress) with signed requests; Slack is the
local fake Web API of the tests, and the model an OpenAI-compatible fake that
waits 10 seconds before it answers. Twenty drafters each send
``/council draft KEY`` at the same moment; the time until each HTTP response
(Slack's acknowledgement) is measured, then the drafts are waited for.

    .venv/bin/python bench/ack_latency.py [--users 20] [--model-delay 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from councilbot.services import assignment, intake
from councilbot.services.common import get_user
from councilbot.services.org import load_org
from councilbot.settings import Settings
from councilbot.storage.db import ensure_schema, session_scope
from tests.fake_openai_server import FakeOpenAIServer, Reply
from tests.fake_slack import FakeSlack
from tests.slack_helpers import SlackApp, slack_settings

ORG = """city: 計測市
departments:
  - name: 総務部
    children:
      - {{name: 総務課, general_affairs: true, channel: C0SOMU, duties: 議会との連絡調整}}
      - {{name: 危機管理課, channel: C0KIKI, duties: 防災計画、避難所の運営}}
members:
{members}
users:
  - {{id: UGA1, name: 総務 花子, department: 総務課, position: 係長, roles: [general_affairs]}}
{users}
sessions:
  - {{name: 令和8年12月定例会, opens: 2026-12-01, answer_deadline: 2026-11-27T17:00}}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def prepare(settings: Settings, users: int, workdir: Path) -> list[tuple[str, str]]:
    members = "\n".join(f"  - {{seat: {i + 1}, name: 議員 {i + 1:02d}号, faction: 会派{i % 3}}}" for i in range(users))
    drafters = "\n".join(
        f"  - {{id: UD{i:02d}, name: 職員 {i:02d}号, department: 危機管理課, position: 係長}}" for i in range(users)
    )
    org_file = workdir / "org.yaml"
    org_file.write_text(ORG.format(members=members, users=drafters), encoding="utf-8")
    ensure_schema(settings)
    pairs = []
    with session_scope(settings) as db:
        load_org(db, org_file, actor="bench")
    with session_scope(settings) as db:
        ga = get_user(db, "UGA1")
        for i in range(users):
            data = intake.QuestionInput(
                "令和8年12月定例会",
                i + 1,
                "一般質問",
                "1",
                f"避難所運営について（{i + 1}）",
                f"避難所の運営と備蓄の現状について、第{i + 1}地区の課題と今後の取組を伺う。",
            )
            key = intake.register_question(db, ga, data).question.key
            assignment.assign(db, ga, key, "危機管理課", answerer="部長")
            pairs.append((f"UD{i:02d}", key))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--model-delay", type=float, default=10.0, help="seconds the model waits before answering")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="councilbot-bench-") as tmp,
        FakeSlack() as fake,
        FakeOpenAIServer() as model,
    ):
        workdir = Path(tmp)
        model.queue(
            *[
                Reply(
                    text="お答えいたします。避難所の運営につきましては、引き続き取り組んでまいります。\n【参照】なし",
                    delay=args.model_delay,
                )
            ]
            * args.users
        )
        base = Settings(
            DATABASE_URL=f"sqlite:///{workdir}/bench.db", INDEX_DIR=workdir / "index", EXPORT_DIR=workdir / "exports"
        )
        settings = slack_settings(
            base,
            fake,
            llm_provider="openai",
            openai_base_url=model.base_url,
            openai_model="slow-model",
            llm_timeout_seconds=args.model_delay * 3,
            llm_max_retries=0,
        )
        pairs = prepare(settings, args.users, workdir)

        with SlackApp(settings, fake, threads=32) as app:
            barrier = threading.Barrier(len(pairs))
            latencies: list[float] = []
            statuses: list[int] = []

            def ask(user: str, key: str) -> None:
                barrier.wait()
                response = app.command(user, f"draft {key}", channel="C0KIKI")
                latencies.append(response.seconds)
                statuses.append(response.status)

            started = time.perf_counter()
            threads = [threading.Thread(target=ask, args=pair) for pair in pairs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            acked = time.perf_counter() - started
            app.executor.wait_idle(timeout=args.model_delay * 6)
            finished = time.perf_counter() - started

        drafts = sum(1 for c in fake.of("chat.update") if "の答弁案（第" in c.text)
        print(f"users: {len(pairs)}, model delay: {args.model_delay:.0f} s")
        print(f"acknowledgement p50: {statistics.median(latencies) * 1000:.0f} ms")
        print(f"acknowledgement p99: {percentile(latencies, 0.99) * 1000:.0f} ms (target < 1000 ms)")
        print(
            f"acknowledgement max: {max(latencies) * 1000:.0f} ms; all 20 acknowledged within {acked:.2f} s; HTTP statuses: {sorted(set(statuses))}"
        )
        print(f"drafts delivered: {drafts}/{len(pairs)} in {finished:.1f} s; model requests: {len(model.requests)}")


if __name__ == "__main__":
    from councilbot.app_context import ensure_context

    ensure_context()  # the application context the CLI would install
    main()
