"""The guard: personal information masked, marked documents refused, members and titles kept."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from councilbot.domain.guard import describe_block, describe_masking, fold_width, guard_text, merge_counts
from councilbot.services.prompt_files import SHIPPED_PROMPTS, load_prompt_dir
from tests import pii_samples


@pytest.fixture(scope="module")
def policy():
    return load_prompt_dir(SHIPPED_PROMPTS).guard


def test_fold_width_keeps_positions() -> None:
    text = "電話は０９０ー１２３４ー５６７８、ＤＸ推進です。"
    folded = fold_width(text)
    assert len(folded) == len(text)
    assert "090-1234-5678" in folded
    assert "DX推進" in folded


@pytest.mark.parametrize(
    ("raw", "kind", "replacement"),
    [
        ("連絡先は090-1234-5678です。", "phone", "［電話番号］"),
        ("連絡先は０３－１２３４－５６７８です。", "phone", "［電話番号］"),
        ("連絡先は0312345678です。", "phone", "［電話番号］"),
        ("連絡先は（０３）１２３４－５６７８です。", "phone", "［電話番号］"),
        ("メールは ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ へ。", "email", "［メールアドレス］"),
        ("メールは taro.yamada@example.jp へ。", "email", "［メールアドレス］"),
        ("個人番号1234 5678 9012を確認。", "my_number", "［個人番号］"),
        ("個人番号123456789012を確認。", "my_number", "［個人番号］"),
        ("住所は〒123-4567です。", "postal_code", "［郵便番号］"),
        ("自宅は桜ヶ丘市中央町1丁目2番3号です。", "address", "［住所］"),
        ("自宅は本町2-5-11です。", "address", "［住所］"),
        ("相談者の山田花子さんから", "watch_list", "［氏名］"),
    ],
)
def test_each_kind_is_masked(policy, raw: str, kind: str, replacement: str) -> None:
    guarded = guard_text(raw, policy)
    assert replacement in guarded.text
    assert guarded.masked == {kind: 1}
    assert not guarded.blocked


def test_raw_values_never_survive(policy) -> None:
    raw = (
        "桜ヶ丘市中央町1丁目2番3号にお住まいの山田花子さん（090-1111-2222、hanako@example.com、"
        "個人番号 1111-2222-3333）から相談がありました。"
    )
    guarded = guard_text(raw, policy)
    for secret in ("1丁目2番3号", "山田花子", "090-1111-2222", "hanako@example.com", "1111-2222-3333"):
        assert secret not in guarded.text
    assert guarded.masked == {"address": 1, "watch_list": 1, "phone": 1, "email": 1, "my_number": 1}


def test_members_titles_and_ordinary_numbers_stay(policy) -> None:
    raw = "16番 山田太郎議員の御質問に、市長、副市長、鈴木一郎部長が答弁します。令和6年度の予算は3,000万円、対象は120世帯です。"
    guarded = guard_text(raw, policy, keep_names=["山田太郎"])
    assert guarded.text == raw
    assert guarded.masked == {}


def test_watch_list_name_as_member_is_kept_but_elsewhere_masked(policy) -> None:
    raw = "鈴木一郎議員から、鈴木一郎さんの件について質問がありました。"
    guarded = guard_text(raw, policy)
    assert guarded.text == "鈴木一郎議員から、［氏名］さんの件について質問がありました。"


def test_the_questioner_is_kept_even_on_the_watch_list(policy) -> None:
    guarded = guard_text("山田花子の質問です。", policy, keep_names=["山田花子"])
    assert guarded.text == "山田花子の質問です。"


@pytest.mark.parametrize("marker", ["【秘】", "取扱注意", "【個人情報】", "部外秘"])
def test_marked_text_is_blocked_and_not_returned(policy, marker: str) -> None:
    guarded = guard_text(f"{marker} 交渉中の用地買収価格について", policy)
    assert guarded.blocked
    assert guarded.text == ""
    assert marker in guarded.markers


def test_questions_about_privacy_policy_are_not_blocked(policy) -> None:
    assert not guard_text("個人情報保護条例の改正について伺う。", policy).blocked


def test_report_tells_kinds_and_counts_never_values(policy) -> None:
    reports = [guard_text("090-1234-5678 と 03-1234-5678", policy), guard_text("山田花子", policy)]
    counts = merge_counts(reports)
    message = describe_masking(counts, policy)
    assert counts == {"phone": 2, "watch_list": 1}
    assert "電話番号 2件" in message and "氏名 1件" in message
    assert "090" not in message and "山田花子" not in message
    assert "「【秘】」" in describe_block(["【秘】"])
    assert "送信していません" in describe_block(["【秘】"])


def test_policy_can_be_edited_in_rules_file(tmp_path: Path) -> None:
    for name in ("drafting_system.md", "drafting_user.md", "style_guide.md"):
        (tmp_path / name).write_text((SHIPPED_PROMPTS / name).read_text(encoding="utf-8"), encoding="utf-8")
    rules = (SHIPPED_PROMPTS / "rules.yaml").read_text(encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(rules.replace("  - 山田花子\n", "  - 佐々木次郎\n"), encoding="utf-8")
    policy = load_prompt_dir(tmp_path).guard
    assert guard_text("佐々木次郎さん", policy).text == "［氏名］さん"
    assert guard_text("山田花子さん", policy).text == "山田花子さん"


@pytest.mark.parametrize(
    "raw",
    [
        "相談者の山田 花子さんから要望がありました。",  # a space between family and given name
        "相談者の山田　花子さんから要望がありました。",  # a full-width space
        "相談者の鈴木一郎さんです。",
    ],
)
def test_watch_list_names_are_masked_however_they_are_spaced(policy, raw) -> None:
    guarded = guard_text(raw, policy)
    assert guarded.masked == {"watch_list": 1}
    assert "花子" not in guarded.text and "一郎" not in guarded.text


def test_a_watch_list_name_that_is_the_questioner_is_kept_whatever_the_spacing(policy) -> None:
    guarded = guard_text("山田花子議員の質問", policy, keep_names=["山田 花子"])
    assert guarded.text == "山田花子議員の質問" and guarded.masked == {}


@pytest.mark.parametrize(
    "raw", ["090 1234 5678", "03(1234)5678", "(03) 1234-5678", "+81 90 1234 5678", "０９０　１２３４　５６７８"]
)
def test_phone_numbers_written_with_spaces_or_brackets_are_masked(policy, raw) -> None:
    guarded = guard_text(f"連絡先は{raw}です。", policy)
    assert guarded.masked == {"phone": 1}, guarded.text
    assert "5678" not in guarded.text


@pytest.mark.parametrize("raw", ["【 秘 】", "（秘）", "〔秘〕", "取扱い注意", "取扱 注意", "極秘", "㊙"])
def test_marker_spellings_block_sending(policy, raw) -> None:
    assert guard_text(f"{raw}　本件の経緯は次のとおり。", policy).blocked


@pytest.mark.parametrize(
    "raw", ["市長秘書課の体制について伺う。", "個人情報保護条例の改正について伺う。", "秘密保持契約の締結状況を伺う。"]
)
def test_ordinary_words_near_markers_do_not_block(policy, raw) -> None:
    assert not guard_text(raw, policy).blocked


# ---- issue 12: addresses, other spellings, markers as written ----------------------------------

SAMPLES = pii_samples.generate()


def test_the_generated_set_is_broad() -> None:
    kinds = Counter(s.kind for s in SAMPLES)
    assert len(SAMPLES) >= 500 and set(kinds) == {"address", "phone", "name", "email", "my_number"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.text)
def test_every_generated_personal_datum_is_masked(policy, sample: pii_samples.Sample) -> None:
    guarded = guard_text(f"本件について、{sample.text}に関する相談がありました。", policy)
    assert not [secret for secret in sample.secrets if secret in guarded.text], guarded.text
    assert guarded.masked, guarded.text


@pytest.mark.parametrize(
    "raw",
    [
        "千代田区丸の内1丁目9番2号",
        "目黒区自由が丘二丁目１２番地",
        "千代田区霞ケ関3-1-1",
        "青葉村大字高田1234-5",
        "桜ヶ丘市中央町1234番地の5",
        "横浜市青葉区あざみ野2-3",
        "ひたちなか市 東石川 三丁目 4番 5号",
    ],
)
def test_addresses_with_kana_towns_and_two_part_lots_are_masked_whole(policy, raw: str) -> None:
    guarded = guard_text(f"自宅は{raw}です。", policy)
    assert guarded.text == "自宅は［住所］です。" and guarded.masked == {"address": 1}


@pytest.mark.parametrize(
    "raw",
    [
        "本市では、令和4年度からデマンド型乗合タクシーを市内3地区で運行しております。",
        "16番 山田太郎議員の御質問にお答えいたします。",
        "資料2-1のとおり、文字数は1200字以内といたします。",
        "市道12番線の改良工事は、令和7年3月に完了する予定でございます。",
        "一方で、第二期計画では三つの柱を掲げております。",
    ],
)
def test_ordinary_answer_sentences_are_not_taken_for_personal_data(policy, raw: str) -> None:
    guarded = guard_text(raw, policy, keep_names=["山田太郎"])
    assert guarded.text == raw and guarded.masked == {}


@pytest.mark.parametrize(
    "raw", ["090.1234.5678", "〇九〇－一二三四－五六七八", "〇三・三二一〇・七六五四", "０９０．１２３４．５６７８"]
)
def test_phone_numbers_with_dots_or_kanji_numerals_are_masked(policy, raw: str) -> None:
    guarded = guard_text(f"連絡先は{raw}です。", policy)
    assert guarded.text == "連絡先は［電話番号］です。" and guarded.masked == {"phone": 1}


@pytest.mark.parametrize("raw", ["やまだはなこ", "ヤマダハナコ", "ヤマダ　ハナコ", "すずき いちろう", "スズキイチロウ"])
def test_kana_spellings_of_watch_list_names_are_masked(policy, raw: str) -> None:
    guarded = guard_text(f"相談者の{raw}さんから要望がありました。", policy)
    assert guarded.text == "相談者の［氏名］さんから要望がありました。"


@pytest.mark.parametrize("raw", ["＜秘＞", "<秘>", "「秘」", "社外秘", "厳秘", "（秘）", "〔 秘 〕"])
def test_more_marker_spellings_block_and_are_quoted_as_written(policy, raw: str) -> None:
    guarded = guard_text(f"{raw}　本件の経緯は次のとおり。", policy)
    assert guarded.blocked and guarded.markers == (raw,)
    assert f"「{raw}」" in describe_block(guarded.markers)
