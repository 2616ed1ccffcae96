"""One house style for every chart in the publications (DESIGN.md, "Choices").

matplotlib/seaborn with a CJK font that ships in a pip package (mplfonts: Noto Sans CJK SC and Noto
Serif CJK SC), so no system font install is needed and Chinese never turns into tofu boxes. Sizes
are set for an A4 page (16 cm text width): a chart made here and emitted with
``Report.figure`` prints at 1:1, so its 8–9 pt labels stay 8–9 pt on paper.

    from yibao import charts
    fig = charts.trend(monthly, x="month", ys=["职工医保", "居民医保"], ylabel="万元")
    rep.figure(fig, "近24个月统筹基金支出")

Helpers return the matplotlib Figure. ``font_files()`` / ``font_dir()`` give the same font files
to the Typst and Quarto routes (``yibao.render``) so charts and text use one typeface family.
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

__all__ = [
    "setup", "font_dir", "font_files", "SANS", "SERIF", "PALETTE", "HIGHLIGHT", "TEXT_WIDTH_IN",
    "trend", "bar", "box_by_level", "scatter", "stacked_share", "LEVEL_ORDER",
]

SANS = "Noto Sans CJK SC"      # 黑体-like: charts, headings
SERIF = "Noto Serif CJK SC"    # 宋体-like: body text of the PDF
_FILES = {SANS: "NotoSansCJKsc-Regular.otf", SERIF: "NotoSerifCJKsc-Regular.otf"}

TEXT_WIDTH_IN = 6.3            # 16 cm: the text width of the A4 layouts
# restrained: a deep blue for the main series, muted companions, one red for what is named (点名)
PALETTE = ["#2B5C8A", "#D9822B", "#4E9A6F", "#8C8C8C", "#C9A227", "#3A8FA3", "#7D5BA6", "#A0522D"]
HIGHLIGHT = "#C0392B"
MUTED = "#B8C4D0"
REFLINE = "#6B6B6B"
LEVEL_ORDER = ["三级", "三级甲等", "三级乙等", "二级", "二级甲等", "二级乙等", "一级", "未定级", "其他"]

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": [SANS, "DejaVu Sans"],
    "font.serif": [SERIF, "DejaVu Serif"],
    "axes.unicode_minus": False,
    # names from data are labels, never mathtext: "$b$" is drawn as written, "$\\x$" cannot fail the chart
    "text.parse_math": False,
    "figure.figsize": (TEXT_WIDTH_IN, 3.4),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "standard",
    "figure.constrained_layout.use": True,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "normal",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": "#333333",
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#E3E3E3",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": None,  # set in setup() (needs cycler)
    "lines.linewidth": 1.6,
    "lines.markersize": 3.5,
    "patch.linewidth": 0,
    "image.cmap": "Blues",
}

_fonts_added: set[str] = set()


def font_dir() -> Path:
    """The directory of the CJK fonts shipped by the ``mplfonts`` pip package."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.origin:
        raise RuntimeError("the mplfonts package (CJK fonts for charts and PDFs) is not installed")
    d = Path(spec.origin).resolve().parent / "fonts"
    if not (d / _FILES[SANS]).is_file():
        raise RuntimeError(f"mplfonts has no {_FILES[SANS]} in {d}")
    return d


def font_files() -> list[Path]:
    """[Noto Sans CJK SC, Noto Serif CJK SC] font files (OpenType, from mplfonts)."""
    d = font_dir()
    return [d / _FILES[SANS], d / _FILES[SERIF]]


def setup() -> None:
    """Register the CJK fonts with matplotlib and apply the house style (safe to call again)."""
    import matplotlib as mpl
    from cycler import cycler
    from matplotlib import font_manager

    for f in font_files():
        if str(f) not in _fonts_added:
            font_manager.fontManager.addfont(str(f))
            _fonts_added.add(str(f))
    style = dict(STYLE)
    style["axes.prop_cycle"] = cycler(color=PALETTE)
    mpl.rcParams.update(style)


# -- small helpers -------------------------------------------------------------------------------
def _fmt(fmt: str | Callable | None) -> Callable[[float], str]:
    if fmt is None:
        return lambda v: _auto_fmt(v)
    if callable(fmt):
        return fmt
    return lambda v: fmt.format(v)


def _auto_fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}"


def _axis_formatter(ax_axis, fmt: str | Callable | None):
    from matplotlib.ticker import FuncFormatter
    f = _fmt(fmt) if fmt is not None else (lambda v: f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.2f}".rstrip("0").rstrip("."))
    ax_axis.set_major_formatter(FuncFormatter(lambda v, _pos: f(v)))


def _month_labels(values: Sequence) -> list[str]:
    """'2025-01' / Timestamp / Period → '1月' with the year under every January and the first point."""
    import pandas as pd
    out = []
    first = True
    for v in values:
        try:
            p = pd.Period(v, freq="M")
        except Exception:
            out.append(str(v))
            first = False
            continue
        lab = f"{p.month}月"
        if first or p.month == 1:
            lab += f"\n{p.year}年"
        out.append(lab)
        first = False
    return out


def _month_ticks(values: Sequence, max_ticks: int = 12) -> tuple[list[int], list[str]]:
    """Tick positions and labels for a monthly axis: at most ``max_ticks``, always on January."""
    import pandas as pd
    labs = _month_labels(values)
    n = len(values)
    step = max(1, math.ceil(n / max_ticks))
    try:
        months = [pd.Period(v, freq="M").month for v in values]
    except Exception:
        idx = list(range(0, n, step))
        return idx, [labs[i] for i in idx]
    idx = [i for i, m in enumerate(months) if (m - 1) % step == 0]
    out = []
    for k, i in enumerate(idx):
        lab = labs[i]
        p = pd.Period(values[i], freq="M")
        if k == 0 and "\n" not in lab:
            lab += f"\n{p.year}年"
        out.append(lab)
    return idx, out


def _place_labels(ax, items, fontsize: float = 7.0, color_of=None, dx_pt: float = 4.0):
    """Annotate (x, y, text) points, nudging labels vertically so that they do not overlap."""
    fig = ax.figure
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before reading the transform
    trans = ax.transData
    placed: list[tuple[float, float, float]] = []  # (x0, x1, y) in display points
    scale = fig.dpi / 72.0
    h = fontsize * 1.25 * scale
    for x, y, text in sorted(items, key=lambda t: -t[1]):
        px, py = trans.transform((x, y))
        x0 = px + dx_pt * scale
        w = sum(fontsize * (1.0 if ord(ch) > 0x2e80 else 0.55) for ch in text) * scale
        ty = py
        # move down below every overlapping label; each move lowers ty, so at most len(placed) passes
        # (the tolerance keeps a label placed exactly one line below another from counting as overlap)
        for _ in range(len(placed) + 1):
            hits = [ay for a0, a1, ay in placed if x0 < a1 and a0 < x0 + w and abs(ay - ty) < h * 0.999]
            if not hits:
                break
            ty = min(hits) - h
        placed.append((x0, x0 + w, ty))
        ax.annotate(text, (x, y), xytext=(dx_pt, (ty - py) / scale), textcoords="offset points",
                    fontsize=fontsize, va="center", color=color_of(text) if color_of else "#333333",
                    arrowprops=dict(arrowstyle="-", color="#999999", linewidth=0.4, shrinkA=0, shrinkB=2)
                    if abs(ty - py) > h * 0.6 else None)


def _new(figsize=None, height: float | None = None):
    import matplotlib.pyplot as plt
    setup()
    if figsize is None:
        figsize = (TEXT_WIDTH_IN, height or 3.4)
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def _labels(cols: Sequence[str], labels: dict | None) -> list[str]:
    labels = labels or {}
    return [labels.get(c, c) for c in cols]


# -- the plots the reports need ---------------------------------------------------------------------
def trend(df, x: str, ys: str | Sequence[str], title: str | None = None, kind: str = "line",
          labels: dict | None = None, ylabel: str | None = None, yfmt=None, secondary: str | None = None,
          secondary_label: str | None = None, annotate_last: bool = True, figsize=None):
    """Monthly trend (e.g. the last 24 months): lines (``kind="line"``) or grouped bars (``"bar"``).

    ``x`` holds months ('2025-01', Timestamps or Periods); ``ys`` one or more value columns (already
    in the unit of ``ylabel``, e.g. 万元); ``secondary`` an optional rate column (e.g. 同比%) drawn as
    a dashed line on a right axis.
    """
    import numpy as np

    ys = [ys] if isinstance(ys, str) else list(ys)
    fig, ax = _new(figsize)
    d = df.reset_index(drop=True)
    n = len(d)
    xs = np.arange(n)
    names = _labels(ys, labels)
    if kind == "bar":
        k = len(ys)
        w = 0.8 / k
        for i, (c, lab) in enumerate(zip(ys, names)):
            ax.bar(xs - 0.4 + w * (i + 0.5), d[c].astype(float), width=w * 0.92, label=lab,
                   color=PALETTE[i % len(PALETTE)])
    elif kind == "line":
        for i, (c, lab) in enumerate(zip(ys, names)):
            vals = d[c].astype(float)
            ax.plot(xs, vals, marker="o", label=lab, color=PALETTE[i % len(PALETTE)])
            if annotate_last and n and not math.isnan(vals.iloc[-1]):
                ax.annotate(_fmt(yfmt)(vals.iloc[-1]), (xs[-1], vals.iloc[-1]), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=7.5,
                            color=PALETTE[i % len(PALETTE)])
    else:
        raise ValueError("kind must be 'line' or 'bar'")
    ticks, labs = _month_ticks(d[x].tolist())
    ax.set_xticks(ticks)
    ax.set_xticklabels(labs)
    ax.set_xlim(-0.6, n - 0.4 + (1.2 if kind == "line" and annotate_last else 0))
    if ylabel:
        ax.set_ylabel(ylabel)
    _axis_formatter(ax.yaxis, None)
    if kind == "bar":
        ax.set_ylim(bottom=0)
    handles, leg_labels = ax.get_legend_handles_labels()
    if secondary:
        ax2 = ax.twinx()
        ax2.plot(xs, d[secondary].astype(float), color=REFLINE, linestyle="--", linewidth=1.1,
                 marker="s", markersize=2.5, label=secondary_label or secondary)
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        ax2.set_ylabel(secondary_label or secondary)
        h2, l2 = ax2.get_legend_handles_labels()
        handles += h2
        leg_labels += l2
    if len(handles) > 1:
        ax.legend(handles, leg_labels, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(len(handles), 5),
                  borderaxespad=0.2, handlelength=1.6)
    if title:
        ax.set_title(title, pad=18 if len(handles) > 1 else 6)
    return fig


def bar(df, x: str, y: str, horizontal: bool = True, title: str | None = None, fmt=None,
        highlight: Iterable[str] | None = None, sort: bool = True, xlabel: str | None = None,
        ref: float | None = None, ref_label: str = "平均", color: str | None = None, figsize=None):
    """Bars with value labels: ``x`` the category (e.g. 机构名称), ``y`` the value.

    ``highlight`` categories are drawn in red (those named in 三、重点关注指标); ``ref`` draws a
    dashed reference line (e.g. the regional average, labelled ``ref_label``).
    """
    d = df[[x, y]].copy()
    d[y] = d[y].astype(float)
    if sort:
        d = d.sort_values(y, ascending=horizontal)  # largest on top when horizontal
    d = d.reset_index(drop=True)
    hl = {str(h) for h in (highlight or [])}
    colors = [HIGHLIGHT if str(c) in hl else (color or PALETTE[0]) for c in d[x]]
    n = len(d)
    f = _fmt(fmt)
    if horizontal:
        fig, ax = _new(figsize, height=max(1.8, 0.26 * n + 0.7))
        ax.barh(range(n), d[y], color=colors, height=0.62)
        ax.set_yticks(range(n))
        ax.set_yticklabels([str(c) for c in d[x]])
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        ax.set_ylim(-0.6, n - 0.4)
        vmax = max([abs(v) for v in d[y] if not math.isnan(v)] or [1])
        for i, v in enumerate(d[y]):
            if not math.isnan(v):
                ax.text(v + vmax * 0.01 * (1 if v >= 0 else -1), i, f(v), va="center",
                        ha="left" if v >= 0 else "right", fontsize=7.5)
        ax.set_xlim(right=ax.get_xlim()[1] + vmax * 0.1)
        if xlabel:
            ax.set_xlabel(xlabel)
        _axis_formatter(ax.xaxis, None)
        if ref is not None:
            ax.axvline(ref, color=REFLINE, linestyle="--", linewidth=0.9)
            ax.text(ref, n - 0.45, f" {ref_label} {f(ref)}", fontsize=7.5, color=REFLINE, va="bottom")
    else:
        fig, ax = _new(figsize)
        ax.bar(range(n), d[y], color=colors, width=0.62)
        ax.set_xticks(range(n))
        rot = 0 if max([len(str(c)) for c in d[x]] or [0]) * n <= 60 else 30
        ax.set_xticklabels([str(c) for c in d[x]], rotation=rot, ha="right" if rot else "center")
        vmax = max([abs(v) for v in d[y] if not math.isnan(v)] or [1])
        for i, v in enumerate(d[y]):
            if not math.isnan(v):
                ax.text(i, v + vmax * 0.01, f(v), ha="center", va="bottom", fontsize=7.5)
        ax.set_ylim(top=ax.get_ylim()[1] + vmax * 0.08)
        if xlabel:
            ax.set_ylabel(xlabel)
        _axis_formatter(ax.yaxis, None)
        if ref is not None:
            ax.axhline(ref, color=REFLINE, linestyle="--", linewidth=0.9)
            ax.text(n - 0.5, ref, f"{ref_label} {f(ref)}", fontsize=7.5, color=REFLINE, va="bottom", ha="right")
    if title:
        ax.set_title(title)
    return fig


def _level_order(values: Iterable) -> list:
    vals = list(dict.fromkeys(str(v) for v in values))
    known = [v for v in LEVEL_ORDER if v in vals]
    return known + sorted(v for v in vals if v not in known)


def box_by_level(df, level_col: str, value_col: str, label_col: str | None = None,
                 highlight: Iterable[str] | None = None, title: str | None = None, ylabel: str | None = None,
                 order: Sequence[str] | None = None, fmt=None, whisker: float = 1.5, figsize=None):
    """A per-hospital metric by hospital level: box (seaborn) + every hospital as a point.

    Points beyond ``whisker`` × IQR within their level (outliers) and the ``highlight`` hospitals are
    red and labelled with ``label_col`` (e.g. 机构名称) — the comparison "within the same level" of
    section 三.
    """
    import numpy as np
    import pandas as pd
    import seaborn as sns

    d = df[[c for c in dict.fromkeys([level_col, value_col, label_col]) if c]].copy()
    d[level_col] = d[level_col].astype(str)
    d[value_col] = pd.to_numeric(d[value_col], errors="coerce")
    d = d.dropna(subset=[value_col])
    order = list(order) if order else _level_order(d[level_col])
    fig, ax = _new(figsize, height=3.6)
    with warnings.catch_warnings():  # seaborn 0.13 still passes matplotlib's deprecated ``vert``
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.boxplot(data=d, x=level_col, y=value_col, order=order, ax=ax, showfliers=False, width=0.5,
                    color="#DCE6F0", linewidth=0.9, linecolor="#4A6A8A")
    rng = np.random.default_rng(0)
    hl = {str(h) for h in (highlight or [])}
    f = _fmt(fmt)
    pos = {lv: i for i, lv in enumerate(order)}
    labelled = []
    for lv, g in d.groupby(level_col, sort=False):
        if lv not in pos:
            continue
        q1, q3 = g[value_col].quantile([0.25, 0.75])
        iqr = q3 - q1
        lo, hi = q1 - whisker * iqr, q3 + whisker * iqr
        xs = pos[lv] + rng.uniform(-0.14, 0.14, len(g))
        for xv, (_, row) in zip(xs, g.iterrows()):
            v = row[value_col]
            name = str(row[label_col]) if label_col else ""
            out = (len(g) >= 4 and (v < lo or v > hi)) or (name and name in hl)
            if out:
                xv = pos[lv]  # named points sit on their level's axis, so the column they belong to is plain
            ax.scatter([xv], [v], s=16 if out else 11, color=HIGHLIGHT if out else PALETTE[0],
                       alpha=0.95 if out else 0.7, zorder=3, linewidths=0)
            if out and label_col:
                labelled.append((xv, v, name))
    # labels to the right of their point, nudged apart vertically within a column
    span = (d[value_col].max() - d[value_col].min()) or 1.0
    placed: list[tuple[float, float]] = []
    for xv, v, name in sorted(labelled, key=lambda t: (round(t[0]), t[1])):
        ty = v
        for px, py in placed:
            if abs(px - xv) < 0.5 and abs(py - ty) < span * 0.05:
                ty = py + span * 0.05
        placed.append((xv, ty))
        ax.annotate(f"{name} {f(v)}", (xv, v), xytext=(xv + 0.2, ty), textcoords="data", fontsize=7,
                    color=HIGHLIGHT, va="center",
                    arrowprops=dict(arrowstyle="-", color=HIGHLIGHT, linewidth=0.5, shrinkA=0, shrinkB=2))
    counts = d.groupby(level_col).size()
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([f"{lv}\n（{int(counts.get(lv, 0))}家）" for lv in order])
    ax.set_xlim(-0.5, len(order) - 0.5 + (0.6 if labelled else 0))
    ax.set_xlabel("")
    ax.set_ylabel(ylabel or value_col)
    _axis_formatter(ax.yaxis, None)
    if title:
        ax.set_title(title)
    return fig


def scatter(df, x: str, y: str, label_col: str | None = None, hue_col: str | None = None,
            size_col: str | None = None, title: str | None = None, xlabel: str | None = None,
            ylabel: str | None = None, xref: float | None = None, yref: float | None = None,
            highlight: Iterable[str] | None = None, label: str = "auto", fmt=None, figsize=None):
    """One point per hospital (e.g. CMI vs 费用消耗指数), optional reference lines splitting quadrants.

    ``label``: "all", "none" or "auto" (all when ≤ 15 points, else the highlighted and the extremes).
    """
    import numpy as np
    import pandas as pd

    d = df.copy()
    d[x] = pd.to_numeric(d[x], errors="coerce")
    d[y] = pd.to_numeric(d[y], errors="coerce")
    d = d.dropna(subset=[x, y]).reset_index(drop=True)
    fig, ax = _new(figsize, height=3.8)
    ax.grid(axis="both")
    hl = {str(h) for h in (highlight or [])}
    if size_col:
        s = pd.to_numeric(d[size_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        sizes = 15 + 135 * (s / s.max() if s.max() > 0 else s)
    else:
        sizes = np.full(len(d), 22.0)
    if hue_col:
        groups = _level_order(d[hue_col].astype(str))
        for i, g in enumerate(groups):
            m = (d[hue_col].astype(str) == g).to_numpy()
            ax.scatter(d.loc[m, x], d.loc[m, y], s=sizes[m], color=PALETTE[i % len(PALETTE)], alpha=0.8,
                       label=g, linewidths=0.4, edgecolors="white", zorder=3)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(len(groups), 5), borderaxespad=0.2)
    else:
        ax.scatter(d[x], d[y], s=sizes, color=PALETTE[0], alpha=0.75, linewidths=0.4, edgecolors="white", zorder=3)
    if hl and label_col:
        m = d[label_col].astype(str).isin(hl).to_numpy()
        ax.scatter(d.loc[m, x], d.loc[m, y], s=sizes[m] + 8, facecolors="none", edgecolors=HIGHLIGHT,
                   linewidths=1.1, zorder=4)
    if xref is not None:
        ax.axvline(xref, color=REFLINE, linestyle="--", linewidth=0.8)
    if yref is not None:
        ax.axhline(yref, color=REFLINE, linestyle="--", linewidth=0.8)
    if label_col and label != "none":
        if label == "all" or (label == "auto" and len(d) <= 10):
            idx = list(range(len(d)))
        else:
            zx = (d[x] - d[x].mean()) / (d[x].std() or 1)
            zy = (d[y] - d[y].mean()) / (d[y].std() or 1)
            far = (zx.abs() + zy.abs()).sort_values(ascending=False).index[:6]
            idx = sorted(set(far) | set(d.index[d[label_col].astype(str).isin(hl)]))
        _place_labels(ax, [(d.loc[i, x], d.loc[i, y], str(d.loc[i, label_col])) for i in idx],
                      color_of=lambda t: HIGHLIGHT if t in hl else "#333333")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    if title:
        ax.set_title(title, pad=18 if hue_col else 6)
    return fig


def stacked_share(df, category_col: str, part_cols: Sequence[str], title: str | None = None,
                  labels: dict | None = None, horizontal: bool = True, normalize: bool = True,
                  min_label: float = 6.0, figsize=None):
    """100 % stacked bars: the structure of a total per category (e.g. 药品/耗材/检查化验/医疗服务
    shares of inpatient cost by hospital level). ``part_cols`` hold amounts or shares."""
    import numpy as np
    import pandas as pd

    d = df.reset_index(drop=True)
    vals = d[list(part_cols)].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=float)
    if normalize:
        tot = vals.sum(axis=1, keepdims=True)
        tot[tot == 0] = 1.0
        vals = vals / tot * 100.0
    cats = [str(c) for c in d[category_col]]
    names = _labels(list(part_cols), labels)
    n = len(cats)
    if horizontal:
        fig, ax = _new(figsize, height=max(1.8, 0.34 * n + 1.0))
    else:
        fig, ax = _new(figsize)
    left = np.zeros(n)
    pos = np.arange(n)[::-1] if horizontal else np.arange(n)
    for j, name in enumerate(names):
        color = PALETTE[j % len(PALETTE)]
        if horizontal:
            ax.barh(pos, vals[:, j], left=left, color=color, height=0.62, label=name, edgecolor="white", linewidth=0.5)
        else:
            ax.bar(pos, vals[:, j], bottom=left, color=color, width=0.62, label=name, edgecolor="white", linewidth=0.5)
        for i in range(n):
            v = vals[i, j]
            if v >= min_label:
                cx, cy = (left[i] + v / 2, pos[i]) if horizontal else (pos[i], left[i] + v / 2)
                txt_color = "white" if j in (0, 2, 5, 6, 7) else "#222222"
                ax.text(cx, cy, f"{v:.1f}%" if v < 10 else f"{v:.0f}%", ha="center", va="center",
                        fontsize=7, color=txt_color)
        left = left + vals[:, j]
    if horizontal:
        ax.set_yticks(pos)
        ax.set_yticklabels(cats)
        ax.set_xlim(0, 100 if normalize else left.max() * 1.02)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x")
        ax.xaxis.set_major_formatter(lambda v, _p: f"{v:.0f}%")
    else:
        ax.set_xticks(pos)
        ax.set_xticklabels(cats)
        ax.set_ylim(0, 100 if normalize else left.max() * 1.02)
        ax.yaxis.set_major_formatter(lambda v, _p: f"{v:.0f}%")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(len(names), 6), borderaxespad=0.2,
              handlelength=1.2)
    if title:
        ax.set_title(title, pad=18)
    return fig
