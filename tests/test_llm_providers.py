"""Providers over the wire: a local OpenAI-compatible server plays OpenAI, Azure and a
city's own model; assertions are on what reached it and what the caller is told."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from councilbot.adapters.llm.factory import make_provider
from councilbot.adapters.llm.offline import OfflineDrafter
from councilbot.domain.drafting import ChatMessage, DraftRequest, GroundingSource
from councilbot.domain.offline_draft import topic_of
from councilbot.errors import CouncilbotError, ProviderError
from councilbot.services.ports import DraftingProvider, Generation
from councilbot.services.prompt_files import SHIPPED_PROMPTS, load_prompt_dir
from councilbot.settings import Settings
from tests.fake_openai_server import FakeOpenAIServer, Reply

STYLE = load_prompt_dir(SHIPPED_PROMPTS).style
REQUEST = DraftRequest(
    messages=(ChatMessage("system", "指示"), ChatMessage("user", "<question>\n質問\n</question>")),
    topic="デマンド交通の拡充について",
    question="デマンド型乗合タクシーの運行地区を拡大すべきと考えるが、市の見解を伺う。",
    member="青木 健一",
    answerer="市長",
    sources=(),
    style=STYLE,
)
FAST_RETRY = {"retry-after-ms": "10"}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def compatible(server: FakeOpenAIServer, **overrides: object) -> Settings:
    values = {
        "LLM_PROVIDER": "openai",
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_MODEL": "city-llm",
        "LLM_MAX_RETRIES": 2,
    }
    return Settings(**{**values, **overrides})


def run(provider: DraftingProvider, request: DraftRequest = REQUEST) -> tuple[list[str], Generation]:
    pieces: list[str] = []
    stream = provider.stream(request)
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as done:
            return pieces, done.value


def test_streaming_yields_pieces_and_reports_usage(server: FakeOpenAIServer) -> None:
    server.queue(
        Reply(text="本市といたしましても重要な課題であると認識しております。", usage=(321, 45), model="city-llm-2025")
    )
    pieces, generation = run(make_provider(compatible(server, OPENAI_API_KEY="sk-city")))
    assert len(pieces) > 1  # written as the model writes, not all at once
    assert "".join(pieces) == "本市といたしましても重要な課題であると認識しております。"
    assert generation == Generation(model="city-llm-2025", tokens_in=321, tokens_out=45)
    received = server.requests[-1]
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == "Bearer sk-city"
    assert received.body["model"] == "city-llm"
    assert received.body["stream"] is True and received.body["stream_options"] == {"include_usage": True}
    assert received.messages == [
        {"role": "system", "content": "指示"},
        {"role": "user", "content": "<question>\n質問\n</question>"},
    ]


def test_gateway_answering_plain_json_is_accepted(server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="一括で返る答弁です。", mode="json", usage=(10, 5)))
    pieces, generation = run(make_provider(compatible(server)))
    assert pieces == ["一括で返る答弁です。"]
    assert (generation.tokens_in, generation.tokens_out) == (10, 5)


def test_azure_path_api_key_header_and_deployment(server: FakeOpenAIServer) -> None:
    settings = Settings(
        LLM_PROVIDER="azure",
        AZURE_OPENAI_ENDPOINT=server.root,
        AZURE_OPENAI_API_VERSION="2024-10-21",
        OPENAI_API_KEY="azure-secret",
        OPENAI_MODEL="toben-gpt4o",
    )
    provider = make_provider(settings)
    pieces, _ = run(provider)
    assert "".join(pieces) == server.default_text
    received = server.requests[-1]
    assert received.path == "/openai/deployments/toben-gpt4o/chat/completions"
    assert received.query == {"api-version": ["2024-10-21"]}
    assert received.headers["api-key"] == "azure-secret"
    assert "authorization" not in received.headers
    assert provider.kind == "azure"


def test_429_then_success_is_retried(server: FakeOpenAIServer) -> None:
    server.queue(
        Reply(status=429, headers=FAST_RETRY), Reply(status=503, headers=FAST_RETRY), Reply(text="三度目で届きました。")
    )
    pieces, _ = run(make_provider(compatible(server)))
    assert "".join(pieces) == "三度目で届きました。"
    assert len(server.requests) == 3
    assert server.requests[0].body == server.requests[2].body


def test_rate_limit_that_persists_is_explained_in_japanese(server: FakeOpenAIServer) -> None:
    server.queue(*[Reply(status=429, headers=FAST_RETRY)] * 3)
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server)))
    assert len(server.requests) == 3  # one try and LLM_MAX_RETRIES=2 retries
    assert "利用上限" in info.value.message and "保存していません" in info.value.message


def test_server_error_is_explained(server: FakeOpenAIServer) -> None:
    server.queue(*[Reply(status=500, headers=FAST_RETRY)] * 2)
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server, LLM_MAX_RETRIES=1)))
    assert "障害" in info.value.message and "500" in info.value.message


def test_timeout_is_explained(server: FakeOpenAIServer) -> None:
    server.queue(Reply(delay=2.0))
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server, LLM_TIMEOUT_SECONDS=0.3, LLM_MAX_RETRIES=0)))
    assert "0.3秒以内に応答しませんでした" in info.value.message


def test_unknown_deployment_is_explained(server: FakeOpenAIServer) -> None:
    server.queue(Reply(status=404))
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server)))
    assert "city-llm" in info.value.message and "OPENAI_MODEL" in info.value.message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(text="途中で切れる長い答弁の下書きでございます。", truncate=True), "最後まで届きません"),
        (Reply(text="上限で切れた答弁", finish_reason="length"), "出力の上限"),
        (Reply(text="止められた答弁", finish_reason="content_filter"), "内容フィルタ"),
    ],
)
def test_a_stream_that_does_not_finish_never_returns_a_generation(
    server: FakeOpenAIServer, reply: Reply, expected: str
) -> None:
    server.queue(reply)
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server)))
    assert expected in info.value.message


def test_missing_settings_are_named() -> None:
    with pytest.raises(CouncilbotError, match="OPENAI_MODEL"):
        make_provider(Settings(LLM_PROVIDER="openai", OPENAI_API_KEY="k"))
    with pytest.raises(CouncilbotError, match="OPENAI_API_KEY"):
        make_provider(Settings(LLM_PROVIDER="openai", OPENAI_MODEL="gpt-4o"))
    with pytest.raises(CouncilbotError, match="AZURE_OPENAI_ENDPOINT"):
        make_provider(
            Settings(LLM_PROVIDER="azure", OPENAI_MODEL="d", OPENAI_API_KEY="k", AZURE_OPENAI_API_VERSION="v")
        )


def test_offline_is_the_default_and_sends_nothing() -> None:
    provider = make_provider(Settings())
    assert isinstance(provider, OfflineDrafter)
    assert provider.origin == "offline" and not provider.sends_text
    assert "生成AI不使用" in provider.model


def test_offline_composes_from_sources_in_answer_form() -> None:
    source = GroundingSource(
        key="R5-6-3-1-1",
        title="地域公共交通について",
        question="デマンド交通を伺う",
        answer=(
            "地域公共交通についてお答えいたします。本市では、令和4年度からデマンド型乗合タクシーを市内3地区で運行しております。"
            "令和5年度の利用者数は延べ12,000人でございました。一方で、運転手の確保が課題となっております。"
            "今後も、交通事業者と連携しながら着実に推進してまいります。"
        ),
    )
    other = GroundingSource(
        key="R4-9-1-1", title="図書館", question="開館時間", answer="図書館の開館時間を延長しております。"
    )
    request = DraftRequest(**{**REQUEST.__dict__, "sources": (source, other)})
    pieces, generation = run(OfflineDrafter(), request)
    text = "".join(pieces)
    assert len(pieces) > 3 and generation.tokens_in is None
    assert text == "".join(run(OfflineDrafter(), request)[0])  # deterministic
    lines = text.splitlines()
    assert lines[0] == "青木 健一議員の御質問のうち、デマンド交通の拡充についてお答えいたします。"
    assert "令和4年度からデマンド型乗合タクシーを市内3地区で運行しております。" in text  # the source's own facts
    assert "運転手の確保が課題" in text
    assert lines[-2].endswith("着実に推進してまいります。")  # the source's stance: 推進
    assert lines[-1] == "【参照】R5-6-3-1-1"  # cites what it used, not what it did not


def test_offline_without_sources_leaves_a_visible_gap() -> None:
    text = "".join(run(OfflineDrafter())[0])
    assert "（要確認）" in text
    assert text.rstrip().endswith("【参照】なし")
    assert "検討してまいります" in text  # the style guide's default stance


def test_topic_of_title() -> None:
    assert topic_of("地域公共交通の維持について") == "地域公共交通の維持"
    assert topic_of("防災対策に関して伺う") == "防災対策"


def test_offline_states_the_current_position_from_the_newest_answer_on_the_same_topic() -> None:
    older = GroundingSource(
        key="R3-6-1-1",
        title="避難所運営マニュアルについて",
        question="避難所の女性への配慮を伺う",
        date="2021-06-14",
        score=1.0,
        answer="避難所運営マニュアルは平成26年に策定したもので、女性への配慮が十分に盛り込まれているとは言えない状況でございます。今後も着実に推進してまいります。",
    )
    newer = GroundingSource(
        key="R6-3-2-1",
        title="避難所運営マニュアルの改訂について",
        question="避難所の女性への配慮の現状を伺う",
        date="2024-03-05",
        score=0.9,
        answer="令和4年度に避難所運営マニュアルを改訂し、女性専用の更衣室や授乳室の設置を明記いたしました。今後の在り方について検討してまいりたいと考えております。",
    )
    request = DraftRequest(
        **{
            **REQUEST.__dict__,
            "topic": "避難所運営マニュアルについて",
            "question": "避難所運営マニュアルにおける女性への配慮を伺う",
            "sources": (older, newer),
        }
    )
    text = "".join(run(OfflineDrafter(), request)[0])
    assert "令和4年度に避難所運営マニュアルを改訂し" in text
    assert "十分に盛り込まれているとは言えない" not in text  # superseded by the 令和6年 answer
    assert text.rstrip().endswith("【参照】R6-3-2-1")
    closing = text.rstrip().splitlines()[-2]
    assert "検討" in closing and "推進" not in closing  # the newer answer's stance, not the older one's


# ---- issue 12: the deadline of a whole draft, its output limit, a reply cut off -------------------


def test_the_timeout_is_the_deadline_of_the_whole_draft_and_a_timeout_is_not_retried(server: FakeOpenAIServer) -> None:
    server.queue(*[Reply(delay=30.0)] * 4)
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server, LLM_TIMEOUT_SECONDS=0.3, LLM_MAX_RETRIES=3)))
    assert len(server.requests) == 1  # not 1 + 3 attempts of 0.3 s each
    assert "0.3秒以内に応答しませんでした" in info.value.message and "全体" in info.value.message


def test_retries_stop_when_the_server_asks_for_a_wait_beyond_the_deadline(server: FakeOpenAIServer) -> None:
    server.queue(Reply(status=503, headers={"retry-after": "120"}), Reply(text="届かないはずの答弁"))
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server, LLM_TIMEOUT_SECONDS=5, LLM_MAX_RETRIES=3)))
    assert len(server.requests) == 1 and "障害" in info.value.message


def test_the_output_limit_is_sent(server: FakeOpenAIServer) -> None:
    run(make_provider(compatible(server, LLM_MAX_OUTPUT_TOKENS=900)))
    assert server.requests[-1].body["max_tokens"] == 900


def test_a_reply_cut_off_by_the_server_is_reported_as_cut_off(server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="途中で接続が切られる長い答弁の下書きでございます。" * 3, cut=True))
    with pytest.raises(ProviderError) as info:
        run(make_provider(compatible(server, LLM_MAX_RETRIES=0)))
    assert "途中で途切れました" in info.value.message and "接続できませんでした" not in info.value.message


# ---- issue 12: the offline drafter says what the best past answer says ---------------------------

KAIGO = GroundingSource(
    key="SKG-1-0094",
    title="介護保険料の負担軽減について",
    date="2021-09-13",
    score=9.0,
    question="介護保険料の負担が重いとの声がある。保険料の軽減策について伺う。",
    answer=(
        "お答えいたします。第8期の介護保険料につきましては、介護給付費準備基金を約4億2千万円取り崩し、基準額の上昇を月額190円に抑制したところでございます。"
        "市独自の減免制度につきましては、昨年度は43件の適用がございました。今後も、制度の周知に努め、着実に取り組んでまいります。"
    ),
)
KOKUHO = GroundingSource(
    key="SKG-1-0118",
    title="国民健康保険税の負担軽減について",
    date="2025-03-07",
    score=7.0,
    question="国民健康保険税の負担軽減について伺う。",
    answer=(
        "お答えいたします。国民健康保険は、所得の低い方の加入割合が高く、税の負担感が大きいことは十分承知しております。"
        "本市の法定外繰入れは、令和5年度には約1億2千万円まで縮減してまいりました。今後の在り方について検討してまいります。"
    ),
)


def offline_text(topic: str, question: str, *sources: GroundingSource) -> str:
    request = DraftRequest(**{**REQUEST.__dict__, "topic": topic, "question": question, "sources": sources})
    return "".join(run(OfflineDrafter(), request)[0])


def test_offline_draws_on_the_most_relevant_answer_not_the_newest_passable_one() -> None:
    text = offline_text(
        "介護保険料の負担軽減について", "介護保険料の負担が重い高齢者への軽減策について伺う。", KAIGO, KOKUHO
    )
    assert "基準額の上昇を月額190円に抑制" in text
    assert "国民健康保険" not in text and "法定外繰入れ" not in text
    assert text.rstrip().endswith("【参照】SKG-1-0094")


HOSEI = GroundingSource(
    key="R4-9-1-1",
    title="物価高騰対策について",
    date="2022-09-05",
    score=5.0,
    question="物価高騰に対する市の支援策を伺う。",
    answer=(
        "お答えいたします。本市では、令和4年度に住民税非課税世帯へ1世帯当たり3万円の臨時給付金を支給いたしました。"
        "また、本定例会に、中小事業者の光熱費を支援する補正予算を提案しております。"
        "現在、申請は約4,200件となっており、本年度中の支給完了を予定しております。今後も、着実に推進してまいります。"
    ),
)


def test_offline_drops_sentences_tied_to_their_sitting_and_dates_year_relative_ones() -> None:
    text = offline_text("物価高騰対策について", "物価高騰に対する市の支援策と今後の対応を伺う。", HOSEI)
    assert "本定例会" not in text and "補正予算を提案" not in text
    assert "令和4年9月現在、申請は約4,200件となっており、令和4年度中の支給完了を予定しております。" in text
    assert "本年度" not in text


SCHEDULED = GroundingSource(
    key="R6-3-4-1",
    title="小中学校の体育館への空調設備の整備について",
    date="2024-03-04",
    score=6.0,
    question="小中学校の体育館に空調設備を整備すべきと考えるが、見解を伺う。",
    answer=(
        "お答えいたします。体育館は災害時の避難所となることから、空調設備の整備は重要であると認識しております。"
        "令和6年度当初予算に設計費2,400万円を計上し、令和7年度から3か年で全24校に整備する予定でございます。"
        "整備に当たっては、国の交付金を最大限活用いたします。"
    ),
)


def test_offline_keeps_the_sources_stance_and_key_facts() -> None:
    text = offline_text(
        "体育館への空調設備の整備について", "小中学校の体育館への空調設備の整備について、今後の予定を伺う。", SCHEDULED
    )
    assert "令和6年度当初予算に設計費2,400万円を計上し、令和7年度から3か年で全24校に整備する予定でございます。" in text
    closing = text.rstrip().splitlines()[-2]
    assert "推進" in closing and "検討してまいります" not in text  # a budgeted, scheduled project
    assert "国や県の動向" not in text  # nothing the source did not say


def test_offline_closes_with_the_sources_own_closing_sentence() -> None:
    text = offline_text("介護保険料の負担軽減について", "介護保険料の軽減策について伺う。", KAIGO)
    assert text.rstrip().splitlines()[-2] == "今後も、制度の周知に努め、着実に取り組んでまいります。"
    assert "令和2年度は43件の適用がございました。" in text  # 昨年度 of a 令和3年9月 answer
