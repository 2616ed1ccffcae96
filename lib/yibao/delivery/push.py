"""``yibao push``: send every institution its 定向推送 package — by e-mail, or into a drop folder.

    yibao push --period P --region R --contacts params/contacts-R.yaml [--kind institution[,monthly…]]
               [--out reports] [--dry-run | --to-folder DIR] [--resend CODE …]

The package of an institution is what ``yibao run --kind institution`` left in
``OUT/P/R/institutions/<fixmedins_code>/`` (the report and its 疑点明细), plus, for every other kind named in
``--kind``, that region-wide publication's PDF (e.g. ``monthly-2026-09.pdf``). Each institution with a
package gets one message (SMTP: :mod:`yibao.delivery.smtp`) to the addresses of the contacts file, or —
``--to-folder DIR`` — the same files in ``DIR/<fixmedins_code>/`` for the platform's push channel.

Every attempt is recorded in ``OUT/P/R/institutions/delivery-log.csv`` (time, institution, channel,
recipients, status, message id, attempts, files and their sha256, error). A rerun sends nothing that the
log shows as delivered (status ``sent``/``written`` on the same channel) and retries what failed;
``--resend CODE`` sends an institution again on purpose. Institutions with a package but no contact (or
no address) are listed and logged as ``no-contact``, never skipped silently. ``--dry-run`` sends and
writes nothing: it prints what would happen.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from yibao.batch.institutions import package_dir
from yibao.delivery import contacts as contacts_mod
from yibao.delivery import smtp
from yibao.errors import YibaoError
from yibao.fsutil import atomic_path, publication_dir, sha256

LOG_NAME = "delivery-log.csv"
LOG_COLUMNS = ["time", "period", "region", "fixmedins_code", "fixmedins_name", "channel", "recipients", "status",
               "message_id", "attempts", "files", "sha256", "error"]
DELIVERED = {"sent", "written"}


@dataclass
class Package:
    code: str
    files: list[Path] = field(default_factory=list)

    def digests(self) -> list[str]:
        return [sha256(f) for f in self.files]


def region_files(out, period: str, region: str, kinds: list[str]) -> list[Path]:
    """The region-wide publications named in ``kinds`` (their PDF), attached to every package."""
    base = publication_dir(out, period, region)
    files = []
    for k in kinds:
        if k == "institution":
            continue
        stem = {"monthly": f"monthly-{period}", "quarterly": "quarterly", "annual": "annual"}.get(k)
        if stem is None:
            raise YibaoError(f"--kind {k}: 可推送 institution（定向推送包）及 monthly、quarterly、annual 的区域报告")
        pdf = base / f"{stem}.pdf"
        if not pdf.is_file():
            raise YibaoError(f"--kind {k}: {pdf} 不存在，请先 yibao run --kind {k} --period {period} --region {region}")
        files.append(pdf)
    return files


def packages(out, period: str, region: str, kinds: list[str]) -> dict[str, Package]:
    base = package_dir(out, period, region)
    if not base.is_dir() or not any(d.is_dir() and not d.name.startswith(".") for d in base.iterdir()):
        raise YibaoError(f"{base}: 没有定向推送包，请先 yibao run --kind institution --period {period} --region {region}")
    extra = region_files(out, period, region, kinds)
    out_ = {}
    for d in sorted(base.iterdir()):
        if d.is_dir() and not d.name.startswith("."):
            files = sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith("."))
            if files:
                out_[d.name] = Package(d.name, files + extra)
    return out_


# ---- the log ------------------------------------------------------------------------------------------------

def log_path(out, period: str, region: str) -> Path:
    return package_dir(out, period, region) / LOG_NAME


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def append_log(path: Path, rows: list[dict]) -> None:
    """Old rows + new ones, written whole (atomic): the log is never half-written."""
    if not rows:
        return
    allrows = read_log(path) + rows
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in allrows:
        w.writerow({k: r.get(k, "") for k in LOG_COLUMNS})
    with atomic_path(path) as tmp:
        tmp.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")


def delivered(log: list[dict], code: str, channel: str) -> dict | None:
    for r in reversed(log):
        if r["fixmedins_code"] == code and r["channel"] == channel and r["status"] in DELIVERED:
            return r
    return None


# ---- the message ---------------------------------------------------------------------------------------------

def _period_label(period: str) -> str:
    from yibao.data.periods import Period
    return Period.parse(period).label


def message(server: smtp.Server, contact: contacts_mod.Contact, pkg: Package, period: str, region_name: str,
            name: str) -> EmailMessage:
    label = _period_label(period)
    msg = EmailMessage()
    msg["Subject"] = f"{region_name}医保数据定向推送：{name}{label}"
    msg["From"] = server.sender
    msg["To"] = ", ".join(contact.emails)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=server.sender.split("@")[-1])
    names = "\n".join(f"  {i}. {f.name}" for i, f in enumerate(pkg.files, 1))
    msg.set_content(
        f"{name}：\n\n"
        f"附件为{region_name}医保数据工作组{label}向贵院定向推送的医保数据分析报告及疑点明细：\n{names}\n\n"
        "请按报告“需说明事项和时限”的要求，在疑点明细表“核实结果”“说明”两列逐例填写后，随书面说明一并报送。"
        "报告及明细仅限贵院内部使用，不得对外传播。\n\n"
        f"{region_name}医保数据工作组\n")
    for f in pkg.files:
        sub = {"pdf": ("application", "pdf"), "html": ("text", "html"),
               "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
               "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")}.get(
            f.suffix.lstrip(".").lower(), ("application", "octet-stream"))
        msg.add_attachment(f.read_bytes(), maintype=sub[0], subtype=sub[1], filename=f.name)
    return msg


# ---- the run -------------------------------------------------------------------------------------------------

def push(out, period: str, region: str, contacts_file, kinds: list[str] | None = None, dry_run: bool = False,
         to_folder=None, resend: list[str] | None = None, env=None, echo=print) -> list[dict]:
    """Deliver the region's packages; returns the log rows of this run (none for a dry run)."""
    from yibao.data.periods import Period, PeriodError
    try:
        period = Period.parse(period).code
    except PeriodError as exc:
        raise YibaoError(f"--period: {exc}") from None
    kinds = kinds or ["institution"]
    pkgs = packages(out, period, region, kinds)
    contacts = contacts_mod.load(contacts_file)
    resend = set(resend or [])
    unknown = sorted(resend - set(pkgs))
    if unknown:
        raise YibaoError(f"--resend: {', '.join(unknown)} 没有 {period} 的定向推送包 (rule: --resend names a packaged institution)")
    channel = "folder" if to_folder else "smtp"
    server = None if (dry_run or to_folder) else smtp.from_env(env)
    lp = log_path(out, period, region)
    log = read_log(lp)
    names = _names(out, period, region)
    region_name = names.get("_region", region)
    rows: list[dict] = []
    missing = []
    for code, pkg in pkgs.items():
        c = contacts.get(code)
        name = (c.name if c and c.name else "") or names.get(code, code)
        base = {"period": period, "region": region, "fixmedins_code": code, "fixmedins_name": name, "channel": channel,
                "files": ";".join(f.name for f in pkg.files), "sha256": ";".join(pkg.digests())}
        if channel == "smtp" and (c is None or not c.emails):
            missing.append(f"{code} {name}")
            if not dry_run:
                rows.append(dict(base, time=_now(), recipients="", status="no-contact", attempts="0",
                                 error="联系人文件中没有该机构或其电子邮件地址"))
            continue
        done = delivered(log, code, channel)
        if done and code not in resend:
            changed = done.get("sha256") != base["sha256"]
            echo(f"跳过(已送达 {done['time']})  {code} {name}" + ("  — 推送包已变化，如需重发请用 --resend " + code
                                                                   if changed else ""))
            continue
        to = ", ".join(c.emails) if c else ""
        if dry_run:
            size = sum(f.stat().st_size for f in pkg.files)
            where = f"→ {Path(to_folder) / code}/" if to_folder else f"→ {to}"
            echo(f"将推送 {code} {name} {where}  {len(pkg.files)} 个文件 {size / 1024:.0f} KiB: "
                 + "、".join(f.name for f in pkg.files))
            continue
        if to_folder:
            target = Path(to_folder) / code
            with atomic_path(target, suffix=".tmp") as tmp:
                tmp.mkdir(parents=True)
                for f in pkg.files:
                    shutil.copy2(f, tmp / f.name)
                if target.exists():
                    shutil.rmtree(target)
            row = dict(base, time=_now(), recipients=str(target), status="written", attempts="1", message_id="")
            echo(f"已写出 {code} {name} → {target}/")
        else:
            msg = message(server, c, pkg, period, region_name, name)
            attempts, err = smtp.send(server, msg)
            row = dict(base, time=_now(), recipients=to, status="failed" if err else "sent",
                       message_id=msg["Message-ID"], attempts=str(attempts), error=err or "")
            echo(("已发送" if not err else "发送失败") + f" {code} {name} → {to}  (尝试 {attempts} 次)"
                 + (f"  — {err}" if err else ""))
        rows.append(row)
        append_log(lp, [row])  # after every institution: a crash never forgets what was sent
        rows[-1]["_logged"] = True
    append_log(lp, [r for r in rows if not r.get("_logged")])
    if missing:
        echo(f"以下 {len(missing)} 家机构有推送包但联系人文件中没有电子邮件地址，未发送：")
        for m in missing:
            echo(f"  {m}")
    return [{k: v for k, v in r.items() if k != "_logged"} for r in rows]


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _names(out, period: str, region: str) -> dict:
    """Institution names and the region's name from the packages' executed notebooks' metadata."""
    import json
    names = {}
    nbdir = package_dir(out, period, region) / ".notebooks"
    for nb in sorted(nbdir.glob("*.ipynb")) if nbdir.is_dir() else []:
        try:
            meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {}).get("yibao", {})
        except (OSError, ValueError):
            continue
        code = meta.get("fixmedins_code")
        if code:
            names[code] = str(meta.get("title", "")).replace("医保数据定向推送", "") or code
            names["_region"] = meta.get("region_name") or region
    return names


def run_cli(args) -> int:
    rows = push(args.out, args.period, args.region, args.contacts, args.kind, args.dry_run, args.to_folder,
                args.resend)
    failed = [r for r in rows if r["status"] == "failed"]
    if not args.dry_run:
        print(f"送达记录 / delivery log: {log_path(args.out, args.period, args.region)}")
    if failed:
        print(f"{len(failed)} 家机构发送失败，重新运行将重试 / failed, a rerun retries them", file=sys.stderr)
        return 1
    return 0


__all__ = ["LOG_COLUMNS", "append_log", "delivered", "message", "packages", "push", "read_log", "run_cli"]
