"""The regional KPI scorecard: every metric per region and period, with intervals and tests.

Each region is compared with

* the **rest of the company** in the same period (company minus the region, so the region is
  never compared with a total that contains it), and
* **its own previous period** (consecutive periods share customers, so this test treats them as
  independent samples: an approximation, conservative for positively correlated periods).

p-values are adjusted with Holm or Benjamini-Hochberg across all regions and metrics of one period
and comparison (``family="period"``, the default: a scorecard of ~10 tested metrics x 6 regions would
otherwise raise a false flag in a good share of datasets where the regions are alike), or across the
regions of each metric only (``family="metric"``). Besides the calendar periods, the trailing
12 months (``L12M``) are compared with the rest of the company and with the 12 months before (``P12M``): the window the SWOT and
executive summary use.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from toolkit.data.focus import region_rows
from toolkit.kpi import metrics as M
from toolkit.kpi import stats as S
from toolkit.kpi.aggregate import STAT_COLUMNS, churn_basis, period_stats
from toolkit.kpi.periods import Periods, calendar_periods, trailing_window

COMPANY = "Company"
LONG_COLUMNS = ["region", "period", "period_start", "period_end", "metric", "label", "unit", "value", "ci_low",
                "ci_high", "n", "comparison", "reference_label", "reference", "difference", "test", "statistic",
                "p_value", "p_adj", "significant", "direction"]


@dataclass
class KPIResult:
    """The scorecard of one dataset: ``table`` (wide) and ``scorecard`` (long, with tests)."""

    table: pd.DataFrame
    scorecard: pd.DataFrame
    stats: pd.DataFrame
    basis: str
    period: str
    alpha: float
    correction: str
    window: str
    family: str = "period"
    notes: list[str] = field(default_factory=list)

    def flags(self, period: str | None = None, comparison: str = "rest") -> pd.DataFrame:
        """Significant differences (after adjustment) for one period (default: the window)."""
        sc = self.scorecard
        sel = sc.loc[(sc["period"] == (period or self.window)) & (sc["comparison"] == comparison)
                     & sc["significant"].fillna(False).astype(bool)]
        return sel.reset_index(drop=True)

    def for_region(self, region: str) -> "KPIResult":
        """The rows of one region and of the company (a regional pack's view); the tests stay those
        computed against the rest of the whole company."""
        return replace(self, table=region_rows(self.table, region, COMPANY),
                       scorecard=region_rows(self.scorecard, region, COMPANY),
                       stats=region_rows(self.stats, region, COMPANY))

    def window_table(self) -> pd.DataFrame:
        """One row per region (and the company) for the trailing window."""
        t = self.table
        return t.loc[t["period"] == self.window].set_index("region").drop(columns=["period", "period_start",
                                                                                     "period_end"])


def _first_date(ds) -> pd.Timestamp | None:
    cands = []
    if ds.has("transactions"):
        from toolkit.engine import collect, date_bounds, transaction_log
        first = collect(date_bounds(transaction_log(ds)))["first"].iloc[0]
        if pd.notna(first):
            cands.append(pd.Timestamp(first))
    cu = ds.customers
    if cu is not None and "acquisition_date" in cu and cu["acquisition_date"].notna().any():
        cands.append(cu["acquisition_date"].min())
    if ds.surveys is not None and "response_date" in ds.surveys and ds.surveys["response_date"].notna().any():
        cands.append(ds.surveys["response_date"].min())
    if ds.marketing_spend is not None and len(ds.marketing_spend):
        cands.append(ds.marketing_spend["period"].min())
    return min(cands) if cands else None


def _with_dates(stats: pd.DataFrame, periods: Periods) -> pd.DataFrame:
    return stats.merge(periods.frame(), on="period", how="left")


def _company(stats: pd.DataFrame) -> pd.DataFrame:
    """Company totals per period (sums of the additive statistics over regions)."""
    comp = stats.groupby("period", sort=False)[list(STAT_COLUMNS)].sum(min_count=1).reset_index()
    comp.insert(0, "region", COMPANY)
    return comp


def _previous(stats: pd.DataFrame, labels: tuple[str, ...]) -> pd.DataFrame:
    """For each row, the same group's statistics in the previous period (NaN for the first)."""
    order = {p: i for i, p in enumerate(labels)}
    prev_label = {p: labels[i - 1] for p, i in order.items() if i > 0}
    keyed = stats.set_index(["region", "period"])
    idx = list(zip(stats["region"], stats["period"].map(prev_label)))
    prev = keyed.reindex(pd.MultiIndex.from_tuples(idx, names=["region", "period"]))
    prev = prev.reset_index(drop=True)
    prev["period"] = stats["period"].map(prev_label).to_numpy()
    return prev


def _long(a: pd.DataFrame, b: pd.DataFrame | None, comparison: str, ref_label, alpha: float, n_boot: int,
          seed: int) -> pd.DataFrame:
    """Long rows (one per metric and row of ``a``) comparing ``a`` with ``b`` (same row order)."""
    va = M.values(a)
    vb = M.values(b) if b is not None else None
    rows = []
    for metric, meta in M.METRICS.items():
        lo, hi, n = M.interval(a, metric, alpha, n_boot, seed)
        frame = pd.DataFrame({
            "region": a["region"].to_numpy(), "period": a["period"].to_numpy(),
            "metric": metric, "label": meta.label, "unit": meta.unit,
            "value": va[metric].to_numpy(), "ci_low": lo, "ci_high": hi, "n": n, "comparison": comparison,
            "reference_label": ref_label if isinstance(ref_label, str) else np.asarray(ref_label, dtype=object),
        })
        if vb is not None:
            frame["reference"] = vb[metric].to_numpy()
            stat, p = M.test(a, b, metric, n_boot, seed + 1)
            frame["test"] = meta.test if meta.test else ""
            frame["statistic"], frame["p_value"] = stat, p
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    for c in ("reference", "statistic", "p_value"):
        if c not in out:
            out[c] = np.nan
    if "test" not in out:
        out["test"] = ""
    out["difference"] = out["value"] - out["reference"]
    out.loc[out["p_value"].isna(), "test"] = np.where(out.loc[out["p_value"].isna(), "test"] != "",
                                                      out.loc[out["p_value"].isna(), "test"] + " (not testable)", "")
    return out


FAMILIES = {"metric": ["metric", "period", "comparison"], "period": ["period", "comparison"]}


def _adjust(long: pd.DataFrame, correction: str, alpha: float, family: str = "period") -> pd.DataFrame:
    fam = long.groupby(FAMILIES[family], sort=False)["p_value"]
    long["p_adj"] = fam.transform(lambda p: pd.Series(S.adjust(p.to_numpy(), correction), index=p.index))
    long["significant"] = long["p_adj"] < alpha
    long.loc[long["p_adj"].isna(), "significant"] = False
    long["direction"] = np.where(long["difference"] > 0, "higher", np.where(long["difference"] < 0, "lower", ""))
    return long


def _block(stats: pd.DataFrame, labels: tuple[str, ...], alpha: float, correction: str, n_boot: int,
           seed: int, family: str = "period") -> pd.DataFrame:
    """Long scorecard rows for one set of periods: regions vs rest and vs previous; company vs previous."""
    company = _company(stats)
    merged = stats.merge(company[["period", *STAT_COLUMNS]], on="period", suffixes=("", "_company"))
    rest = stats[["region", "period"]].copy()
    for c in STAT_COLUMNS:
        rest[c] = merged[f"{c}_company"].to_numpy() - merged[c].to_numpy()
    vs_rest = _long(stats, rest, "rest", "rest of company", alpha, n_boot, seed)
    prev = _previous(stats, labels)
    vs_prev = _long(stats, prev, "previous", prev["period"].astype(object).fillna(""), alpha, n_boot, seed + 10)
    cprev = _previous(company, labels)
    comp = _long(company, cprev, "previous", cprev["period"].astype(object).fillna(""), alpha, n_boot, seed + 20)
    out = pd.concat([vs_rest, vs_prev, comp], ignore_index=True)
    return _adjust(out, correction, alpha, family)


def build_scorecard(ds, period: str = "Q", alpha: float = 0.05, correction: str = "holm",
                    window_months: int = 12, include_partial: bool = False, n_boot: int = 2000,
                    seed: int = 0, family: str = "period") -> KPIResult:
    """KPIs per region x period with intervals, tests against the rest of the company and the
    previous period, and multiple-comparison control across regions.

    ``family`` sets what one adjustment covers: ``"period"`` (default) — all regions and metrics of one
    period and comparison, which controls false flags across the whole scorecard of a period;
    ``"metric"`` — the regions of one metric, period and comparison (more power, more false flags).
    """
    if correction not in S.CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(S.CORRECTIONS)}, not {correction!r}")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, not {family!r}")
    first = _first_date(ds)
    notes: list[str] = []
    basis = churn_basis(ds)
    if basis == "activity" and ds.has("transactions"):
        notes.append("The dataset has no churn dates: churn is activity-based (a customer active in the previous "
                     "period with no purchase in this one counts as lost).")
    if first is None:
        empty = pd.DataFrame(columns=LONG_COLUMNS)
        return KPIResult(pd.DataFrame(), empty, pd.DataFrame(), basis, period, alpha, correction, "", family,
                         notes + ["The dataset has no dated table, so no period KPIs can be computed."])
    cal = calendar_periods(first, ds.as_of, period, include_partial)
    win = trailing_window(ds.as_of, window_months)
    if win.edges[0] < pd.Timestamp(first).normalize():
        notes.append(f"The data start on {pd.Timestamp(first).date()}, after the start of the previous "
                     f"{window_months}-month window ({win.edges[0].date()}): {win.labels[0]} covers only part of it.")
    blocks, tables, all_stats = [], [], []
    for per in (cal, win):
        if not len(per):
            continue
        st = period_stats(ds, per)
        if st.empty:
            continue
        blocks.append(_with_dates(_block(st, per.labels, alpha, correction, n_boot, seed, family), per))
        comp = _company(st)
        both = pd.concat([st, comp], ignore_index=True)
        wide = pd.concat([both[["region", "period"]], M.values(both)], axis=1)
        tables.append(_with_dates(wide, per))
        all_stats.append(_with_dates(both, per))
    if not blocks:
        return KPIResult(pd.DataFrame(), pd.DataFrame(columns=LONG_COLUMNS), pd.DataFrame(), basis, period, alpha,
                         correction, "", family, notes + ["No KPI could be computed from the dataset's tables."])
    long = pd.concat(blocks, ignore_index=True)[LONG_COLUMNS]
    table = pd.concat(tables, ignore_index=True)
    table = table[["region", "period", "period_start", "period_end", *M.METRICS]]
    return KPIResult(table, long, pd.concat(all_stats, ignore_index=True), basis, period, alpha, correction,
                     win.labels[1], family, notes)
