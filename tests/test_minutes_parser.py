"""Council minutes (会議録) parsing: house styles, noise, header, pairing, encodings (domain.minutes)."""

import datetime as dt
import json
from pathlib import Path

import pytest

from councilbot.domain.minutes import decode_text, looks_like_minutes, parse_minutes
from councilbot.errors import InvalidInput

DEVSET = Path(__file__).parent.parent / "bench" / "data" / "minutes"
STYLES = sorted(p.name[: -len(".truth.jsonl")] for p in DEVSET.glob("*.truth.jsonl"))

NOISY = """\
令和６年６月桜ヶ丘市議会定例会会議録（第２号）
令和６年６月１２日（水曜日）
─────────────────────
議事日程（第２号）
日程第１　一般質問
─────────────────────
○出席議員（２４名）
　１番　青木　健一君　　２番　石田　美紀君
─────────────────────
　　　午前１０時開議
○議長（鈴木一郎君）　ただいまから本日の会議を開きます。
　日程第１、一般質問を行います。１６番山田太郎議員。
〔１６番　山田太郎君登壇〕
◆１６番（山田　太郎君）　おはようございます。
　１点目、避難所の運営について伺います。女性や高齢者への配慮について、現状と
課題を伺います。
　２点目、学校給食費について伺います。無償化の考えを伺います。
○議長（鈴木一郎君）　市長。
〔市長　佐藤次郎君登壇〕
◎市長（佐藤次郎君）　山田議員の御質問にお答えいたします。
　１点目の避難所の運営についてでありますが、避難所運営マニュアルを改訂し、女性の視
－ 12 －
点を取り入れております。（拍手）
　　　午後０時２分休憩
─────────────────────
　　　（午後　１時　　開　議）
○議長（鈴木一郎君）　休憩前に引き続き会議を開きます。教育長。
◎教育長（田中花子君）
　２点目の学校給食費についてお答えします。国の動向を注視してまいります。
○議長（鈴木一郎君）　１６番山田太郎議員。
◆１６番（山田　太郎君）　再質問します。避難所の備蓄はどうか。
○議長（鈴木一郎君）　総務部長。
（登壇）
◎総務部長（高橋三郎君）　備蓄につきましては、計画的に整備しております。
◆１６番（山田　太郎君）　以上で質問を終わります。
○議長（鈴木一郎君）　以上で本日の日程は終了しました。散会します。
　　　午後３時２０分散会
─────────────────────
会議録署名議員
　議長　鈴木一郎
"""


@pytest.mark.parametrize("style", STYLES)
def test_each_house_style_gives_its_truth(style):
    truth = [json.loads(line) for line in open(DEVSET / f"{style}.truth.jsonl", encoding="utf-8")]
    text = decode_text((DEVSET / f"{style}.txt").read_bytes(), f"{style}.txt")
    assert looks_like_minutes(text)
    answers = parse_minutes(text).answers
    strip = lambda s: "".join(s.split())  # noqa: E731
    assert [(a.member.replace(" ", ""), a.seat, a.answerer) for a in answers] == [
        (t["member"].replace(" ", ""), t["seat"], t["answerer"]) for t in truth
    ]
    assert [strip(a.question) for a in answers] == [strip(t["question"]) for t in truth]
    assert [strip(a.answer) for a in answers] == [strip(t["answer"]) for t in truth]


def test_noise_is_dropped_and_wrapped_lines_join_without_spaces():
    parsed = parse_minutes(NOISY)
    first, second, third = parsed.answers
    assert (
        first.question.split("\n")[1]
        == "１点目、避難所の運営について伺います。女性や高齢者への配慮について、現状と課題を伺います。"
    )
    # the page number inside the sentence, the applause and the recess around it are gone
    assert first.answer == (
        "山田議員の御質問にお答えいたします。\n"
        "１点目の避難所の運営についてでありますが、避難所運営マニュアルを改訂し、女性の視点を取り入れております。"
    )
    assert (
        second.answer == "２点目の学校給食費についてお答えします。国の動向を注視してまいります。"
    )  # text on the next line
    assert third.answer == "備蓄につきましては、計画的に整備しております。"  # （登壇） dropped
    assert all("出席" not in a.question + a.answer and "散会" not in a.answer for a in parsed.answers)
    assert parsed.noise_lines >= 6


def test_header_gives_session_meeting_date_and_question_type():
    header = parse_minutes(NOISY).header
    assert (header.session, header.meeting_no, header.date, header.question_type) == (
        "令和6年6月定例会",
        2,
        dt.date(2024, 6, 12),
        "一般質問",
    )
    assert parse_minutes(NOISY.replace("６月桜ヶ丘市議会定例会", "第２回定例会")).header.session == "令和6年第2回定例会"


def test_pairing_several_answerers_and_a_second_round():
    parsed = parse_minutes(NOISY)
    rows = [(a.member, a.seat, a.answerer, a.round, a.title, a.item_no) for a in parsed.answers]
    assert rows == [
        ("山田 太郎", "16番", "市長", 1, "避難所の運営について", "1"),
        ("山田 太郎", "16番", "教育長", 1, "学校給食費について", "2"),
        ("山田 太郎", "16番", "総務部長", 2, "避難所の運営について", "1"),  # 再質問 keeps the topic it follows
    ]
    assert parsed.answers[2].question == "再質問します。避難所の備蓄はどうか。"
    reasons = [s.reason for s in parsed.skipped]
    assert sum("議長" in r for r in reasons) == 6
    assert any("答弁のない議員の発言" in r for r in reasons)  # 「以上で質問を終わります」


def test_refs_are_stable_and_distinct():
    first, again = parse_minutes(NOISY), parse_minutes(NOISY)
    refs = [a.ref for a in first.answers]
    assert refs == [a.ref for a in again.answers] and len(set(refs)) == 3
    assert refs[0].startswith("minutes:令和6年6月定例会:第2号:")


@pytest.mark.parametrize(
    "member_head, exec_head",
    [
        ("◆１６番（山田太郎君）", "◎市長（佐藤次郎君）"),
        ("○16番（山田 太郎議員）", "○市長（佐藤 次郎）"),
        ("〇１６番（山田太郎さん）", "〇市長（佐藤次郎さん）"),
        ("◇16番（山田　太郎）", "△市長（佐藤　次郎）"),
        ("◯16番　山田太郎議員", "◯市長　佐藤次郎君"),
        ("▲１６番（山田 太郎 君）", "▲市長（佐藤 次郎 君）"),
    ],
)
def test_marks_seats_names_and_suffixes(member_head, exec_head):
    text = "\n".join(
        [
            "令和６年６月定例会",
            "○議長（鈴木一郎君）　一般質問を行います。",
            f"{member_head}　防災対策について伺います。",
            f"{exec_head}　お答えいたします。",
            "",
        ]
    )
    (answer,) = parse_minutes(text).answers
    assert (answer.member.replace(" ", ""), answer.seat, answer.answerer) == ("山田太郎", "16番", "市長")
    assert (answer.question, answer.answer) == ("防災対策について伺います。", "お答えいたします。")


def test_a_bill_explanation_without_a_question_is_skipped():
    text = "\n".join(
        [
            "○議長（鈴木一郎君）　日程第１、議案第４５号を議題とします。",
            "◎市長（佐藤次郎君）　提案理由を御説明申し上げます。",
            "○議長（鈴木一郎君）　日程第２、一般質問を行います。",
            "◆１６番（山田太郎君）　防災について伺います。",
            "◎市長（佐藤次郎君）　お答えします。",
        ]
    )
    parsed = parse_minutes(text)
    assert [a.answer for a in parsed.answers] == ["お答えします。"]
    assert any(s.line == 2 and "議案" in s.reason for s in parsed.skipped)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "utf-16", "utf-16-le", "utf-16-be"])
def test_encodings_are_read(encoding):
    assert decode_text(NOISY.encode(encoding), "会議録.txt") == NOISY


@pytest.mark.parametrize(
    "raw", [NOISY.encode("euc-jp", errors="ignore"), bytes(range(256)) * 8, b"\x00\x01\x02\xff" * 100]
)
def test_other_encodings_and_binary_are_refused(raw):
    with pytest.raises(InvalidInput, match="文字コードを判別できません"):
        decode_text(raw, "会議録.txt")


def test_other_text_is_not_minutes():
    notice = (Path(__file__).parent.parent / "councilbot" / "sample_data" / "notice.txt").read_text(encoding="utf-8")
    assert not looks_like_minutes(notice)
    assert not looks_like_minutes("○議長（鈴木一郎君）　開会します。")
    assert parse_minutes(notice).answers == []


def test_the_chair_names_the_kind_of_question():
    text = "\n".join(
        [
            "令和６年３月定例会（第２号）",
            "○議長（鈴木一郎君）　これより代表質問を行います。",
            "◆１６番（山田太郎君）　新政会を代表して伺います。",
            "◎市長（佐藤次郎君）　お答えします。",
        ]
    )
    (answer,) = parse_minutes(text).answers
    assert answer.question_type == "代表質問"


def test_running_page_heads_and_placeholder_marks_inside_text():
    text = "\n".join(
        [
            "令和６年６月定例会会議録（第３号）",
            "◆１６番（山田太郎君）登壇",
            "　伺います。",
            "◎市長（佐藤次郎君）　お答えします。本市では、",
            "○○地区（仮称）の整備を進めており、",
            "令和６年６月定例会会議録（第３号）",
            "○○地区では、整備が完了しております。",
        ]
    )
    (answer,) = parse_minutes(text).answers
    assert answer.question == "伺います。"
    assert (
        answer.answer
        == "お答えします。本市では、○○地区（仮称）の整備を進めており、○○地区では、整備が完了しております。"
    )


def test_an_agenda_heading_ends_the_questions_before_it():
    text = "\n".join(
        [
            "◆１６番議員（山田太郎君）　防災について伺います。",
            "◎市長（佐藤次郎君）　お答えします。",
            "◎日程第３　議案第４５号",
            "◎市長（佐藤次郎君）　提案理由を御説明申し上げます。",
        ]
    )
    parsed = parse_minutes(text)
    assert [(a.seat, a.answer) for a in parsed.answers] == [("16番", "お答えします。")]
    assert any(s.line == 4 and "議案" in s.reason for s in parsed.skipped)


def test_names_printed_before_the_title():
    text = "\n".join(
        [
            "令和６年第２回定例会",
            "○議長（飯島弘之）　これより、代表質問に入ります。好井七海議員。",
            "　　（好井七海議員登壇・拍手）",
            "◆好井七海　議員　私は、会派を代表して質問いたします。",
            "　最初に、防災対策について伺います。",
            "○議長（飯島弘之）　秋元市長。",
            "◎秋元克広　市長　お答えいたします。",
            "◎高橋三郎　総務局長　補足してお答えいたします。",
        ]
    )
    parsed = parse_minutes(text)
    assert [(a.member, a.seat, a.answerer, a.question_type, a.title) for a in parsed.answers] == [
        ("好井七海", None, "市長", "代表質問", "防災対策について"),
        ("好井七海", None, "総務局長", "代表質問", "防災対策について"),
    ]
    assert parsed.header.session == "令和6年第2回定例会"


def test_another_day_or_committee_of_the_same_session_gives_other_refs():
    plenary = {a.ref for a in parse_minutes(NOISY).answers}
    next_day = {a.ref for a in parse_minutes(NOISY.replace("６月１２日", "６月１３日")).answers}
    committee = parse_minutes(NOISY.replace("定例会会議録（第２号）", "定例会予算特別委員会会議録（第２号）"))
    assert committee.header.committee == "予算特別委員会"
    assert len(plenary | next_day | {a.ref for a in committee.answers}) == 9


def test_blank_lines_inside_a_turn_keep_it_going():
    double_spaced = "\n\n".join(NOISY.splitlines())
    assert [a.answer for a in parse_minutes(double_spaced).answers] == [a.answer for a in parse_minutes(NOISY).answers]


def test_titles_from_notice_headings_read_out_in_the_question():
    text = "\n".join(
        [
            "令和６年６月定例会",
            "◆16番(山田太郎)",
            "　通告に従い質問します。",
            "１　防災対策について",
            "避難所の環境改善について、市の考えを伺います。",
            "２　子育て支援について",
            "放課後児童クラブの待機児童の状況を伺います。",
            "◎市長(佐藤次郎)",
            "　防災対策についてお答えします。段ボールベッドを備蓄しております。",
            "◎こども未来部長(田中花子)",
            "　子育て支援についてお答えします。待機児童は１２人です。",
        ]
    )
    parsed = parse_minutes(text)
    assert [(a.title, a.item_no) for a in parsed.answers] == [("防災対策について", "1"), ("子育て支援について", "2")]
    assert parsed.answers[0].question.split("\n")[1:3] == [
        "１　防災対策について",
        "避難所の環境改善について、市の考えを伺います。",
    ]


def test_a_committee_chairs_report_is_not_an_answer():
    text = "\n".join(
        [
            "◆１６番（山田太郎君）　防災について伺います。",
            "○総務常任委員長（青木健一君）　委員会の審査の経過を御報告します。",
            "◎市長（佐藤次郎君）　お答えします。",
        ]
    )
    parsed = parse_minutes(text)
    assert [a.answerer for a in parsed.answers] == ["市長"]
    assert any(s.line == 2 and "総務常任委員長" in s.reason for s in parsed.skipped)
