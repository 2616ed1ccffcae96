"""yibao push (issue 15 point 4): a real SMTP server on localhost (aiosmtpd) receives the packages.

Each mailbox's messages and attachments are read back and compared byte for byte with the package files;
a server that fails the first attempt is retried with backoff; STARTTLS with AUTH; the drop folder; the
delivery log and idempotent reruns; --resend; institutions without a contact are listed.
"""
from __future__ import annotations

import csv
import email
import hashlib
import shutil
import subprocess
from email import policy
from pathlib import Path

import pytest

from conftest import needs
from yibao import cli
from yibao.delivery import push as P

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PERIOD, REGION = "2026-09", "350100"


class Mailbox:
    """aiosmtpd handler: records every accepted message; ``fail_first`` answers the first n DATA with 451."""

    def __init__(self, fail_first: int = 0, reject: str | None = None):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.fail_first = fail_first
        self.reject = reject
        self.attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and address == self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return "451 4.3.0 temporary failure, try again"
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted"

    def inbox(self, address: str) -> list:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp_server():
    started = []

    def start(handler, **kw):
        import socket
        with socket.socket() as s:  # a free port (aiosmtpd's Controller needs a number)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        c = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        c.start()
        started.append(c)
        return c
    yield start
    for c in started:
        c.stop()


def _packages(out: Path) -> dict[str, list[Path]]:
    """Three institutions' packages as `yibao run --kind institution` lays them out (distinct bytes each)."""
    files = {}
    for k, code in enumerate(["H350100001", "H350100002", "H350100003"]):
        d = P.package_dir(out, PERIOD, REGION, code)
        d.mkdir(parents=True)
        pdf = d / f"{code}_定向推送_{PERIOD}.pdf"
        xlsx = d / f"{code}_疑点明细_{PERIOD}.xlsx"
        pdf.write_bytes(b"%PDF-1.7\n" + bytes([k]) * 3000 + code.encode())
        xlsx.write_bytes(b"PK\x03\x04" + code.encode() * 50)
        files[code] = [pdf, xlsx]
    return files


def _contacts(tmp: Path) -> Path:
    p = tmp / "contacts-350100.yaml"
    p.write_text("H350100001: {name: 东岚市中心医院, email: [a@h1.cn, b@h1.cn]}\n"
                 "H350100002: {name: 东岚市第一医院, email: yb@h2.cn}\n", encoding="utf-8")
    return p  # H350100003 has a package but no contact


def _env(monkeypatch, c, **extra):
    monkeypatch.setenv("YIBAO_SMTP_HOST", c.hostname)
    monkeypatch.setenv("YIBAO_SMTP_PORT", str(c.port))
    monkeypatch.setenv("YIBAO_SMTP_FROM", "wg@ybj.example.cn")
    monkeypatch.setenv("YIBAO_SMTP_BACKOFF", "0.05")
    monkeypatch.setenv("YIBAO_SMTP_RETRIES", "3")
    for k in ("YIBAO_SMTP_USER", "YIBAO_SMTP_PASSWORD", "YIBAO_SMTP_STARTTLS", "YIBAO_SMTP_CAFILE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in extra.items():
        monkeypatch.setenv(k, v)


def _attachments(msg) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in msg.iter_attachments()}


def _log(out: Path) -> list[dict]:
    with P.log_path(out, PERIOD, REGION).open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _push(out, contacts, *extra) -> int:
    return cli.main(["push", "--period", PERIOD, "--region", REGION, "--contacts", str(contacts),
                     "--out", str(out), *extra])


def test_each_mailbox_receives_its_own_package_once(tmp_path, smtp_server, monkeypatch, capsys):
    box = Mailbox()
    c = smtp_server(box)
    _env(monkeypatch, c)
    files = _packages(tmp_path / "reports")
    contacts = _contacts(tmp_path)
    assert _push(tmp_path / "reports", contacts) == 0
    text = capsys.readouterr().out
    # both addresses of H350100001 got one message with exactly its two files, byte for byte
    for addr, code in (("a@h1.cn", "H350100001"), ("b@h1.cn", "H350100001"), ("yb@h2.cn", "H350100002")):
        inbox = box.inbox(addr)
        assert len(inbox) == 1, addr
        att = _attachments(inbox[0])
        assert att == {f.name: f.read_bytes() for f in files[code]}
        assert "医保数据定向推送" in inbox[0]["Subject"] and inbox[0]["From"] == "wg@ybj.example.cn"
    assert len(box.messages) == 2  # one message per institution with a contact
    # the institution without a contact is listed and logged, not skipped silently
    assert "H350100003" in text and "没有电子邮件地址" in text
    log = {r["fixmedins_code"]: r for r in _log(tmp_path / "reports")}
    assert log["H350100003"]["status"] == "no-contact"
    assert log["H350100001"]["status"] == "sent" and log["H350100001"]["attempts"] == "1"
    assert log["H350100001"]["message_id"] == box.inbox("a@h1.cn")[0]["Message-ID"]
    assert log["H350100002"]["sha256"].split(";") == [hashlib.sha256(f.read_bytes()).hexdigest()
                                                      for f in files["H350100002"]]
    assert log["H350100002"]["files"].split(";") == [f.name for f in files["H350100002"]]

    # a rerun sends nothing that was delivered
    assert _push(tmp_path / "reports", contacts) == 0
    assert len(box.messages) == 2
    assert "跳过(已送达" in capsys.readouterr().out
    # --resend is explicit: exactly that institution once more
    assert _push(tmp_path / "reports", contacts, "--resend", "H350100002") == 0
    assert len(box.inbox("yb@h2.cn")) == 2 and len(box.inbox("a@h1.cn")) == 1
    sent = [r for r in _log(tmp_path / "reports") if r["status"] == "sent"]
    assert [r["fixmedins_code"] for r in sent] == ["H350100001", "H350100002", "H350100002"]


def test_server_failing_first_attempt_is_retried(tmp_path, smtp_server, monkeypatch):
    box = Mailbox(fail_first=1)
    c = smtp_server(box)
    _env(monkeypatch, c)
    _packages(tmp_path / "reports")
    assert _push(tmp_path / "reports", _contacts(tmp_path)) == 0
    assert box.attempts == 3  # first DATA refused (451), retried, then the second institution
    assert len(box.inbox("a@h1.cn")) == 1 and len(box.inbox("yb@h2.cn")) == 1
    log = {r["fixmedins_code"]: r for r in _log(tmp_path / "reports")}
    assert log["H350100001"]["attempts"] == "2" and log["H350100001"]["status"] == "sent"
    assert log["H350100002"]["attempts"] == "1"


def test_failed_delivery_is_logged_and_retried_by_a_rerun(tmp_path, smtp_server, monkeypatch):
    box = Mailbox(reject="yb@h2.cn")  # a permanent 550: not retried within the run
    c = smtp_server(box)
    _env(monkeypatch, c)
    _packages(tmp_path / "reports")
    contacts = _contacts(tmp_path)
    assert _push(tmp_path / "reports", contacts) == 1
    log = {r["fixmedins_code"]: r for r in _log(tmp_path / "reports")}
    assert log["H350100002"]["status"] == "failed" and log["H350100002"]["attempts"] == "1"
    assert "yb@h2.cn" in log["H350100002"]["error"]
    box.reject = None  # the address is fixed at the server: the rerun retries only what failed
    assert _push(tmp_path / "reports", contacts) == 0
    assert len(box.inbox("yb@h2.cn")) == 1 and len(box.inbox("a@h1.cn")) == 1


def test_unreachable_server_backs_off_then_fails(tmp_path, monkeypatch):
    from yibao.delivery import smtp
    server = smtp.Server("127.0.0.1", 1, "wg@ybj.example.cn", retries=3, backoff=0.5, timeout=2)
    waits = []
    attempts, err = smtp.send(server, email.message.EmailMessage(), sleep=waits.append)
    assert attempts == 3 and err and waits == [0.5, 1.0]


def test_starttls_and_auth(tmp_path, smtp_server, monkeypatch):
    needs(shutil.which("openssl") is not None, "openssl (a self-signed certificate for the STARTTLS server)")
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    seen = []

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == b"wg" and data.password == b"s3cret"
        seen.append((bool(session.ssl), ok))
        return AuthResult(success=ok)
    box = Mailbox()
    c = smtp_server(box, tls_context=tls, require_starttls=True, authenticator=auth, auth_required=True)
    _env(monkeypatch, c, YIBAO_SMTP_STARTTLS="1", YIBAO_SMTP_USER="wg", YIBAO_SMTP_PASSWORD="s3cret",
         YIBAO_SMTP_CAFILE=str(cert))
    _packages(tmp_path / "reports")
    assert _push(tmp_path / "reports", _contacts(tmp_path)) == 0
    assert len(box.messages) == 2 and seen and all(s == (True, True) for s in seen)


def test_to_folder_holds_exactly_the_mailed_files(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("YIBAO_SMTP_HOST", raising=False)
    files = _packages(tmp_path / "reports")
    drop = tmp_path / "drop"
    assert _push(tmp_path / "reports", _contacts(tmp_path), "--to-folder", str(drop)) == 0
    # the drop folder does not need an e-mail address: every package is written
    assert sorted(p.name for p in drop.iterdir()) == sorted(files)
    for code, fs in files.items():
        assert {p.name: p.read_bytes() for p in (drop / code).iterdir()} == {f.name: f.read_bytes() for f in fs}
    assert {r["status"] for r in _log(tmp_path / "reports")} == {"written"}
    assert _push(tmp_path / "reports", _contacts(tmp_path), "--to-folder", str(drop)) == 0
    assert len(_log(tmp_path / "reports")) == 3  # nothing written twice


def test_dry_run_sends_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("YIBAO_SMTP_HOST", raising=False)  # no server needed for a dry run
    _packages(tmp_path / "reports")
    assert _push(tmp_path / "reports", _contacts(tmp_path), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "将推送 H350100001" in out and "a@h1.cn, b@h1.cn" in out and "将推送 H350100002" in out
    assert "H350100003" in out and "没有电子邮件地址" in out
    assert not P.log_path(tmp_path / "reports", PERIOD, REGION).exists()


def test_bad_input_one_line(tmp_path, monkeypatch, capsys):
    _packages(tmp_path / "reports")
    bad = tmp_path / "c.yaml"
    bad.write_text("H350100001: {name: x, email: [not-an-address]}\n", encoding="utf-8")
    assert _push(tmp_path / "reports", bad, "--dry-run") == 1
    err = capsys.readouterr().err
    assert "H350100001" in err and "not-an-address" in err and "Traceback" not in err
    monkeypatch.delenv("YIBAO_SMTP_HOST", raising=False)
    assert _push(tmp_path / "reports", _contacts(tmp_path)) == 1
    assert "YIBAO_SMTP_HOST" in capsys.readouterr().err
    assert _push(tmp_path / "nothing", _contacts(tmp_path), "--dry-run") == 1
    assert "yibao run --kind institution" in capsys.readouterr().err
