"""Touchpoints: which channels reach which customers, what contacts lead to, how complaints are
handled, what contacts cost, whether the tier policy's cadence is kept, and the contact sequences
before a first purchase and before churn.

Start with :func:`touchpoint_basis` (contacts, customers, purchases and churn of one dataset); every
analysis takes it. Settings live in ``config/touchpoints.yaml`` (:func:`load_config`); tiers,
segments and the cadence policy come from :mod:`toolkit.segmentation`. The contact log's ground
truth for tests is simulated by :mod:`toolkit.data.demo_touchpoints`.
"""
from toolkit.touchpoints.basis import TouchpointBasis, touchpoint_basis
from toolkit.touchpoints.cadence import cadence_table, customer_cadence
from toolkit.touchpoints.complaints import ComplaintChurn, churn_after_complaint, complaint_cases, complaint_rates
from toolkit.touchpoints.config import TouchpointConfig, TouchpointConfigError, check_config, load_config
from toolkit.touchpoints.contacts import (channel_kind_table, contacts_long, group_channel_table, has_outcomes,
                                          prepare_contacts, region_channel_table)
from toolkit.touchpoints.conversion import ConversionResult, conversion_by_channel
from toolkit.touchpoints.costs import channel_costs
from toolkit.touchpoints.customers import PurchaseIndex, customer_profile, policy_cadence, purchase_days, tier_order
from toolkit.touchpoints.sequences import last_contacts, sequence_table

__all__ = [
    "ComplaintChurn", "ConversionResult", "PurchaseIndex", "TouchpointBasis", "TouchpointConfig",
    "TouchpointConfigError", "cadence_table", "channel_costs", "channel_kind_table", "check_config",
    "churn_after_complaint", "complaint_cases", "complaint_rates", "contacts_long", "conversion_by_channel",
    "customer_cadence", "customer_profile", "group_channel_table", "has_outcomes", "last_contacts",
    "load_config", "policy_cadence", "prepare_contacts", "purchase_days", "region_channel_table",
    "sequence_table", "tier_order", "touchpoint_basis",
]
