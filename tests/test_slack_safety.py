"""What must never go wrong in Slack: forged requests, the wrong person's click,
Slack's retries, unknown input, oversized text, a slow model, rate limits.

Each test drives the real app over HTTP and checks what reached the fake Slack
and that the database holds exactly what it should.
"""

from __future__ import annotations

import json
import threading

import pytest

from councilbot.adapters.slack import blocks
from councilbot.services.common import get_question
from councilbot.storage.db import session_scope
from councilbot.storage.models import AnswerRevision, ApprovalStamp, AuditEntry, Question
from tests.conftest import SAMPLE
from tests.fake_openai_server import FakeOpenAIServer, Reply
from tests.slack_helpers import INTAKE_CHANNEL, SlackApp, count, new_question, slack_settings

QUESTION = (
    "令和8年12月定例会 一般質問 16番 1-(1)-①\n避難所運営について\n避難所における女性や高齢者への配慮について伺う。"
)


def snapshot(cfg, key):
    with session_scope(cfg) as db:
        q = get_question(db, key)
        return (q.status, q.stage_index, q.version, len(q.revisions), count(cfg, ApprovalStamp), count(cfg, AuditEntry))


def item_value(cfg, key) -> str:
    with session_scope(cfg) as db:
        return blocks.item_value(get_question(db, key))


def test_health_check(bot):
    import urllib.request

    with urllib.request.urlopen(bot.base + "/healthz") as r:
        assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}


def test_bad_signature_is_refused_and_changes_nothing(bot, fake, slack_cfg):
    response = bot.command("UGA1", "ask", secret="not-the-secret")
    _, event = bot.message("UGA1", QUESTION, secret="not-the-secret")
    bot.settle()
    assert response.status == 401 and event.status == 401
    assert [c.method for c in fake.calls] == ["auth.test"]  # only the app's start-up check
    assert count(slack_cfg, Question) == 0


def test_wrong_user_click_is_refused_with_a_message_and_changes_nothing(bot, fake, slack_cfg):
    key = new_question(slack_cfg, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    before = snapshot(slack_cfg, key)
    # Another division's 課長, and the drafter himself, forge the approve click.
    for intruder in ("UGK2", "UKK1"):
        response = bot.click(intruder, "DUKK2", "1.0", blocks.APPROVE, value=item_value(slack_cfg, key))
        assert response.status == 200
    bot.settle()
    refusals = fake.of("response_url")
    assert len(refusals) == 2
    assert all("権限がありません" in r.args["text"] and r.args["response_type"] == "ephemeral" for r in refusals)
    assert snapshot(slack_cfg, key) == before
    assert fake.of("chat.update") == [] and fake.of("chat.postMessage") == []


def test_unregistered_user_is_told_to_ask_the_admin(bot, fake, slack_cfg):
    bot.command("UNOBODY", "search 避難所")
    bot.settle()
    assert "職員として登録されていない" in fake.of("response_url")[-1].args["text"]


def test_retried_and_duplicated_events_make_one_question(bot, fake, slack_cfg):
    ts = "1699999999.000100"
    fake.add_message(INTAKE_CHANNEL, ts, QUESTION, "UGA1")
    event = {"type": "message", "channel": INTAKE_CHANNEL, "user": "UGA1", "text": QUESTION, "ts": ts}
    # Two copies at once, then Slack's retry of the same event.
    threads = [threading.Thread(target=bot.event, args=(event,), kwargs={"event_id": "Ev42"}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bot.event(event, event_id="Ev42", retry_num=1).status == 200
    # Even as a new event id (another subscription), the same message is the same question.
    bot.event(event, event_id="Ev43")
    bot.settle()
    assert count(slack_cfg, Question) == 1
    replies = fake.of("chat.postMessage", channel=INTAKE_CHANNEL, thread_ts=ts)
    assert len(replies) == 2  # the first delivery, and Ev43 saying it is already registered
    assert "登録しました" in replies[0].text and "登録済み" in replies[1].text


def test_duplicated_click_stamps_once(bot, fake, slack_cfg):
    key = new_question(slack_cfg, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    payload_value = item_value(slack_cfg, key)
    fake.add_message("DUKK2", "1.0", "確認依頼", "UBOT")
    # The same click delivered twice (same action_ts), and a second click on the now stale button.
    payload = {
        "type": "block_actions",
        "user": {"id": "UKK2"},
        "team": {"id": "T0TEST"},
        "trigger_id": "t1",
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "DUKK2"},
        "channel": {"id": "DUKK2"},
        "message": {"ts": "1.0"},
        "response_url": fake.response_url("dup"),
        "actions": [
            {"type": "button", "action_id": blocks.APPROVE, "value": payload_value, "action_ts": "1700000001.000001"}
        ],
    }
    bot._payload(payload)
    bot._payload(payload)
    bot.settle()
    bot.click("UKK2", "DUKK2", "1.0", blocks.APPROVE, value=payload_value)
    bot.settle()
    with session_scope(slack_cfg) as db:
        q = get_question(db, key)
        assert [s.action for s in q.stamps].count("approve") == 1
        assert q.stage_index == 1  # at 部長, once
    stale = fake.of("response_url")
    assert len(stale) == 1 and "読み込み直して" in stale[0].args["text"]


@pytest.mark.parametrize("text", ["frobnicate", "", "削除 R8-12-16-1-1-1"])
def test_unknown_subcommand_shows_help(bot, fake, text):
    response = bot.command("UGA1", text)
    bot.settle()
    assert response.status == 200
    shown = response.json()
    assert shown["response_type"] == "ephemeral" and "/council search" in json.dumps(shown, ensure_ascii=False)
    if text:
        assert f"「{text.split()[0]}」というコマンドはありません" in shown["text"]


def test_draft_without_key_asks_for_it(bot):
    response = bot.command("UKK1", "下書き")
    assert "キーを指定してください" in response.json()["text"]


def test_oversized_question_is_refused_and_creates_nothing(bot, fake, slack_cfg):
    text = "令和8年12月定例会 一般質問 16番 1-(1)-①\n避難所運営について\n" + "避難所の運営について伺う。" * 400
    _ts, _ = bot.message("UGA1", text)
    bot.settle()
    refusal = fake.of("chat.postEphemeral", channel=INTAKE_CHANNEL, user="UGA1")
    assert len(refusal) == 1 and "長すぎます" in refusal[0].text
    assert count(slack_cfg, Question) == 0


def test_long_answers_are_split_within_slack_limits(bot, fake, slack_cfg):
    long_answer = (
        "お答えいたします。" + "避難所の運営につきましては、地域の皆様と連携して取り組んでまいります。" * 10 + "\n"
    ) * 30
    key = new_question(slack_cfg, assign_to="危機管理課", answer=long_answer)
    assert len(long_answer) > 9000
    bot.command("UKK1", f"answer {key}")
    bot.settle()
    view = bot.last_view()
    inputs = [b for b in view["blocks"] if b.get("block_id", "").startswith("answer_")]
    assert len(inputs) >= 4
    assert all(len(b["element"].get("initial_value", "")) <= 3000 for b in inputs)
    assert "".join(b["element"].get("initial_value", "") for b in inputs) == long_answer.strip()
    # Submitting it for review sends the 課長 a message whose sections all fit.
    bot.submit("UKK1", view, {blocks.SUBMIT_BLOCK: ["submit"]})
    bot.settle()
    review_dm = fake.of("chat.postMessage", channel="DUKK2")[-1]
    sections = [b for b in review_dm.args["blocks"] if b["type"] == "section" and "text" in b]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections) and len(review_dm.args["blocks"]) <= 50
    with session_scope(slack_cfg) as db:
        assert get_question(db, key).latest_revision.answer == long_answer.strip()


def test_invalid_modal_input_is_shown_in_the_modal(bot, fake, slack_cfg):
    bot.command("UGA1", "ask")
    bot.settle()
    view = bot.last_view()
    bad_seat = bot.submit(
        "UGA1", view, {"seat": "十六", "item_no": "1", "title": "給食費について", "body_0": "無償化について伺う。"}
    )
    unknown = bot.submit(
        "UGA1",
        view,
        {"seat": "99", "item_no": "1", "title": "給食費について", "body_0": "無償化について伺う。"},
        view_id="V9",
    )
    assert bad_seat.json() == {
        "response_action": "errors",
        "errors": {"seat": "議席番号は数字で入力してください（例: 16）。"},
    }
    assert unknown.json()["errors"]["seat"].startswith("99番の議員は登録されていません")
    assert count(slack_cfg, Question) == 0


def test_model_timeout_becomes_a_japanese_message_and_saves_nothing(org, fake):
    with FakeOpenAIServer() as model:
        model.queue(Reply(delay=5.0))
        cfg = slack_settings(
            org,
            fake,
            llm_provider="openai",
            openai_base_url=model.base_url,
            openai_model="city-llm",
            llm_timeout_seconds=0.3,
            llm_max_retries=0,
        )
        key = new_question(cfg, assign_to="危機管理課")
        with SlackApp(cfg, fake) as app:
            response = app.command("UKK1", f"draft {key}")
            assert response.status == 200
            app.settle()
    progress_ts = fake.posts("C0KIKI")[-1][0]
    final = fake.of("chat.update", channel="C0KIKI", ts=progress_ts)[-1]
    assert "応答しませんでした" in final.args["text"] and "下書きは保存していません" in final.args["text"]
    assert "Traceback" not in final.text
    assert count(cfg, AnswerRevision) == 0


def test_rate_limited_call_is_retried(bot, fake, slack_cfg):
    fake.rate_limit_once("chat.postMessage")
    ts, _ = bot.message("UGA1", QUESTION)
    bot.settle()
    replies = fake.of("chat.postMessage", channel=INTAKE_CHANNEL, thread_ts=ts)
    assert len(replies) == 2  # the 429, then the retry that was delivered
    assert ("C0INTAKE", fake.posts(INTAKE_CHANNEL)[-1][0]) in fake.messages
    assert count(slack_cfg, Question) == 1


def test_search_status_and_home(archive, bot, fake, slack_cfg):
    new_question(slack_cfg, assign_to="危機管理課")
    bot.command("UKK1", "search 避難所")
    bot.command("UKK1", "進捗")
    bot.event({"type": "app_home_opened", "user": "UKK1", "channel": "DUKK1", "tab": "home"})
    bot.settle()
    texts = [c.text for c in fake.of("response_url")]
    found = next(c for c in fake.of("response_url") if "検索結果" in c.args["text"])
    assert found.args["response_type"] == "ephemeral" and "SKG-1-" in found.text
    assert any("令和8年12月定例会の進み具合" in t and "危機管理課" in t for t in texts)
    home = fake.of("views.publish")[-1]
    assert home.args["user_id"] == "UKK1" and "答弁を作成して確認依頼してください" in home.text


def test_export_is_for_general_affairs_only(bot, fake):
    bot.command("UKK1", "export")
    bot.settle()
    assert "総務課" in fake.of("response_url")[-1].args["text"]
    assert fake.of("files.getUploadURLExternal") == []


def test_notice_file_in_the_intake_channel_becomes_questions_once(bot, fake, slack_cfg):
    # The sample notice's first member (16番), who is in the test organisation.
    lines = (SAMPLE / "notice.txt").read_text(encoding="utf-8").splitlines()
    content = "\n".join(lines[: next(i for i, line in enumerate(lines) if line.startswith("【一般質問】"))]).encode()
    fake.add_file("F0NOTICE", "notice.txt", content, INTAKE_CHANNEL, "1699999999.000500")
    event = {
        "type": "file_shared",
        "file_id": "F0NOTICE",
        "user_id": "UGA1",
        "channel_id": INTAKE_CHANNEL,
        "file": {"id": "F0NOTICE"},
    }
    bot.event(event, event_id="EvFile")
    bot.event(event, event_id="EvFile", retry_num=1)
    bot.settle()
    made = count(slack_cfg, Question)
    assert made > 1
    assert all(d.headers["authorization"] == "Bearer xoxb-test-token" for d in fake.of("download"))
    summary = fake.of("chat.postMessage", channel=INTAKE_CHANNEL, thread_ts="1699999999.000500")
    assert len(summary) == 1 and f"{made}件登録しました" in summary[0].text


def test_a_saved_action_whose_follow_up_fails_says_so_and_whom_to_tell(bot, fake, slack_cfg):
    key = new_question(slack_cfg, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    fake.add_message("DUKK2", "1.0", "確認依頼", "UBOT")
    fake.fail("chat.postMessage", "channel_not_found", channel="DUSB1")  # the 部長's DM cannot be reached
    bot.click("UKK2", "DUKK2", "1.0", blocks.APPROVE, value=item_value(slack_cfg, key))
    bot.settle()
    with session_scope(slack_cfg) as db:
        q = get_question(db, key)
        assert [s.action for s in q.stamps][-1] == "approve" and q.stage_index == 1  # the approval is stamped
    assert len(fake.of("chat.postMessage", channel="DUSB1")) == 1  # it was tried, and refused
    assert "承認しました" in fake.messages[("DUKK2", "1.0")]["text"]
    told = fake.of("response_url")
    assert len(told) == 1 and told[0].args["response_type"] == "ephemeral"
    assert "操作は完了し、記録されています" in told[0].args["text"] and "大川 誠さん" in told[0].args["text"]
    assert "やり直す必要はありません" in told[0].args["text"] and "もう一度お試しください" not in told[0].args["text"]


HOSTILE_TITLE = "<!channel> *bold* 防災無線について"  # what Slack sends when someone types @channel
SENT = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.publish", "response_url")


def test_user_text_is_escaped_in_text_and_blocks_wherever_the_bot_writes_it(bot, fake, slack_cfg):
    from councilbot.services import assignment, intake
    from councilbot.services.common import get_user

    with session_scope(slack_cfg) as db:
        data = intake.QuestionInput(
            "令和8年12月定例会",
            16,
            "一般質問",
            "1-(1)-①",
            HOSTILE_TITLE,
            "詳細は <https://evil.example|こちら> を _必ず_ 確認。",
        )
        key = intake.register_question(db, get_user(db, "UGA1"), data).question.key
        assignment.assign(db, get_user(db, "UGA1"), key, "危機管理課", answerer="市長")
    bot.event({"type": "app_home_opened", "user": "UKK1", "channel": "DUKK1", "tab": "home"})  # App Home
    bot.command("UKK1", f"answer {key}")  # a modal
    bot.command("UGA1", f"取下げ {key} <!here> 重複のため *至急*")  # a channel post with a reason
    bot.settle()

    notice = fake.of("chat.postMessage", channel="C0KIKI")[-1]
    assert "取り下げられました" in notice.args["text"]
    assert "&lt;!channel&gt; *bold* 防災無線について" in notice.args["text"] and "&lt;!here&gt;" in notice.args["text"]
    shown = json.dumps(notice.json_arg("blocks"), ensure_ascii=False)
    assert "&lt;!channel&gt; ＊bold＊ 防災無線について" in shown and "＊至急＊" in shown  # no bold made of their marks
    written = [c for c in fake.calls if c.method in SENT]
    assert {c.method for c in written} >= {"chat.postMessage", "views.open", "views.publish", "response_url"}
    for call in written:
        assert "<!channel>" not in call.text and "<!here>" not in call.text and "<https://evil" not in call.text, (
            call.method
        )
        for value in (call.json_arg("blocks"), call.json_arg("view")):
            assert "*bold*" not in json.dumps(value or {}, ensure_ascii=False), call.method
            assert "_必ず_" not in json.dumps(value or {}, ensure_ascii=False), call.method


def test_reminders_carry_user_text_escaped(org, fake):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from councilbot.adapters.scheduler import SchedulerRunner
    from councilbot.adapters.slack.app import web_client
    from councilbot.adapters.slack.notifier import ChatNotifier
    from councilbot.domain.reminder_times import ReminderKind, session_job_id
    from councilbot.services import assignment, intake
    from councilbot.services.common import get_council_session, get_user

    cfg = slack_settings(org, fake)
    with session_scope(cfg) as db:
        data = intake.QuestionInput("令和8年12月定例会", 16, "一般質問", "1", HOSTILE_TITLE, "防災無線について伺う。")
        key = intake.register_question(db, get_user(db, "UGA1"), data).question.key
        assignment.assign(db, get_user(db, "UGA1"), key, "危機管理課")
        job = session_job_id(get_council_session(db, "令和8年12月定例会").id, ReminderKind.DEADLINE_EVE)
    runner = SchedulerRunner(
        cfg,
        ChatNotifier(web_client(cfg)),
        clock=lambda: dt.datetime(2026, 11, 26, 17, 0, 5, tzinfo=ZoneInfo("Asia/Tokyo")),
    )
    runner.fire(job)
    (reminder,) = fake.of("chat.postMessage", channel="C0KIKI")
    assert (
        "&lt;!channel&gt; *bold* 防災無線について" in reminder.args["text"]
        and "<!channel>" not in reminder.args["text"]
    )
    assert reminder.args["mrkdwn"] in (False, "false", "0")  # words only: no bold made of their marks
