"""One set of transaction aggregations, executed by DuckDB (default), Spark or pandas."""
from toolkit.engine.aggregations import (activity_by_month, as_log, category_amounts,
                                         cohort_activity, date_bounds, drop_customer_days, first_day_amount,
                                         has_values, histogram, log_columns, log_totals, median,
                                         net_revenue, null_counts, occasion_counts, order_groups,
                                         period_cohort_revenue, period_index, period_key, period_transaction_stats,
                                         purchase_dates, purchase_features, purchasers, quantiles,
                                         return_only_days, rfm_frame, segmentation_features, tracking_counts,
                                         transaction_log, transaction_totals, weighted_rate)
from toolkit.engine.core import (DUCKDB_DEFAULTS, ENGINES, EngineSettings, as_day, collect, day_number, day_to_date, duckdb_connection, engine_of,
                                 model_columns, period_number, resolve_engine, scan,
                                 spark_session)

__all__ = ["DUCKDB_DEFAULTS", "ENGINES", "EngineSettings", "activity_by_month", "as_day", "as_log", "category_amounts",
           "cohort_activity", "collect", "date_bounds", "day_number", "day_to_date", "drop_customer_days", "duckdb_connection",
           "engine_of", "first_day_amount", "has_values", "histogram", "log_columns", "log_totals", "median",
           "model_columns", "net_revenue", "null_counts", "occasion_counts", "order_groups", "period_cohort_revenue", "period_index",
           "period_key", "period_number", "period_transaction_stats", "purchase_dates", "purchase_features",
           "purchasers", "quantiles", "resolve_engine", "return_only_days", "rfm_frame", "scan",
           "segmentation_features", "spark_session", "tracking_counts", "transaction_log", "transaction_totals",
           "weighted_rate"]
