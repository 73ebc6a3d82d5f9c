"""Budget services: each loads the state a rule needs (budget.rules), calls it, writes and audits.

Split by subject; callers use `budget.services.<name>` for all of them.
"""
from budget.ledger import commitment_totals, commitment_year_amounts
from budget.services.commitments import (
    add_commitment,
    add_payment,
    adjust_commitment,
    delete_commitment,
)
from budget.services.funding import (
    add_funding_source,
    delete_funding_source,
    set_allocation,
    set_allocations,
    update_funding_source,
)
from budget.services.mutations import (
    add_kasschuif,
    add_mutation,
    delete_mutation,
    kasschuif_rows,
    update_kasschuif,
    update_mutation,
)
from budget.services.periods import (
    check_open,
    close_period,
    closed_through,
    period_history,
    reopen_period,
    reopenings,
)
from budget.services.settlements import (
    set_settlement_term,
    settle_commitment,
    settled_on,
    withdraw_settlement,
)
from budget.services.staffing import (
    add_staffing_cost,
    add_staffing_reservation,
    delete_staffing_cost,
    delete_staffing_reservation,
    set_staffing_reservation,
    update_staffing_cost,
)

__all__ = [
    "add_commitment", "add_funding_source", "add_kasschuif", "add_mutation", "add_payment", "add_staffing_cost",
    "add_staffing_reservation",
    "adjust_commitment", "check_open", "close_period", "closed_through", "commitment_totals",
    "commitment_year_amounts", "delete_commitment",
    "delete_funding_source", "delete_mutation", "delete_staffing_cost", "delete_staffing_reservation",
    "kasschuif_rows", "period_history", "reopen_period", "reopenings", "set_allocation", "set_allocations",
    "set_settlement_term", "set_staffing_reservation", "settle_commitment", "settled_on", "update_funding_source",
    "update_kasschuif", "update_mutation", "update_staffing_cost", "withdraw_settlement",
]
