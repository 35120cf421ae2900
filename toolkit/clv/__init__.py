"""Customer lifetime value: RFM summaries, buy-till-you-die and spend models, CLV and business figures.

    from toolkit.clv import rfm_summary, BetaGeo, ParetoNBD, GammaGamma
    rfm = rfm_summary(transactions, observation_end="1998-06-30", calibration_end="1997-09-30")
    bg = BetaGeo().fit(rfm)                 # print(bg.summary())
    gg = GammaGamma().fit(rfm)
    clv = gg.customer_lifetime_value(bg, rfm, horizon=12, discount_rate=0.01, time_unit="M")

Report building blocks: ``holdout`` (tracking, holdout errors), ``scorecard`` (holdout_scorecard:
evaluate, rank and recommend models), ``report`` (purchase occasions, CLV table, summaries),
``cashflow`` (DERT, cash flows per segment, margins), ``units`` (time units, yearly rates),
``spend`` (frequency-spend diagnostics), ``plots``.
"""
from toolkit.clv.models.base import BaseModel, BoundaryWarning, ConvergenceError, FitDiagnostics
from toolkit.clv.models.bgbb import BetaGeoBetaBinom
from toolkit.clv.models.bgnbd import BetaGeo, ModifiedBetaGeo
from toolkit.clv.valuation.business import cac, clv_cac, formula_cltv, value_tiers
from toolkit.clv.valuation.cashflow import dert
from toolkit.clv.models.gammagamma import GammaGamma
from toolkit.clv.models.ggompertz import GGompertzNBD
from toolkit.clv.models.paretonbd import ParetoNBD
from toolkit.clv.evaluation.scorecard import holdout_scorecard
from toolkit.clv.models.simulate import simulate_bgnbd, simulate_paretonbd, simulate_transactions
from toolkit.clv.models.special import hyp2f1, log_hyp2f1
from toolkit.clv.summary import TIME_UNITS, rfm_summary, unit_days
from toolkit.clv.valuation.value import customer_lifetime_value, discount_factors

__all__ = [
    "BaseModel", "BetaGeo", "BetaGeoBetaBinom", "BoundaryWarning", "ConvergenceError", "FitDiagnostics", "GammaGamma", "GGompertzNBD", "ModifiedBetaGeo",
    "ParetoNBD", "TIME_UNITS", "cac", "clv_cac", "customer_lifetime_value", "dert", "discount_factors",
    "formula_cltv", "holdout_scorecard", "hyp2f1", "log_hyp2f1", "rfm_summary", "simulate_bgnbd", "simulate_paretonbd",
    "simulate_transactions", "unit_days", "value_tiers",
]
