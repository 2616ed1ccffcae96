"""``yibao demo`` (README command one): the demo dataset and every demo publication.

1. generate the demo dataset (synthetic, scale medium) into ``data/demo`` unless it is already there;
2. for every region in it and the latest complete quarter: the 数据底稿, findings and the quarterly
   report (html, docx, pdf); the latest month's 月推送; the planned topic studies of that quarter; the
   annual briefing of the last complete year;
3. the 定向推送 of the latest month for one region (the one with the fewest hospitals, to keep the demo
   short): every hospital's package (PDF + 疑点明细), then a dry run of ``yibao push`` with a demo contacts
   file (example.cn addresses; one hospital left without, to show how it is listed);
4. print where everything is.
"""
from __future__ import annotations

import json
from pathlib import Path

from yibao.errors import YibaoError
from yibao.data.periods import Period, latest_complete_quarter


def ensure_dataset(data_dir: Path, scale: str = "medium", seed: int = 2026) -> Path:
    data_dir = Path(data_dir)
    if (data_dir / "planted.json").exists():
        info = json.loads((data_dir / "planted.json").read_text(encoding="utf-8"))
        if info.get("scale") == scale:
            print(f"演示数据已存在 / demo dataset present: {data_dir}")
            return data_dir
    from yibao.synth import generate as synth
    print(f"生成演示数据 / generating the demo dataset ({scale}) → {data_dir} …", flush=True)
    synth.generate(data_dir, scale=scale, seed=seed)
    return data_dir


def latest_periods(data_dir: Path) -> dict:
    from yibao.data.warehouse import Warehouse
    with Warehouse(data_dir) as wh:
        months = wh.months()
    if not months:
        raise YibaoError(f"{data_dir}: setl 中没有任何结算数据")
    last = months[-1]
    q = latest_complete_quarter(last)
    last_year = int(last[:4]) - (0 if last.endswith("-12") else 1)
    return {"quarter": q, "month": Period.parse(last), "year": Period.parse(str(last_year))}


def run_cli(args) -> int:
    from yibao.batch import runner as batch
    data_dir = ensure_dataset(Path(args.data), args.scale)
    if args.only_data:
        return 0
    periods = latest_periods(data_dir)
    out = args.out
    jobs = []
    for period, kind in ((periods["quarter"], "quarterly"), (periods["month"], "monthly"), (periods["year"], "annual")):
        if (batch.NOTEBOOK_DIR / f"{batch.KIND_NOTEBOOK[kind]}.ipynb").exists():
            jobs += batch.plan_jobs(data_dir, period.code, None, [kind], None)
    try:
        from yibao.publications import topic
        q = periods["quarter"]
        for region in batch.plan_jobs(data_dir, q.code, None, ["quarterly"], None):
            for code in topic.demo_topics(data_dir, region.region, q):
                jobs.append(batch.Job(region.region, q.code, "topic", code, region.region_name, region.pay_method))
    except ImportError:
        pass
    # one batch, longest jobs first: the pool's workers stay busy until the last few short jobs (four batches
    # of three jobs each left one of two workers idle during every batch's last job)
    results = batch.run_batch(longest_first(jobs, data_dir), data_dir, out, ["html", "docx", "pdf"], "auto",
                              args.jobs)
    planned = {j.name: i for i, j in enumerate(jobs)}
    results.sort(key=lambda r: planned.get(r.job, len(planned)))  # listed by kind, as planned
    results += institution_demo(data_dir, periods["month"].code, out, args.jobs)
    rc = batch.report_results(results, out)
    print("\n演示出版物 / demo publications:")
    for r in results:
        for f in r.files:
            if f["path"].endswith((".pdf", ".html", ".docx")) and "/institutions/" not in f["path"]:
                print(f"  {Path(out) / r.period / f['path']}")
    return rc


# a job's cost relative to a quarterly report of the same region (docs/benchmarks.md, make demo: per-job times)
KIND_COST = {"annual": 1.05, "quarterly": 1.0, "topic": 0.8, "monthly": 0.75}


def longest_first(jobs: list, data_dir: Path) -> list:
    """``jobs`` in the order a pool should start them: the longest first (a job's cost estimated from its kind
    and its region's hospitals), so that the short ones fill the workers at the end."""
    from yibao.data.warehouse import Warehouse
    with Warehouse(data_dir) as wh:
        size = {r: len(wh.institutions(r, hospitals_only=True)) for r in {j.region for j in jobs}}
    return sorted(jobs, key=lambda j: (-KIND_COST.get(j.kind, 1.0) * size[j.region], j.region, j.kind, j.name))


def institution_demo(data_dir: Path, month: str, out: str, jobs: int) -> list:
    """The monthly 定向推送 of one region and a dry-run push (demo step 3)."""
    import yaml

    from yibao.batch import institutions
    from yibao.data.warehouse import Warehouse
    from yibao.delivery import push
    from yibao.fsutil import write_text
    with Warehouse(data_dir) as wh:
        sizes = {r: len(wh.institutions(r, hospitals_only=True)) for r in wh.regions()["poolarea_no"]}
        region = min(sizes, key=lambda r: (sizes[r], r))
        hosp = wh.institutions(region, hospitals_only=True)
    results = institutions.run(data_dir, month, [region], None, out, ["pdf"], "auto", jobs)
    contacts = {c: {"name": n, "email": [f"ybk-{c.lower()}@example.cn"]}
                for c, n in zip(hosp["fixmedins_code"], hosp["fixmedins_name"])}
    contacts.pop(sorted(contacts)[-1])  # one hospital without a contact: the push lists it
    path = Path(out) / f"demo-contacts-{region}.yaml"
    write_text(path, yaml.safe_dump(contacts, allow_unicode=True, sort_keys=True))
    print(f"\n定向推送（演示，不发送）/ push dry run: yibao push --period {month} --region {region} "
          f"--contacts {path} --out {out} --dry-run")
    push.push(out, month, region, path, dry_run=True)
    return results
