"""Signing in to the web view and what guards it, through the real Flask app (no browser needed):
one-time links, session expiry and sign-out, the trusted proxy header, CSRF, cookies,
local assets only, and the link sent by `/council web`."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from councilbot.adapters.web.app import create_web_app
from councilbot.errors import PermissionDenied
from councilbot.services import review, web_access
from councilbot.services.common import get_question, get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AuditEntry, ExportRecord, WebSession, utcnow
from tests.slack_helpers import new_question

TRUSTED = {"web_trusted_header": "X-Remote-User", "web_trusted_proxies": "10.1.2.0/24, 192.0.2.7"}


def _token(url: str) -> str:
    return url.split("#", 1)[1]


def _link(cfg: Settings, user_id: str) -> str:
    with session_scope(cfg) as db:
        return web_access.issue_sign_in_link(db, cfg, get_user(db, user_id))


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def signed_in_client(cfg: Settings, user_id: str) -> FlaskClient:
    client = create_web_app(cfg).test_client()
    form = client.get("/signin").text
    response = client.post("/signin", data={"csrf": _csrf(form), "token": _token(_link(cfg, user_id))})
    assert response.status_code == 303
    return client


def test_a_link_signs_in_once_and_only_while_fresh(org: Settings) -> None:
    url = _link(org, "UKK1")
    assert url.startswith(org.web_base_url + "/signin#")  # the token rides in the fragment, never sent to a server
    later = utcnow() + dt.timedelta(minutes=org.web_link_minutes + 1)
    with session_scope(org) as db:
        with pytest.raises(PermissionDenied):
            web_access.redeem_sign_in_link(db, org, _token(url), now=later)
    with session_scope(org) as db:
        signed = web_access.redeem_sign_in_link(db, org, _token(url))
        assert signed.user.chat_id == "UKK1"
    with session_scope(org) as db, pytest.raises(PermissionDenied) as refused:
        web_access.redeem_sign_in_link(db, org, _token(url))
    assert "/council web" in refused.value.message
    with session_scope(org) as db:
        assert web_access.session_user(db, signed.token).chat_id == "UKK1"
        assert web_access.session_user(db, signed.token, now=signed.expires_at) is None  # sessions expire
        stored = db.scalars(select(WebSession.token_hash)).all()
        assert signed.token not in stored and _token(url) not in str(stored)  # only hashes are kept
        web_access.end_session(db, signed.token)
    with session_scope(org) as db:
        assert web_access.session_user(db, signed.token) is None
        assert [
            e.action
            for e in db.scalars(select(AuditEntry).where(AuditEntry.action.like("web.%")).order_by(AuditEntry.id))
        ] == ["web.link_issue", "web.sign_in", "web.sign_out"]


def test_links_and_sessions_that_stopped_working_are_deleted_a_day_later(org: Settings) -> None:
    from councilbot.storage.models import WebSignInLink

    now = utcnow()
    with session_scope(org) as db:
        user = get_user(db, "UKK1")
        spent = web_access.redeem_sign_in_link(
            db, org, _token(web_access.issue_sign_in_link(db, org, user, now=now)), now=now
        )
        web_access.end_session(db, spent.token, now=now)
        web_access.issue_sign_in_link(db, org, user, now=now)  # never used: expires in minutes
        live = web_access.redeem_sign_in_link(
            db, org, _token(web_access.issue_sign_in_link(db, org, user, now=now)), now=now
        )

    def counts() -> tuple[int, int]:
        with session_scope(org) as db:
            return (
                db.scalar(select(func.count()).select_from(WebSignInLink)),
                db.scalar(select(func.count()).select_from(WebSession)),
            )

    assert counts() == (3, 2)
    with session_scope(org) as db:  # within the day: kept
        web_access.issue_sign_in_link(db, org, get_user(db, "UKK1"), now=now + dt.timedelta(hours=23))
    assert counts() == (4, 2)
    a_day_later = now + web_access.KEEP_EXPIRED + dt.timedelta(minutes=org.web_link_minutes + 1)
    with session_scope(org) as db:
        web_access.issue_sign_in_link(db, org, get_user(db, "UKK1"), now=a_day_later)
    # Left: the hour-23 link (not a day past its expiry) and the new one; the session that was not signed
    # out (it expires hours after it began, so not yet a day ago).
    assert counts() == (2, 1)
    with session_scope(org) as db:
        assert db.scalars(select(WebSession.token_hash)).all() == [web_access._hash(live.token)]


def test_pages_need_sign_in_and_sign_out_ends_the_session(org: Settings) -> None:
    anonymous = create_web_app(org).test_client()
    for path in ("/", "/meeting", "/search?q=避難所", "/books", "/q/Q-1"):
        response = anonymous.get(path)
        assert response.status_code == 401 and "サインインが必要" in response.text
    client = signed_in_client(org, "UGA1")
    cookie = client.get_cookie("councilbot_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    page = client.get("/")
    assert page.status_code == 200 and "会期の進捗" in page.text
    assert client.post("/signout", data={"csrf": _csrf(page.text)}).status_code == 303
    client.set_cookie("councilbot_session", cookie.value)  # a copy kept by the browser is no use either
    assert client.get("/").status_code == 401


def test_cookies_are_secure_behind_https(org: Settings) -> None:
    client = signed_in_client(org.model_copy(update={"web_base_url": "https://giji.city.example.lg.jp"}), "UGA1")
    assert client.get_cookie("councilbot_session").secure


def test_trusted_header_only_from_the_allowed_proxy(org: Settings) -> None:
    header = {"X-Remote-User": "UKK2"}
    off = create_web_app(org).test_client()
    assert (
        off.get("/", headers=header, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 401
    )  # not configured: ignored
    app = create_web_app(org.model_copy(update=TRUSTED))
    assert app.test_client().get("/", headers=header, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 401
    proxied = app.test_client()
    page = proxied.get("/", headers=header, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert page.status_code == 200 and "井上 晴美さん" in page.text
    # The next request of the same browser names someone else: it is that person now, not the old session.
    other = proxied.get("/", headers={"X-Remote-User": "UGA1"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert "佐藤 花子さん" in other.text
    unknown = app.test_client().get(
        "/", headers={"X-Remote-User": "UNOBODY"}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert unknown.status_code == 403 and "職員として登録されていない" in unknown.text


def test_a_form_without_its_csrf_token_changes_nothing(org: Settings) -> None:
    key = new_question(org, assign_to="危機管理課", answer="答弁です。", submit=True)
    client = signed_in_client(org, "UKK2")
    page = client.get(f"/q/{key}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    for token in (None, "0" * 64):
        data = {"action": "approve", "version": version} | ({"csrf": token} if token else {})
        response = client.post(f"/q/{key}/act", data=data)
        assert response.status_code == 400 and "送信内容を確認できませんでした" in response.text
    with session_scope(org) as db:
        assert get_question(db, key).stage_index == 0
    assert (
        client.post(f"/q/{key}/act", data={"csrf": _csrf(page), "action": "approve", "version": version}).status_code
        == 303
    )


def test_every_asset_is_local_and_scripts_are_not_inline(org: Settings) -> None:
    client = signed_in_client(org, "UGA1")
    for path in ("/", "/meeting", "/search", "/books"):
        response = client.get(path)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
        assert not re.search(r'(src|href)="(https?:)?//', response.text), path
        assert "<script>" not in response.text  # the only script is /static/app.js
    css = client.get("/static/style.css").text
    assert "Meiryo" in css and "IPAexGothic" in css and "@import" not in css and "url(" not in css


def test_general_affairs_exports_a_book_and_others_download_it(org: Settings) -> None:
    new_question(org, assign_to="危機管理課", answer="答弁です。", submit=True)  # a draft for the 検討会 book
    drafter = signed_in_client(org, "UKK1")
    page = drafter.get("/books").text
    assert "答弁書を出力する" not in page
    refused = drafter.post("/books/export", data={"csrf": _csrf(page), "session": "令和8年12月定例会", "draft": "1"})
    assert refused.status_code == 403 and "総務課" in refused.text
    clerk = signed_in_client(org, "UGA1")
    page = clerk.get("/books").text
    done = clerk.post("/books/export", data={"csrf": _csrf(page), "session": "令和8年12月定例会", "draft": "1"})
    assert done.status_code == 303
    with session_scope(org) as db:
        record = db.scalars(select(ExportRecord)).one()
        assert db.scalar(select(func.count()).select_from(ExportRecord)) == 1
    listing = drafter.get("/books").text
    assert "答弁検討会資料" in listing
    download = drafter.get(f"/books/{record.id}/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    with session_scope(org) as db:
        assert db.scalars(select(AuditEntry.actor).where(AuditEntry.action == "book.download")).all() == ["UKK1"]
    assert drafter.get(f"/books/{record.id + 1}/download").status_code == 400


def test_council_web_sends_a_one_time_link_by_direct_message(
    bot, fake, slack_cfg: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # slack_sdk logs request bodies only at DEBUG
    bot.command("UKK1", "web")
    bot.command("UKK2", "画面")
    bot.settle()
    dms = [c for c in fake.of("chat.postMessage") if "サインイン用リンク" in c.text]
    assert len(dms) == 2
    url = re.search(r"(http://\S+/signin#[\w-]+)", dms[0].text).group(1)
    replies = [c for c in fake.of("response_url")]
    assert any("ダイレクトメッセージでお送りしました" in c.text for c in replies)
    assert not any(_token(url) in c.text for c in replies)  # the link goes only to the person, in private
    with session_scope(slack_cfg) as db:
        assert web_access.redeem_sign_in_link(db, slack_cfg, _token(url)).user.chat_id in ("UKK1", "UKK2")
    assert _token(url) not in caplog.text


def test_command_line_issues_links_for_staff_without_chat(cli, org: Settings) -> None:
    call = cli(org)
    done = call("web", "link", "UKY1")
    assert done.returncode == 0 and "/signin#" in done.stdout
    unknown = call("web", "link", "UNOBODY")
    assert unknown.returncode == 1 and "職員として登録されていない" in unknown.stderr


def _act(client: FlaskClient, key: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/q/{key}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return client.post(
        f"/q/{key}/act",
        data={"csrf": _csrf(page), "action": action, "version": version, **fields},
        follow_redirects=True,
    )


def test_send_back_needs_a_reason_and_general_affairs_finalizes(org: Settings) -> None:
    key = new_question(org, assign_to="危機管理課", answer="答弁です。", submit=True)
    head = signed_in_client(org, "UKK2")
    empty = _act(head, key, "send_back", comment="  ")
    assert empty.status_code == 400 and "理由（コメント）の入力が必要" in empty.text
    sent = _act(head, key, "send_back", comment="数値の根拠を追記してください。")
    assert "差し戻しました" in sent.text and "数値の根拠を追記してください。" in sent.text
    with session_scope(org) as db:
        review.submit(db, get_user(db, "UKK1"), key)
        for approver in ("UKK2", "USB1", "UMY1"):
            review.approve(db, get_user(db, approver), key)
    assert "校了する" not in head.get(f"/q/{key}").text  # only General Affairs finalizes
    done = _act(signed_in_client(org, "UGA1"), key, "finalize")
    assert "校了しました" in done.text
    with session_scope(org) as db:
        assert get_question(db, key).status == "final"


def test_web_demo_without_the_demo_workspace_says_what_to_do(
    cli, org: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no data/demo here
    result = cli(org)("web", "--demo", "link", "UGA1")
    assert result.returncode == 1 and "make demo" in result.stderr
