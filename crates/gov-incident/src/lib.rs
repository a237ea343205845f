//! Incident engine of gov: incident lifecycle state machine and severity rules. Pure, no I/O.
