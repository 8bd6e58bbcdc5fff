"""The answer of record: what is asked (params), where (lattice), how it is computed (compute)."""
