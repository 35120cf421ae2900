"""One set of transaction aggregations, executed by DuckDB (default), Spark or pandas."""
from toolkit.engine.aggregations import (clean_transactions, cohort_activity, period_transaction_stats,
                                         purchase_features, rfm_frame, segmentation_features, tracking_counts)
from toolkit.engine.core import (ENGINES, as_day, collect, day_number, duckdb_connection, engine_of,
                                 model_columns, period_number, resolve_engine, scan, scan_transactions,
                                 spark_session)

__all__ = ["ENGINES", "as_day", "clean_transactions", "cohort_activity", "collect", "day_number",
           "duckdb_connection", "engine_of", "model_columns", "period_number", "period_transaction_stats",
           "purchase_features", "resolve_engine", "rfm_frame", "scan", "scan_transactions", "segmentation_features",
           "spark_session", "tracking_counts"]
