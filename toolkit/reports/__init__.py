"""What each report says: sentences (and, in time, tables and figures) built from results.

One module per report. Every function here takes results and returns text that a notebook
shows as it is, with data values already escaped; the wording, including its conditions, is
tested directly (tests/test_report_wording.py) instead of only by running the notebooks.
"""
