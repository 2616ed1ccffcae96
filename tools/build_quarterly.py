import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
from nbbuild import write_notebook
cells = [
("params", '''
# 季度发布分析报告（季发布）的参数。批量生成时由 `yibao run` 注入；在 JupyterLab 中可直接修改后重新运行。
data_dir = "../data/demo"      # 数据集目录（见 data/README.md）
region = "350100"              # 统筹区编号 poolarea_no
period = "2026Q3"              # 期间：2026Q3（季度）、2026H1（半年）
release_date = ""              # 发布日期 YYYY-MM-DD，空为今天；用于“下一步”中的说明截止日期
explain_days = 15              # 点名机构提交书面说明的期限（日）
next_steps = []                # 下一步工作安排中追加的条目（中文句子列表）
formats = "html,docx,pdf"      # 输出格式提示（由 yibao run / yibao render 使用）
precomputed = ""               # yibao run 已写出的 indicators.csv、findings.csv 所在目录；空则在此计算
'''),
("code", '''
from yibao.publications.context import Context
from yibao.publications.display import Report
from yibao.publications import quarterly as q, feedback

ctx = Context.open(data_dir, region, period, precomputed)
rep = Report()
q.overview(ctx, rep)
'''),
("md", "# 一、基金收支及结算情况（钱）"),
("md", "## （一）收入情况"),
("code", "q.income(ctx, rep)"),
("md", "## （二）支出情况"),
("code", "q.expenditure(ctx, rep)"),
("md", "## （三）结余情况"),
("code", "q.balance(ctx, rep)"),
("md", "## （四）医疗救助和基金支撑能力"),
("code", "q.assistance_resources(ctx, rep)"),
("md", "## （五）结算情况"),
("code", "q.settlement(ctx, rep)"),
("md", "# 二、支付方式改革运行成效（效）"),
("md", "## （一）预算、结算清单和入组情况"),
("code", "q.grouping(ctx, rep)"),
("md", "## （二）特例单议"),
("code", "q.special_cases(ctx, rep)"),
("md", "## （三）医疗服务能力和效率"),
("code", "q.efficiency(ctx, rep)"),
("md", "## （四）费用结构和患者负担"),
("code", "q.inpatient_services(ctx, rep)\nq.out_of_catalog(ctx, rep)"),
("md", "# 三、重点关注指标（错）"),
("md", "## （一）门诊住院人次比"),
("code", "q.peer_indicator(ctx, rep, 40)"),
("md", "## （二）医保外费用占比"),
("code", "q.peer_indicator(ctx, rep, 45)"),
("md", "## （三）出院人次增幅"),
("code", "q.peer_indicator(ctx, rep, 41)"),
("md", "## （四）三级医院收治基层病组"),
("code", "q.base_group_tertiary(ctx, rep)"),
("md", "## （五）常见病组费用差异"),
("code", "q.common_group_costs(ctx, rep)"),
("md", "## （六）问题警示清单与表扬"),
("code", "q.findings_list(ctx, rep)"),
("md", "# 四、下一步工作安排"),
("code", "q.next_steps(ctx, rep, release_date or None, explain_days, next_steps)"),
("code", 'feedback.section(ctx, rep, "quarterly", release=release_date or None);'),
("md", "# 附录"),
("md", "## 附录1 数据底稿（区域）"),
("code", "q.appendix_digao(ctx, rep)"),
("md", "## 附录2 各定点医疗机构主要指标"),
("code", "q.appendix_institutions(ctx, rep)"),
("md", "## 附录3 数据复核清单"),
("code", "q.appendix_checks(ctx, rep)"),
("md", "## 附录4 数据来源和统计口径"),
("code", "q.appendix_sources(ctx, rep)"),
]
write_notebook("notebooks/quarterly.ipynb", cells, "医保数据季度发布分析报告")
