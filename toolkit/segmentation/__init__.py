"""Customer segmentation: RFM, value tiers, lifecycle, demographics, clusters and personas,
regional analysis, customer-base audit and a differentiated strategy.

Start with :func:`segment_dataset` (everything at once) or the building blocks below; settings
live in ``config/segmentation.yaml`` (:func:`load_config`).
"""
from toolkit.segmentation import config
from toolkit.segmentation.clustering import ClusterFeatures, CustomerSegmenter, signed_log1p
from toolkit.segmentation.config import ConfigError, load_config
from toolkit.segmentation.features import (category_revenue, customer_features, feature_summary,
                                           features_from_dataset)
from toolkit.segmentation.lifecycle import STAGES, lifecycle_stage, stage_summary
from toolkit.segmentation.personas import persona_labels, persona_names, personas
from toolkit.segmentation.pipeline import Segmentation, published_clv, segment_customers, segment_dataset
from toolkit.segmentation.regional import (cohort_revenue, crosstab, decile_table, gini, leading_segments,
                                           lorenz_curve, mix_tests, pool_regions, region_mix_all,
                                           region_segment_table, segment_mix_test, spend_by_region,
                                           spend_by_region_test, top_share)
from toolkit.segmentation.rfm import assign_segments, check_coverage, quantile_score, rfm_scores, segment_summary
from toolkit.segmentation.strategy import contact_cadence, followup_list, last_contacts, strategy_table, tier_strategy
from toolkit.segmentation.tiers import (customer_types, demographic_segments, income_band_ranges, profile_by,
                                        tier_summary, value_tiers)

__all__ = [
    "ClusterFeatures", "ConfigError", "CustomerSegmenter", "STAGES", "Segmentation", "assign_segments",
    "category_revenue", "check_coverage", "cohort_revenue", "contact_cadence", "crosstab",
    "customer_features", "customer_types", "decile_table", "demographic_segments", "feature_summary",
    "features_from_dataset", "followup_list", "gini", "income_band_ranges", "last_contacts",
    "leading_segments", "lifecycle_stage", "load_config", "lorenz_curve", "mix_tests", "persona_labels",
    "persona_names", "personas", "pool_regions", "profile_by", "published_clv", "quantile_score",
    "region_mix_all", "region_segment_table", "rfm_scores", "segment_customers", "segment_dataset",
    "segment_mix_test", "segment_summary", "signed_log1p", "spend_by_region", "spend_by_region_test",
    "stage_summary", "strategy_table", "tier_strategy", "tier_summary", "top_share", "value_tiers",
]
