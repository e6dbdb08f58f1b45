"""The web view in a real browser (headless Chromium at 1366×768): sign-in, the pages, the review
meeting's projector mode, actions and their refusals, escaping. Screenshots go to test-output/web/."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from councilbot.services import assignment, intake, review
from councilbot.services.archive import import_file
from councilbot.services.common import get_question, get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AuditEntry
from tests.conftest import SAMPLE
from tests.fake_slack import FakeSlack
from tests.slack_helpers import slack_settings
from tests.web_helpers import SCREENSHOTS, WebServer, browser, shot, sign_in  # noqa: F401 (browser: fixture)
from tests.webdriver import Browser

SESSION = "令和8年12月定例会"
XSS_TITLE = "<script>window.__xss = 1</script><b>避難所</b>の運営"
XSS_COMMENT = '<img src=x onerror="window.__xss = 2">根拠の数値を確認してください'


def add_question(
    cfg: Settings,
    seat: int,
    item_no: str,
    title: str,
    body: str,
    *,
    division: str,
    answerer: str = "市長",
    answer: str | None = None,
    submit: bool = False,
    drafter: str = "UKK1",
) -> str:
    with session_scope(cfg) as db:
        data = intake.QuestionInput(SESSION, seat, "一般質問", item_no, title, body)
        key = intake.register_question(db, get_user(db, "UGA1"), data).question.key
        assignment.assign(db, get_user(db, "UGA1"), key, division, answerer=answerer)
        if answer:
            review.save_revision(
                db, get_user(db, drafter), key, answer=answer, back_data="令和7年度実績：避難所運営訓練 12回"
            )
        if submit:
            review.submit(db, get_user(db, drafter), key)
    return key


@pytest.fixture
def agenda(org: Settings) -> dict[str, str]:
    """Two members' items, registered out of order: 21番 speaks first, 16番's items arrive 1-(2) before 1-(1)."""
    keys = {
        "school": add_question(
            org,
            21,
            "1-(1)-①",
            "不登校児童生徒への支援について",
            "不登校の児童生徒が増えている。校内の居場所づくりと今後の支援策を伺う。",
            division="学校教育課",
            answerer="教育長",
            answer="不登校の児童生徒への支援につきましては、校内教育支援センターを全中学校に設置してまいります。",
            submit=True,
            drafter="UGK1",
        ),
        "later": add_question(
            org,
            16,
            "1-(2)-①",
            "備蓄物資について",
            "災害時の備蓄物資の充足状況と今後の計画を伺う。",
            division="危機管理課",
            answer="備蓄物資につきましては、想定避難者数の3日分を確保しております。",
            submit=True,
        ),
        "first": add_question(
            org,
            16,
            "1-(1)-①",
            "避難所の女性への配慮について",
            "避難所における女性への配慮の現状と課題を伺う。",
            division="危機管理課",
            answer="避難所における女性への配慮につきましては、更衣室や授乳室の設置を進めております。\n今後も改善に努めてまいります。",
            submit=True,
        ),
    }
    return keys


@pytest.fixture
def web(agenda: dict[str, str], org: Settings) -> Iterator[WebServer]:
    with WebServer(org) as server:
        yield server


@pytest.fixture
def web_with_chat(agenda: dict[str, str], org: Settings, fake: FakeSlack) -> Iterator[WebServer]:
    with WebServer(slack_settings(org, fake)) as server:
        yield server


def test_sign_in_by_link_dashboard_and_sign_out(browser: Browser, web: WebServer, agenda: dict[str, str]) -> None:
    browser.call("DELETE", "/cookie")
    browser.open(web.base + "/")
    assert "サインインが必要" in browser.text()
    shot(browser, "01_signin")
    link = web.link_for("UGA1")
    browser.open(link)
    table = browser.find("table#progress")
    assert "/signin" not in browser.url and "#" not in browser.url  # the token leaves the address bar
    cookie = next(c for c in browser.cookies() if c["name"] == "councilbot_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    text = table.text
    assert "危機管理課" in text and "学校教育課" in text and "課長確認中" in text
    assert "期限超過" in text
    body = browser.text()
    assert "答弁締切" in body and "経過" in body  # the sample deadline (2026-11-27) has passed
    shot(browser, "02_dashboard")

    browser.find("select[name=division] option[value='危機管理課']").click()
    browser.find(".filters button[type=submit]").click_to_load()
    rows = [r.text for r in browser.find_all("table#progress tbody tr")]
    assert len(rows) == 1 and rows[0].startswith("危機管理課")

    browser.call("DELETE", "/cookie")
    browser.open(link)  # the same link again
    assert "このサインイン用リンクは使えません" in browser.text(".notice.error")

    sign_in(browser, web, "UGA1")
    browser.find("header .who button").click_to_load()
    assert "サインアウトしました" in browser.text()
    browser.open(web.base + "/")
    assert "サインインが必要" in browser.text()


def test_sign_in_by_trusted_proxy_header(browser: Browser, org: Settings, agenda: dict[str, str]) -> None:
    cfg = org.model_copy(update={"web_trusted_header": "X-Remote-User", "web_trusted_proxies": "127.0.0.1/32"})
    with WebServer(cfg) as web:
        browser.call("DELETE", "/cookie")
        browser.extra_headers({"X-Remote-User": "UKK2"})
        try:
            browser.open(web.base + "/")
            assert "井上 晴美さん" in browser.text("header .who")
            assert "課長として確認・承認してください" in browser.text()
        finally:
            browser.extra_headers({})
    with session_scope(org) as db:
        assert db.scalar(select(AuditEntry).where(AuditEntry.action == "web.sign_in")).details == {"method": "header"}


def test_review_meeting_order_projector_keys_and_print_sheet(
    browser: Browser, web: WebServer, agenda: dict[str, str]
) -> None:
    sign_in(browser, web, "UGA1")
    browser.open(web.base + "/meeting")
    members = [h.text for h in browser.find_all("section.member > h2")]
    assert members[0].startswith("21番 松本 陽子議員") and members[1].startswith("16番 山田 太郎議員")
    titles = [h.text for h in browser.find_all("article.item h3")]
    assert titles == ["不登校児童生徒への支援について", "避難所の女性への配慮について", "備蓄物資について"]
    assert "読み上げ 約" in browser.text("section.member > h2")
    assert "バックデータ" in browser.text("article.item") and "課長確認中" in browser.text("article.item")
    shot(browser, "03_meeting")
    if shutil.which("pdfinfo") and shutil.which("pdftotext"):
        pdf = browser.print_pdf(SCREENSHOTS / "meeting_print.pdf")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "(A4)" in info, info
        printed = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert (
            all(t in printed for t in titles) and "サインアウト" not in printed and "プロジェクター表示" not in printed
        )

    browser.find("#projector-toggle").click()
    visible = lambda: [a.prop("id") for a in browser.find_all("article.item") if a.displayed]  # noqa: E731
    assert visible() == ["item-1"]
    assert (
        float(
            browser.script(
                "return parseFloat(getComputedStyle(document.querySelector('article.item.current')).fontSize)"
            )
        )
        >= 24
    )
    shot(browser, "04_projector")
    browser.press("ArrowRight")
    assert visible() == ["item-2"]
    assert "1-(1)-①" in browser.text("article.item.current") and "2 / 3" in browser.text("article.item.current")
    shot(browser, "05_projector_next")
    browser.press("ArrowRight")
    browser.press("ArrowRight")  # past the last item: stays there
    assert visible() == ["item-3"]
    browser.press("ArrowLeft")
    assert visible() == ["item-2"]
    browser.press("Escape")
    assert len(visible()) == 3


def test_approval_from_the_browser_notifies_the_next_approver_in_chat(
    browser: Browser, web_with_chat: WebServer, fake: FakeSlack, agenda: dict[str, str], org: Settings
) -> None:
    key = agenda["first"]
    sign_in(browser, web_with_chat, "UKK2")  # 危機管理課長: the 課長 stage
    browser.open(f"{web_with_chat.base}/q/{key}")
    shot(browser, "06_question")
    browser.find("#approve-button").click_to_load()
    assert "承認しました" in browser.text(".notice.done")
    assert "部長確認中" in browser.text("h1")
    dm = fake.of("conversations.open", users="USB1")
    assert dm, "the 部長 was not told"
    posts = [c for c in fake.of("chat.postMessage") if key in c.text]
    assert posts and "部長" in posts[-1].text
    with session_scope(org) as db:
        q = get_question(db, key)
        assert q.stamps[-1].action == "approve" and q.stamps[-1].user.chat_id == "UKK2"
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "question.approve")).all()[-1]
        assert entry.actor == "UKK2" and entry.target == key


def test_refused_action_changes_nothing(
    browser: Browser, web: WebServer, agenda: dict[str, str], org: Settings
) -> None:
    key = agenda["first"]
    sign_in(browser, web, "UGK2")  # 学校教育課長: not this item's approver
    browser.open(f"{web.base}/q/{key}")
    assert "決裁の操作" not in browser.text()
    # Forge the form the page did not offer (with a valid CSRF token, as the user's own page would hold).
    browser.script(
        "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];"
        "for (const [n, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['action', 'approve'], ['version', arguments[1]]]) {"
        "  const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); }"
        "document.body.appendChild(f); f.submit();",
        f"/q/{key}/act",
        str(_version(org, key)),
    )
    assert "権限がありません" in browser.text(".notice.error")
    shot(browser, "07_refused")
    with session_scope(org) as db:
        q = get_question(db, key)
        assert q.status == "in_review" and q.stage_index == 0 and [s.action for s in q.stamps] == ["assign", "submit"]


def test_stale_page_is_refused_with_a_clear_message(
    browser: Browser, web: WebServer, agenda: dict[str, str], org: Settings
) -> None:
    key = agenda["first"]
    sign_in(browser, web, "UKK2")
    browser.open(f"{web.base}/q/{key}")
    browser.find("#send-back-comment").type("数値の根拠を追記してください。")
    with session_scope(org) as db:  # meanwhile, the same item is approved from chat
        review.approve(db, get_user(db, "UKK2"), key)
    browser.find("#send-back-button").click_to_load()
    assert "他の方が先に更新しました" in browser.text(".notice.error")
    shot(browser, "08_stale")
    with session_scope(org) as db:
        q = get_question(db, key)
        assert q.status == "in_review" and q.stage_index == 1 and [s.action for s in q.stamps][-1] == "approve"


def test_markup_in_questions_and_comments_is_shown_as_text(browser: Browser, org: Settings) -> None:
    key = add_question(
        org,
        16,
        "2-(1)-①",
        XSS_TITLE,
        "本文に<script>window.__xss = 3</script>を含む質問。",
        division="危機管理課",
        answer="答弁<i>斜体</i>です。",
        submit=True,
    )
    with session_scope(org) as db:
        review.send_back(db, get_user(db, "UKK2"), key, comment=XSS_COMMENT)
        review.add_comment(db, get_user(db, "UKK2"), key, XSS_COMMENT)
        review.save_revision(
            db, get_user(db, "UKK1"), key, answer="答弁<i>斜体</i>です。根拠は<u>令和7年度</u>の実績です。"
        )
    with WebServer(org) as web:
        sign_in(browser, web, "UGA1")
        for path in (f"/q/{key}", "/meeting", "/"):
            browser.open(web.base + path)
            browser.find("main")
            assert browser.script("return window.__xss === undefined")
            assert browser.find_all("main b") == [] and browser.find_all("main img") == []
        browser.open(f"{web.base}/q/{key}")
        assert XSS_TITLE in browser.text("h1")
        assert "onerror" in browser.text()
        added = [line.text for line in browser.find_all("div.diff .add")]
        assert any("<u>令和7年度</u>" in line for line in added)  # the revision's change, as text
        shot(browser, "09_escaped")


def test_search_with_filters_highlights_and_similar_questions(
    browser: Browser, web: WebServer, org: Settings, agenda: dict[str, str]
) -> None:
    with session_scope(org) as db:
        import_file(db, org, SAMPLE / "archive_1.jsonl")
    sign_in(browser, web, "UKK1")
    browser.find("nav a[href='/search']").click_to_load()
    browser.find("input[name=q]").type("避難所")
    browser.find("input[name=division]").type("危機管理課")
    browser.find("form.search button[type=submit]").click_to_load()
    results = browser.find_all("ol.results > li")
    assert results
    marks = [m.text for m in browser.find_all("ol.results mark")]
    assert marks and all(m in "避難所" for m in marks)
    assert all("危機管理課" in m.text for m in browser.find_all("ol.results p.meta"))
    shot(browser, "10_search")
    browser.open(
        f"{web.base}/search?mode=similar&q="
        + "避難所で女性が安心して過ごせるよう、更衣室や授乳室の設置を進めるべきではないか。"
    )
    assert browser.find_all("ol.results > li")
    browser.open(f"{web.base}/q/{agenda['first']}")
    assert browser.find_all("section.similar li"), "the question page lists similar past answers"
    shot(browser, "11_question_similar")
    browser.find("nav a[href='/books']").click_to_load()
    browser.find("h1")
    shot(browser, "12_books")


def _version(cfg: Settings, key: str) -> int:
    with session_scope(cfg) as db:
        return get_question(db, key).version
