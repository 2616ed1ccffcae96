"""The ``yibao`` command line (DATA_CONTRACT.md, "Command line").

Each subcommand parses its arguments here and hands them to the module named after the
domain (``synth``, ``validate``, ``indicators``, ``findings``, ``batch``, ``render``, ``topic``,
``plan``, ``workgroup``, ``survey``, ``demo``), whose ``run_cli(args) -> int`` does the work. Bad
input is reported as one clear message (exit 1), never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys

from yibao.errors import YibaoError
from yibao.fsutil import sigterm_as_interrupt


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in str(text).split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="yibao",
        description="医保数据工作组数据发布系统 — indicators (数据底稿), findings (问题警示) and reports "
                    "(月推送/季发布/专题分析/年通报) for medical-insurance data working groups.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("synth", help="generate a synthetic contract dataset with planted anomalies")
    s.add_argument("--out", required=True, help="dataset directory to write")
    s.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large", "province"])
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--clean", action="store_true", help="plant no anomalies (for false-alarm checks)")
    s.set_defaults(module="synth.generate")

    s = sub.add_parser("validate", help="check a dataset against the data contract")
    s.add_argument("--data", required=True)
    s.add_argument("--max-rows", type=int, default=5, help="example rows listed per problem")
    s.set_defaults(module="data.validate")

    s = sub.add_parser("ingest", help="raw exports -> Parquet partitioned by poolarea_no and month, validated once")
    s.add_argument("--from", dest="raw", required=True, metavar="RAW", help="raw dataset directory (CSV / xlsx / Parquet)")
    s.add_argument("--to", dest="dest", required=True, metavar="DIR", help="new dataset directory to write")
    s.set_defaults(module="data.ingest")

    s = sub.add_parser("indicators", help="compute the 49-indicator 数据底稿: indicators.csv, digao.xlsx, checks.csv")
    s.add_argument("--data", required=True)
    s.add_argument("--region", required=True)
    s.add_argument("--period", required=True)
    s.add_argument("--out", default="reports")
    s.set_defaults(module="metrics.outputs")

    s = sub.add_parser("findings", help="the 问题警示清单 (错): findings.csv and the 表扬 list")
    s.add_argument("--data", required=True)
    s.add_argument("--region", required=True)
    s.add_argument("--period", required=True)
    s.add_argument("--out", default="reports")
    s.set_defaults(module="findings.engine")

    s = sub.add_parser("run", help="execute and render publications for regions and a period (papermill batch)")
    s.add_argument("--data", help="dataset directory (default: from params/regions.yaml)")
    s.add_argument("--period", help="period (2025Q1, 2025-03, 2025); with --plan, taken from --due")
    s.add_argument("--region", nargs="*", default=None, help="region codes (default: every region in the data)")
    s.add_argument("--kind", type=_csv_list, default=None,
                   help="quarterly,monthly,topic,annual,institution (default: what the period implies)")
    s.add_argument("--institution", nargs="*", default=None,
                   help="fixmedins codes for --kind institution, or for the packages of a plan release with institutions: true "
                        "under --plan … --due … (default: every designated hospital of the region)")
    s.add_argument("--topic", nargs="*", default=None, help="topic codes for --kind topic (ADRG, ICD category/chapter)")
    s.add_argument("--formats", type=_csv_list, default=["html", "docx", "pdf"],
                   help="html,docx,pdf,pptx (pptx: the quarterly 发布会 deck; other kinds skip it)")
    s.add_argument("--jobs", type=int, default=1)
    s.add_argument("--engine", default="auto", choices=["auto", "quarto", "builtin"])
    s.add_argument("--out", default="reports")
    s.add_argument("--plan", help="params/plan-YYYY.yaml: run what the plan has due (with --due)")
    s.add_argument("--due", help="YYYY-MM: with --plan, the month whose publications to run")
    s.add_argument("--force", action="store_true", help="re-run jobs even when unchanged")
    s.add_argument("--release-date", default=None,
                   help="YYYY-MM-DD: the documents' date and every timestamp inside them (default today); the "
                        "same inputs and release date give byte-identical outputs")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="tcp://HOST:PORT of a Dask scheduler: run the jobs on its workers (docs/scale.md); "
                        "default: a local pool of --jobs processes")
    s.set_defaults(module="batch.runner")

    s = sub.add_parser("render", help="render an executed notebook to html, docx, pdf or pptx (no re-execution)")
    s.add_argument("notebook")
    s.add_argument("--to", type=_csv_list, default=["html", "docx", "pdf"])
    s.add_argument("--engine", default="auto", choices=["auto", "quarto", "builtin"])
    s.add_argument("--out", default=None, help="directory (default: beside the notebook)")
    s.set_defaults(module="render.engine")

    s = sub.add_parser("topics", help="rank candidate topics (ADRG / ICD category) and show MDC / chapter coverage")
    s.add_argument("--data", required=True)
    s.add_argument("--region", required=True)
    s.add_argument("--year", required=True, type=int)
    s.add_argument("--top", type=int, default=20)
    s.add_argument("--plan", default=None, help="plan file (default params/plan-YEAR.yaml)")
    s.set_defaults(module="publications.topic.cli")

    s = sub.add_parser("plan", help="write the 年度数据发布计划 (xlsx + Markdown) for every region")
    s.add_argument("--year", required=True, type=int)
    s.add_argument("--data", required=True)
    s.add_argument("--out", default="params")
    s.set_defaults(module="publications.plan")

    s = sub.add_parser("workgroup", help="working-group tooling: member draw")
    wsub = s.add_subparsers(dest="action", metavar="ACTION")
    wsub.required = True
    d = wsub.add_parser("freeze", help="publish (公示) and freeze the 成员库 and the seed rule before the draw")
    d.add_argument("--pool", required=True)
    d.add_argument("--year", required=True, type=int)
    d.add_argument("--draw-time", required=True, help="when the draw happens (ISO; Beijing time without a zone)")
    d.add_argument("--beacon", required=True,
                   help="the public value published after --draw-time that makes the seed (e.g. a lottery draw)")
    d.add_argument("--out", required=True, help="the draw directory (freeze.json, draw-log.jsonl, later the roster)")
    d.add_argument("--fixmedins", default=None, help="fixmedins table (csv/xlsx/parquet) or dataset dir for levels")
    d.add_argument("--history", default=None, help="last year's draw directory (rotation check)")
    d.add_argument("--first-draw", default=None, metavar="REASON", help="no previous draw exists: say why")
    d.add_argument("--title-overrides", default=None, help="csv/xlsx person_id, role, reason: accepted titles")
    d.add_argument("--supersede", default=None, metavar="REASON", help="void an earlier freeze/draw of the year")
    d.add_argument("--size", type=int, default=None,
                   help="hospital representatives to draw (default and minimum 8)")
    d.set_defaults(module="workgroup.ledger")
    d = wsub.add_parser("draw", help="draw the frozen pool with the published public value")
    d.add_argument("--out", required=True, help="the draw directory written by freeze")
    d.add_argument("--pool", required=True, help="the pool file (must be byte-identical to the frozen one)")
    d.add_argument("--beacon-value", required=True, help="the public value named at the freeze, as published")
    d.add_argument("--witness", action="append", default=[], help="witness (name and unit); repeatable")
    d.add_argument("--operator", default="", help="who runs the draw")
    d.set_defaults(module="workgroup.ledger")
    d = wsub.add_parser("decide", help="record the 审议 meeting and its decision in a publication's record")
    d.add_argument("--dir", required=True, help="the publication directory OUT/PERIOD/REGION")
    d.add_argument("--meeting", required=True, help="meeting YAML (date, form, chair, minute_taker, attendance, "
                                                    "decision, corrections)")
    d.add_argument("--record", default="review", help="record name (review, or review-topic-<code>)")
    d.set_defaults(module="workgroup.review")
    d = wsub.add_parser("verify", help="re-check a draw directory (changes nothing)")
    d.add_argument("--out", required=True)
    d.add_argument("--pool", default=None)
    d.set_defaults(module="workgroup.ledger")
    d = wsub.add_parser("sample-pool", help="write a plausible sample 成员库 for a dataset (demo, tests)")
    d.add_argument("--data", required=True)
    d.add_argument("--region", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--seed", type=int, default=1)
    d.set_defaults(module="workgroup.draw")

    s = sub.add_parser("survey", help="analyse the release questionnaire (附录4) into a survey report")
    s.add_argument("--responses", help="xlsx or csv exported from the questionnaire platform")
    s.add_argument("--region", required=True)
    s.add_argument("--out", default="reports")
    s.add_argument("--formats", type=_csv_list, default=["html", "docx", "pdf"])
    s.add_argument("--engine", default="auto", choices=["auto", "quarto", "builtin"])
    s.add_argument("--sample", type=int, default=0, help="write N plausible sample responses to --responses first")
    s.add_argument("--data", default=None, help="dataset whose poolarea table names the region (report title)")
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(module="workgroup.survey_report")

    s = sub.add_parser("push", help="send every institution its 定向推送 package by e-mail (SMTP) or into drop folders")
    s.add_argument("--period", required=True)
    s.add_argument("--region", required=True)
    s.add_argument("--contacts", required=True, help="params/contacts-R.yaml: fixmedins_code → {name, email: [...]}")
    s.add_argument("--kind", type=_csv_list, default=["institution"],
                   help="institution (the packages), plus monthly / quarterly / annual to attach that region report")
    s.add_argument("--out", default="reports", help="where yibao run wrote the packages")
    s.add_argument("--dry-run", action="store_true", help="send and write nothing; print what would be delivered")
    s.add_argument("--to-folder", default=None, help="write DIR/<fixmedins_code>/ instead of sending e-mail")
    s.add_argument("--resend", nargs="*", default=None, help="fixmedins codes to send again although delivered")
    s.set_defaults(module="delivery.push")

    s = sub.add_parser("feedback", help="the hospitals' answers: yibao feedback import")
    fsub = s.add_subparsers(dest="feedback_command", required=True)
    d = fsub.add_parser("import", help="read returned 疑点明细 workbooks into the dataset's feedback table")
    d.add_argument("files", nargs="+", help="returned <code>_疑点明细_<period>.xlsx files")
    d.add_argument("--data", required=True, help="dataset directory whose feedback table receives the answers")
    d.add_argument("--received-date", default=None, help="YYYY-MM-DD the answers arrived (default: today)")
    d.set_defaults(module="publications.feedback_import")

    s = sub.add_parser("demo", help="generate the demo dataset and build every demo publication")
    s.add_argument("--data", default="data/demo")
    s.add_argument("--out", default="reports")
    s.add_argument("--scale", default="medium", choices=["tiny", "small", "medium", "large"])
    s.add_argument("--jobs", type=int, default=2)
    s.add_argument("--only-data", action="store_true", help="only make sure the demo dataset exists")
    s.set_defaults(module="batch.demo")
    return p


# Arguments are values, never paths: each is checked against its pattern before anything runs, so no
# argument can name a file outside --out or carry markup into a report (docs/security.md).
REGION_RX = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")
TOPIC_RX = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,15}")
MONTH_RX = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
FORMATS = ("html", "docx", "pdf", "pptx")  # pptx: the 发布会 deck (quarterly)


def check_args(args) -> None:
    """Reject bad argument values with one line (exit 1) before any work."""
    regions = getattr(args, "region", None)
    for r in ([regions] if isinstance(regions, str) else regions or []):
        if not REGION_RX.fullmatch(str(r)):
            raise YibaoError(f"--region {r!r}: 统筹区编号只能由字母、数字、_ 和 - 组成（如 350100），不能是路径 "
                             f"(rule: region code pattern {REGION_RX.pattern})")
    for c in (getattr(args, "institution", None) or []) + (getattr(args, "resend", None) or []):
        if not REGION_RX.fullmatch(str(c)):
            raise YibaoError(f"--institution {c!r}: 机构编号只能由字母、数字、_ 和 - 组成（如 H350100001），不能是路径 "
                             f"(rule: institution code pattern {REGION_RX.pattern})")
    for t in getattr(args, "topic", None) or []:
        if not TOPIC_RX.fullmatch(str(t)):
            raise YibaoError(f"--topic {t!r}: 专题编码只能由字母、数字、. _ - 组成（如 FM1、I63），不能是路径 "
                             f"(rule: topic code pattern {TOPIC_RX.pattern})")
    period = getattr(args, "period", None)
    if period is not None:
        from yibao.data.periods import Period, PeriodError
        try:
            Period.parse(period)
        except PeriodError as exc:
            raise YibaoError(f"--period {period!r}: {exc} (rule: 2026-09, 2026Q3, 2026H1 or 2026)") from None
    due = getattr(args, "due", None)
    if due is not None and not MONTH_RX.fullmatch(str(due)):
        raise YibaoError(f"--due {due!r}: 应为月份 YYYY-MM，如 2026-10 (rule: month pattern)")
    release = getattr(args, "release_date", None)
    if release is not None:
        import datetime as dt
        try:
            dt.date.fromisoformat(str(release))
            ok = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(release)))
        except ValueError:
            ok = False
        if not ok:
            raise YibaoError(f"--release-date {release!r}: 应为日期 YYYY-MM-DD，如 2026-10-15 (rule: date pattern)")
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        raise YibaoError(f"--jobs {jobs}: 并行作业数至少为 1 (rule: --jobs >= 1)")
    for opt in ("formats", "to"):
        fmts = getattr(args, opt, None)
        if fmts is None:
            continue
        bad = [f for f in fmts if f not in FORMATS]
        if bad:
            raise YibaoError(f"--{opt} {','.join(bad)}: 未知的输出格式（可选 {', '.join(FORMATS)}）"
                             f"(rule: formats are html, docx, pdf, pptx)")


def _os_error_line(exc: OSError) -> str:
    import errno
    where = exc.filename or "—"
    if exc.errno == errno.ENOSPC:
        why = "磁盘已满 / no space left on device"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "没有写入权限或只读 / permission denied or read-only"
    else:
        why = exc.strerror or type(exc).__name__
    return f"{where}: {why}（已写出的文件保持原样，未留下半成品）(rule: output folder must be writable with free space)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_args(args)
        with sigterm_as_interrupt():
            if args.module == "batch.runner" and getattr(args, "plan", None):
                args.module = "batch.due"      # yibao run --plan … --due …
            elif args.module == "batch.runner" and "institution" in (getattr(args, "kind", None) or []):
                args.module = "batch.institutions"  # yibao run --kind institution (定向推送)
            module = importlib.import_module(f"yibao.{args.module}")
            return int(module.run_cli(args) or 0)
    except YibaoError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a read-only output folder, a full disk …: one line, never a traceback
        print(f"错误 / error: {_os_error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print("已中断 / interrupted", file=sys.stderr)
        return 143 if str(exc) == "SIGTERM" else 130


if __name__ == "__main__":
    sys.exit(main())
