"""Every copy of a card follows the item: once one person acts, the others' copies say what happened
and lose their buttons (the 市長's after the 秘書 approves; everyone's after a withdrawal)."""

from __future__ import annotations

import json

from councilbot.adapters.slack import blocks
from tests.test_slack_approval_race import at_mayor_stage


def buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message.get("blocks") or [] if b.get("type") == "actions" for e in b["elements"]]


def test_the_mayors_copy_says_the_secretary_approved_and_loses_its_buttons(bot, fake, slack_cfg):
    at_mayor_stage(bot, fake, slack_cfg)
    ((mayor_ts, mayor_card),) = fake.posts("DUMY1")
    ((secretary_ts, _),) = fake.posts("DUSC1")
    assert blocks.APPROVE in buttons(mayor_card)

    bot.click("USC1", "DUSC1", secretary_ts, blocks.APPROVE)
    bot.settle()
    mayor_copy = fake.messages[("DUMY1", mayor_ts)]
    assert buttons(mayor_copy) == []
    assert "小島 遥さんが市長・承認しました" in mayor_copy["text"] and "校了待ち" in mayor_copy["text"]
    assert "ボタンは使えなくなりました" in json.dumps(mayor_copy["blocks"], ensure_ascii=False)
    secretary_copy = fake.messages[("DUSC1", secretary_ts)]
    assert "を市長・承認しました" in secretary_copy["text"]  # the one she clicked keeps its own record
    # The next card (校了 for General Affairs) is a new copy with its buttons.
    ((_, ga_card),) = fake.posts("DUGA1")
    assert blocks.FINALIZE in buttons(ga_card)


def test_a_withdrawn_item_says_so_on_every_copy(bot, fake, slack_cfg):
    key = at_mayor_stage(bot, fake, slack_cfg)
    copies = [("DUMY1", fake.posts("DUMY1")[0][0]), ("DUSC1", fake.posts("DUSC1")[0][0])]
    bot.command("UGA1", f"取下げ {key} 3番議員の質問と同じ趣旨のため")
    bot.settle()
    for place in copies:
        copy = fake.messages[place]
        assert buttons(copy) == []
        assert (
            "佐藤 花子さんにより取り下げられました" in copy["text"] and "3番議員の質問と同じ趣旨のため" in copy["text"]
        )
        assert "対応は不要です" in copy["text"]
