"""From fitted models to value: discounting, cash flows, time units, business figures, per-customer CLV and its intervals."""
