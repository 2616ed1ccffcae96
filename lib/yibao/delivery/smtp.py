"""Sending one message over SMTP, with the server from the environment and retries with backoff.

The server is configured only by the environment, never by a file of the repository:

``YIBAO_SMTP_HOST``, ``YIBAO_SMTP_PORT`` (default 25, or 587 with STARTTLS), ``YIBAO_SMTP_USER``,
``YIBAO_SMTP_PASSWORD`` (AUTH when a user is set), ``YIBAO_SMTP_FROM`` (the sender address),
``YIBAO_SMTP_STARTTLS=1`` (upgrade the connection with STARTTLS before AUTH; the server's certificate is
verified against the system's CAs, or ``YIBAO_SMTP_CAFILE``), ``YIBAO_SMTP_TIMEOUT`` (seconds, default 60),
``YIBAO_SMTP_RETRIES`` (attempts, default 4) and ``YIBAO_SMTP_BACKOFF`` (first wait in seconds, default 5;
doubled after each failed attempt).

Temporary failures (connection refused or dropped, 4xx replies, time-outs) are retried; permanent ones
(5xx: recipients refused, authentication rejected) are not.
"""
from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage

from yibao.errors import YibaoError


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = False
    cafile: str = ""
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 5.0


def from_env(env=None) -> Server:
    env = os.environ if env is None else env
    host = env.get("YIBAO_SMTP_HOST", "").strip()
    sender = env.get("YIBAO_SMTP_FROM", "").strip()
    if not host:
        raise YibaoError("YIBAO_SMTP_HOST 未设置: 邮件服务器只从环境变量读取 (rule: set YIBAO_SMTP_HOST, "
                         "YIBAO_SMTP_FROM …, or use --to-folder / --dry-run)")
    if not sender:
        raise YibaoError("YIBAO_SMTP_FROM 未设置: 需要发件人地址 (rule: set YIBAO_SMTP_FROM)")
    starttls = env.get("YIBAO_SMTP_STARTTLS", "").strip() in ("1", "true", "yes")
    try:
        port = int(env.get("YIBAO_SMTP_PORT") or (587 if starttls else 25))
        retries = max(1, int(env.get("YIBAO_SMTP_RETRIES") or 4))
        backoff = float(env.get("YIBAO_SMTP_BACKOFF") or 5.0)
        timeout = float(env.get("YIBAO_SMTP_TIMEOUT") or 60.0)
    except ValueError as exc:
        raise YibaoError(f"YIBAO_SMTP_*: 数值无法识别（{exc}）(rule: PORT, RETRIES integers; BACKOFF, TIMEOUT seconds)") from None
    return Server(host, port, sender, env.get("YIBAO_SMTP_USER", ""), env.get("YIBAO_SMTP_PASSWORD", ""), starttls,
                  env.get("YIBAO_SMTP_CAFILE", ""), timeout, retries, backoff)


class SendError(Exception):
    def __init__(self, text: str, permanent: bool):
        super().__init__(text)
        self.permanent = permanent


def _send_once(server: Server, msg: EmailMessage) -> None:
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as s:
            s.ehlo()
            if server.starttls:
                ctx = ssl.create_default_context(cafile=server.cafile or None)
                s.starttls(context=ctx)
                s.ehlo()
            if server.user:
                s.login(server.user, server.password)
            refused = s.send_message(msg)
            if refused:
                raise SendError("收件人被拒绝: " + ", ".join(f"{k} ({v[0]})" for k, v in refused.items()), True)
    except SendError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"SMTP 认证失败 ({exc.smtp_code})", True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError("收件人被拒绝: " + ", ".join(exc.recipients), True) from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}",
                        exc.smtp_code >= 500) from None
    except ssl.SSLError as exc:
        raise SendError(f"STARTTLS 失败: {exc}", True) from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}", False) from None


def send(server: Server, msg: EmailMessage, sleep=time.sleep) -> tuple[int, str | None]:
    """Send ``msg``; returns (attempts, error or None). Temporary failures are retried with backoff."""
    wait = server.backoff
    for attempt in range(1, server.retries + 1):
        try:
            _send_once(server, msg)
            return attempt, None
        except SendError as exc:
            if exc.permanent or attempt == server.retries:
                return attempt, str(exc)
            sleep(wait)
            wait *= 2
    return server.retries, "unreachable"


__all__ = ["SendError", "Server", "from_env", "send"]
