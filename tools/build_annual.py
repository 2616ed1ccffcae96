"""Builds notebooks/annual.ipynb (年通报) — run from the project root: python tools/build_annual.py"""
import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
from nbbuild import write_notebook
cells = [
("params", '''
# 年度通报（年通报）的参数。批量生成时由 `yibao run` 注入；在 JupyterLab 中可直接修改后重新运行。
data_dir = "../data/demo"      # 数据集目录（见 data/README.md；集采 vbp_progress、监管 supervision 为可选表）
region = "350100"              # 统筹区编号 poolarea_no
period = "2025"                # 通报年度 YYYY（年度清算完成后1个月内通报）
next_steps = []                # 下一步工作安排中追加的条目（中文句子列表）
precomputed = ""               # yibao run 已写出的 indicators.csv、findings.csv 所在目录；空则在此计算
'''),
("code", '''
from yibao.publications.context import Context
from yibao.publications.display import Report
from yibao.publications import annual as a, quarterly as q, feedback

ctx = Context.open(data_dir, region, period, precomputed)
rep = Report()
a.overview(ctx, rep)
'''),
("md", "# 一、基金收支结余情况"),
("md", "## （一）总体情况"),
("code", "a.fund_year(ctx, rep)"),
("md", "## （二）收入情况"),
("code", "q.income(ctx, rep)"),
("md", "## （三）支出情况"),
("code", "q.expenditure(ctx, rep)"),
("md", "## （四）结余和基金支撑能力"),
("code", "q.balance(ctx, rep)"),
("md", "## （五）下一年度统筹地区医保总额"),
("code", "a.next_year_budget(ctx, rep)"),
("md", "# 二、年度清算和预算执行情况"),
("md", "## （一）预算执行"),
("code", "a.budget_execution(ctx, rep)"),
("md", "## （二）结算拨付和年度清算"),
("code", "a.clearing(ctx, rep)"),
("md", "## （三）结算时间差"),
("code", "a.payment_timeliness(ctx, rep)"),
("md", "# 三、支付方式改革运行情况"),
("md", "## （一）结算清单和入组"),
("code", "q.grouping(ctx, rep)"),
("md", "## （二）医疗机构间入组比较"),
("code", "a.grouping_compare(ctx, rep)"),
("md", "## （三）重点病组（病种）"),
("code", "q.common_group_costs(ctx, rep)"),
("md", "## （四）特例单议"),
("code", "q.special_cases(ctx, rep)"),
("md", "# 四、医疗服务效率和资源配置"),
("md", "## （一）服务效率"),
("code", "q.efficiency(ctx, rep)"),
("md", "## （二）资源配置"),
("code", "a.resources_compare(ctx, rep)\nq.assistance_resources(ctx, rep)"),
("md", "## （三）累计门诊情况"),
("code", "a.outpatient_cumulative(ctx, rep)"),
("code", '''
# 以下一级标题按实际出现的章节编号：集采（vbp_progress）、监管（supervision）仅在提供相应数据时出现
sec = a.Numbering(5)
a.procurement(ctx, rep, sec)
'''),
("code", "a.supervision(ctx, rep, sec)"),
("code", "a.next_steps(ctx, rep, sec, next_steps)"),
("code", 'feedback.section(ctx, rep, "annual");'),
("md", "# 附录"),
("md", "## 附录1 数据底稿（区域，年度）"),
("code", "q.appendix_digao(ctx, rep)"),
("md", "## 附录2 数据来源和统计口径"),
("code", "q.appendix_sources(ctx, rep)"),
]
write_notebook("notebooks/annual.ipynb", cells, "医保数据年度通报")
