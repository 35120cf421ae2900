"""The customer data model: eight tables, their columns, types and allowed values.

Every dataset is mapped onto these tables by a dataset spec (see :mod:`toolkit.data.spec`).
A dataset may lack any table; a notebook states which ones it needs with
:meth:`toolkit.data.Dataset.require`.

Column kinds: ``id`` (string identifier), ``date`` (datetime64, day precision or finer),
``float``, ``int``, ``bool``, ``category`` (string with an optional closed set of values),
``str`` (free text).
"""
from __future__ import annotations

from dataclasses import dataclass, field

CUSTOMER_TYPES = ("enterprise", "individual")
CHURN_REASONS = ("price", "competitor", "service_quality", "product_quality", "other")
CONTACT_CHANNELS = ("visit", "phone", "e-mail", "messaging", "social")
CONTACT_KINDS = ("sales", "service", "complaint", "feedback")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    doc: str = ""
    lower: float | None = None
    upper: float | None = None
    unit: str | None = None   # a duration's model unit; a spec's ``unit:`` converts the source into it


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    extra_prefix: str = ""

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


TRANSACTIONS = Table(
    "transactions",
    (
        Column("customer_id", "id", doc="customer identifier"),
        Column("order_id", "id", doc="order / invoice identifier; derived from customer and date when absent"),
        Column("date", "date", doc="order date"),
        Column("amount", "float",
               doc="net revenue of the row in the dataset's currency; returns are negative. A log without "
                   "amounts (purchase counts only) loads, and the reports that need money say so"),
        Column("quantity", "float", required=False, doc="units"),
        Column("product", "str", required=False, doc="product code or name"),
        Column("category", "category", required=False, doc="product category"),
        Column("channel", "category", required=False, doc="sales channel"),
    ),
    doc="One row per order line (or per order). Net revenue; returns and cancellations negative.",
)

CUSTOMERS = Table(
    "customers",
    (
        Column("customer_id", "id"),
        Column("region", "category", doc="sales region (or country)", required=False),
        Column("customer_type", "category", allowed=CUSTOMER_TYPES, doc="enterprise | individual", required=False),
        Column("acquisition_date", "date", doc="date the customer was won (first purchase or contract start)", required=False),
        Column("acquisition_channel", "category", doc="channel the customer was won through", required=False),
        Column("age", "float", required=False, lower=0, upper=120),
        Column("gender", "category", required=False),
        Column("income", "float", required=False, lower=0),
        Column("occupation", "category", required=False),
        Column("churn_date", "date", required=False, doc="date the customer left (contractual data)"),
        Column("churn_reason", "category", required=False, allowed=CHURN_REASONS),
        Column("churned", "bool", required=False, doc="explicit churn flag; derived from churn_date when absent"),
        Column("tenure", "float", required=False, lower=0, unit="months",
               doc="months as a customer (contractual data); a source in days, weeks or years says `unit:`"),
        Column("segment", "category", required=False, doc="the dataset's own segment label, if any"),
    ),
    key=("customer_id",),
    doc="One row per customer. Spec may add further attribute columns under `extra`.",
)

MARKETING_SPEND = Table(
    "marketing_spend",
    (
        Column("period", "date", doc="first day of the period (month or quarter)"),
        Column("region", "category"),
        Column("channel", "category"),
        Column("spend", "float", lower=0, doc="acquisition marketing spend in the dataset's currency"),
    ),
    key=("period", "region", "channel"),
)

SURVEYS = Table(
    "surveys",
    (
        Column("customer_id", "id"),
        Column("response_date", "date", required=False),
        Column("overall_satisfaction", "float", lower=1, upper=5, doc="overall satisfaction, 1-5"),
        Column("nps", "float", required=False, lower=0, upper=10, doc="likelihood to recommend, 0-10"),
        Column("comment", "str", required=False),
    ),
    doc="One row per response. Likert items (1-5) are further columns named `q_<construct>_<n>` "
    "(mapped under `items` in the spec).",
    extra_prefix="q_",
)

INTERACTIONS = Table(
    "interactions",
    (
        Column("customer_id", "id"),
        Column("date", "date"),
        Column("channel", "category", allowed=CONTACT_CHANNELS),
        Column("kind", "category", allowed=CONTACT_KINDS),
        Column("outcome", "category", required=False),
    ),
    doc="The customer-tracking (contact) log.",
)

MARKET = Table(
    "market",
    (
        Column("region", "category"),
        Column("competitor", "category"),
        Column("market_share", "float", lower=0, upper=1),
        Column("price_index", "float", lower=0, doc="competitor price relative to ours (1 = equal)"),
        Column("growth", "float", doc="competitor's yearly revenue growth rate"),
        Column("period", "date", required=False),
    ),
)

PARTNERS = Table(
    "partners",
    (
        Column("partner_id", "id", doc="partner identifier (reseller, distributor, agent)"),
        Column("partner_name", "str", required=False, doc="partner name; the id is shown when absent"),
        Column("partner_type", "category", required=False, doc="kind of partner, e.g. reseller or distributor"),
        Column("region", "category", doc="sales region the partner sells in"),
        Column("period", "date", required=False, doc="first day of the period (month, quarter or year)"),
        Column("sales", "float", lower=0, doc="sales through the partner in the period, in the dataset's currency"),
        Column("target", "float", lower=0, doc="the partner's sales target for the period, in the dataset's currency"),
    ),
    key=("partner_id", "period"),
    doc="Optional. Sales through each partner against its target, one row per partner (and period).",
)

SUPPLIERS = Table(
    "suppliers",
    (
        Column("supplier_id", "id", doc="supplier identifier"),
        Column("supplier_name", "str", required=False, doc="supplier name; the id is shown when absent"),
        Column("category", "category", required=False, doc="what the supplier supplies (e.g. a product category)"),
        Column("region", "category", required=False, doc="region the supplier serves; absent: company-wide"),
        Column("period", "date", required=False, doc="first day of the period (month, quarter or year)"),
        Column("on_time_share", "float", lower=0, upper=1, doc="share of deliveries on time, 0-1"),
        Column("defect_rate", "float", lower=0, upper=1, doc="share of delivered units defective, 0-1"),
        Column("price_index", "float", required=False, lower=0,
               doc="the supplier's price relative to the market (100 = market price)"),
    ),
    key=("supplier_id", "period"),
    doc="Optional. Delivery, quality and price of each supplier, one row per supplier (and period).",
)

TABLES: dict[str, Table] = {
    t.name: t for t in (TRANSACTIONS, CUSTOMERS, MARKETING_SPEND, SURVEYS, INTERACTIONS, MARKET, PARTNERS, SUPPLIERS)
}


@dataclass
class ModelDoc:
    """Markdown description of the data model (used in README and the data-quality report)."""

    tables: dict[str, Table] = field(default_factory=lambda: dict(TABLES))

    def markdown(self) -> str:
        lines = []
        for t in self.tables.values():
            lines.append(f"**{t.name}** — {t.doc}".rstrip(" —"))
            lines.append("")
            lines.append("| column | type | required | meaning |")
            lines.append("|---|---|---|---|")
            for c in t.columns:
                allowed = f" ({' / '.join(c.allowed)})" if c.allowed else ""
                lines.append(f"| {c.name} | {c.kind} | {'yes' if c.required else 'no'} | {c.doc}{allowed} |")
            lines.append("")
        return "\n".join(lines)
