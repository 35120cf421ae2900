"""The executive summary's building blocks: headline figures of every report of a run, a per-region
scorecard (its ▲ / ▼ marks judged better or worse for the company by each KPI's direction), and
the top risks and actions from the SWOT items.

The shared results are read through :mod:`toolkit.contract` (a malformed one is an error naming
its producer); the report layer (``toolkit.reports.executive_summary``) says what is missing."""
from __future__ import annotations

import pandas as pd

from toolkit import contract
from toolkit.kpi import COMPANY, METRICS
from toolkit.kpi.prose import fmt
from toolkit.results import RunResults

SCORECARD_METRICS = ("customers", "revenue", "churn_rate", "retention_rate", "revenue_per_customer", "cac", "cltv",
                     "clv_cac", "csat", "nps")
#: What a mark says for the company: a KPI's good direction is ``METRICS[m].better`` (toolkit/kpi/metrics.py).
BETTER, WORSE, NEUTRAL = "better", "worse", ""


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            text = ", ".join(map(str, value[:8])) + (f", … ({len(value)} in all)" if len(value) > 8 else "")
            return {prefix: text}
        return {prefix: f"{len(value)} entries"}
    return {prefix: value}


def headline_figures(run_dir, max_per_report: int = 12, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """Scalar figures of every metrics result of the run: report, result, figure, value. Shared
    results (:mod:`toolkit.contract`) are read through the contract; reports in ``exclude`` are left out."""
    res = run_dir if isinstance(run_dir, RunResults) else RunResults(run_dir)
    rows = []
    for name in res.names():
        meta = res.meta(name)
        report = meta.get("notebook") or ""
        if meta.get("kind") != "metrics" or report in exclude:
            continue
        values = contract.read(res, name) if name in contract.SHARED else res.read_metrics(name)
        flat = _flatten(values)
        for i, (k, v) in enumerate(flat.items()):
            if i >= max_per_report:
                rows.append({"report": report, "result": name, "figure": "…",
                             "value": f"{len(flat) - max_per_report} more figures in the run's results ({name})"})
                break
            rows.append({"report": report, "result": name, "figure": k,
                         "value": f"{v:,.4g}" if isinstance(v, float) else str(v)})
    return pd.DataFrame(rows, columns=["report", "result", "figure", "value"])


def judge(metric: str, direction: str) -> str:
    """Whether a KPI being ``direction`` ("higher" / "lower") is better or worse for the company,
    by the KPI's own direction in :data:`toolkit.kpi.METRICS` ("" when it has none, e.g. customers)."""
    good = METRICS[metric].better if metric in METRICS else ""
    if not good or direction not in ("higher", "lower"):
        return NEUTRAL
    return BETTER if direction == good else WORSE


def _scorecard_rows(scorecard: pd.DataFrame, window: str, metrics) -> pd.DataFrame:
    sc = scorecard.loc[(scorecard["period"] == window) & scorecard["metric"].isin(list(metrics))]
    rest = sc.loc[sc["comparison"] == "rest"]
    comp = sc.loc[(sc["region"] == COMPANY)].drop_duplicates(["region", "metric"])
    rows = pd.concat([rest, comp], ignore_index=True)
    mark = rows["significant"].fillna(False).astype(bool) & (rows["region"] != COMPANY)
    return rows.assign(marked=mark)


def _wide(rows: pd.DataFrame, column: str, metrics) -> pd.DataFrame:
    out = rows.pivot_table(index="region", columns="metric", values=column, aggfunc="first")
    cols = [m for m in metrics if m in out.columns]
    out = out[cols].rename(columns={m: METRICS[m].label for m in cols})
    order = sorted([r for r in out.index if r != COMPANY]) + ([COMPANY] if COMPANY in out.index else [])
    return out.loc[order]


def region_scorecard(scorecard: pd.DataFrame, window: str, currency: str = "",
                     metrics=SCORECARD_METRICS) -> pd.DataFrame:
    """Region x metric for the window, formatted, with ▲/▼ where a region differs significantly from the rest."""
    rows = _scorecard_rows(scorecard, window, metrics)
    arrow = rows["direction"].map({"higher": " ▲", "lower": " ▼"}).fillna("")
    rows = rows.assign(text=[fmt(v, m, currency) for v, m in zip(rows["value"], rows["metric"])])
    rows["text"] = rows["text"] + arrow.where(rows["marked"], "")
    return _wide(rows, "text", metrics)


def scorecard_marks(scorecard: pd.DataFrame, window: str, metrics=SCORECARD_METRICS) -> pd.DataFrame:
    """The cells of :func:`region_scorecard` (same rows and columns): "better" or "worse" for the
    company where a cell carries ▲ / ▼ and the KPI has a good direction, else ""."""
    rows = _scorecard_rows(scorecard, window, metrics)
    judged = [judge(m, d) if marked else NEUTRAL for m, d, marked in zip(rows["metric"], rows["direction"],
                                                                       rows["marked"])]
    return _wide(rows.assign(judged=judged), "judged", metrics).fillna(NEUTRAL)


def top_risks(items: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """Weaknesses and threats, highest priority and largest effect first."""
    if items is None or items.empty:
        return pd.DataFrame(columns=["region", "quadrant", "title", "statement"])
    r = items.loc[items["quadrant"].isin(["Weakness", "Threat"])]
    r = r.sort_values(["priority", "score"], ascending=False)
    return r[["region", "quadrant", "title", "statement"]].head(n).reset_index(drop=True)


def top_actions(items: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """Actions of the highest-priority items (risks first, then opportunities and strengths), deduplicated."""
    if items is None or items.empty:
        return pd.DataFrame(columns=["region", "action", "because"])
    order = {"Threat": 0, "Weakness": 0, "Opportunity": 1, "Strength": 2}
    r = items.loc[items["action"].astype(str) != ""]
    r = r.assign(q=r["quadrant"].map(order))   # from r itself: an empty r would take a Series' index
    r = r.sort_values(["q", "priority", "score"], ascending=[True, False, False]).drop_duplicates("action")
    return (r.rename(columns={"title": "because"})[["region", "action", "because"]].head(n).reset_index(drop=True))
