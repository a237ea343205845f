DROP TABLE trace_verifications;
