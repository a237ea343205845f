//! Regression tripwire engine of gov: sliding-window KPI drift detection. Pure, no I/O.
