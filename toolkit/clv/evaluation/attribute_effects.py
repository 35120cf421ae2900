"""What customer attributes do to purchasing, loyalty and spend: covariate models on the calibration data.

:func:`attribute_effects` fits BG/NBD with the attributes (region, customer type, acquisition
channel: :data:`COVARIATE_CANDIDATES` with at least two levels) in the purchase rate and the
dropout probability, and Gamma-Gamma with them in the spend per purchase
(:mod:`toolkit.clv.models.covariates`), and returns their multipliers against each attribute's reference
level (:class:`AttributeEffects`); fits that find no maximum, or during which a parameter went to a
limit, are recorded, never dropped silently.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.clv.models.base import BoundaryWarning, ConvergenceError
from toolkit.clv.models.covariates import BetaGeoCovariates, GammaGammaCovariates, covariate_effects

__all__ = ["COVARIATE_CANDIDATES", "AttributeEffects", "attach_attributes", "attribute_effects", "covariate_columns"]

COVARIATE_CANDIDATES = ("region", "customer_type", "acquisition_channel")


def covariate_columns(customers: pd.DataFrame | None, candidates=COVARIATE_CANDIDATES,
                      min_levels: int = 2) -> list[str]:
    """The candidate attribute columns present in ``customers`` with at least ``min_levels`` levels."""
    if customers is None:
        return []
    return [c for c in candidates if c in customers.columns and customers[c].dropna().nunique() >= min_levels]


def attach_attributes(rfm: pd.DataFrame, customers: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame,
                                                                                                pd.DataFrame, int]:
    """The customers of ``rfm`` (indexed by customer id) that have every attribute in ``columns``.

    Returns (rfm rows kept, their attributes indexed like them, number of customers dropped).
    """
    attrs = customers.drop_duplicates("customer_id").set_index("customer_id")[columns] \
        if "customer_id" in customers.columns else customers[columns]
    attrs = attrs.reindex(rfm.index)
    keep = attrs.notna().all(axis=1).to_numpy()
    kept = rfm.loc[keep].copy()
    kept.attrs = dict(rfm.attrs)
    return kept, attrs.loc[keep], int((~keep).sum())


@dataclass
class AttributeEffects:
    """The covariate fits and their effects. ``applicable`` False when no attribute has two levels.

    ``columns``: the attributes used; ``n_used`` / ``n_dropped``: customers with all of them / left
    out; ``effects``: one row per process (purchase, dropout, spend), attribute and level
    (:func:`toolkit.clv.models.covariates.covariate_effects`), None when no fit found a maximum;
    ``failures`` / ``warnings``: per model, why it found no maximum / which parameter went to a
    limit; ``references``: per fitted model, the reference level of each attribute (the most common
    level among the customers that model sees, so BG/NBD and Gamma-Gamma may differ).
    """

    applicable: bool
    columns: list[str] = field(default_factory=list)
    n_used: int = 0
    n_dropped: int = 0
    effects: pd.DataFrame | None = None
    failures: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    references: dict[str, dict[str, object]] = field(default_factory=dict)


def _fit(model, *args):
    """Fit, turning a ConvergenceError / ValueError into a message and recording BoundaryWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BoundaryWarning)
        try:
            model.fit(*args)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            return None, str(exc), None
    boundary = [str(w.message) for w in caught if issubclass(w.category, BoundaryWarning)]
    return model, None, "; ".join(boundary) or None


def attribute_effects(rfm: pd.DataFrame, customers: pd.DataFrame | None, level: float = 0.95,
                      candidates=COVARIATE_CANDIDATES) -> AttributeEffects:
    """Fit BG/NBD with the attributes in purchase and dropout and Gamma-Gamma with them in spend.

    ``rfm``: the calibration summary (indexed by customer id); ``customers``: the customer table.
    Attributes with at least two levels among ``candidates`` are used; customers without all of them
    are dropped. Fits that find no maximum are reported in ``failures``; fits during which a
    parameter went to a limit are kept and noted in ``warnings``.
    """
    cols = covariate_columns(customers, candidates)
    if not cols:
        return AttributeEffects(False)
    data, attrs, dropped = attach_attributes(rfm, customers, cols)
    out = AttributeEffects(True, cols, len(data), dropped)
    fitted = []
    for name, model in (("BG/NBD", BetaGeoCovariates(purchase=cols, dropout=cols)),
                        ("Gamma-Gamma", GammaGammaCovariates(spend=cols))):
        m, err, warn = _fit(model, data, attrs)
        if err is not None:
            out.failures[name] = err
            continue
        if warn:
            out.warnings[name] = warn
        fitted.append(m)
        out.references[name] = {k: v for design in m.designs_.values() for k, v in design.references_.items()}
    if fitted:
        out.effects = covariate_effects(*fitted, level=level)
    return out
