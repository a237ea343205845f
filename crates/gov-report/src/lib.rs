//! PDF reports rendered from evidence bundles: the SOC2 report and the executive debrief.
//! Bytes in memory in, bytes out; the font is embedded in the binary.
