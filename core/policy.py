"""The access policy: for every endpoint, which roles may use it and which ownership rule applies.

One table, enforced for every request before any view runs (core.web); an endpoint that is
missing from it is refused (fail closed). The view decorators stay as a second line.
"""
from __future__ import annotations

from dataclasses import dataclass

ALL = ("beheerder", "financieel", "projectleider", "lezer")
FINANCE = ("beheerder", "financieel")
ADMIN = ("beheerder",)
STATUS = ("beheerder", "financieel", "projectleider")


@dataclass(frozen=True)
class Rule:
    """`roles` None means anyone, signed in or not; `post_roles` narrows writes on a mixed page.

    `owner="project"`: a projectleider passes only for a project (view argument project_id)
    they own; the other roles in `roles` pass for every project.
    """

    roles: tuple[str, ...] | None
    post_roles: tuple[str, ...] | None = None
    owner: str | None = None

    def roles_for(self, method: str) -> tuple[str, ...] | None:
        if method not in ("GET", "HEAD", "OPTIONS") and self.post_roles is not None:
            return self.post_roles
        return self.roles


PUBLIC = Rule(None)

POLICY: dict[str, Rule] = {
    # Assets and the login steps (the second-factor steps check their own pending state).
    "static": PUBLIC,
    # For the load balancer and monitoring: no data; /metrics checks its own token (core.health).
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "health.metrics": PUBLIC,
    "reports.plotly_js": PUBLIC,
    "auth.login": PUBLIC,
    "auth.second_factor": PUBLIC,
    "auth.enrol": PUBLIC,
    "auth.logout": PUBLIC,
    "sso.start": PUBLIC,
    "sso.callback": PUBLIC,
    "auth.account_two_factor": Rule(ALL),
    # Reading: every role. The internal report version is checked in the view (finance only).
    "reports.dashboard": Rule(ALL),
    "reports.index": Rule(ALL),
    "reports.workbook": Rule(ALL),
    "reports.standalone": Rule(ALL),
    # The Word annex and the PDF are always the public version.
    "reports.word": Rule(ALL),
    "reports.pdf": Rule(ALL),
    # Open data (Fiscal Data Package): the same public figures as the report, so the same readers.
    "reports.open_data": Rule(ALL),
    "reports.snapshots": Rule(ALL, post_roles=FINANCE),
    "reports.snapshot": Rule(ALL),
    "reports.snapshot_diff": Rule(ALL),
    "projects.index": Rule(ALL),
    # The list's downloads; the internal version (?versie=intern) is checked in the view (finance only).
    "projects.export_csv": Rule(ALL),
    "projects.export_xlsx": Rule(ALL),
    "projects.detail": Rule(ALL),
    "projects.mine": Rule(("projectleider",)),
    "projects.status_update": Rule(STATUS, owner="project"),
    # Portfolio and money: finance roles.
    "projects.create": Rule(FINANCE),
    "projects.edit": Rule(FINANCE),
    "projects.organisations": Rule(FINANCE),
    "projects.organisation_create": Rule(FINANCE),
    "projects.organisation_edit": Rule(FINANCE),
    "projects.organisation_delete": Rule(FINANCE),
    "budget.index": Rule(FINANCE),
    "budget.source_new": Rule(FINANCE),
    "budget.source_edit": Rule(FINANCE),
    "budget.source_delete": Rule(FINANCE),
    "budget.mutation_new": Rule(FINANCE),
    "budget.mutation_edit": Rule(FINANCE),
    "budget.mutation_delete": Rule(FINANCE),
    "budget.kasschuif_new": Rule(FINANCE),
    "budget.kasschuif_edit": Rule(FINANCE),
    "budget.staffing_edit": Rule(FINANCE),
    "budget.staffing_delete": Rule(FINANCE),
    "budget.cost_edit": Rule(FINANCE),
    "budget.cost_delete": Rule(FINANCE),
    "budget.commitment_new": Rule(FINANCE),
    "budget.commitment_adjust": Rule(FINANCE),
    "budget.commitment_settle": Rule(FINANCE),
    "budget.settlement_withdraw": Rule(FINANCE),
    "budget.commitment_delete": Rule(FINANCE),
    "budget.payment_new": Rule(FINANCE),
    "budget.periods": Rule(FINANCE),
    "budget.period_reopen": Rule(ADMIN),
    # Subsidies after the grant: open advances, grants to settle and their term (budget.advance_views).
    "budget.advances": Rule(FINANCE),
    "budget.settlement_term": Rule(FINANCE),
    # The underspend forecast and the kasschuif it proposes (as a concept scenario).
    "budget.underspend": Rule(FINANCE),
    "budget.underspend_to_scenario": Rule(FINANCE),
    # Reporting rounds: finance roles run them; a projectleider sees the deadline on Mijn projecten.
    "rounds.index": Rule(FINANCE),
    "rounds.detail": Rule(FINANCE),
    "rounds.edit": Rule(FINANCE),
    "rounds.remind": Rule(FINANCE),
    "rounds.close": Rule(FINANCE),
    # Four eyes: finance roles decide (never their own entry: approvals.rules); the setting is the beheerder's.
    "approvals.index": Rule(FINANCE),
    "approvals.approve": Rule(FINANCE),
    "approvals.reject": Rule(FINANCE),
    "approvals.settings": Rule(ADMIN),
    "imports.index": Rule(FINANCE),
    "imports.template": Rule(FINANCE),
    "imports.export": Rule(FINANCE),
    "imports.preview": Rule(FINANCE),
    "imports.confirm": Rule(FINANCE),
    # The audit trail (internal: it names people).
    "audit.index": Rule(FINANCE),
    "audit.history": Rule(FINANCE),
    # Accounts: beheerder only.
    "users.index": Rule(ADMIN),
    "users.new": Rule(ADMIN),
    "users.detail": Rule(ADMIN),
    "users.change_role": Rule(ADMIN),
    "users.set_active": Rule(ADMIN),
    "users.set_password": Rule(ADMIN),
    "users.link_sso": Rule(ADMIN),
    # Scenarios: finance roles make, fill and adopt them; every role reads them (shareable with lezers).
    "scenarios.index": Rule(ALL, post_roles=FINANCE),
    "scenarios.detail": Rule(ALL),
    "scenarios.compare": Rule(ALL),
    "scenarios.beslisnota_xlsx": Rule(ALL),
    "scenarios.beslisnota_docx": Rule(ALL),
    # The waiting list of proposals: internal (priorities, requests), finance roles only.
    "scenarios.waiting": Rule(FINANCE),
    "scenarios.waiting_request": Rule(FINANCE),
    "scenarios.fund": Rule(FINANCE),
    "scenarios.entry_new": Rule(FINANCE),
    "scenarios.entry_delete": Rule(FINANCE),
    "scenarios.adopt": Rule(FINANCE),
    "scenarios.delete": Rule(FINANCE),
    # Personal access tokens for the API: every user makes and revokes their own.
    "tokens.index": Rule(ALL),
    "tokens.revoke": Rule(ALL),
    # The API (api.auth applies this table to the token's user; a read-only token never writes).
    "api-docs.openapi_json": PUBLIC,
    "api_docs.page": PUBLIC,
    "api_docs.swagger_file": PUBLIC,
    "api_docs.static": PUBLIC,
    "api.programmes": Rule(ALL),
    "api.programme": Rule(ALL),
    "api.figures": Rule(ALL),
    "api.projects": Rule(ALL),
    "api.project": Rule(ALL),
    "api.project_money": Rule(ALL),
    "api.snapshots": Rule(ALL),
    "api.snapshot": Rule(ALL),
    "api.snapshot_figures": Rule(ALL),
    "api.audit_trail": Rule(FINANCE),
    "api.status_update": Rule(STATUS, owner="project"),
    "api.commitment_new": Rule(FINANCE),
    "api.adjustment_new": Rule(FINANCE),
    "api.payment_new": Rule(FINANCE),
    "api.mutation_new": Rule(FINANCE),
}


def decide(endpoint: str | None, method: str, user, view_args: dict, owner_of_project) -> str:
    """'allow', 'login' (must sign in first) or 'deny' for one request.

    `owner_of_project(project_id)` returns the owner's user id (or None); passed in so this
    table stays free of database code.
    """
    rule = POLICY.get(endpoint)
    if rule is None:
        return "deny"  # fail closed: an endpoint nobody thought about is nobody's
    roles = rule.roles_for(method)
    if roles is None:
        return "allow"
    if user is None or not user.is_authenticated:
        return "login"
    if user.role not in roles:
        return "deny"
    if rule.owner == "project" and user.role == "projectleider":
        project_id = view_args.get("project_id")
        if project_id is None or owner_of_project(project_id) != user.id:
            return "deny"
    return "allow"
