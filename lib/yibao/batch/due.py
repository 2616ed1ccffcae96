"""``yibao run --plan params/plan-Y.yaml --due YYYY-MM``: run every release the plan has due in a month."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from yibao import PROJECT_DIR
from yibao.batch import runner as batch
from yibao.batch.runner import KIND_PERIOD, Job, JobResult
from yibao.data.periods import Period, PeriodError
from yibao.errors import YibaoError
from yibao.publications.plan import KIND_ZH, KINDS, load_plan


# ---- yibao run --plan … --due … --------------------------------------------------------------------------

def select_due(plan: dict, due: str) -> list[dict]:
    """Every release of every region dated in month ``due`` (YYYY-MM), by date, region, kind:
    dicts with region, name, pay_method and the entry's keys."""
    try:
        p = Period.parse(due)
    except PeriodError as exc:
        raise YibaoError(f"--due: {exc}") from None
    if p.kind != "month":
        raise YibaoError(f"--due 需要月份（YYYY-MM），收到 {due}")
    out = []
    for code, r in plan["regions"].items():
        for e in r["releases"]:
            if str(e["date"])[:7] == p.code:
                out.append(dict(e, region=code, name=r.get("name", code), pay_method=r.get("pay_method", "")))
    return sorted(out, key=lambda e: (e["date"], e["region"], KINDS.index(e["kind"]), e["period"]))


def resolve_data(args, plan: dict) -> Path:
    """--data, else the plan's ``data:``, else params/regions.yaml ``data:``; relative paths are tried
    against the working directory, then the project directory."""
    cands = [getattr(args, "data", None), plan.get("data")]
    cfg_path = PROJECT_DIR / "params" / "regions.yaml"
    if cfg_path.exists():
        cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        cands += [cfg.get("data"), (cfg.get("defaults") or {}).get("data")]
    for c in cands:
        if not c:
            continue
        for base in (Path.cwd(), PROJECT_DIR):
            p = Path(c) if Path(c).is_absolute() else base / c
            if p.is_dir():
                return p
        if c == getattr(args, "data", None):
            raise YibaoError(f"--data: 数据目录 {c} 不存在")
    raise YibaoError("找不到数据集：请用 --data 指定，或在发布计划中写明 data:（也可在 params/regions.yaml 中设置 data:）")


def _availability(wh) -> tuple[list[str], dict]:
    months = wh.months()
    regions = wh.regions()
    return months, dict(zip(regions["poolarea_no"], regions["pay_method"].astype(str).str.upper()))


def unavailable_reason(entry: dict, months: list[str], regions: dict, data_dir) -> str | None:
    """Why an entry cannot run on this dataset (None when it can)."""
    if entry["region"] not in regions:
        return f"统筹区 {entry['region']} 不在数据集 {data_dir} 中"
    p = Period.parse(entry["period"])
    kind = entry["kind"]
    if p.kind not in KIND_PERIOD.get(kind, ()):
        return f"{KIND_ZH.get(kind, kind)}不适用于期间 {p.code}（{p.label}）"
    if not months:
        return f"数据集 {data_dir} 没有结算数据"
    if p.last_month > months[-1]:
        return (f"数据集的结算数据截至 {months[-1]}，{p.label}（{p.code}）的数据尚未具备"
                f"（需要至 {p.last_month}）")
    if p.months[0] < months[0]:
        return f"数据集的结算数据始于 {months[0]}，缺少{p.label}（{p.code}）的数据"
    return None


def jobs_for(entry: dict):
    if entry["kind"] == "topic":
        return [Job(entry["region"], entry["period"], "topic", str(c), entry["name"], entry["pay_method"])
                for c in entry.get("topics") or []]
    return [Job(entry["region"], entry["period"], entry["kind"], None, entry["name"], entry["pay_method"])]


def _describe(e: dict) -> str:
    extra = ""
    if e["kind"] == "topic":
        extra = f"  {'、'.join(e.get('topics') or [])}" + (f"  牵头：{e['lead']}" if e.get("lead") else "")
    if e.get("institutions"):
        extra += "  含各机构定向推送包"
    return (f"  {e['date']}  {e['region']} {e['name']}  {KIND_ZH.get(e['kind'], e['kind'])}  "
            f"{Period.parse(e['period']).label}（{e['period']}）" + (f"  {e['form']}" if e.get("form") else "") + extra)


def run_due(args) -> int:
    """``yibao run --plan FILE --due YYYY-MM``: print the selection, run what can run (batch), report
    entries whose data are not available as failed with the reason, exit 1 if anything failed."""
    from yibao.data.warehouse import Warehouse
    plan_path = Path(args.plan)
    plan = load_plan(plan_path)
    due = getattr(args, "due", None)
    if not due:
        per = getattr(args, "period", None)
        if per and re.fullmatch(r"\d{4}-\d{1,2}", str(per)):
            due = per
        else:
            raise YibaoError("--plan 需要 --due YYYY-MM（运行该月到期的发布）")
    selected = select_due(plan, due)
    data_dir = resolve_data(args, plan)
    from yibao.data.gate import print_warnings, validated
    print_warnings(validated(data_dir))  # nothing is computed from a dataset that fails validation
    with Warehouse(data_dir) as wh:
        months, regions = _availability(wh)
    span = f"{months[0]} 至 {months[-1]}" if months else "无结算数据"
    print(f"发布计划 {plan_path}：{Period.parse(due).label}到期的发布 {len(selected)} 项"
          f"（数据集 {data_dir}，结算数据 {span}）/ releases due {due}: {len(selected)}")
    for e in selected:
        print(_describe(e))
    if not selected:
        print("本月没有到期的发布 / nothing due this month")
        return 0
    runnable, failed = [], []
    for e in selected:
        reason = unavailable_reason(e, months, regions, data_dir)
        for job in jobs_for(e):
            if reason is None:
                try:
                    job.notebook  # noqa: B018 - topic notebooks come from yibao.publications.topic
                except Exception as exc:  # noqa: BLE001
                    failed.append(_failed(job, f"找不到笔记本: {type(exc).__name__}: {exc}"))
                    continue
                runnable.append(job)
            else:
                failed.append(_failed(job, reason))
    if failed:
        print(f"其中 {len(failed)} 个作业无法运行 / cannot run:")
        for r in failed:
            print(f"  {r.period}/{r.job}: {r.error}")
    sys.stdout.flush()
    formats = list(getattr(args, "formats", None) or ["html", "docx", "pdf"])
    engine = getattr(args, "engine", "auto") or "auto"
    results = []
    # a release with ``deck: true`` also gets the 发布会 slides (pptx); the others the formats asked for
    decks = {(e["region"], e["kind"], e["period"]) for e in selected if e.get("deck")}
    with_deck = [j for j in runnable if (j.region, j.kind, j.period) in decks]
    for jobs, fmts in ((with_deck, formats + [f for f in ("pptx",) if f not in formats]),
                       ([j for j in runnable if j not in with_deck], formats)):
        if jobs:
            results += batch.run_batch(jobs, data_dir, args.out, fmts, engine,
                                       int(getattr(args, "jobs", 1) or 1), bool(getattr(args, "force", False)),
                                       progress=not getattr(args, "no_progress", False),
                                       scheduler=getattr(args, "scheduler", None))
    results += _institution_packages(selected, list(results), failed, data_dir, args, formats, engine)
    if failed:
        writer = getattr(batch, "_write_manifests", None)
        if writer:
            writer(failed, args.out, engine, formats)
    order = {(j.region, j.kind, j.period, j.topic): i for i, j in
             enumerate(j for e in selected for j in jobs_for(e))}
    for e in selected:  # a release's packages come right after the release itself
        k = order.get((e["region"], e["kind"], e["period"], None))
        if k is not None:
            order.setdefault((e["region"], "institution", e["period"], None), k + 0.5)
    allr = sorted(results + failed, key=lambda r: (order.get((r.region, r.kind, r.period, r.topic), 1 << 30), r.job))
    return batch.report_results(allr, args.out)


def _institution_packages(selected, done, failed, data_dir, args, formats, engine) -> list[JobResult]:
    """The 定向推送 packages of every designated hospital (or of ``--institution CODE …``) for each due
    release with ``institutions: true``, after the region's publication of the same period: they read its
    indicators.csv and findings.csv, so a package shows exactly the release's 底稿 and findings. A release
    whose publication did not succeed (data not available, the job failed) gets no packages but a failed
    entry ``R/institution-*`` with the reason: nothing goes to the hospitals before the release exists."""
    from yibao.batch import institutions
    wanted: dict[str, list[str]] = {}
    for e in sorted((e for e in selected if e.get("institutions")), key=lambda e: (e["period"], e["region"])):
        key = (e["region"], e["kind"], e["period"])
        mine = [r for r in done + failed if (r.region, r.kind, r.period) == key]
        if mine and all(r.status in ("ok", "skipped") for r in mine):
            if e["region"] not in wanted.get(e["period"], []):
                wanted.setdefault(e["period"], []).append(e["region"])
            continue
        why = next((r.error for r in mine if r.status not in ("ok", "skipped")), None) or "发布未运行"
        failed.append(JobResult(f"{e['region']}/institution-*", e["region"], "institution", e["period"], None,
                                "failed", 0.0, [], f"机构定向推送包未生成（{KIND_ZH[e['kind']]}未成功）：{why}"))
    results: list[JobResult] = []
    for period, regions in wanted.items():
        print(f"{Period.parse(period).label}：{'、'.join(regions)} 各机构定向推送包 / institution packages", flush=True)
        try:
            results += institutions.run(data_dir, period, regions, getattr(args, "institution", None) or None,
                                        args.out, formats, engine, int(getattr(args, "jobs", 1) or 1),
                                        bool(getattr(args, "force", False)),
                                        progress=not getattr(args, "no_progress", False))
        except YibaoError as exc:
            failed += [JobResult(f"{r}/institution-*", r, "institution", period, None, "failed", 0.0, [], str(exc))
                       for r in regions]
    return results


def _failed(job, reason: str):
    return JobResult(job.name, job.region, job.kind, job.period, job.topic, "failed", 0.0, [], reason)


run_cli = run_due
