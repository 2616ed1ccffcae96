"""A member draw an inspector can verify: freeze (公示) → draw → verify, with an append-only log.

Fujian rules 第十三条: 定点医疗机构代表的抽选……坚持公开透明、公平公正的原则，主动接受纪检监察部门监督.
The operator cannot steer the result:

1. ``yibao workgroup freeze`` fixes, before anybody can know the seed, everything the result depends on:
   the pool file (its SHA-256), the level source, last year's draw (rotation), the title override list,
   the eligible candidates, the draw time and *which* public value will make the seed (e.g. 「2027年1月6日
   中国福利彩票3D开奖号码」). It writes ``freeze.json`` / ``freeze.md`` (the 公示) and refuses a draw time
   that is not in the future.
2. ``yibao workgroup draw`` is refused — and the refusal logged — when the pool's hash differs from the
   frozen one (a name added, an id changed), when any other frozen input changed, before the draw time,
   when ``freeze.json`` was edited, or when the same freeze was already drawn with another public value.
   The seed is ``SHA-256("<pool SHA-256>:<public value>")``: nobody chooses it, everybody can recompute it.
3. ``yibao workgroup verify`` recomputes everything and changes nothing.

Every freeze, draw, refusal and supersession is appended to ``draw-log.jsonl`` in the draw directory.
Each line carries ``prev_sha256``, the SHA-256 of the line before it, so a deleted or edited line breaks
the chain and :func:`verify` says where.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shlex
import unicodedata
from pathlib import Path

import pandas as pd

from yibao.errors import YibaoError
from yibao.fsutil import sha256, write_text
from yibao.workgroup import draw as wg
from yibao.workgroup.eligibility import read_history, read_overrides

LOG = "draw-log.jsonl"
FREEZE_JSON = "freeze.json"
FREEZE_MD = "freeze.md"
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
ACTION_ZH = {"freeze": "冻结（公示）", "draw": "抽取"}
OUTCOME_ZH = {"frozen": "已冻结", "drawn": "已抽取", "refused": "拒绝", "superseded": "作废"}
SEED_RULE = "种子 = SHA-256(\"<成员库文件SHA-256>:<公开随机值>\") 的十六进制（公开随机值去掉空白、全角转半角）"


def now() -> dt.datetime:
    """The current time (UTC); tests replace it."""
    return dt.datetime.now(dt.timezone.utc)


def parse_time(text: str, where: str = "--draw-time") -> dt.datetime:
    """An ISO date-time; without a zone it is Beijing time (UTC+8)."""
    try:
        t = dt.datetime.fromisoformat(str(text).strip().replace(" ", "T"))
    except ValueError:
        raise YibaoError(f"{where}: 时间 {text!r} 无法识别（应为 2027-01-06T20:30 或 2027-01-06T20:30+08:00）") from None
    return t if t.tzinfo else t.replace(tzinfo=CHINA_TZ)


def _fmt(t: dt.datetime) -> str:
    return t.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def norm_beacon(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split())


def derive_seed(pool_sha256: str, beacon_value: str) -> str:
    """The draw's seed from the pool's hash and the public value published after the freeze."""
    return hashlib.sha256(f"{pool_sha256}:{norm_beacon(beacon_value)}".encode("utf-8")).hexdigest()


# ---- the log ------------------------------------------------------------------------------------

def read_log(out: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """(entries, problems): problems name every line that is unreadable or breaks the hash chain."""
    p = Path(out) / LOG
    if not p.is_file():
        return [], []
    entries, problems, prev = [], [], ""
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            e = json.loads(line)
        except ValueError:
            problems.append(f"{LOG} 第 {n} 行无法读取")
            prev = hashlib.sha256(line.encode("utf-8")).hexdigest()
            continue
        if e.get("prev_sha256", "") != prev:
            problems.append(f"{LOG} 第 {n} 行的 prev_sha256 与上一行不符（日志被删改）")
        entries.append(e)
        prev = hashlib.sha256(line.encode("utf-8")).hexdigest()
    return entries, problems


def append_log(out: str | os.PathLike, entry: dict) -> dict:
    """Append one entry (with seq, time and the previous line's hash); the file is rewritten atomically."""
    p = Path(out) / LOG
    old = p.read_text(encoding="utf-8") if p.is_file() else ""
    lines = old.splitlines()
    e = {"seq": len(lines) + 1, "time": _fmt(now()), **entry,
         "prev_sha256": hashlib.sha256(lines[-1].encode("utf-8")).hexdigest() if lines else ""}
    Path(out).mkdir(parents=True, exist_ok=True)
    write_text(p, "".join(x + "\n" for x in lines) + json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
    return e


def _refuse(out, base: dict, reason: str):
    append_log(out, {**base, "outcome": "refused", "reason": reason})
    raise YibaoError(f"拒绝{'冻结' if base.get('action') == 'freeze' else '抽取'}（已记入 {Path(out) / LOG}）：{reason}")


# ---- freeze --------------------------------------------------------------------------------------

def _file(path) -> dict | None:
    if not path:
        return None
    p = Path(path)
    return {"path": str(p), "sha256": sha256(p) if p.is_file() else None}


def _load_inputs(fz: dict):
    """pool-independent inputs of a freeze: fixmedins frame, previous members, overrides."""
    inp = fz["inputs"]
    fx = wg.read_fixmedins(inp["fixmedins"]["path"]) if inp.get("fixmedins") else None
    prev = None
    if inp.get("history"):
        prev, _ = read_history(inp["history"]["path"], fz["year"])
    ov = read_overrides(inp["overrides"]["path"]) if inp.get("overrides") else {}
    return fx, prev, ov


def _rotation_basis(fz: dict) -> str:
    h = fz["inputs"].get("history")
    if h:
        return f"{fz['year'] - 1}年抽取记录 {h['path']}（SHA-256 {h['sha256'][:16]}…，{h['members']} 人）及成员库已任年度列"
    return f"首次抽取，无上年抽取记录（冻结时声明：{fz['inputs']['first_draw']}）；仅核对成员库已任年度列"


def freeze(pool_path, year: int, draw_time: str, beacon: str, out, fixmedins=None, history=None,
           first_draw: str | None = None, overrides=None, size: int = wg.MIN_TOTAL, supersede: str | None = None,
           command: str | None = None) -> dict:
    """Freeze the pool and the seed rule of ``year``'s draw in ``out`` (see the module docstring)."""
    out = Path(out)
    t_now = now()
    base = {"action": "freeze", "year": int(year), "command": command or ""}
    entries, problems = read_log(out)
    if problems:
        raise YibaoError(f"{out / LOG}: 抽取日志不完整，拒绝继续：" + "；".join(problems))
    earlier = [e for e in entries if e.get("outcome") == "frozen" and e.get("year") == int(year)]
    if earlier and not supersede:
        drawn = any(e.get("outcome") == "drawn" and e.get("year") == int(year) for e in entries)
        _refuse(out, base, f"{year}年已于 {earlier[-1]['time']} 冻结" + ("并已抽取" if drawn else "")
                + "；如确须作废重新冻结，请用 --supersede \"理由\"，理由将记入日志和抽取记录")
    if not beacon or not str(beacon).strip():
        _refuse(out, base, "--beacon 须写明抽取时刻之后才公布、人人可查的公开随机值来源（如某期福彩开奖号码）")
    try:
        t_draw = parse_time(draw_time)
    except YibaoError as exc:
        _refuse(out, base, str(exc))
    if t_draw <= t_now:
        _refuse(out, base, f"抽取时刻 {_fmt(t_draw)} 不晚于冻结时刻 {_fmt(t_now)}：公开随机值必须在冻结之后才产生")
    if bool(history) == bool(first_draw):
        _refuse(out, base, "须提供上年抽取目录 --history（核对轮换、不连任），或在首次抽取时用 --first-draw \"理由\" 声明；二者只能选一")
    inputs = {"pool": _file(pool_path), "fixmedins": _file(fixmedins), "overrides": _file(overrides),
              "history": None, "first_draw": first_draw or None}
    try:
        pool = wg.read_pool(pool_path)
        if history:
            prev, info = read_history(history, int(year))
            inputs["history"] = info
        else:
            prev = None
        fx = wg.read_fixmedins(fixmedins) if fixmedins else None
        ov = read_overrides(overrides)
        cand = wg.annotate(pool, int(year), "", fx, prev, ov)
        wg.draw(pool, int(year), "feasibility", fx, size, prev, ov)  # raises on a quota the pool cannot meet
    except YibaoError as exc:
        _refuse(out, {**base, "pool_sha256": (inputs["pool"] or {}).get("sha256")}, str(exc))
    if supersede:
        append_log(out, {**base, "outcome": "superseded", "reason": supersede,
                         "superseded_seq": [e["seq"] for e in earlier]})
    fz = {"kind": "yibao workgroup freeze", "year": int(year), "size": max(int(size), wg.MIN_TOTAL),
          "frozen_at": _fmt(t_now), "draw_time": _fmt(t_draw), "beacon_source": str(beacon).strip(),
          "seed_rule": SEED_RULE, "inputs": inputs, "supersedes": supersede or None,
          "eligible": [{"person_id": r.person_id, "name": r.name, "fixmedins_code": r.fixmedins_code,
                        "fixmedins_name": r.fixmedins_name, "group": r.group, "role": r.role}
                       for r in cand[cand["eligible"]].itertuples(index=False)],
          "excluded": [{"person_id": r.person_id, "name": r.name, "fixmedins_code": r.fixmedins_code,
                        "title": r.title, "reason": r.reason} for r in cand[~cand["eligible"]].itertuples(index=False)],
          "command": command or ""}
    fz["rotation"] = _rotation_basis(fz)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / FREEZE_JSON, json.dumps(fz, ensure_ascii=False, indent=1) + "\n")
    write_text(out / FREEZE_MD, freeze_markdown(fz))
    append_log(out, {**base, "outcome": "frozen", "pool_sha256": inputs["pool"]["sha256"],
                     "freeze_sha256": sha256(out / FREEZE_JSON), "draw_time": fz["draw_time"],
                     "beacon_source": fz["beacon_source"]})
    return fz


def freeze_markdown(fz: dict) -> str:
    inp = fz["inputs"]
    lines = [f"# {fz['year']}年数据工作组定点医疗机构代表抽取公示（冻结）", "",
             f"- 冻结时刻：{fz['frozen_at']}", f"- 抽取时刻：{fz['draw_time']}",
             f"- 公开随机值来源：{fz['beacon_source']}（抽取时刻之后公布，冻结时无人知道）",
             f"- 种子生成规则：{fz['seed_rule']}",
             f"- 成员库文件：`{inp['pool']['path']}`，SHA-256 `{inp['pool']['sha256']}`"]
    if inp.get("fixmedins"):
        lines.append(f"- 机构等级来源：`{inp['fixmedins']['path']}`" +
                     (f"，SHA-256 `{inp['fixmedins']['sha256']}`" if inp["fixmedins"]["sha256"] else ""))
    if inp.get("overrides"):
        lines.append(f"- 职务例外名单：`{inp['overrides']['path']}`，SHA-256 `{inp['overrides']['sha256']}`")
    lines.append(f"- 轮换核对依据：{fz['rotation']}")
    if fz.get("supersedes"):
        lines.append(f"- 本次冻结作废此前的冻结/抽取，理由：{fz['supersedes']}")
    lines += ["", "抽取时刻之前，任何人发现成员库或下列名单有误，请向工作组提出；冻结后成员库一旦改动，抽取将被拒绝。", "",
              f"## 符合条件的候选人（{len(fz['eligible'])} 人）", ""]
    lines.append(wg._md_table(pd.DataFrame([{"人员ID": e["person_id"], "姓名": e["name"], "机构": e["fixmedins_name"]
                                            or e["fixmedins_code"], "等级": e["group"], "认定角色": e["role"]}
                                           for e in fz["eligible"]])) if fz["eligible"] else "无。")
    lines += ["", f"## 不符合条件的候选人（{len(fz['excluded'])} 人）", ""]
    lines.append(wg._md_table(pd.DataFrame([{"人员ID": e["person_id"], "姓名": e["name"], "机构编号": e["fixmedins_code"],
                                            "职务": e["title"], "原因": e["reason"]} for e in fz["excluded"]]))
                 if fz["excluded"] else "无。")
    return "\n".join(lines) + "\n"


# ---- draw ----------------------------------------------------------------------------------------

def _read_freeze(out: Path) -> dict:
    p = out / FREEZE_JSON
    if not p.is_file():
        raise YibaoError(f"--out {out}: 没有 {FREEZE_JSON}；请先运行 yibao workgroup freeze 公示成员库")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise YibaoError(f"{p}: 无法读取（{exc}）") from None


def _current_freeze(out: Path, entries: list[dict]) -> dict | None:
    frozen = [e for e in entries if e.get("outcome") == "frozen"]
    return frozen[-1] if frozen else None


def signature_rows(witnesses, operator: str = "") -> list[dict]:
    rows = [{"角色": "抽取操作人（医保部门）", "姓名": operator}, {"角色": "监督人（纪检监察部门）", "姓名": ""}]
    rows += [{"角色": "见证人", "姓名": w} for w in witnesses]
    rows += [{"角色": "见证人（定点医疗机构代表）", "姓名": ""}, {"角色": "工作组组长", "姓名": ""}]
    return [{**r, "签字": "", "日期": ""} for r in rows]


def governance_markdown(rec: dict) -> str:
    g = rec["governance"]
    lines = ["## 冻结、种子与日志", "",
             f"- 冻结时刻：{g['frozen_at']}；抽取时刻：{g['draw_time']}；本次运行：{g['run_at']}",
             f"- 公开随机值来源：{g['beacon_source']}；取值：`{g['beacon_value']}`",
             f"- 种子：`{rec['seed']}`（{g['seed_rule']}）",
             f"- 冻结文件 freeze.json SHA-256 `{g['freeze_sha256']}`",
             f"- 轮换核对依据：{g['rotation']}",
             f"- 抽取日志：`{LOG}`，本年度共 {len(g['log'])} 条（含被拒绝和作废的运行）", ""]
    lines.append(wg._md_table(pd.DataFrame([{"序号": e["seq"], "时间": e["time"],
                                            "操作": ACTION_ZH.get(e.get("action", ""), e.get("action", "")),
                                            "结果": OUTCOME_ZH.get(e.get("outcome", ""), e.get("outcome", "")),
                                            "公开随机值": e.get("beacon_value", ""), "说明": e.get("reason", "")}
                                           for e in g["log"]])))
    lines += ["", "## 监督与签字", "", "本次抽取在下列人员监督、见证下进行（福建规则 第十三条：主动接受纪检监察部门监督）。", ""]
    lines.append(wg._md_table(pd.DataFrame(g["signatures"])))
    return "\n".join(lines) + "\n"


def run_draw(out, pool_path, beacon_value: str, witnesses=(), operator: str = "", command: str | None = None):
    """The draw of the freeze in ``out``; returns (DrawResult, paths). Refusals are logged and raised."""
    out = Path(out)
    base = {"action": "draw", "command": command or "", "beacon_value": str(beacon_value),
            "pool_sha256": sha256(pool_path) if Path(pool_path).is_file() else None}
    fz = _read_freeze(out)
    base["year"] = fz["year"]
    entries, problems = read_log(out)
    if problems:
        _refuse(out, base, "抽取日志不完整：" + "；".join(problems))
    cur = _current_freeze(out, entries)
    if cur is None or cur.get("freeze_sha256") != sha256(out / FREEZE_JSON):
        _refuse(out, base, f"{FREEZE_JSON} 与日志中最近一次冻结记录的 SHA-256 不一致（冻结后被改动）")
    if base["pool_sha256"] != fz["inputs"]["pool"]["sha256"]:
        _refuse(out, base, f"成员库 {pool_path} 的 SHA-256 {base['pool_sha256']} 与公示（冻结）的 "
                           f"{fz['inputs']['pool']['sha256']} 不同：冻结后成员库不得改动")
    for k in ("fixmedins", "overrides"):
        f = fz["inputs"].get(k)
        if f and (_file(f["path"]) or {}).get("sha256") != f["sha256"]:
            _refuse(out, base, f"冻结时的 {k} 文件 {f['path']} 已改动或不存在")
    h = fz["inputs"].get("history")
    if h and (not Path(h["path"]).is_file() or sha256(h["path"]) != h["sha256"]):
        _refuse(out, base, f"上年抽取记录 {h['path']} 已改动或不存在，无法核对轮换")
    t_now, t_draw = now(), parse_time(fz["draw_time"])
    if t_now < t_draw:
        _refuse(out, base, f"未到抽取时刻 {fz['draw_time']}（现在 {_fmt(t_now)}）：公开随机值尚未公布")
    if not norm_beacon(beacon_value):
        _refuse(out, base, "--beacon-value 为空")
    since = [e for e in entries if e["seq"] > cur["seq"] and e.get("outcome") == "drawn"]
    used = {norm_beacon(e.get("beacon_value", "")) for e in since}
    if used and norm_beacon(beacon_value) not in used:
        _refuse(out, base, f"本次冻结已用公开随机值 {sorted(used)[0]} 抽取过；不同的值不被接受（如须作废重抽，须重新冻结并写明理由）")
    seed = derive_seed(fz["inputs"]["pool"]["sha256"], beacon_value)
    pool = wg.read_pool(pool_path)
    fx, prev, ov = _load_inputs(fz)
    res = wg.draw(pool, fz["year"], seed, fx, fz["size"], prev, ov, rotation=_rotation_basis(fz))
    entry = append_log(out, {**base, "outcome": "drawn", "reason": "重复运行（结果应相同）" if since else "",
                             "seed": seed, "freeze_sha256": cur["freeze_sha256"],
                             "selected": res.person_ids, "witnesses": list(witnesses), "operator": operator})
    year_log = [e for e in read_log(out)[0] if e.get("year") == fz["year"]]
    gov = {"frozen_at": fz["frozen_at"], "draw_time": fz["draw_time"], "run_at": entry["time"],
           "beacon_source": fz["beacon_source"], "beacon_value": str(beacon_value), "seed_rule": SEED_RULE,
           "freeze_sha256": cur["freeze_sha256"], "rotation": _rotation_basis(fz), "log": year_log,
           "witnesses": list(witnesses), "operator": operator, "signatures": signature_rows(witnesses, operator),
           "inputs": fz["inputs"]}
    fx_path = Path(fz["inputs"]["fixmedins"]["path"]) if fz["inputs"].get("fixmedins") else None
    paths = wg.write_outputs(res, out, Path(pool_path), fx_path, verify_command(out, pool_path),
                             extra={"governance": gov}, extra_md=governance_markdown)
    return res, paths


def verify_command(out, pool_path) -> str:
    return " ".join(shlex.quote(str(p)) for p in ("yibao", "workgroup", "verify", "--out", out, "--pool", pool_path))


# ---- verify --------------------------------------------------------------------------------------

def verify(out, pool_path=None) -> list[tuple[str, bool, str]]:
    """Re-check a draw directory without writing anything: [(check, ok, detail)]."""
    out = Path(out)
    checks: list[tuple[str, bool, str]] = []
    entries, problems = read_log(out)
    checks.append(("抽取日志完整（哈希链连续）", not problems and bool(entries), "；".join(problems) or f"{len(entries)} 条"))
    fz = _read_freeze(out)
    cur = _current_freeze(out, entries)
    fz_ok = bool(cur) and cur.get("freeze_sha256") == sha256(out / FREEZE_JSON)
    checks.append(("freeze.json 与冻结日志一致", fz_ok, sha256(out / FREEZE_JSON)))
    pool_path = Path(pool_path or fz["inputs"]["pool"]["path"])
    pool_sha = sha256(pool_path) if pool_path.is_file() else None
    checks.append(("成员库与公示版本一致", pool_sha == fz["inputs"]["pool"]["sha256"], f"{pool_path}: {pool_sha}"))
    rec_path = out / "draw.json"
    if not rec_path.is_file():
        checks.append(("抽取记录 draw.json 存在", False, "尚未抽取"))
        return checks
    rec = json.loads(rec_path.read_text(encoding="utf-8"))
    g = rec.get("governance") or {}
    seed = derive_seed(fz["inputs"]["pool"]["sha256"], g.get("beacon_value", ""))
    checks.append(("种子由成员库哈希和公开随机值算出", seed == rec.get("seed"),
                   f"公开随机值 {g.get('beacon_value')} → {seed[:16]}…"))
    drawn = [e for e in entries if e.get("outcome") == "drawn" and cur and e["seq"] > cur["seq"]]
    checks.append(("抽取时间不早于公示的抽取时刻",
                   bool(drawn) and all(parse_time(e["time"]) >= parse_time(fz["draw_time"]) for e in drawn),
                   f"抽取时刻 {fz['draw_time']}"))
    if pool_sha == fz["inputs"]["pool"]["sha256"]:
        fx, prev, ov = _load_inputs(fz)
        res = wg.draw(wg.read_pool(pool_path), fz["year"], seed, fx, fz["size"], prev, ov)
        recorded = [s["person_id"] for s in rec.get("selected", [])]
        checks.append(("重新计算的名单与记录一致", res.person_ids == recorded, "、".join(res.person_ids)))
        last = drawn[-1]["selected"] if drawn else None
        checks.append(("记录名单与日志一致", last == recorded, ""))
    return checks


# ---- command line --------------------------------------------------------------------------------

def run_cli(args) -> int:
    argv = ["yibao", "workgroup", args.action]
    for k, v in sorted(vars(args).items()):
        if k in ("action", "module", "command", "func") or v in (None, [], False, ""):
            continue
        for x in (v if isinstance(v, list) else [v]):
            argv += ["--" + k.replace("_", "-"), str(x)]
    command = " ".join(shlex.quote(a) for a in argv)
    if args.action == "freeze":
        fz = freeze(args.pool, args.year, args.draw_time, args.beacon, args.out, args.fixmedins, args.history,
                    args.first_draw, args.title_overrides, int(args.size or wg.MIN_TOTAL), args.supersede, command)
        print(f"{fz['year']}年成员库已冻结：符合条件 {len(fz['eligible'])} 人，不符合 {len(fz['excluded'])} 人；"
              f"抽取时刻 {fz['draw_time']}，公开随机值：{fz['beacon_source']}")
        print(f"公示 / publish: {Path(args.out) / FREEZE_MD}；日志 / log: {Path(args.out) / LOG}")
        return 0
    if args.action == "draw":
        res, paths = run_draw(args.out, args.pool, args.beacon_value, args.witness, args.operator, command)
        print(f"{res.year}年定点医疗机构代表 {len(res.roster)} 人已抽取（种子 {res.seed[:16]}…）：")
        for r in res.roster.itertuples(index=False):
            print(f"  {r.group}  {r.name}  {r.fixmedins_name or r.fixmedins_code}  {r.title}")
        for n in res.notes:
            print(f"  注：{n}")
        print("输出 / outputs: " + ", ".join(str(p) for p in paths.values()))
        return 0
    if args.action == "verify":
        checks = verify(args.out, args.pool)
        for name, ok, detail in checks:
            print(f"  {'一致' if ok else '不一致'}  {name}  {detail}")
        bad = [c for c in checks if not c[1]]
        print("复核结论：" + ("全部一致" if not bad else f"{len(bad)} 项不一致"))
        return 0 if not bad else 1
    raise YibaoError(f"workgroup: 未知操作 {args.action}")
