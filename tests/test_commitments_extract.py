"""Extraction of answer commitments from real-register answers (domain/commitments.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from councilbot.domain.commitments import (
    CONSIDER,
    IMPLEMENT,
    MAINTAIN,
    REQUEST,
    STUDY,
    Earlier,
    compare,
    extract,
    fiscal_year_of,
    reminder_slot,
    resolve_timing,
    topic_similarity,
)

ANSWERED = dt.date(2026, 12, 9)  # 令和8年12月定例会


def only(answer: str, answered: dt.date = ANSWERED):  # type: ignore[no-untyped-def]
    found = extract(answer, answered)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("sentence", "strength"),
    [
        ("来年度から、全ての指定避難所にマンホールトイレを整備してまいります。", IMPLEMENT),
        ("本年度中に調査結果を取りまとめる予定でございます。", IMPLEMENT),
        ("令和9年4月から、第3子以降の保育料を無償化することといたしました。", IMPLEMENT),
        ("書かない窓口の導入に向けて、着実に取り組んでまいります。", IMPLEMENT),
        ("助成制度の必要性について、第10期介護保険事業計画の策定の中で検討してまいりたいと考えております。", CONSIDER),
        ("要件の緩和を含めた追加支援策を検討してまいります。", CONSIDER),
        ("中学校を含めた保護者負担の在り方について判断してまいりたいと考えております。", CONSIDER),
        ("市内事業者の受注機会の拡大につながる支援の在り方について研究してまいりたいと考えております。", STUDY),
        ("先行自治体の事例について調査・研究を進めてまいります。", STUDY),
        ("国の動向を注視してまいります。", STUDY),
        ("国に対しては、全国市長会などを通じ、全額国費による無償化の実施を要望してまいります。", REQUEST),
        ("運営委員会に女性が複数参画するよう、自主防災組織や町内会に働きかけてまいります。", REQUEST),
        ("県に対し、正規教員の採用の拡大を強く求めてまいります。", REQUEST),
        ("引き続き、避難所開設訓練を通じて運営手順を確認してまいります。", MAINTAIN),
        ("今後とも、滞納者の個別の事情を丁寧に把握し、生活再建の視点に立った対応に努めてまいります。", MAINTAIN),
        ("現時点で、市独自に助成制度を設ける考えはございません。", MAINTAIN),
    ],
)
def test_each_stance_form_has_its_strength(sentence: str, strength: str) -> None:
    assert only(sentence).strength == strength


def test_the_frame_the_present_and_quoted_earlier_answers_are_not_commitments() -> None:
    answer = (
        "松本議員の御質問にお答えいたします。"
        "本市では、令和6年度から第3子以降の給食費を無償化しており、約640人が対象となっております。"
        "令和7年9月定例会で「本年度中に調査結果を取りまとめる予定」とお答えした件につきましては、"
        "本年3月に取りまとめたところでございます。"
    )
    assert extract(answer, ANSWERED) == []


def test_a_statement_is_in_the_plain_form_with_its_subject_without_timing() -> None:
    c = only(
        "本市といたしましては、先行自治体の助成の対象者や上限額について調査を進めているところであり、本年度中に調査結果を取りまとめる予定でございます。"
    )
    assert c.statement == "本年度中に調査結果を取りまとめる予定"
    assert c.subject == "調査結果を取りまとめる"
    assert c.timing is not None and c.timing.text == "本年度中"


def test_two_commitments_in_one_sentence_are_two_items() -> None:
    found = extract(
        "今後は、日本語指導ボランティアの養成講座を拡充するとともに、やさしい日本語による情報発信に取り組んでまいります。",
        ANSWERED,
    )
    assert [c.statement for c in found] == [
        "日本語指導ボランティアの養成講座を拡充する",
        "やさしい日本語による情報発信に取り組む",
    ]
    assert {c.strength for c in found} == {IMPLEMENT}


@pytest.mark.parametrize(
    ("text", "answered", "start", "end"),
    [
        # The example: 本年度 said in 令和8年12月 means until 2027-03-31.
        ("本年度中", dt.date(2026, 12, 9), dt.date(2026, 12, 9), dt.date(2027, 3, 31)),
        # In February, 本年度 is the fiscal year that began the April before.
        ("本年度中", dt.date(2027, 2, 25), dt.date(2027, 2, 25), dt.date(2027, 3, 31)),
        ("来年度", dt.date(2026, 12, 9), dt.date(2027, 4, 1), dt.date(2028, 3, 31)),
        ("来年度", dt.date(2027, 3, 5), dt.date(2027, 4, 1), dt.date(2028, 3, 31)),
        ("令和9年1月", dt.date(2026, 12, 9), dt.date(2027, 1, 1), dt.date(2027, 1, 31)),
        ("令和９年１月", dt.date(2026, 12, 9), dt.date(2027, 1, 1), dt.date(2027, 1, 31)),  # full-width digits
        ("令和9年度から", dt.date(2026, 12, 9), dt.date(2027, 4, 1), dt.date(2028, 3, 31)),
        ("令和8年度末までに", dt.date(2026, 6, 10), dt.date(2026, 6, 10), dt.date(2027, 3, 31)),
        ("令和元年度", dt.date(2019, 6, 10), dt.date(2019, 6, 10), dt.date(2020, 3, 31)),
        ("平成三十年度", dt.date(2018, 6, 10), dt.date(2018, 6, 10), dt.date(2019, 3, 31)),  # kanji numerals
        ("年内", dt.date(2026, 9, 9), dt.date(2026, 9, 9), dt.date(2026, 12, 31)),
        ("来年4月から", dt.date(2026, 12, 9), dt.date(2027, 4, 1), dt.date(2027, 4, 30)),
    ],
)
def test_timing_resolves_against_the_answer_date(text: str, answered: dt.date, start: dt.date, end: dt.date) -> None:
    timing = resolve_timing(text, answered)
    assert (timing.start, timing.end) == (start, end)
    assert timing.text == text


@pytest.mark.parametrize("text", ["次期計画の策定に合わせて", "第10期介護保険事業計画の策定の中で", "早期に"])
def test_timing_without_a_date_is_kept_as_written(text: str) -> None:
    timing = resolve_timing(text, ANSWERED)
    assert timing.text == text and timing.start is None and timing.end is None


@pytest.mark.parametrize(
    ("sentence", "timing_text", "end"),
    [
        ("避難所運営マニュアルにつきましては、本年度中に改訂する予定でございます。", "本年度中", dt.date(2027, 3, 31)),
        ("来年度に地域公共交通計画を見直してまいります。", "来年度", dt.date(2028, 3, 31)),
        ("コミュニティバスの新路線は、令和9年1月から運行を開始いたします。", "令和9年1月から", dt.date(2027, 1, 31)),
        (
            "デマンド交通の導入につきましては、次期計画の策定に合わせて検討してまいります。",
            "次期計画の策定に合わせて",
            None,
        ),
        (
            "洋式化率を、令和3年度から令和7年度までの5か年で80パーセント以上に引き上げてまいります。",
            "令和7年度",
            dt.date(2026, 3, 31),
        ),
    ],
)
def test_timing_as_written_in_an_answer(sentence: str, timing_text: str, end: dt.date | None) -> None:
    c = only(sentence)
    assert c.timing is not None and c.timing.text == timing_text and c.timing.end == end


def test_fiscal_year_runs_april_to_march() -> None:
    assert fiscal_year_of(dt.date(2027, 3, 31)) == 2026
    assert fiscal_year_of(dt.date(2027, 4, 1)) == 2027


def test_topic_similarity_sees_the_same_topic_in_other_words() -> None:
    assert topic_similarity("補聴器購入費の助成について", "補聴器購入費助成制度の創設について") >= 0.9
    assert topic_similarity("補聴器購入費の助成について", "学校給食費の無償化について") < 0.5


EARLIER_ANSWER = (
    "先行自治体の助成の対象者や上限額について調査を進めているところであり、本年度中に調査結果を取りまとめる予定でございます。"
    "その結果を踏まえ、助成制度の必要性について、第10期介護保険事業計画の策定の中で検討してまいりたいと考えております。"
)
EARLIER_DATE = dt.date(2025, 9, 9)  # 令和7年9月


def _earlier() -> list[Earlier]:
    return [Earlier("SKG-1-0100", EARLIER_DATE, c) for c in extract(EARLIER_ANSWER, EARLIER_DATE)]


def test_a_later_date_for_the_same_item_is_a_conflict() -> None:
    draft = "本年度中に調査結果を取りまとめる予定でございます。助成制度の必要性について、第10期介護保険事業計画の策定の中で検討してまいります。"
    conflicts = compare(_earlier(), draft, ANSWERED)
    assert [(c.kind, c.earlier.commitment.statement) for c in conflicts] == [
        ("later", "本年度中に調査結果を取りまとめる予定")
    ]
    assert conflicts[0].earlier.label == "前回答弁（令和7年9月）"


def test_a_weaker_stance_and_a_dropped_item_are_conflicts() -> None:
    draft = "助成制度の必要性につきましては、国の研究の動向を注視し、研究してまいります。"
    kinds = {(c.kind, c.earlier.commitment.strength) for c in compare(_earlier(), draft, ANSWERED)}
    assert kinds == {("dropped", IMPLEMENT), ("weaker", CONSIDER)}


def test_an_answer_that_reports_progress_and_keeps_the_stance_has_no_conflict() -> None:
    draft = (
        "令和7年9月定例会で「本年度中に調査結果を取りまとめる予定」とお答えした調査結果は、本年3月に取りまとめたところでございます。"
        "これを踏まえ、助成制度の必要性について、第10期介護保険事業計画の策定の中で検討してまいります。"
    )
    assert compare(_earlier(), draft, ANSWERED) == []


def test_the_weekly_reminder_slot_is_the_last_monday_morning() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Tokyo")
    assert reminder_slot(dt.datetime(2026, 12, 9, 10, tzinfo=tz), tz) == dt.datetime(2026, 12, 7, 8, 45, tzinfo=tz)
    assert reminder_slot(dt.datetime(2026, 12, 7, 8, 0, tzinfo=tz), tz) == dt.datetime(2026, 11, 30, 8, 45, tzinfo=tz)
