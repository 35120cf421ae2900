"""True parameters of the demo company (used by :mod:`toolkit.data.demo`).

Everything the generator draws from is defined here, so the ground truth written next to the
data is exactly what the simulation used. :func:`build_params` returns the parameter set for
``regional_differences=True`` (regions differ in segment mix, churn hazard, satisfaction, churn
reasons, acquisition cost and competition) or ``False`` (every region gets the base values).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .demo_touchpoints import TouchpointParams

REGIONS = ("North", "South", "East", "West", "Central", "Coastal")
# Share of all customers living in each region (the same in both modes: sizes are not behaviour).
REGION_WEIGHTS = (0.20, 0.18, 0.17, 0.17, 0.16, 0.12)

SEGMENTS = ("enterprise_key", "enterprise_standard", "individual_regular", "individual_occasional")
SEGMENT_TYPE = ("enterprise", "enterprise", "individual", "individual")
BASE_SEGMENT_SHARES = (0.08, 0.17, 0.35, 0.40)
# Regional tilt of the segment mix (multiplied onto the base shares, then renormalised).
SEGMENT_TILT = {
    "North": (1.6, 1.2, 1.0, 0.8),
    "South": (0.8, 0.9, 1.1, 1.05),
    "East": (0.7, 0.8, 0.85, 1.3),
    "West": (1.0, 1.0, 1.15, 0.9),
    "Central": (1.1, 1.35, 0.9, 0.9),
    "Coastal": (0.7, 0.7, 1.05, 1.2),
}

# BG/NBD in WEEKLY units: purchase rate lambda ~ Gamma(shape=r, rate=alpha) (mean r/alpha per
# week); dropout probability after each repeat purchase p ~ Beta(a, b).
BGNBD = {
    "enterprise_key": dict(r=4.0, alpha=10.0, a=0.8, b=16.0),
    "enterprise_standard": dict(r=3.0, alpha=20.0, a=0.9, b=11.0),
    "individual_regular": dict(r=2.5, alpha=12.5, a=1.0, b=8.0),
    "individual_occasional": dict(r=1.5, alpha=40.0, a=1.2, b=3.5),
}
# Gamma-Gamma spend per purchase occasion: z ~ Gamma(shape=p, rate=nu), nu ~ Gamma(shape=q,
# rate=gamma); population mean spend = p * gamma / (q - 1).
GG_P, GG_Q = 10.0, 30.0
MEAN_SPEND = {
    "enterprise_key": 3000.0,
    "enterprise_standard": 600.0,
    "individual_regular": 120.0,
    "individual_occasional": 25.0,
}
GAMMA_GAMMA = {s: dict(p=GG_P, q=GG_Q, gamma=m * (GG_Q - 1.0) / GG_P) for s, m in MEAN_SPEND.items()}

CATEGORIES = ("Equipment", "Consumables", "Software", "Services", "Accessories")
CATEGORY_CODE = ("EQ", "CO", "SW", "SV", "AC")
CATEGORY_BASE_PRICE = (400.0, 15.0, 120.0, 250.0, 25.0)
SKUS_PER_CATEGORY = 12
CATEGORY_PREFS = {
    "enterprise_key": (0.30, 0.15, 0.25, 0.25, 0.05),
    "enterprise_standard": (0.30, 0.25, 0.20, 0.15, 0.10),
    "individual_regular": (0.15, 0.35, 0.15, 0.05, 0.30),
    "individual_occasional": (0.05, 0.40, 0.10, 0.05, 0.40),
}
# Lines per order = 1 + Binomial(3, p_line): 1-4 lines.
LINE_P = {
    "enterprise_key": 0.6,
    "enterprise_standard": 0.5,
    "individual_regular": 0.35,
    "individual_occasional": 0.15,
}
SALES_CHANNELS = ("online", "store", "field_sales", "phone")
SALES_CHANNEL_P = {
    "enterprise": (0.35, 0.0, 0.45, 0.20),
    "individual": (0.55, 0.35, 0.0, 0.10),
}

POTENTIAL_SHARE = 0.05
POTENTIAL_ENTERPRISE_P = 0.2

ACQ_CHANNELS = ("online_ads", "sales_team", "referral", "partner", "events")
ACQ_CHANNEL_P = {
    "enterprise": (0.05, 0.45, 0.10, 0.20, 0.20),
    "individual": (0.50, 0.08, 0.20, 0.12, 0.10),
}

GENDERS = ("female", "male", "diverse")
GENDER_P = (0.49, 0.49, 0.02)
OCCUPATIONS = ("employee", "self-employed", "manager", "civil servant", "worker", "student", "retired")
AGE_MEAN = {"individual_regular": 47.0, "individual_occasional": 38.0, "potential": 42.0}
AGE_SD = 14.0

# Explicit churn: Weibull proportional hazards in continuous time since acquisition (days).
# h(t | x) = (k / s) * (t / s)**(k - 1) * exp(x'beta);  S(t | x) = exp(-(t / s)**k * exp(x'beta)).
HAZ_SHAPE = 1.2
HAZ_SCALE_DAYS = 1550.0
HAZ_AGE_CENTRE = 45.0
HR_REGION = {"North": 1.0, "South": 1.1, "East": 1.8, "West": 1.0, "Central": 1.05, "Coastal": 0.9}
HR_ENTERPRISE = 0.6
HR_CHANNEL = {"online_ads": 1.0, "sales_team": 0.9, "referral": 0.8, "partner": 1.0, "events": 1.15}
HR_AGE_PER_10Y_INDIVIDUAL = 0.88

CHURN_CODES = ("price", "competitor", "service_quality", "product_quality", "other")
CHURN_RAW_LABELS = (
    "Price too high",
    "Switched to competitor",
    "Poor service",
    "Product quality issues",
    "Other",
)
BASE_REASON_P = (0.25, 0.20, 0.25, 0.15, 0.15)
REGION_REASON_P = {
    "East": (0.40, 0.35, 0.10, 0.08, 0.07),
    "South": (0.20, 0.15, 0.35, 0.15, 0.15),
}

# True cost of acquiring one customer (currency units) per channel, times a regional multiplier.
BASE_CAC = {"online_ads": 120.0, "sales_team": 900.0, "referral": 60.0, "partner": 300.0, "events": 450.0}
REGION_CAC_MULT = {"North": 0.9, "South": 1.0, "East": 1.3, "West": 1.0, "Central": 1.05, "Coastal": 1.15}
CAC_NOISE_SD = 0.1

# Surveys: four constructs, latent scores in standard-deviation units.
CONSTRUCTS = ("product", "service", "price", "support")
N_ITEMS = {"product": 3, "service": 3, "price": 2, "support": 2}
LATENT_CORR = 0.3  # correlation between construct latents (within a region)
LATENT_CUSTOMER_VAR = 0.5  # share of latent variance that is a persistent customer effect
ITEM_NOISE_SD = 0.6
ITEM_SHIFT = 0.5  # added before cutting so the typical answer is 3-4
LIKERT_CUTS = (-1.5, -0.5, 0.5, 1.5)
DRIVER_WEIGHTS = {"product": 0.35, "service": 0.25, "price": 0.20, "support": 0.10}
PRECHURN_DAYS_SURVEY = 180
PRECHURN_SHIFT = -0.7
NPS_SAT_CORR = 0.8
SURVEY_RATE = 0.08
SURVEY_MISSING_P = 0.02
SURVEY_OUT_OF_RANGE = {"0": 6, "9": 6}
REGION_LATENT_MEANS = {
    "North": {"product": 0.8, "service": 0.8, "price": 0.8, "support": 0.8},
    "East": {"product": 0.0, "service": 0.0, "price": -0.4, "support": 0.0},
}

# Contact log: simulated around the demo's own customers and purchases by
# toolkit.data.demo_touchpoints.simulate_interactions with these parameters (its documented defaults
# unless named here): complaints a little more often than the default and, in the 120 days before an
# explicit churn, complaints 5 and service contacts 2.5 times as often, those service contacts resolved
# 60% of the time (the early-warning signal the churn model and action plan read).
TOUCHPOINTS = TouchpointParams(complaints_per_year=0.3, prechurn_surge_days=120,
                               prechurn_surge_factor={"complaint": 5.0, "service": 2.5}, prechurn_service_resolved=0.6)

# Competitors per region: (name, market_share, price_index, growth).
BASE_MARKET = (("Norvex", 0.22, 1.02, 0.04), ("Alturo", 0.15, 0.97, 0.03), ("Kestrel", 0.08, 1.10, 0.06))
REGION_MARKET = {
    "North": (("Norvex", 0.18, 1.05, 0.02), ("Alturo", 0.12, 1.00, 0.03), ("Fjordline", 0.07, 1.12, 0.05)),
    "East": (("Valtrix", 0.26, 0.85, 0.28), ("Norvex", 0.17, 1.01, 0.02), ("Alturo", 0.10, 0.98, 0.01)),
    "Coastal": (("Marisol", 0.20, 0.95, 0.07), ("Norvex", 0.14, 1.03, 0.03), ("Kestrel", 0.09, 1.08, 0.05)),
}


@dataclass(frozen=True)
class Params:
    regional_differences: bool
    segment_shares: dict  # region -> tuple of 4 shares
    region_log_hr: dict  # region -> log hazard ratio vs North
    reason_p: dict  # region -> tuple over CHURN_CODES
    cac: dict  # region -> channel -> CAC
    latent_means: dict  # region -> construct -> mean
    market: dict  # region -> tuple of competitor rows


def build_params(regional_differences: bool) -> Params:
    shares, loghr, reasons, cac, means, market = {}, {}, {}, {}, {}, {}
    base = np.array(BASE_SEGMENT_SHARES)
    for reg in REGIONS:
        if regional_differences:
            s = base * np.array(SEGMENT_TILT[reg])
            s = s / s.sum()
            shares[reg] = tuple(round(float(x), 6) for x in s)
            loghr[reg] = math.log(HR_REGION[reg])
            reasons[reg] = REGION_REASON_P.get(reg, BASE_REASON_P)
            cac[reg] = {c: round(v * REGION_CAC_MULT[reg], 2) for c, v in BASE_CAC.items()}
            lm = {c: 0.0 for c in CONSTRUCTS}
            lm.update(REGION_LATENT_MEANS.get(reg, {}))
            means[reg] = lm
            market[reg] = REGION_MARKET.get(reg, BASE_MARKET)
        else:
            shares[reg] = tuple(float(x) for x in BASE_SEGMENT_SHARES)
            loghr[reg] = 0.0
            reasons[reg] = BASE_REASON_P
            cac[reg] = dict(BASE_CAC)
            means[reg] = {c: 0.0 for c in CONSTRUCTS}
            market[reg] = BASE_MARKET
    # renormalise rounded shares exactly
    for reg in REGIONS:
        s = np.array(shares[reg], dtype=float)
        shares[reg] = tuple(float(x) for x in s / s.sum())
    return Params(regional_differences, shares, loghr, reasons, cac, means, market)


# ---------------------------------------------------------------------------------------------
# The wider customer network (toolkit.data.demo_network): partners and suppliers, one row per
# quarter from the start date's quarter to the end date's. Independent of the customers and of
# regional_differences (the network is the same in both modes); sales through partners are
# indirect sales to end customers who are not in customers.csv.
# ---------------------------------------------------------------------------------------------
# Partners: (id, name, type, region, quarterly target at 20,000 customers in EUR, attainment at the
# first quarter, attainment at the last quarter). Attainment moves linearly between the two; the
# target grows by PARTNER_TARGET_GROWTH per quarter and scales with n_customers / 20,000.
PARTNERS = (
    ("PT01", "Nordic Office Supply", "reseller", "North", 180_000.0, 1.12, 1.12),
    ("PT02", "Polar Systems", "distributor", "North", 240_000.0, 1.08, 1.08),
    ("PT03", "Fjell Retail", "reseller", "North", 90_000.0, 1.15, 1.15),
    ("PT04", "Sunvale Trading", "distributor", "South", 210_000.0, 1.07, 1.07),
    ("PT05", "Meridian Partners", "reseller", "South", 120_000.0, 1.10, 1.10),
    ("PT06", "Costa Verde IT", "agent", "South", 60_000.0, 1.18, 1.18),
    ("PT07", "Eastgate Distribution", "distributor", "East", 230_000.0, 0.78, 0.78),   # below target
    ("PT08", "Orient Office", "reseller", "East", 110_000.0, 1.06, 1.06),
    ("PT09", "Dawn Solutions", "agent", "East", 70_000.0, 1.09, 1.09),
    ("PT10", "Westmark Supplies", "distributor", "West", 200_000.0, 1.11, 1.11),
    ("PT11", "Pacific Rim Traders", "reseller", "West", 130_000.0, 0.86, 0.86),      # below target
    ("PT12", "Sundown Services", "agent", "West", 50_000.0, 1.13, 1.13),
    ("PT13", "Midland Channel", "distributor", "Central", 220_000.0, 1.07, 1.07),
    ("PT14", "Heartland Resellers", "reseller", "Central", 100_000.0, 1.10, 1.10),
    ("PT15", "Core Office Partners", "agent", "Central", 80_000.0, 1.14, 1.14),
    ("PT16", "Harbour Distribution", "distributor", "Coastal", 160_000.0, 1.10, 0.70),  # sliding below
    ("PT17", "Seaside Office", "reseller", "Coastal", 90_000.0, 1.12, 1.12),
    ("PT18", "Tidewater Agents", "agent", "Coastal", 40_000.0, 1.16, 1.16),
)
PARTNER_TARGET_GROWTH = 0.02   # per quarter
PARTNER_SALES_NOISE_SD = 0.05  # sales = target x attainment x exp(N(0, sd^2) - sd^2 / 2): mean = target x attainment
PARTNER_DUPLICATE_ROWS = 1     # injected exact duplicate rows of partners.csv (the loader drops them, counted)

# Suppliers (company-wide, no region): (id, name, what they supply, on-time share, defect rate,
# price index with 100 = market). Each quarter: on-time = Binomial(deliveries, p) / deliveries,
# defect rate = Binomial(units inspected, d) / units inspected, price index = mean + N(0, sd^2).
SUPPLIERS = (
    ("SU01", "Acme Components", "Equipment", 0.975, 0.008, 98.0),
    ("SU02", "Brightline Packaging", "Consumables", 0.985, 0.006, 101.0),
    ("SU03", "Cobalt Software Licensing", "Software", 0.990, 0.004, 104.0),
    ("SU04", "Delta Freight Parts", "Equipment", 0.880, 0.010, 95.0),        # late deliveries
    ("SU05", "Evergreen Consumables", "Consumables", 0.972, 0.035, 92.0),    # defects
    ("SU06", "Fulcrum Accessories", "Accessories", 0.980, 0.009, 118.0),     # expensive
    ("SU07", "Granite Service Tools", "Services", 0.910, 0.028, 100.0),      # late and defects
    ("SU08", "Helix Electronics", "Equipment", 0.978, 0.012, 103.0),
)
SUPPLIER_DELIVERIES_PER_QUARTER = 200
SUPPLIER_UNITS_INSPECTED_PER_QUARTER = 2000
SUPPLIER_PRICE_NOISE_SD = 1.5
SUPPLIER_PERCENT_ROWS = 1   # injected rows whose on-time share is written as a percentage (97.5 for 0.975)
