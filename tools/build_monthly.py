"""Builds notebooks/monthly.ipynb (月推送) — run from the project root: python tools/build_monthly.py"""
import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
from nbbuild import write_notebook
cells = [
("params", '''
# 月推送（月告知）的参数。批量生成时由 `yibao run` 注入；在 JupyterLab 中可直接修改后重新运行。
data_dir = "../data/demo"      # 数据集目录（见 data/README.md）
region = "350100"              # 统筹区编号 poolarea_no
period = "2026-09"             # 数据月份 YYYY-MM（月度结算完成后的次月推送）
precomputed = ""               # yibao run 已写出的 indicators.csv、findings.csv 所在目录；空则在此计算
'''),
("code", '''
from yibao.publications.context import Context
from yibao.publications.display import Report
from yibao.publications import monthly as m, feedback

ctx = Context.open(data_dir, region, period, precomputed)
rep = Report()
m.overview(ctx, rep)
'''),
("md", "# 一、上月病例入组情况"),
("code", "m.grouping(ctx, rep)"),
("md", "# 二、结算清单上传和质控情况"),
("code", "m.settlement_list(ctx, rep)"),
("md", "# 三、月度结算情况"),
("code", "m.settlement(ctx, rep)"),
("md", "# 四、数据底稿指标（按月公开）"),
("code", "m.digao(ctx, rep)"),
("md", "# 五、有关事项"),
("code", "m.closing(ctx, rep)"),
("code", 'feedback.section(ctx, rep, "monthly");'),
]
write_notebook("notebooks/monthly.ipynb", cells, "医保数据月度推送")
