"""Signing in to the web view (Web画面へのサインイン): one-time links sent by chat, or a trusted proxy header.

Staff are the users of the organisation file; nobody else gets in. A link is
random, used once and valid for minutes; a browser session lasts hours and ends
at sign-out. Only SHA-256 hashes of links and session tokens are stored, so the
database alone signs nobody in. Every sign-in and sign-out is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from councilbot.errors import InvalidInput, PermissionDenied
from councilbot.services.audit import record_audit
from councilbot.services.common import CLI_USER_ID, get_user
from councilbot.settings import Settings
from councilbot.storage.models import User, WebSession, WebSignInLink, utcnow

SIGN_IN_PATH = "/signin"
LINK_REFUSED = "このサインイン用リンクは使えません（使用済み、期限切れ、または誤り）。Slack で `/council web` を実行して、新しいリンクを受け取ってください。"


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes into the browser's cookie, nowhere else
    user: User
    expires_at: dt.datetime


# Spent links and ended sessions are deleted this long after they stopped working (the audit log keeps
# who signed in when); until then, a refused link can be told apart from an unknown one when investigating.
KEEP_EXPIRED = dt.timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_sign_in_link(db: Session, settings: Settings, user: User, *, now: dt.datetime | None = None) -> str:
    """A one-time sign-in URL for ``user``. The token is in the fragment, which browsers never send
    to servers or proxies, so it stays out of access logs and Referer headers."""
    if user.chat_id == CLI_USER_ID or not user.active:
        raise PermissionDenied("この利用者にはサインイン用リンクを発行できません。")
    now = now or utcnow()
    _delete_expired(db, now)
    token = secrets.token_urlsafe(32)
    db.add(
        WebSignInLink(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.web_link_minutes),
        )
    )
    db.flush()
    record_audit(db, user.chat_id, "web.link_issue", None, minutes=settings.web_link_minutes)
    return f"{settings.web_base_url.rstrip('/')}{SIGN_IN_PATH}#{token}"


def _delete_expired(db: Session, now: dt.datetime) -> None:
    """Links and sessions that stopped working over KEEP_EXPIRED ago; done whenever new ones are made, so
    the tables hold about a day's worth, however long the city runs."""
    cutoff = now - KEEP_EXPIRED
    db.execute(delete(WebSignInLink).where(or_(WebSignInLink.expires_at < cutoff, WebSignInLink.used_at < cutoff)))
    db.execute(delete(WebSession).where(or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff)))


def _start_session(db: Session, settings: Settings, user: User, method: str, now: dt.datetime) -> SignedIn:
    _delete_expired(db, now)
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=settings.web_session_hours)
    db.add(WebSession(token_hash=_hash(token), user_id=user.id, method=method, created_at=now, expires_at=expires))
    db.flush()
    record_audit(db, user.chat_id, "web.sign_in", None, method=method)
    return SignedIn(token, user, expires)


def redeem_sign_in_link(db: Session, settings: Settings, token: str, *, now: dt.datetime | None = None) -> SignedIn:
    """Spend a link: a new session for its user. A used, expired or unknown link is refused alike."""
    now = now or utcnow()
    link = db.scalar(select(WebSignInLink).where(WebSignInLink.token_hash == _hash((token or "").strip())))
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise PermissionDenied(LINK_REFUSED)
    link.used_at = now
    user = db.get(User, link.user_id)
    if user is None or not user.active:
        raise PermissionDenied(LINK_REFUSED)
    return _start_session(db, settings, user, "link", now)


def header_sign_in_enabled(settings: Settings) -> bool:
    return bool((settings.web_trusted_header or "").strip() and (settings.web_trusted_proxies or "").strip())


def is_trusted_proxy(settings: Settings, address: str | None) -> bool:
    """Is ``address`` one of WEB_TRUSTED_PROXIES (IPs or networks)? Anything unreadable is not."""
    if not header_sign_in_enabled(settings) or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in (settings.web_trusted_proxies or "").split(","):
        try:
            if entry.strip() and ip in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def sign_in_by_header(
    db: Session, settings: Settings, user_id: str, address: str | None, *, now: dt.datetime | None = None
) -> SignedIn:
    """The intranet proxy has authenticated the user and names them (their id in the organisation file)."""
    if not is_trusted_proxy(settings, address):
        raise PermissionDenied("この経路からのサインインは許可されていません。")
    name = (user_id or "").strip()
    if not name or name == CLI_USER_ID:
        raise InvalidInput("利用者が指定されていません。")
    return _start_session(db, settings, get_user(db, name), "header", now or utcnow())


def session_user(db: Session, token: str | None, *, now: dt.datetime | None = None) -> User | None:
    """The signed-in user of a browser, or None when the session is unknown, ended or expired."""
    if not token:
        return None
    now = now or utcnow()
    row = db.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None or row.expires_at <= now or not row.user.active:
        return None
    return row.user


def end_session(db: Session, token: str | None, *, now: dt.datetime | None = None) -> None:
    """Sign-out: the session can no longer be used, whatever the browser keeps."""
    row = db.scalar(select(WebSession).where(WebSession.token_hash == _hash(token or "")))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = now or utcnow()
    record_audit(db, row.user.chat_id, "web.sign_out", None)
