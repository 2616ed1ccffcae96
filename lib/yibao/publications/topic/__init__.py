"""Topic studies (专题分析) of a disease, handbook 五(三), 七(二) and 附录3 (6) 病种结构变迁.

A topic is
- an **ADRG** such as ``EJ1`` (DRG regions; its DRG subgroups ``EJ11/EJ13/EJ15`` are the structure), or
- an **ICD-10 category** (类目) such as ``I63`` (its subcategories I63.0 … I63.9, from ``main_diag_code``),
  a **subcategory** (亚目) such as ``I63.3`` (its DIP groups, or DRG groups in a DRG region), or a
  **chapter** (章) such as ``IX`` / ``9`` / ``I00-I99`` (its categories, top N) — DIP regions, and DRG
  regions too (cases selected by main diagnosis).

Cases (病例口径): settlement-list rows (``setl_list_net``: the settlement stands, reversals count for
nothing) of the region's institutions whose settlement time falls in the period and whose DRG code
starts with the ADRG / whose main diagnosis lies in the ICD-10 code or range. Amounts are the
settlement's ``medfee_sumamt``; cost composition from the list's ``fee_*`` components.

Definitions (documented in docs/topic.md, printed in every report's 口径 appendix):

- 次均费用 = Σ medfee_sumamt / cases; a hospital's average is only computed with ≥ ``min_cases`` cases
  (default 10) — below that it shows "—" and the hospital is not ranked.
- 资源消耗中位数 = the median of the hospital average costs of hospitals with ≥ ``min_cases`` cases.
- 标杆值 (benchmark) = the 25th percentile (linear interpolation) of the same hospital averages: the
  cost that the best-controlled quarter of hospitals reach or beat.
- 高费用细分组 (high-cost subgroups): for an ADRG the subgroups of its most severe complication level
  (``…1`` 伴严重合并症或并发症, or ``…3`` where there is no ``…1``); for ICD topics the children
  (subcategories / DIP groups / categories) whose region average cost over all compared periods exceeds
  the topic's average cost.
- Verification (核实): a hospital with ≥ ``min_cases`` cases in both periods is listed when, 同比
  (against the same period a year earlier), its share of high-cost subgroups rises by more than
  ``share_pp`` points (default 10) — or rises that much over the whole comparison span —, its average cost
  changes by more than ``cost_pct`` % (default 20), its case count changes by more than ``volume_pct`` %
  (default 50), or when the findings engine reports UPCODING_DRG / UPCODING_ICD for this topic.
- Suppression: in hospital × group tables counts 1–4 (below ``suppress``, default 5) show as "<5".

Choosing topics: :func:`rank_topics` (volume, amount, grouping problems) and :func:`coverage` (MDCs /
chapters covered by the year's plan); ``yibao topics`` prints both (:func:`run_cli`).

The package follows the study: ``codes`` (what a topic selects), ``cells`` (its data), ``study`` (one
topic × region × periods), then one module per section in the order the notebook calls them —
``overview`` (1–2 概况, 服务量与费用), ``hospitals`` (3 医院比较), ``structure`` (4 病种结构变迁),
``verify`` (5 核实), ``conclusion`` (6 结论与建议, 口径) — with ``prose`` for shared sentences;
``choose`` picks topics and reads the plan; ``cli`` is ``yibao topics``.
"""
from __future__ import annotations

from yibao.publications.topic.choose import (
    coverage, demo_topics, load_plan, plan_lead, plan_path, planned_topics, rank_topics, year_plan_topics,
)
from yibao.publications.topic.codes import Topic, cn_number, notebook_for, resolve, topic_title
from yibao.publications.topic.conclusion import conclusion, definitions
from yibao.publications.topic.hospitals import hospital_comparison
from yibao.publications.topic.overview import overview, volume_cost
from yibao.publications.topic.structure import structure_section
from yibao.publications.topic.study import Study, open_study, suppressed, verification
from yibao.publications.topic.verify import verification_section

__all__ = [
    "coverage",
    "demo_topics",
    "load_plan",
    "plan_lead",
    "plan_path",
    "planned_topics",
    "rank_topics",
    "year_plan_topics",
    "Topic",
    "cn_number",
    "notebook_for",
    "resolve",
    "topic_title",
    "conclusion",
    "definitions",
    "hospital_comparison",
    "overview",
    "volume_cost",
    "structure_section",
    "Study",
    "open_study",
    "suppressed",
    "verification",
    "verification_section",
]
