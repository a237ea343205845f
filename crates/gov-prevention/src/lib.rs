//! Prevention engine of gov: evaluates a run step against a frozen policy snapshot. Pure, no I/O.
