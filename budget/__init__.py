"""The money: funding, mutations, staffing, commitments, payments and the ledger."""
