//! Policy engine of gov: rule validation, scope resolution, arbitration. Pure, no I/O.
