"""変更点: the difference between two revisions of an answer, from the review
message's button or ``/council diff`` (差分), readable in Japanese and within
Slack's limits.
"""

from __future__ import annotations

from councilbot.adapters.slack import blocks
from tests.slack_helpers import find_element, new_question

FIRST = "お答えいたします。避難所の運営マニュアルを改定いたしました。今後も地域と連携してまいります。"
SECOND = "お答えいたします。避難所の運営マニュアルを令和8年度に改定いたしました。今後も地域と連携してまいります。女性の視点を取り入れてまいります。"


def test_review_message_shows_what_changed_since_the_last_revision(bot, fake, slack_cfg):
    key = new_question(slack_cfg, assign_to="危機管理課", answer=FIRST)
    # The drafter revises the answer and asks the 課長 to review it.
    bot.command("UKK1", f"answer {key}")
    bot.settle()
    bot.submit("UKK1", bot.last_view(), {"answer_0": SECOND, blocks.SUBMIT_BLOCK: ["submit"]})
    bot.settle()
    review_ts, review_dm = fake.posts("DUKK2")[-1]
    assert find_element(review_dm["blocks"], blocks.DIFF)["text"]["text"] == "変更点"

    bot.click("UKK2", "DUKK2", review_ts, blocks.DIFF)
    bot.settle()
    shown = fake.of("response_url")[-1]
    assert shown.args["response_type"] == "ephemeral" and shown.args["replace_original"] is False
    assert f"`{key}` の答弁の変更点（第1版 → 第2版）" in shown.text
    assert "【削除】避難所の運営マニュアルを改定いたしました。" in shown.text
    assert "【追加】避難所の運営マニュアルを令和8年度に改定いたしました。" in shown.text
    assert "【追加】女性の視点を取り入れてまいります。" in shown.text
    assert "@@" not in shown.text and "+++" not in shown.text
    assert fake.messages[("DUKK2", review_ts)]["blocks"] == review_dm["blocks"]  # the review message stays as it was


def test_diff_command_with_versions_and_its_mistakes(bot, fake, slack_cfg):
    key = new_question(slack_cfg, assign_to="危機管理課", answer=FIRST, revise=SECOND)
    single = new_question(slack_cfg, item_no="1-(1)-②", assign_to="危機管理課", answer=FIRST)
    for text in (f"差分 {key} 第１版 ２", f"diff {key} 1", f"diff {single}"):
        bot.command("UGK1", text)  # reading is open to every member of staff
        bot.settle()
    shown, wrong_versions, one_revision = (c.args["text"] for c in fake.of("response_url"))
    assert f"{key} の答弁の変更点（第1版 → 第2版）" == shown
    assert "比較する版は二つ、番号で指定してください" in wrong_versions
    assert "改訂が1版しかないため、比較できません" in one_revision
    assert "/council diff" in bot.command("UGK1", "help").body


def test_a_long_diff_fits_in_one_message(bot, fake, slack_cfg):
    old = "".join(f"第{i}の取組について、関係機関と連携して進めてまいります。" for i in range(400))
    new = "".join(f"第{i}の取組について、関係機関と十分に連携して着実に進めてまいります。" for i in range(400))
    key = new_question(slack_cfg, assign_to="危機管理課", answer=old, revise=new)
    bot.command("UKK2", f"diff {key}")
    bot.settle()
    shown = fake.of("response_url")[-1].args
    assert len(shown["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in shown["blocks"] if b["type"] == "section")
    assert "【追加】第399の取組について、関係機関と十分に連携して着実に進めてまいります。" in str(shown["blocks"])
