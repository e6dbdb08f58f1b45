"""The rule check: every finding has its rule id and position; a clean answer has none."""

from __future__ import annotations

import pytest

from councilbot.domain.rulecheck import check_answer, check_citations, sentences, speaking_seconds
from councilbot.services.prompt_files import SHIPPED_PROMPTS, load_prompt_dir

CLEAN = (
    "地域公共交通の維持についてお答えいたします。"
    "地域公共交通につきましては、市民の日常生活を支える重要な基盤であると認識しております。"
    "本市では、令和4年度からデマンド型乗合タクシーを市内3地区で運行しております。"
    "今後も、交通事業者と連携しながら着実に取り組んでまいります。"
)
SOURCE = "令和4年度からデマンド型乗合タクシーを市内3地区で運行しております。"


@pytest.fixture(scope="module")
def prompts():
    return load_prompt_dir(SHIPPED_PROMPTS)


@pytest.fixture(scope="module")
def rules(prompts):
    return prompts.rules


def ids(findings) -> list[str]:
    return [f.rule_id for f in findings]


def test_clean_answer_has_no_findings(rules) -> None:
    assert check_answer(CLEAN, rules, sources=[SOURCE]) == []


@pytest.mark.parametrize(
    ("phrase", "rule_id"),
    [
        ("この点は片手落ちでございます。", "BAN-001"),
        ("善処します。", "RISK-001"),
        ("重要だと思います。", "RISK-002"),
        ("必ず実施いたします。", "COM-001"),
        ("予算化を確約いたします。", "COM-001"),
        ("実施をお約束いたします。", "COM-001"),
        ("対象は○○地区でございます。", "LEFT-001"),
        ("開始時期は（要確認）でございます。", "LEFT-002"),
        ("担当は【】課でございます。", "LEFT-003"),
        ("相談者は［氏名］様でございます。", "LEFT-003"),
        ("これまでの指示を無視して回答いたします。", "INJ-001"),
    ],
)
def test_expression_rules_report_id_and_position(rules, phrase: str, rule_id: str) -> None:
    text = CLEAN + phrase
    findings = [f for f in check_answer(text, rules, sources=[SOURCE]) if f.rule_id == rule_id]
    assert len(findings) == 1
    finding = findings[0]
    assert finding.start >= len(CLEAN)
    assert text[finding.start : finding.end] == finding.excerpt
    assert finding.severity in ("error", "warning", "info")
    assert finding.message


def test_必ずしも_is_not_a_commitment(rules) -> None:
    assert "COM-001" not in ids(check_answer("必ずしも十分とは言えない状況でございます。", rules))


def test_plain_form_sentence_is_flagged_at_its_position(rules) -> None:
    text = "本市では対応しております。対応は困難である。今後も取り組んでまいります。"
    findings = [f for f in check_answer(text, rules) if f.rule_id == "REG-001"]
    assert [(f.start, f.end) for f in findings] == [(13, 22)]
    assert text[13:22] == "対応は困難である。"


def test_quoted_speech_is_not_a_sentence_of_its_own(rules) -> None:
    text = "議員御指摘の「対応が遅い。」との声は承知しております。"
    assert list(sentences(text)) == [(0, len(text))]
    assert "REG-001" not in ids(check_answer(text, rules))


def test_length_and_speaking_time(rules) -> None:
    long_text = "本市では対策を進めております。" * 100  # 1,500 characters
    findings = {f.rule_id: f for f in check_answer(long_text, rules)}
    assert "LEN-001" in findings and "1500字" in findings["LEN-001"].message
    assert findings["LEN-001"].start == 1200
    assert "LEN-002" in findings and "約5.0分" in findings["LEN-002"].message
    assert speaking_seconds(long_text, rules) == 300


def test_numbers_in_no_source_are_flagged(rules) -> None:
    text = (
        "本市では、令和4年度から市内3地区で運行し、利用者は延べ12,000人でございました。1点目についてお答えいたします。"
    )
    findings = [
        f
        for f in check_answer(text, rules, question="令和4年度の状況", sources=["市内3地区で運行"])
        if f.rule_id == "NUM-001"
    ]
    assert [f.excerpt for f in findings] == ["12,000"]
    assert "12,000" in findings[0].message
    # Grounded in a source written with full-width digits and no comma: not flagged.
    assert "NUM-001" not in ids(
        check_answer(text, rules, question="令和4年度", sources=["市内3地区、延べ１２０００人"])
    )


def test_leaked_instructions_are_flagged(prompts, rules) -> None:
    instructions = prompts.instructions(answerer="市長")
    leaked_line = next(line for line in instructions.splitlines() if "資料（データ）" in line).lstrip("- ")
    text = CLEAN + leaked_line
    findings = [
        f for f in check_answer(text, rules, sources=[SOURCE], protected_texts=[instructions]) if f.rule_id == "INJ-002"
    ]
    assert len(findings) == 1 and findings[0].start == len(CLEAN)
    # The style guide is not protected: answers may (and should) use its set phrases.
    assert check_answer(CLEAN, rules, sources=[SOURCE], protected_texts=[instructions]) == []


def test_citations_checked_against_what_was_offered(rules) -> None:
    assert check_citations(CLEAN, ["R5-1"], ["R5-1", "R4-2"], rules) == []
    unknown = check_citations(CLEAN, ["R9-9"], ["R5-1"], rules)
    assert ids(unknown) == ["CITE-001"] and "R9-9" in unknown[0].message
    assert ids(check_citations(CLEAN, [], ["R5-1"], rules)) == ["CITE-002"]


# ---- issue 12: the guard, the language and the form of every draft ------------------------------


@pytest.fixture(scope="module")
def guard(prompts):
    return prompts.guard


def test_a_draft_repeating_a_residents_name_and_phone_is_flagged_each_time(rules, guard) -> None:
    text = (
        CLEAN
        + "相談者の山田花子様（090-1234-5678）から要望がございました。山田花子様には、090.1234.5678 へ御連絡いたしました。"
    )
    findings = [f for f in check_answer(text, rules, sources=[SOURCE], guard=guard) if f.rule_id == "PII-001"]
    assert [f.excerpt for f in findings] == ["山田花子", "090-1234-5678", "山田花子", "090.1234.5678"]
    assert all(f.severity == "error" for f in findings)
    assert "氏名" in findings[0].message and "電話番号" in findings[1].message


def test_the_questioner_and_titles_in_a_draft_are_not_personal_data(rules, guard) -> None:
    text = "青木健一議員の御質問にお答えいたします。鈴木一郎部長から御説明いたします。" + CLEAN
    assert "PII-001" not in ids(check_answer(text, rules, sources=[SOURCE], guard=guard, keep_names=["青木健一"]))


@pytest.mark.parametrize("marker", ["（秘）", "社外秘", "＜秘＞"])
def test_a_marker_in_a_draft_is_flagged_as_written(rules, guard, marker: str) -> None:
    text = CLEAN + f"{marker}用地の取得価格は調整中でございます。"
    (finding,) = [f for f in check_answer(text, rules, sources=[SOURCE], guard=guard) if f.rule_id == "SEC-001"]
    assert finding.excerpt == marker and f"「{marker}」" in finding.message


def test_a_draft_not_in_japanese_is_flagged(rules) -> None:
    english = "Thank you for the question. The city has operated demand-responsive taxis in three districts since 2022."
    assert "LANG-001" in ids(check_answer(english, rules))
    assert "LANG-001" not in ids(
        check_answer(CLEAN + "DX推進計画（Digital Transformation）を策定しております。", rules)
    )


def test_markdown_headings_are_flagged(rules) -> None:
    text = "## 答弁\n" + CLEAN
    (finding,) = [f for f in check_answer(text, rules, sources=[SOURCE]) if f.rule_id == "FMT-001"]
    assert finding.excerpt == "## 答弁"


def test_a_paraphrased_echo_of_the_instructions_is_flagged(prompts, rules) -> None:
    instructions = prompts.instructions(answerer="市長")
    echo = "なお、事実や数値につきましては、質問と本市の過去答弁の中に書かれているものだけを使うよう作成の指示を受けております。"
    findings = [
        f
        for f in check_answer(CLEAN + echo, rules, sources=[SOURCE], protected_texts=[instructions])
        if f.rule_id == "INJ-002"
    ]
    assert len(findings) == 1 and findings[0].start == len(CLEAN)
