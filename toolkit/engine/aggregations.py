"""Transaction-level aggregations, written once as narwhals lazy queries.

Each function takes a narwhals LazyFrame of transactions in the data model (``customer_id``,
``date``, ``amount``, optionally ``order_id`` and ``category``) on any engine of
:mod:`toolkit.engine.core` and returns a LazyFrame on the same engine; :func:`collect` brings
the (per-customer or per-group) result back to pandas. Days are integers since 1970-01-01
(:func:`day_number`), so "on or before the as-of date" means the same on every engine.

Definitions live with the functions that use them: :func:`rfm_frame` (CLV summary),
:func:`period_transaction_stats` (KPIs per region and period), :func:`purchase_features`
(churn), :func:`segmentation_features`, :func:`cohort_activity`, :func:`tracking_counts`, and
:func:`clean_transactions` (counted cleaning of a raw log).
"""
from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import pandas as pd

from .core import as_day, cluster, collect, day_number, period_number, reuse

__all__ = ["clean_transactions", "cohort_activity", "period_transaction_stats", "purchase_features",
           "rfm_frame", "segmentation_features", "tracking_counts"]

F64 = nw.Float64


def _days(lf: nw.LazyFrame, extra: Sequence[str] = ()) -> nw.LazyFrame:
    """customer_id, d (day number), amount (float) and ``extra`` columns; rows without id or date dropped."""
    cols = [nw.col("customer_id"), day_number("date").alias("d"), nw.col("amount").cast(F64)]
    cols += [nw.col(c) for c in extra]
    return lf.select(*cols).filter(~nw.col("customer_id").is_null(), ~nw.col("d").is_null())


def _grouped(lf: nw.LazyFrame, keys: Sequence[str], parts: dict[str, tuple[nw.Expr, str]]) -> nw.LazyFrame:
    """Per group of ``keys``: each ``name: (expression, how)`` computed per row, then aggregated
    by ``how`` ("sum", "min", "max" or "n_unique"). Conditional expressions go into the rows
    first and only plain aggregations run per group, which is fast on every engine (pandas
    cannot run a conditional expression inside a group-by without a Python loop)."""
    rows = lf.with_columns(**{name: expr for name, (expr, _) in parts.items()})
    return rows.group_by(*keys).agg(*[getattr(nw.col(name), how)() for name, (_, how) in parts.items()])


# ------------------------------------------------------------------------------------ CLV
def rfm_frame(lf: nw.LazyFrame, obs_d: int, cal_d: int, unit: float, holdout: bool) -> nw.LazyFrame:
    """frequency, recency, T, monetary_value (+ holdout columns) per customer; see ``rfm_summary``.

    One pass groups rows into occasions (customer-days), a window marks each customer's first
    day, and one conditional aggregation gives every column: no self-join, so each engine reads
    the log once."""
    d, amount = nw.col("d"), nw.col("amount")
    in_cal = d <= cal_d
    occ = (cluster(_days(lf).filter(d <= obs_d)).group_by("customer_id", "d").agg(amount.sum())
           .with_columns(d.min().over("customer_id").alias("first_d")))
    parts = {"n": (in_cal.cast(nw.Int64), "sum"), "first_d": (nw.col("first_d"), "min"),
             "last_d": (nw.when(in_cal).then(d), "max"),
             "total": (nw.when(in_cal).then(amount).otherwise(0.0), "sum"),
             "first_amount": (nw.when(d == nw.col("first_d")).then(amount).otherwise(0.0), "sum")}
    if holdout:
        parts.update({"n_h": ((~in_cal).cast(nw.Int64), "sum"),
                      "total_h": (nw.when(~in_cal).then(amount).otherwise(0.0), "sum")})
    n = nw.col("n")
    cols = [(n - 1).cast(F64).alias("frequency"),
            ((nw.col("last_d") - nw.col("first_d")).cast(F64) / unit).alias("recency"),
            ((cal_d - nw.col("first_d")).cast(F64) / unit).alias("T"),
            nw.when(n > 1).then((nw.col("total") - nw.col("first_amount")) / (n - 1).cast(F64))
            .otherwise(0.0).cast(F64).alias("monetary_value")]
    if holdout:
        n_h = nw.col("n_h")
        cols += [n_h.cast(F64).alias("frequency_holdout"),
                 nw.when(n_h > 0).then(nw.col("total_h") / n_h.cast(F64)).otherwise(0.0).cast(F64)
                 .alias("monetary_value_holdout"),
                 nw.lit((obs_d - cal_d) / unit, F64).alias("duration_holdout")]
    # customers whose first occasion falls after the calibration period are not summarised
    return _grouped(occ, ["customer_id"], parts).filter(n > 0).select("customer_id", *cols)


def tracking_counts(lf: nw.LazyFrame, cal_d: int, obs_d: int) -> nw.LazyFrame:
    """Per day: ``first`` (customers of the calibration cohort whose first occasion is that day)
    and ``repeat`` (their repeat occasions that day), up to ``obs_d``."""
    occ = reuse(cluster(_days(lf).filter(nw.col("d") <= obs_d).select("customer_id", "d")).unique())
    firsts = occ.group_by("customer_id").agg(nw.col("d").min().alias("first_d")) \
        .filter(nw.col("first_d") <= cal_d)
    cohort = occ.join(firsts, on="customer_id").with_columns(
        (nw.col("d") == nw.col("first_d")).cast(nw.Int64).alias("first"),
        (nw.col("d") > nw.col("first_d")).cast(nw.Int64).alias("repeat"))
    return cohort.group_by("d").agg(nw.col("first").sum(), nw.col("repeat").sum())


# ------------------------------------------------------------------------------------ KPI
def period_transaction_stats(lf: nw.LazyFrame, regions: nw.LazyFrame | None, edges: Sequence,
                             activity_basis: bool, has_order_id: bool = True) -> nw.LazyFrame:
    """Additive transaction statistics per (region, k) for periods ``[edges[k], edges[k+1])``.

    ``regions`` has columns customer_id, region (customers without one are ``unknown``; without
    the table every row is region ``all``). Columns: revenue (net, all rows), active, orders,
    aov_sum, aov_yy, aov_xy, freq_sumsq, rpc_sum, rpc_sumsq and, on the activity basis,
    customers (active in the previous period; null for k = 0) and lost (of those, not active in
    this one).

    Built to stay within a memory cap on logs of any size: two aggregations of the log (orders,
    and net amount per customer and period), then one union-and-aggregate per (customer, k) that
    stacks order rows, net rows and (activity basis) the previous period's actives shifted by
    one, so no full outer join is needed; the region table joins only that per-customer result.
    """
    n = len(edges) - 1
    k = nw.col("k")
    first_d, end_d = as_day(edges[0]), as_day(edges[-1])
    # k is in [0, n) exactly when the day is in [first_d, end_d): filtering on the day keeps
    # Spark from inlining the period expression into the filter (it ran 10x slower that way)
    in_range = lambda day: (nw.col(day) >= first_d) & (nw.col(day) < end_d)  # noqa: E731
    tx = reuse(cluster(_days(lf, ["order_id"] if has_order_id else [])))
    key = ["customer_id", "order_id"] if has_order_id else ["customer_id", "d"]
    orders = (tx.group_by(*key).agg(nw.col("d").min().alias("od"), nw.col("amount").sum().alias("value"))
              .filter(nw.col("value") > 0, in_range("od")).with_columns(period_number("od", edges).alias("k"))
              .group_by("customer_id", "k").agg(nw.len().alias("n_orders"), nw.col("value").sum().alias("gross"))
              .with_columns(nw.col("n_orders").cast(F64)))
    orders = reuse(orders)
    net = (tx.filter(in_range("d")).with_columns(period_number("d", edges).alias("k"))
           .group_by("customer_id", "k").agg(nw.col("amount").sum().alias("net")))
    zero, one = nw.lit(0.0, F64), nw.lit(1.0, F64)
    cols = ["customer_id", "k", "n_orders", "gross", "net", "active", "was_active"]
    stack = [orders.with_columns(net=zero, active=one, was_active=zero).select(*cols),
             net.with_columns(n_orders=zero, gross=zero, active=zero, was_active=zero).select(*cols)]
    if activity_basis:
        stack.append(orders.with_columns((k + 1).alias("k")).filter(k < n)
                     .with_columns(n_orders=zero, gross=zero, net=zero, active=zero, was_active=one).select(*cols))
    per_cust = nw.concat(stack, how="vertical").group_by("customer_id", "k").agg(
        nw.col("n_orders", "gross", "net").sum(), nw.col("active", "was_active").max())
    if regions is None:
        per_cust = per_cust.with_columns(nw.lit("all").alias("region"))
    else:
        per_cust = per_cust.join(regions, on="customer_id", how="left").with_columns(
            nw.col("region").fill_null("unknown"))
    act, gross, n_ord, net_c = nw.col("active"), nw.col("gross"), nw.col("n_orders"), nw.col("net")
    parts = {"revenue": (net_c, "sum"), "active": (act, "sum"), "orders": (n_ord, "sum"),
             "aov_sum": (gross, "sum"), "freq_sumsq": (n_ord ** 2, "sum"), "aov_yy": (gross ** 2, "sum"),
             "aov_xy": (gross * n_ord, "sum"), "rpc_sum": (net_c * act, "sum"),
             "rpc_sumsq": (net_c ** 2 * act, "sum")}
    if activity_basis:
        parts.update({"customers": (nw.col("was_active"), "sum"),
                      "lost": (nw.col("was_active") * (1.0 - act), "sum")})
    out = _grouped(per_cust, ["region", "k"], parts).with_columns(nw.col("active").cast(nw.Int64))
    if activity_basis:   # no previous period to measure the first one's base against
        out = out.with_columns(nw.when(k > 0).then(nw.col("customers").cast(nw.Int64)).alias("customers"),
                               nw.when(k > 0).then(nw.col("lost")).alias("lost"))
    return out


# ---------------------------------------------------------------------------------- churn
def purchase_features(lf: nw.LazyFrame, as_of_d: int, has_order_id: bool = True) -> nw.LazyFrame:
    """Per customer, over orders of positive value dated on or before the as-of day: orders,
    revenue, days since last and first purchase, orders and revenue in the last 90 and 365
    days, and the change in orders between the last 90 days and the 90 before."""
    tx = cluster(_days(lf, ["order_id"] if has_order_id else []).filter(nw.col("d") <= as_of_d))
    key = ["customer_id", "order_id"] if has_order_id else ["customer_id", "d"]
    orders = (tx.group_by(*key).agg(nw.col("d").max().alias("od"), nw.col("amount").sum().alias("value"))
              .filter(nw.col("value") > 0).with_columns((as_of_d - nw.col("od")).alias("age")))
    age, value = nw.col("age"), nw.col("value")
    orders = orders.with_columns(
        ((age >= 0) & (age < 90)).cast(F64).alias("orders_90d"),
        ((age >= 0) & (age < 365)).cast(F64).alias("orders_365d"),
        ((age >= 90) & (age < 180)).cast(F64).alias("_orders_prev_90d"))
    orders = orders.with_columns((nw.col("orders_90d") * value).alias("revenue_90d"),
                                 (nw.col("orders_365d") * value).alias("revenue_365d"))
    out = orders.group_by("customer_id").agg(
        nw.len().alias("orders"), value.sum().alias("revenue"),
        age.min().alias("days_since_last_purchase"), age.max().alias("days_since_first_purchase"),
        *[nw.col(c).sum() for c in ("orders_90d", "revenue_90d", "orders_365d", "revenue_365d",
                                    "_orders_prev_90d")])
    out = out.with_columns(nw.col("orders", "days_since_last_purchase", "days_since_first_purchase").cast(F64))
    return out.with_columns(
        (nw.col("revenue") / nw.col("orders")).alias("average_order_value"),
        (nw.col("orders_90d") - nw.col("_orders_prev_90d")).alias("orders_trend_90d")
    ).drop("_orders_prev_90d")


# --------------------------------------------------------------------------- segmentation
def segmentation_features(lf: nw.LazyFrame, as_of_d: int, has_category: bool) -> nw.LazyFrame:
    """Per customer with any row on or before the as-of day: first and last purchase day (rows
    of positive amount), frequency (distinct orders with a positive row), gross revenue and
    lines of positive rows, net monetary value, last activity day, revenue of the last 365 days,
    value of returns and number of categories bought."""
    extra = ["order_id"] + (["category"] if has_category else [])
    tx = _days(lf, extra).filter(nw.col("d") <= as_of_d)
    pos = nw.col("amount") > 0
    parts = {"first_purchase_d": (nw.when(pos).then(nw.col("d")), "min"),
             "last_purchase_d": (nw.when(pos).then(nw.col("d")), "max"),
             "gross_revenue": (nw.when(pos).then(nw.col("amount")).otherwise(0.0), "sum"),
             "n_lines": (pos.cast(nw.Int64), "sum"), "monetary": (nw.col("amount"), "sum"),
             "last_activity_d": (nw.col("d"), "max"),
             "revenue_12m": (nw.when(nw.col("d") >= as_of_d - 364).then(nw.col("amount")).otherwise(0.0), "sum"),
             "returns_value": (0.0 - nw.when(~pos).then(nw.col("amount")).otherwise(0.0), "sum"),
             **_distinct_parts(nw.when(pos).then(nw.col("order_id")), "frequency")}
    if has_category:
        parts.update(_distinct_parts(nw.when(pos).then(nw.col("category")), "n_categories"))
    return _finish_distinct(_grouped(tx, ["customer_id"], parts))


def _distinct_parts(expr: nw.Expr, name: str) -> dict[str, tuple[nw.Expr, str]]:
    """:func:`_grouped` parts whose ``n_unique`` and ``max`` give the distinct non-null values of
    ``expr`` (:func:`_finish_distinct`): narwhals counts null as a value in ``n_unique`` (as
    polars does), so the null is subtracted, matching pandas' ``nunique`` on every engine."""
    return {f"{name}__n": (expr, "n_unique"), f"{name}__null": (expr.is_null().cast(nw.Int64), "max")}


def _finish_distinct(lf: nw.LazyFrame) -> nw.LazyFrame:
    names = [c[:-3] for c in lf.collect_schema().names() if c.endswith("__n")]
    return lf.with_columns(*[(nw.col(f"{c}__n") - nw.col(f"{c}__null")).alias(c) for c in names]) \
        .drop(*[f"{c}__n" for c in names], *[f"{c}__null" for c in names])


# -------------------------------------------------------------------------------- cohorts
def cohort_activity(lf: nw.LazyFrame, as_of_d: int, freq: str = "M") -> nw.LazyFrame:
    """Acquisition cohorts (calendar month "M" or quarter "Q" of the first purchase) by periods
    since acquisition: customers with a purchase (``active``), net ``revenue`` and purchase
    ``occasions`` (customer-days with a positive amount). Periods are numbered
    year * 12 + month - 1 (months) or year * 4 + quarter - 1 (quarters)."""
    if freq not in ("M", "Q"):
        raise ValueError(f"freq must be 'M' or 'Q', not {freq!r}")
    date = nw.col("date")
    month = date.dt.year().cast(nw.Int64) * 12 + date.dt.month().cast(nw.Int64) - 1
    tx = lf.select("customer_id", "amount", day_number("date").alias("d"),
                   (month if freq == "M" else month // 3).alias("p")) \
        .filter(~nw.col("customer_id").is_null(), ~nw.col("d").is_null(), nw.col("d") <= as_of_d)
    tx = reuse(cluster(tx))
    cohorts = (tx.filter(nw.col("amount") > 0).group_by("customer_id")
               .agg(nw.col("p").min().alias("cohort")))
    tx = tx.join(cohorts, on="customer_id").with_columns((nw.col("p") - nw.col("cohort")).alias("age"))
    buy = nw.col("amount") > 0
    per_cust = _finish_distinct(_grouped(tx, ["cohort", "age", "customer_id"], {
        "revenue": (nw.col("amount"), "sum"), "bought": (buy.cast(nw.Int64), "max"),
        **_distinct_parts(nw.when(buy).then(nw.col("d")), "occasions")}))
    return per_cust.group_by("cohort", "age").agg(
        nw.col("bought").sum().alias("active"), nw.col("revenue").sum(), nw.col("occasions").sum())


# ------------------------------------------------------------------------------- cleaning
def clean_transactions(lf: nw.LazyFrame, as_of: object | None = None) -> tuple[nw.LazyFrame, pd.DataFrame]:
    """A raw log already in the model's columns, cleaned with every rule counted.

    Rules, in order: rows without customer id, without a date, without an amount, and dated
    after ``as_of`` are dropped; exact duplicate rows are dropped; zero amounts and negative
    amounts (returns) are kept and counted. Returns the cleaned LazyFrame and a table of
    (rule, rows, action) whose drops balance: rows_in - dropped = rows_out.
    """
    as_of_d = as_day(as_of) if as_of is not None else None
    cid, amt, d = nw.col("customer_id"), nw.col("amount"), nw.col("_day")
    lf = lf.with_columns(day_number("date").alias("_day"))   # evaluated once per row
    no_id = cid.is_null()
    no_date = ~no_id & d.is_null()
    no_amount = ~no_id & ~d.is_null() & amt.is_null()
    late = ~no_id & ~d.is_null() & ~amt.is_null() & (d > as_of_d) if as_of_d is not None else nw.lit(False)
    counts = collect(lf.select(
        nw.len().alias("rows_in"), no_id.cast(nw.Int64).sum().alias("missing customer id"),
        no_date.cast(nw.Int64).sum().alias("missing or invalid date"),
        no_amount.cast(nw.Int64).sum().alias("missing amount"),
        late.cast(nw.Int64).sum().alias("dated after as-of"),
        (amt == 0).cast(nw.Int64).sum().alias("zero amount"),
        (amt < 0).cast(nw.Int64).sum().alias("negative amount (return)"))).iloc[0]
    kept = lf.filter(~no_id, ~d.is_null(), ~amt.is_null())
    if as_of_d is not None:
        kept = kept.filter(d <= as_of_d)
    n_kept = int(collect(kept.select(nw.len().alias("n"))).iloc[0, 0])
    cleaned = kept.drop("_day").unique()
    n_out = int(collect(cleaned.select(nw.len().alias("n"))).iloc[0, 0])
    rows = [("rows read", int(counts["rows_in"]), "read")]
    rows += [(r, int(counts[r]), "dropped") for r in ("missing customer id", "missing or invalid date",
                                                     "missing amount", "dated after as-of")]
    rows += [("exact duplicate row", n_kept - n_out, "dropped")]
    rows += [(r, int(counts[r]), "kept, counted") for r in ("zero amount", "negative amount (return)")]
    rows += [("rows out", n_out, "out")]
    report = pd.DataFrame(rows, columns=["rule", "rows", "action"])
    dropped = report.loc[report["action"] == "dropped", "rows"].sum()
    if int(counts["rows_in"]) - dropped != n_out:   # every row accounted for, or say so
        raise RuntimeError(f"cleaning does not balance: {int(counts['rows_in'])} read, {dropped} dropped, "
                           f"{n_out} out")
    return cleaned, report
