"""The two customer-value figures the reports show, named one way everywhere.

* **Formula CLTV** (KPI scorecard): purchase frequency x average order value x expected lifespan
  (1 / churn rate) — revenue over a customer's whole expected lifetime, undiscounted, before margin;
* **model CLV** (CLV report): the discounted gross margin of the purchases a fitted model expects
  over a stated horizon (``basis``: "12 months", or "all future purchases (DERT)").

They answer different questions and differ by design, often by an order of magnitude; a report
that shows both says so with :func:`two_values_sentence`.
"""
from __future__ import annotations

CLTV_LABEL = "Formula CLTV"
CLTV_DEFINITION = ("purchase frequency x average order value x average lifespan (1 / churn rate), in periods: "
                   "revenue over the whole expected lifetime, undiscounted and before margin (not the CLV report's "
                   "model CLV)")


def horizon_words(basis: str | None) -> str:
    """ "next 12 months", "all future purchases (DERT)", or "" when the horizon is not known."""
    if not basis:
        return ""
    return f"next {basis}" if basis[:1].isdigit() else basis


def clv_label(basis: str | None, mean: bool = True) -> str:
    """The model CLV's name with its horizon, e.g. "Mean model CLV, next 12 months (CLV report)"."""
    words = horizon_words(basis)
    return f"{'Mean model' if mean else 'Model'} CLV{', ' + words if words else ''} (CLV report)"


def two_values_sentence(basis: str | None) -> str:
    """Why formula CLTV and model CLV, shown side by side, differ (Markdown, no data values)."""
    words = horizon_words(basis)
    horizon = f" over the **{words}**" if words else ""
    return (f"Two value figures appear here and measure different things. **{CLTV_LABEL}** (KPI scorecard) is "
            "purchase frequency x average order value x expected lifespan (1 / churn rate): revenue over a "
            "customer's whole expected lifetime, undiscounted and before margin. **Model CLV** (CLV report) is the "
            f"discounted gross margin of the purchases a fitted purchase model expects{horizon}. The formula figure "
            "is therefore typically many times larger; rank and budget customers by model CLV, and use formula "
            "CLTV to compare regions on the textbook KPI.")
