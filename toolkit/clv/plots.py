"""Figures of CLV models and values, in the toolkit's one style (titled, axes labelled); each returns the figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from toolkit.plotting import PALETTE, label, new_figure
from toolkit.plotting import plot_lorenz as lorenz_figure

__all__ = ["plot_tracking", "plot_by_frequency", "plot_prob_alive_heatmap", "plot_clv_distribution",
           "plot_reliability", "plot_lift", "plot_clv_by_band", "plot_cash_flows",
           "plot_lorenz", "plot_value_by_group", "plot_recovery", "plot_errors", "plot_interval_width",
           "prob_alive_matrix", "prob_alive_path", "plot_prob_alive_path"]

_MODEL_COLORS = {"BG/NBD": PALETTE[1], "Pareto/NBD": PALETTE[2], "MBG/NBD": PALETTE[3]}


def _color(name: str, i: int) -> str:
    return _MODEL_COLORS.get(name, PALETTE[(i + 1) % len(PALETTE)])


def _cur(currency: str) -> str:
    return f" ({currency})" if currency else ""


def plot_tracking(track: pd.DataFrame, models: list[str] | None = None):
    """Two panels: cumulative and per-step repeat transactions, actual against each model, with the
    end of the calibration period marked."""
    models = models or [c for c in track.columns if c not in ("period", "actual")]
    step = track.attrs.get("step_days", 7)
    cal = pd.Timestamp(track.attrs["calibration_end"]) if "calibration_end" in track.attrs else None
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    inc = track[["actual", *models]].diff()
    inc.iloc[0] = track[["actual", *models]].iloc[0]
    for ax, data, what in ((axes[0], track, "Cumulative"), (axes[1], inc, "Per period")):
        ax.plot(data.index, data["actual"], color=PALETTE[0], lw=2.2, label="actual")
        for i, m in enumerate(models):
            ax.plot(data.index, data[m], color=_color(m, i), lw=1.5, ls="--", label=m)
        if cal is not None:
            ax.axvline(cal, color=PALETTE[6], ls=":", lw=1.2)
            ax.annotate("end of calibration", (cal, ax.get_ylim()[1]), xytext=(4, -14),
                        textcoords="offset points", fontsize=9, color=PALETTE[6])
        label(ax, f"{what} repeat transactions: actual vs model",
              "Date", f"Repeat transactions ({'cumulative' if what == 'Cumulative' else f'per {step} days'})")
        ax.legend(loc="upper left" if what == "Cumulative" else "best")
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
    fig.tight_layout()
    return fig


def plot_by_frequency(table: pd.DataFrame, models: list[str] | None = None):
    """Mean holdout purchases per customer by calibration repeat purchases, actual and per model."""
    models = models or [c for c in table.columns if c not in ("customers", "actual")]
    fig, ax = new_figure("Holdout purchases by calibration frequency: actual vs predicted",
                         "Repeat purchases in the calibration period",
                         "Mean purchases per customer in the holdout")
    x = np.arange(len(table))
    ax.plot(x, table["actual"], color=PALETTE[0], lw=2.2, marker="o", label="actual")
    for i, m in enumerate(models):
        ax.plot(x, table[m], color=_color(m, i), lw=1.5, ls="--", marker=".", label=m)
    ax.set_xticks(x, table.index.astype(str))
    ax.legend(loc="upper left")
    return fig


def plot_errors(errors: pd.DataFrame):
    """Per-customer holdout MAE and RMSE per model (bars)."""
    fig, ax = new_figure("Per-customer holdout error of the purchase forecast", "Model",
                         "Purchases per customer", figsize=(7, 4.2))
    x = np.arange(len(errors))
    ax.bar(x - 0.2, errors["mae"], width=0.4, color=PALETTE[0], label="MAE")
    ax.bar(x + 0.2, errors["rmse"], width=0.4, color=PALETTE[1], label="RMSE")
    ax.set_xticks(x, errors.index.astype(str))
    ax.legend()
    return fig


def plot_prob_alive_heatmap(model, T: float, max_frequency: int = 20, n_recency: int = 20,
                            unit_label: str = "weeks", model_name: str = ""):
    """P(alive) over frequency (rows) and recency (columns) for a customer of age ``T``.

    Customers without repeat purchases have recency 0 by definition: only that cell is shown in
    the frequency-0 row.
    """
    rec = np.linspace(0, T, n_recency + 1)
    freq = np.arange(0, max_frequency + 1)
    xx, rr = np.meshgrid(freq.astype(float), rec)
    rr = np.where(xx == 0, 0.0, rr)
    pa = np.asarray(model.prob_alive(xx.ravel(), rr.ravel(), np.full(xx.size, float(T))), float).reshape(xx.shape)
    pa = np.where((xx == 0) & (np.arange(len(rec))[:, None] > 0), np.nan, pa)
    fig, ax = new_figure(f"P(alive) by frequency and recency{' — ' + model_name if model_name else ''}",
                         f"Recency: time of the last purchase ({unit_label} after the first)",
                         "Repeat purchases (frequency)", figsize=(9, 5.5))
    im = ax.imshow(pa.T, origin="lower", aspect="auto", cmap="RdYlGn", vmin=0, vmax=1,
                   extent=[-0.5 * T / n_recency, T + 0.5 * T / n_recency, -0.5, max_frequency + 0.5])
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="P(alive)")
    ax.set_title(ax.get_title() + f"\n(customer age T = {T:.1f} {unit_label})", fontsize=11)
    return fig


def plot_clv_distribution(clv: pd.Series, currency: str = "", horizon_label: str = ""):
    """Histogram of CLV per customer on a log scale (customers with CLV > 0), median and mean marked."""
    v = clv[clv > 0]
    fig, ax = new_figure(f"Distribution of predicted CLV{' — ' + horizon_label if horizon_label else ''}",
                         f"CLV per customer{_cur(currency)}, log scale", "Customers")
    if len(v):
        lo, hi = max(v.min(), v.quantile(0.001)), v.max()
        bins = np.geomspace(lo, hi, 50) if hi > lo else 10
        ax.hist(v.clip(lower=lo), bins=bins, color=PALETTE[0], alpha=0.85)
        ax.set_xscale("log")
        ax.axvline(v.median(), color=PALETTE[1], ls="--", label=f"median {v.median():,.1f}")
        ax.axvline(clv.mean(), color=PALETTE[2], ls=":", label=f"mean {clv.mean():,.1f}")
        ax.legend()
    return fig


def plot_lorenz(curve: pd.DataFrame, gini_value: float, what: str = "predicted CLV"):
    """Lorenz curve of a value per customer with the line of equality."""
    return lorenz_figure(curve, gini_value, what, "value_share", what, "value")


def plot_value_by_group(table: pd.DataFrame, group: str, currency: str = ""):
    """Mean CLV per group (bars) and, when the table has it, CLV/CAC on a second axis."""
    t = table.sort_values("mean_clv", ascending=False)
    fig, ax = new_figure(f"Mean predicted CLV by {group.replace('_', ' ')}", group.replace("_", " ").capitalize(),
                         f"Mean CLV per customer{_cur(currency)}")
    x = np.arange(len(t))
    ax.bar(x, t["mean_clv"], color=PALETTE[0], label="mean CLV")
    ax.set_xticks(x, t[group].astype(str))
    if "clv_cac" in t.columns and t["clv_cac"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(x, t["clv_cac"], color=PALETTE[1], marker="o", lw=1.5, label="CLV / CAC")
        ax2.axhline(1.0, color=PALETTE[1], ls=":", lw=1)
        ax2.set_ylabel("Mean CLV / CAC")
        ax2.grid(False)
        ax2.set_ylim(bottom=0)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper right")
    return fig


def plot_recovery(table: pd.DataFrame):
    """Per segment and parameter: estimate with 95% interval against the generating value,
    as ratios to the true value (1 = exact)."""
    t = table.dropna(subset=["estimate"]).reset_index(drop=True)
    fig, ax = new_figure("Demo data: fitted BG/NBD parameters against the generating values",
                         "Estimate / true value (log scale; 95% interval)", "Segment and parameter",
                         figsize=(9, 0.32 * max(len(t), 4) + 1.6))
    y = np.arange(len(t))[::-1]
    ratio = t["estimate"] / t["truth"]
    lo, hi = t["ci_lower"] / t["truth"], t["ci_upper"] / t["truth"]
    colors = [PALETTE[0] if c else PALETTE[1] for c in t["covered"]]
    ax.hlines(y, lo, hi, color=colors, lw=2)
    ax.scatter(ratio, y, color=colors, zorder=3)
    ax.axvline(1.0, color=PALETTE[6], ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{s} · {p}" for s, p in zip(t["segment"], t["parameter"])])
    return fig



def plot_reliability(reliability: pd.DataFrame, probability: str = "P(active)"):
    """Reliability curve per model: mean predicted probability against the observed share per bin."""
    t = reliability.loc[reliability["probability"] == probability]
    fig, ax = new_figure(f"Reliability of {probability} on the holdout",
                         f"Predicted {probability} (bin mean)", "Observed share active in the holdout",
                         figsize=(6.5, 5.5))
    ax.plot([0, 1], [0, 1], color=PALETTE[6], ls="--", label="perfectly calibrated")
    for i, (name, g) in enumerate(t.groupby("model", sort=False)):
        ax.plot(g["mean_predicted"], g["observed_share"], color=_color(name, i), marker="o", lw=1.5, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    return fig


def plot_lift(lift: pd.DataFrame):
    """Lift per decile of expected holdout purchases, per model."""
    fig, ax = new_figure("Decile lift of the purchase forecast on the holdout",
                         "Decile of expected holdout purchases (1 = highest)",
                         "Lift (mean actual purchases / overall mean)")
    models = list(dict.fromkeys(lift["model"]))
    width = 0.8 / max(len(models), 1)
    for i, name in enumerate(models):
        g = lift.loc[lift["model"] == name]
        ax.bar(g["decile"] + (i - (len(models) - 1) / 2) * width, g["lift"], width=width,
               color=_color(name, i), label=name)
    ax.axhline(1.0, color=PALETTE[6], ls="--", lw=1)
    ax.set_xticks(range(1, 11))
    ax.legend()
    return fig


def plot_clv_by_band(table: pd.DataFrame, currency: str = ""):
    """Mean CLV per frequency band: under the model and with the band's observed mean spend."""
    fig, ax = new_figure("CLV by purchase frequency: model spend vs observed spend",
                         "Repeat purchases (frequency band)", f"Mean CLV per customer{_cur(currency)}")
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["mean_clv_model"], width=0.4, color=PALETTE[0], label="model (spend independent of frequency)")
    ax.bar(x + 0.2, table["mean_clv_observed_spend"], width=0.4, color=PALETTE[1], label="with the band's observed spend")
    ax.set_xticks(x, table.index.astype(str))
    ax.legend()
    return fig


def plot_cash_flows(flows: pd.DataFrame, currency: str = "", unit_label: str = "month"):
    """Cumulative discounted margin per segment over the horizon."""
    fig, ax = new_figure("Cumulative discounted margin by segment", f"Future {unit_label}",
                         f"Cumulative discounted margin{_cur(currency)}")
    for i, (name, g) in enumerate(flows.groupby("segment", sort=False)):
        ax.plot(g["period"], g["cumulative_discounted_margin"], marker=".", color=PALETTE[i % len(PALETTE)], label=name)
    ax.legend()
    return fig


def plot_interval_width(customers: pd.DataFrame, currency: str = "", level: float = 0.9):
    """Scatter of each customer's CLV against the width of its interval (``clv``, ``clv_lower``,
    ``clv_upper`` of :class:`toolkit.clv.valuation.value_intervals.ValueIntervals`)."""
    width = customers["clv_upper"] - customers["clv_lower"]
    fig, ax = new_figure(f"How uncertain is each customer's CLV? ({level:.0%} intervals)",
                         f"CLV estimate ({currency})", f"width of the {level:.0%} interval ({currency})")
    ax.scatter(customers["clv"], width, s=6, alpha=0.35)
    return fig


# ------------------------------------------------------------------ P(alive) matrix and one customer's path
def prob_alive_matrix(model, T: float, max_frequency: int = 20, n_recency: int = 20) -> pd.DataFrame:
    """P(alive) of a customer of age ``T`` over frequency (rows, 0..max_frequency) and recency (columns,
    ``n_recency + 1`` equal steps from 0 to T). Impossible cells are NaN: without repeat purchases the
    recency is 0."""
    rec = np.linspace(0.0, float(T), int(n_recency) + 1)
    freq = np.arange(int(max_frequency) + 1, dtype=float)
    xx, rr = np.meshgrid(freq, rec, indexing="ij")
    ok = (xx > 0) | (rr == 0)
    pa = np.full(xx.shape, np.nan)
    pa[ok] = np.asarray(model.prob_alive(xx[ok], rr[ok], np.full(int(ok.sum()), float(T))), float)
    out = pd.DataFrame(pa, index=pd.Index(freq.astype(int), name="frequency"),
                       columns=pd.Index(rec, name="recency"))
    out.attrs["T"] = float(T)
    return out


def prob_alive_path(model, purchase_times, end=None, points: int = 200,
                    time_unit: str | None = None) -> pd.DataFrame:
    """P(alive) of one customer over time, from the first purchase to ``end``.

    ``purchase_times`` are the customer's purchases, as numbers in the model's time unit or as dates
    (converted with ``time_unit``, default the model's); purchases on the same day (the same time)
    count once. At each time t the history is (repeat purchases up to t, time of the last one, age t),
    evaluated on an even grid of ``points`` times plus the moments just before each purchase, so the
    path shows the decay between purchases and the jump at each one. Columns: time (model units after
    the first purchase; ``date`` too for date input), frequency, recency, T, prob_alive.
    """
    raw = pd.Series(purchase_times)
    dates = pd.api.types.is_datetime64_any_dtype(raw) or isinstance(raw.iloc[0], (pd.Timestamp, np.datetime64))
    if dates:
        from toolkit.clv.summary import unit_days

        unit = time_unit or getattr(model, "time_unit_", None) or "D"
        days = unit_days(unit)
        d = pd.to_datetime(raw).dt.normalize().drop_duplicates().sort_values()
        first = d.iloc[0]
        times = ((d - first).dt.days / days).to_numpy(float)
        stop = ((pd.Timestamp(end).normalize() - first).days / days) if end is not None else times[-1]
    else:
        times = np.unique(np.asarray(raw, float))
        first = times[0]
        times = times - first
        stop = (float(end) - first) if end is not None else times[-1]
    if stop < times[-1]:
        raise ValueError("end lies before the last purchase")
    eps = 1e-9 * max(stop, 1.0)
    grid = np.unique(np.concatenate([np.linspace(0.0, stop, int(points)), times,
                                     np.maximum(times[1:] - eps, 0.0)]))
    k = np.searchsorted(times, grid, side="right") - 1          # index of the last purchase up to t
    x = k.astype(float)
    tx = times[k]
    pa = np.asarray(model.prob_alive(x, tx, grid), float)
    out = pd.DataFrame({"time": grid, "frequency": x, "recency": tx, "T": grid, "prob_alive": pa})
    if dates:
        out.insert(1, "date", first + pd.to_timedelta(grid * days, unit="D"))
    out.attrs["purchase_times"] = times
    return out


def plot_prob_alive_path(path: pd.DataFrame, unit_label: str = "weeks", customer: str = "",
                         model_name: str = ""):
    """One customer's P(alive) over time (from :func:`prob_alive_path`), purchases marked."""
    who = f" of customer {customer}" if customer else ""
    fig, ax = new_figure(f"P(alive){who} over time{' — ' + model_name if model_name else ''}",
                         f"Time since the first purchase ({unit_label})", "P(alive)")
    ax.plot(path["time"], path["prob_alive"], color=PALETTE[0], lw=1.8, label="P(alive)")
    for i, t in enumerate(path.attrs.get("purchase_times", [])):
        ax.axvline(t, color=PALETTE[1], ls=":", lw=1, label="purchase" if i == 0 else None)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return fig
