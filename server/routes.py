"""The single readable table of every route: the API under /api/v1, and its pages."""

from __future__ import annotations

from server.admin import handlers as admin
from server.agents import handlers as agents
from server.alert_rules import handlers as alert_rules
from server.audit import handlers as audit
from server.auth import handlers as auth
from server.auth import pages as auth_pages
from server.billing import handlers as billing
from server.budgets import handlers as budgets
from server.cloud_accounts import handlers as cloud_accounts
from server.costs import handlers as costs
from server.events import handlers as events
from server.http import pages
from server.http.routing import Access, Route
from server.incidents import handlers as incidents
from server.jobs import handlers as jobs
from server.metrics import handlers as metrics
from server.monitors import handlers as monitors
from server.notifications import handlers as notifications
from server.orgs import handlers as orgs
from server.overview import handlers as overview
from server.resources import handlers as resources
from server.status_pages import handlers as status_pages
from server.status_pages import pages as status_page_pages
from server.users import handlers as users
from shared.api import admin as admin_api
from shared.api import agents as agents_api
from shared.api import alert_rules as alert_rules_api
from shared.api import audit as audit_api
from shared.api import auth as auth_api
from shared.api import billing as billing_api
from shared.api import budgets as budgets_api
from shared.api import cloud_accounts as cloud_accounts_api
from shared.api import costs as costs_api
from shared.api import events as events_api
from shared.api import incidents as incidents_api
from shared.api import jobs as jobs_api
from shared.api import metrics as metrics_api
from shared.api import monitors as monitors_api
from shared.api import notifications as notifications_api
from shared.api import orgs as orgs_api
from shared.api import overview as overview_api
from shared.api import resources as resources_api
from shared.api import status_pages as status_pages_api
from shared.api import users as users_api
from shared.api.common import Message, Page, PageQuery, Role

PUBLIC = Access.public
AGENT = Access.agent
PLATFORM = Access.platform_admin
ADMIN = Role.admin
SUPERADMIN = Role.superadmin
IMAGE = "image/*"
_ACTION_NOTES = (
    "EC2 instances and RDS databases only; other types, a terminated resource, a state the "
    "action does not apply to, or an action in progress are a 409. The action is carried out "
    "in the background: its state changes come as `resource.state` events, its end as a "
    "`resource.action` event and in GET /resources/{id}/actions. A provider refusal (AWS "
    "cannot stop some kinds of database) ends it as failed with AWS's reason."
)

STATUS = "status_pages"
_SUSPEND_NOTES = (
    "`plan` is a plan's code (an unknown one is a 400); `modules` replaces the modules granted "
    "on top of the plan. Suspending takes effect at once: every token of the organization "
    "(access tokens, API keys, agent tokens) gets 403, its monitors are no longer checked and "
    "its public status pages say it is suspended (403). Reactivating resumes all of it. The "
    "organization you are signed in to cannot be suspended (409)."
)
_PUBLIC_NOTES = (
    "No authentication. A page that does not exist or is disabled, or an organization "
    "without the status_pages module, is a 404; a suspended organization's page a 403; a "
    "page that requires a token is a 401 "
    "without `?token=`. The same page as HTML is at `/status/{org_slug}[/{client_slug}]`."
)
_SUBSCRIBE_NOTES = (
    "Answers 202 with the same message whether the address is new, pending or subscribed "
    "already. A confirmation link is emailed (double opt-in); once confirmed, the address "
    "is emailed of incidents opened and resolved on the page's monitors and of the page's "
    "announcements, each mail with a one-click unsubscribe (RFC 8058)."
)

_CHECKOUT_NOTES = (
    "Answers the URL of a Stripe Checkout page for the plan's price; the subscription "
    "follows by webhook once paid, and the plan applies then. A 409 when billing is off "
    "(no Stripe key), when no price is set for the plan and interval, or when the "
    "organization pays already (plan changes are made in the portal); a 400 for an unknown "
    "or free plan."
)
_WEBHOOK_NOTES = (
    "For Stripe only: the body is the event as Stripe sent it, signed in the "
    "`Stripe-Signature` header with the endpoint's secret (at most 5 minutes old). A "
    "missing or wrong signature is a 400, and a server without a webhook secret answers "
    "409. An event is applied once (a redelivery answers `duplicate`) and only if newer "
    "than what was applied (`stale` otherwise), so events may arrive in any order."
)

_COST_RANGE_NOTES = (
    "Days are UTC, both ends inclusive; default this month to date; at most 731 days "
    "(start after end, or a longer range, is a 400). `change_pct` compares with the "
    "period of equal length just before (null when that period had no cost)."
)

ROUTES: list[Route] = [
    # Auth
    Route("POST", "/auth/register", auth.register, "Create an account (and an organization)", "auth",
          access=PUBLIC, body=auth_api.RegisterRequest, response=auth_api.RegisterResponse,
          status=201, errors=(409,)),
    Route("POST", "/auth/login", auth.login, "Sign in with email and password", "auth",
          access=PUBLIC, body=auth_api.LoginRequest,
          response=auth_api.TokenPair | auth_api.MfaChallenge, errors=(401,)),
    Route("POST", "/auth/mfa/verify", auth.mfa_verify, "Finish a sign-in with a TOTP or backup code",
          "auth", access=PUBLIC, body=auth_api.MfaVerifyRequest, response=auth_api.TokenPair,
          errors=(401,)),
    Route("POST", "/auth/refresh", auth.refresh, "Rotate a refresh token for a new token pair",
          "auth", access=PUBLIC, body=auth_api.RefreshRequest, response=auth_api.TokenPair,
          errors=(401,)),
    Route("POST", "/auth/logout", auth.logout, "Sign out this session", "auth",
          access=PUBLIC, body=auth_api.LogoutRequest, status=204),
    Route("POST", "/auth/select-org", auth.select_org, "Switch to another organization", "auth",
          body=auth_api.SelectOrgRequest, response=auth_api.TokenPair, errors=(404,)),
    Route("GET", "/auth/me", auth.me, "The caller: user, organization, role and plan", "auth",
          response=auth_api.MeResponse),
    Route("GET", "/auth/organizations", auth.organizations, "Organizations the caller belongs to",
          "auth", response=list[auth_api.OrganizationSummary]),
    Route("POST", "/auth/password/change", auth.password_change, "Change the password", "auth",
          body=auth_api.PasswordChangeRequest, status=204),
    Route("POST", "/auth/password/forgot", auth.password_forgot, "Email a password reset link",
          "auth", access=PUBLIC, body=auth_api.EmailRequest, response=Message,
          status=202),
    Route("POST", "/auth/password/reset", auth.password_reset, "Set a new password with a reset token",
          "auth", access=PUBLIC, body=auth_api.PasswordResetRequest, status=204),
    Route("POST", "/auth/magic-link", auth.magic_link, "Email a one-time sign-in link", "auth",
          access=PUBLIC, body=auth_api.EmailRequest, response=Message, status=202),
    Route("POST", "/auth/email/confirm", users.confirm_email,
          "Confirm a new sign-in email with its emailed token", "auth", access=PUBLIC,
          body=auth_api.TokenRequest, response=Message, errors=(400, 409)),
    Route("POST", "/auth/magic-link/verify", auth.magic_link_verify, "Sign in with a magic link token",
          "auth", access=PUBLIC, body=auth_api.TokenRequest,
          response=auth_api.TokenPair | auth_api.MfaChallenge, errors=(401,)),
    Route("POST", "/auth/mfa/setup", auth.mfa_setup, "Start TOTP enrolment", "auth",
          response=auth_api.MfaSetupResponse, errors=(409,)),
    Route("POST", "/auth/mfa/enable", auth.mfa_enable, "Confirm TOTP enrolment", "auth",
          body=auth_api.MfaCodeRequest, response=auth_api.BackupCodesResponse, errors=(409,)),
    Route("POST", "/auth/mfa/disable", auth.mfa_disable, "Turn MFA off", "auth",
          body=auth_api.MfaCodeRequest, status=204, errors=(409,)),
    Route("POST", "/auth/mfa/backup-codes", auth.mfa_backup_codes, "Replace the backup codes", "auth",
          body=auth_api.MfaCodeRequest, response=auth_api.BackupCodesResponse, errors=(409,)),
    Route("GET", "/auth/sessions", auth.list_sessions, "Signed-in sessions", "auth",
          response=list[auth_api.SessionRead]),
    Route("DELETE", "/auth/sessions/{id}", auth.revoke_session, "Sign a session out", "auth",
          status=204),
    Route("GET", "/auth/api-keys", auth.list_api_keys, "API keys of this organization", "auth",
          response=list[auth_api.ApiKeyRead]),
    Route("POST", "/auth/api-keys", auth.create_api_key, "Create an API key (shown once)", "auth",
          body=auth_api.ApiKeyCreate, response=auth_api.ApiKeyCreated, status=201),
    Route("DELETE", "/auth/api-keys/{id}", auth.revoke_api_key, "Revoke an API key", "auth",
          status=204),
    # Users and invitations (fixed paths before /users/{id})
    Route("GET", "/users", users.list_members, "Members of the organization", "users",
          query=users_api.MemberQuery, response=Page[users_api.MemberRead]),
    Route("POST", "/users", users.create_member, "Create a member directly", "users",
          role=SUPERADMIN, body=users_api.MemberCreate, response=users_api.MemberRead,
          status=201, errors=(409,)),
    Route("GET", "/users/me", users.get_profile, "Own profile", "users",
          response=users_api.ProfileRead),
    Route("PATCH", "/users/me", users.update_profile, "Update own profile", "users",
          body=users_api.ProfileUpdate, response=users_api.ProfileRead, errors=(400, 409),
          description="A new email needs current_password and changes only once the link "
          "mailed to it is followed (POST /auth/email/confirm); the old address is told."),
    Route("PUT", "/users/me/avatar", users.put_avatar, "Upload an avatar (PNG/JPEG/WebP, 2 MB)",
          "users", multipart=True, response=users_api.ProfileRead, errors=(413,)),
    Route("DELETE", "/users/me/avatar", users.delete_avatar, "Remove the avatar", "users",
          status=204),
    Route("GET", "/users/me/ssh-keys", users.list_ssh_keys,
          "Own SSH public keys (they open the console over SSH)", "users",
          response=list[users_api.SshKeyRead]),
    Route("POST", "/users/me/ssh-keys", users.add_ssh_key, "Register an SSH public key",
          "users", body=users_api.SshKeyCreate, response=users_api.SshKeyRead, status=201,
          errors=(409,), description="One OpenSSH line (ed25519, ECDSA or RSA of 2048 bits "
          "or more). A key belongs to one account: a key registered already is a 409."),
    Route("DELETE", "/users/me/ssh-keys/{id}", users.delete_ssh_key,
          "Delete an SSH key (refused at the next connection)", "users", status=204),
    Route("GET", "/users/invitations", users.list_invitations, "Invitations", "users",
          role=SUPERADMIN, response=list[users_api.InvitationRead]),
    Route("POST", "/users/invitations", users.create_invitation, "Invite someone by email", "users",
          role=SUPERADMIN, body=users_api.InvitationCreate, response=users_api.InvitationRead,
          status=201, errors=(409,)),
    Route("POST", "/users/invitations/accept", users.accept_invitation,
          "Accept an invitation as the signed-in user", "users",
          body=users_api.InvitationAccept, response=auth_api.OrganizationSummary, errors=(409,)),
    Route("DELETE", "/users/invitations/{id}", users.revoke_invitation, "Revoke an invitation",
          "users", role=SUPERADMIN, status=204, errors=(409,)),
    Route("POST", "/users/invitations/{id}/resend", users.resend_invitation,
          "Send the invitation email again", "users", role=SUPERADMIN,
          response=users_api.InvitationRead, errors=(409,)),
    Route("GET", "/users/{id}", users.get_member, "One member", "users",
          response=users_api.MemberRead),
    Route("PATCH", "/users/{id}", users.update_member, "Change a member's role or name", "users",
          role=SUPERADMIN, body=users_api.MemberUpdate, response=users_api.MemberRead,
          errors=(409,)),
    Route("DELETE", "/users/{id}", users.remove_member, "Remove a member from the organization",
          "users", role=SUPERADMIN, status=204, errors=(409,)),
    Route("GET", "/users/{id}/avatar", users.get_avatar, "A member's avatar image", "users",
          response=bytes, content_type=IMAGE),
    # Organization and settings
    Route("GET", "/organization", orgs.get_organization, "The organization", "organization",
          response=orgs_api.OrganizationRead),
    Route("PATCH", "/organization", orgs.update_organization, "Rename or rebrand the organization",
          "organization", role=SUPERADMIN, body=orgs_api.OrganizationUpdate,
          response=orgs_api.OrganizationRead, errors=(409,)),
    Route("GET", "/organization/logo", orgs.get_logo, "The organization's logo", "organization",
          response=bytes, content_type=IMAGE, errors=(404,)),
    Route("PUT", "/organization/logo", orgs.put_logo, "Upload a logo (PNG/JPEG/SVG/WebP, 2 MB)",
          "organization", role=SUPERADMIN, multipart=True, response=orgs_api.OrganizationRead,
          errors=(413,)),
    Route("DELETE", "/organization/logo", orgs.delete_logo, "Remove the logo", "organization",
          role=SUPERADMIN, status=204),
    Route("GET", "/settings", orgs.get_settings, "Organization settings", "organization",
          response=orgs_api.SettingsRead),
    Route("PATCH", "/settings", orgs.update_settings, "Change organization settings",
          "organization", role=SUPERADMIN, body=orgs_api.SettingsUpdate,
          response=orgs_api.SettingsRead),
    # Billing (fixed paths before /billing/invoices/{id})
    Route("GET", "/billing/plans", billing.list_plans, "Plans with prices, limits and modules",
          "billing", response=list[billing_api.PlanRead]),
    Route("GET", "/billing/subscription", billing.get_subscription,
          "The plan, its status and period", "billing", response=billing_api.SubscriptionRead,
          description="`billing_enabled` is false on a server without a Stripe key: it shows "
          "its plan and usage, and takes no payments."),
    Route("GET", "/billing/usage", billing.get_usage, "Usage against every plan limit",
          "billing", response=billing_api.UsageRead),
    Route("POST", "/billing/checkout", billing.checkout, "Start a checkout for a plan",
          "billing", role=SUPERADMIN, body=billing_api.CheckoutRequest,
          response=billing_api.CheckoutSession, errors=(409, 503),
          description=_CHECKOUT_NOTES),
    Route("POST", "/billing/portal", billing.portal, "Open Stripe's billing portal",
          "billing", role=SUPERADMIN, response=billing_api.PortalSession, errors=(409, 503),
          description="Payment methods, invoices and plan changes, at Stripe. A 409 when "
          "billing is off or the organization has not subscribed yet."),
    Route("POST", "/billing/subscription/cancel", billing.cancel,
          "Cancel at the end of the period paid for", "billing", role=SUPERADMIN,
          response=billing_api.SubscriptionRead, errors=(409, 503),
          description="A 409 when billing is off, without an active subscription, or when it "
          "is set to cancel already. The plan stays until the period ends."),
    Route("POST", "/billing/subscription/resume", billing.resume,
          "Take a cancellation back", "billing", role=SUPERADMIN,
          response=billing_api.SubscriptionRead, errors=(409, 503),
          description="A 409 when billing is off, without an active subscription, or when it "
          "is not set to cancel."),
    Route("GET", "/billing/invoices", billing.list_invoices, "Invoices, newest first",
          "billing", query=PageQuery, response=Page[billing_api.InvoiceRead]),
    Route("GET", "/billing/invoices/{id}", billing.get_invoice, "An invoice with its lines",
          "billing", response=billing_api.InvoiceDetail),
    Route("GET", "/billing/invoices/{id}/pdf", billing.invoice_pdf, "An invoice as a PDF",
          "billing", response=bytes, content_type="application/pdf"),
    Route("POST", "/billing/webhook", billing.webhook, "Stripe's events", "billing",
          access=PUBLIC, response=billing_api.WebhookAck, errors=(409,), rate_limited=False,
          description=_WEBHOOK_NOTES + " Not rate limited: every request is signed, and "
          "Stripe retries a refused one for days."),
    # Audit logs (fixed paths before /audit-logs/{id})
    Route("GET", "/audit-logs", audit.list_logs, "Audit log entries", "audit",
          role=SUPERADMIN, module="audit_logs", query=audit_api.AuditQuery,
          response=Page[audit_api.AuditLogRead]),
    Route("GET", "/audit-logs/summary", audit.summary, "Audit log counts", "audit",
          role=SUPERADMIN, module="audit_logs", response=audit_api.AuditSummary),
    Route("GET", "/audit-logs/export", audit.export, "Export entries as CSV or JSON (streamed)",
          "audit", role=SUPERADMIN, module="audit_logs", query=audit_api.AuditExportQuery,
          response=str, content_type="text/csv", also_json=list[audit_api.AuditLogRead]),
    Route("GET", "/audit-logs/{id}", audit.get_log, "One audit log entry", "audit",
          role=SUPERADMIN, module="audit_logs", response=audit_api.AuditLogRead),
    # Overview
    Route("GET", "/overview", overview.get_overview,
          "One read for a dashboard's first frame: what is wrong now, in counts and short lists",
          "overview", query=overview_api.OverviewQuery, response=overview_api.Overview,
          description="Monitor counts by status, the troubled monitors (at most 20) and the "
          "latest response times of a few; unresolved incident counts by status and severity, "
          "the newest 20 and the 20 latest changes; agents online and offline (zeros until "
          "agents report); this month's cost against last month's with the month-end forecast "
          "and the budgets past their alert threshold (both null when the plan includes no "
          "cloud accounts); unread notifications. Every role may read it; a console then "
          "follows `GET /events` instead of reading it again."),
    # Incidents (fixed paths before /incidents/{id})
    Route("GET", "/incidents", incidents.list_incidents, "Incidents, newest first", "incidents",
          query=incidents_api.IncidentQuery, response=Page[incidents_api.IncidentRead]),
    Route("GET", "/incidents/stats", incidents.stats, "Open, acknowledged and critical counts, MTTR",
          "incidents", response=incidents_api.IncidentStats),
    Route("POST", "/incidents", incidents.create_incident, "Open a manual incident", "incidents",
          role=ADMIN, body=incidents_api.IncidentCreate, response=incidents_api.IncidentRead,
          status=201),
    Route("POST", "/incidents/bulk", incidents.bulk,
          "Acknowledge, resolve or delete many incidents (an outcome per id)", "incidents",
          role=ADMIN, body=incidents_api.BulkAction, response=list[incidents_api.BulkOutcome]),
    Route("GET", "/incidents/{id}", incidents.get_incident, "One incident with its timeline",
          "incidents", response=incidents_api.IncidentDetail),
    Route("POST", "/incidents/{id}/acknowledge", incidents.acknowledge,
          "Acknowledge an open incident", "incidents", role=ADMIN,
          body=incidents_api.IncidentAction, response=incidents_api.IncidentRead, errors=(409,)),
    Route("POST", "/incidents/{id}/resolve", incidents.resolve,
          "Resolve an open or acknowledged incident", "incidents", role=ADMIN,
          body=incidents_api.IncidentAction, response=incidents_api.IncidentRead, errors=(409,)),
    Route("POST", "/incidents/{id}/notes", incidents.add_note, "Add a note to the timeline",
          "incidents", role=ADMIN, body=incidents_api.NoteCreate,
          response=incidents_api.TimelineEventRead, status=201),
    Route("DELETE", "/incidents/{id}", incidents.delete_incident, "Delete an incident",
          "incidents", role=ADMIN, status=204),
    # Live events
    Route("GET", "/events", events.stream, "Live events of the organization (Server-Sent Events)",
          "events", query=events_api.EventsQuery, response=str, content_type="text/event-stream",
          events=events_api.EVENT_MODELS,
          description="Resumes after the `Last-Event-ID` header (or `last_event_id`); idle "
          "streams get a `: ping` comment; a `stream.reset` event means events were missed."),
    # Uptime monitors (fixed paths before /monitors/{id})
    Route("GET", "/monitors", monitors.list_monitors, "Uptime monitors with status and uptime",
          "monitors", query=monitors_api.MonitorQuery, response=Page[monitors_api.MonitorRead]),
    Route("GET", "/monitors/summary", monitors.monitors_summary,
          "How many monitors show each status", "monitors",
          response=monitors_api.MonitorSummary,
          description="Paused, then maintenance, then the last verdict: the status "
          "`GET /monitors?status=` filters on. One request for the counts a dashboard shows."),
    Route("POST", "/monitors", monitors.create_monitor, "Create a monitor (checked at once)",
          "monitors", role=ADMIN, body=monitors_api.MonitorCreate,
          response=monitors_api.MonitorRead, status=201,
          description="Plan limits (monitor count, minimum check interval) are a 403 naming "
          "the limit. A heartbeat monitor gets its ping URL in `heartbeat_url`."),
    Route("GET", "/monitors/{id}", monitors.get_monitor,
          "One monitor: status, last check, uptime 24h/7d/30d, SSL expiry", "monitors",
          response=monitors_api.MonitorRead),
    Route("PATCH", "/monitors/{id}", monitors.update_monitor, "Change a monitor", "monitors",
          role=ADMIN, body=monitors_api.MonitorUpdate, response=monitors_api.MonitorRead),
    Route("DELETE", "/monitors/{id}", monitors.delete_monitor,
          "Delete a monitor with its results and windows", "monitors", role=ADMIN, status=204),
    Route("POST", "/monitors/{id}/pause", monitors.pause_monitor, "Pause checks", "monitors",
          role=ADMIN, response=monitors_api.MonitorRead),
    Route("POST", "/monitors/{id}/resume", monitors.resume_monitor,
          "Resume checks (checked at once)", "monitors", role=ADMIN,
          response=monitors_api.MonitorRead),
    Route("POST", "/monitors/{id}/check-now", monitors.check_now,
          "Run one check now and return its result", "monitors", role=ADMIN,
          response=monitors_api.CheckResultRead,
          description="The result is stored and judged like a scheduled check (it can open "
          "or resolve an incident); a paused monitor's state is left alone."),
    Route("GET", "/monitors/{id}/metrics", monitors.get_metrics,
          "Response-time series (min/avg/max/p95), uptime and check counts", "monitors",
          query=monitors_api.MetricsQuery, response=monitors_api.MonitorMetrics,
          description="From rollups: 1h per minute, 24h and 7d per hour, 30d per day."),
    Route("GET", "/monitors/{id}/uptime/daily", monitors.get_daily_uptime,
          "Uptime per UTC day, oldest first", "monitors", query=monitors_api.DailyQuery,
          response=list[monitors_api.DailyUptime]),
    Route("GET", "/monitors/{id}/checks", monitors.list_checks,
          "Recent raw check results, newest first (bounded retention)", "monitors",
          query=monitors_api.CheckQuery, response=Page[monitors_api.CheckResultRead]),
    Route("GET", "/monitors/{id}/maintenance", monitors.list_maintenance,
          "Maintenance windows of a monitor", "monitors",
          response=list[monitors_api.MaintenanceRead]),
    Route("POST", "/monitors/{id}/maintenance", monitors.create_maintenance,
          "Add a one-off or recurring (RRULE) maintenance window", "monitors", role=ADMIN,
          body=monitors_api.MaintenanceCreate, response=monitors_api.MaintenanceRead,
          status=201, errors=(409,)),
    Route("DELETE", "/monitors/{id}/maintenance/{window_id}", monitors.delete_maintenance,
          "Delete a maintenance window", "monitors", role=ADMIN, status=204),
    # Heartbeat pings (public: the token is the credential)
    Route("GET", "/heartbeat/{token}", monitors.heartbeat, "Heartbeat ping", "monitors",
          access=PUBLIC, response=monitors_api.HeartbeatAck),
    Route("POST", "/heartbeat/{token}", monitors.heartbeat_post, "Heartbeat ping (POST)", "monitors",
          access=PUBLIC, response=monitors_api.HeartbeatAck),
    Route("GET", "/heartbeat/{token}/fail", monitors.heartbeat_fail, "Report a failed run",
          "monitors", access=PUBLIC, response=monitors_api.HeartbeatAck),
    Route("POST", "/heartbeat/{token}/fail", monitors.heartbeat_fail_post,
          "Report a failed run (POST)", "monitors", access=PUBLIC,
          response=monitors_api.HeartbeatAck),
    # Cloud accounts (fixed paths before /cloud-accounts/{id})
    Route("GET", "/cloud-accounts", cloud_accounts.list_accounts, "Cloud provider accounts",
          "cloud-accounts", query=PageQuery, response=Page[cloud_accounts_api.CloudAccountRead]),
    Route("POST", "/cloud-accounts", cloud_accounts.create_account, "Add a cloud account",
          "cloud-accounts", role=ADMIN, body=cloud_accounts_api.CloudAccountCreate,
          response=cloud_accounts_api.CloudAccountRead, status=201, errors=(409,),
          description="Credentials are stored encrypted and never returned (`credentials_hint` "
          "shows the last 4 characters of the access key id or role ARN). Only `aws` is "
          "served now; another provider is a 400. The plan's cloud account count is a 403 "
          "naming the limit. The account is `pending` until tested."),
    Route("POST", "/cloud-accounts/test", cloud_accounts.test_unsaved,
          "Test credentials before saving them", "cloud-accounts", role=ADMIN,
          body=cloud_accounts_api.ConnectionTestRequest,
          response=cloud_accounts_api.ConnectionTestResult,
          description="Proves the identity (STS GetCallerIdentity, after AssumeRole for a "
          "role), then read access per feature with free calls; `permissions` names what is "
          "missing. Cost Explorer is not called (each call costs $0.01): it is checked at "
          "the first cost sync. `ok` is true when identity and every checked feature pass."),
    Route("GET", "/cloud-accounts/{id}", cloud_accounts.get_account, "One cloud account",
          "cloud-accounts", response=cloud_accounts_api.CloudAccountRead),
    Route("PATCH", "/cloud-accounts/{id}", cloud_accounts.update_account,
          "Change a cloud account (new credentials make it pending again)", "cloud-accounts",
          role=ADMIN, body=cloud_accounts_api.CloudAccountUpdate,
          response=cloud_accounts_api.CloudAccountRead, errors=(409,)),
    Route("DELETE", "/cloud-accounts/{id}", cloud_accounts.delete_account,
          "Delete a cloud account with its resources and cost rows", "cloud-accounts",
          role=ADMIN, status=204),
    Route("POST", "/cloud-accounts/{id}/test", cloud_accounts.test_saved,
          "Test a saved account's credentials", "cloud-accounts", role=ADMIN,
          response=cloud_accounts_api.ConnectionTestResult,
          description="As /cloud-accounts/test; the account's status, status_detail, "
          "external_account_id and last_tested_at are updated."),
    Route("POST", "/cloud-accounts/{id}/discover", cloud_accounts.discover,
          "Discover the account's resources (a background job)", "cloud-accounts",
          role=ADMIN, response=jobs_api.JobAccepted, status=202,
          description="Lists EC2, RDS, Lambda, load balancers in each region (the account's, "
          "else every enabled one) and S3 once; upserts by provider id and marks resources "
          "no longer listed `terminated`. A discovery already queued or running is answered "
          "instead of a second. Follow it with GET /jobs/{id} or `job.updated` events."),
    # Jobs
    Route("GET", "/jobs", jobs.list_jobs, "Background jobs (discovery, cost sync), newest first",
          "jobs", query=jobs_api.JobQuery, response=Page[jobs_api.JobRead]),
    Route("GET", "/jobs/{id}", jobs.get_job, "One job: status, progress and outcome", "jobs",
          response=jobs_api.JobRead,
          description="A 202 answers with a `job_id`; read it here, or follow `job.updated` "
          "live events. `progress` changes while it runs; `result` holds its counts."),
    # Resources (fixed paths before /resources/{id})
    Route("GET", "/resources", resources.list_resources,
          "Cloud resources, filtered, sorted and paged", "resources",
          query=resources_api.ResourceQuery, response=Page[resources_api.ResourceRead],
          description="Terminated resources (gone from the provider) are listed only when "
          "`state=terminated` is asked for. `tag=key:value` matches a tag exactly, `tag=key` "
          "any value of it; `q` matches part of the name or the provider id, ignoring case."),
    Route("GET", "/resources/summary", resources.summary,
          "Counts by type, state, region and account", "resources",
          response=resources_api.ResourceSummary,
          description="Counts resources that exist; terminated ones are counted apart "
          "in `terminated`."),
    Route("GET", "/resources/types", resources.types, "Resource types present, with counts",
          "resources", response=list[resources_api.ResourceTypeCount]),
    Route("POST", "/resources/bulk-action", resources.bulk_action,
          "Start, stop or reboot many resources (an outcome per id)", "resources",
          role=ADMIN, body=resources_api.BulkResourceAction,
          response=list[resources_api.BulkResourceOutcome], status=202, also=(200,),
          description="Each accepted id gets the `action_id` to follow; a refused one says "
          "why (the reasons a single action answers with 409). 202 when at least one action "
          "was queued; 200 when none was: every outcome is then final."),
    Route("GET", "/resources/{id}", resources.get_resource,
          "One resource with its tags, provider metadata and the actions it allows now",
          "resources", response=resources_api.ResourceDetail),
    Route("GET", "/resources/{id}/actions", resources.list_actions,
          "Actions taken on a resource, newest first: who, when, outcome", "resources",
          query=PageQuery, response=Page[resources_api.ResourceActionRead]),
    Route("POST", "/resources/{id}/start", resources.start, "Start a stopped resource",
          "resources", role=ADMIN, response=resources_api.ResourceActionRead, status=202,
          errors=(409,), description=_ACTION_NOTES),
    Route("POST", "/resources/{id}/stop", resources.stop, "Stop a running resource",
          "resources", role=ADMIN, response=resources_api.ResourceActionRead, status=202,
          errors=(409,), description=_ACTION_NOTES),
    Route("POST", "/resources/{id}/reboot", resources.reboot, "Reboot a running resource",
          "resources", role=ADMIN, response=resources_api.ResourceActionRead, status=202,
          errors=(409,), description=_ACTION_NOTES),
    # Costs
    Route("GET", "/costs/summary", costs.summary,
          "This month to date, last month, the month-end forecast, the daily average", "costs",
          query=costs_api.SummaryQuery, response=costs_api.CostSummary, errors=(404,),
          description="`forecast_month_end` is the complete days of this month plus the local "
          "forecast of the rest (null below 7 days of history); today counts in `current_month` "
          "as synced so far."),
    Route("GET", "/costs/by-service", costs.by_service,
          "Cost per service in a range, its share and change vs the period before", "costs",
          query=costs_api.CostRange, response=list[costs_api.ServiceCost], errors=(404,),
          description=_COST_RANGE_NOTES),
    Route("GET", "/costs/by-account", costs.by_account,
          "Cost per cloud account in a range, its share and change vs the period before",
          "costs", query=costs_api.CostRange, response=list[costs_api.AccountCost], errors=(404,),
          description=_COST_RANGE_NOTES),
    Route("GET", "/costs/daily", costs.daily,
          "Daily series per service or account (zeros on days without costs)", "costs",
          query=costs_api.DailyQuery, response=costs_api.DailyCosts, errors=(404,),
          description=_COST_RANGE_NOTES),
    Route("GET", "/costs/forecast", costs.forecast,
          "Forecast of the next 30 or 90 days with an 80% interval (no provider calls)",
          "costs", query=costs_api.ForecastQuery, response=costs_api.CostForecast, errors=(404,),
          description="From the synced daily history before today: seasonal (Holt-Winters, "
          "weekly season) from 28 days, a run rate from 7, `not_enough_data` below."),
    Route("POST", "/costs/sync", costs.request_sync,
          "Sync every AWS account's costs of the previous and current month", "costs",
          role=ADMIN, response=jobs_api.JobAccepted, status=202, errors=(409,),
          description="One job for the organization (a sync already queued or running is "
          "answered instead); follow it with GET /jobs/{id}. Each Cost Explorer request is "
          "billed $0.01 by AWS. 409 when the organization has no AWS account."),
    Route("GET", "/costs/sync", costs.last_syncs,
          "The last sync of each account: status, rows, provider API calls and their cost",
          "costs", response=list[costs_api.CostSyncRead]),
    # Budgets (fixed paths before /budgets/{id})
    Route("GET", "/budgets", budgets.list_budgets, "Budgets, by name", "budgets",
          query=PageQuery, response=Page[budgets_api.BudgetRead]),
    Route("POST", "/budgets", budgets.create_budget, "Create a budget (evaluated at once)",
          "budgets", role=ADMIN, body=budgets_api.BudgetCreate, response=budgets_api.BudgetRead,
          status=201, errors=(409,),
          description="Amounts are decimal strings. Without `account_id` or `service` the "
          "budget covers every account and service; an `account_id` that is not a cloud "
          "account of this organization is a 400. A duplicate name is a 409. The budget is "
          "evaluated at once: past its threshold it opens a `budget_threshold` incident "
          "(warning), past 100% a `budget_exceeded` one (critical)."),
    Route("GET", "/budgets/status", budgets.status_all, "Every budget's current period status",
          "budgets", response=list[budgets_api.BudgetStatus]),
    Route("GET", "/budgets/{id}", budgets.get_budget, "One budget", "budgets",
          response=budgets_api.BudgetRead),
    Route("PATCH", "/budgets/{id}", budgets.update_budget, "Change a budget (evaluated at once)",
          "budgets", role=ADMIN, body=budgets_api.BudgetUpdate,
          response=budgets_api.BudgetRead, errors=(409,),
          description="Null on `account_id` or `service` widens the budget again. Raising the "
          "amount or threshold resolves the incidents whose condition no longer holds."),
    Route("DELETE", "/budgets/{id}", budgets.delete_budget,
          "Delete a budget (its open incidents are resolved)", "budgets", role=ADMIN,
          status=204),
    Route("GET", "/budgets/{id}/status", budgets.get_status,
          "Spent, remaining, burn rate, projection and state of the current period", "budgets",
          response=budgets_api.BudgetStatus,
          description="The current calendar month, quarter or year in UTC (both ends "
          "inclusive; today counts as elapsed). Spent sums the synced daily costs of the "
          "budget's account and service. The projection is a run rate: spent / days elapsed x "
          "days in the period. `remaining` stops at 0; `state` is `exceeded` at 100% or more, "
          "`warning` at the alert threshold or more, else `ok`. Amounts are rounded to cents."),
    # Alert rules
    Route("GET", "/alert-rules", alert_rules.list_rules, "Alert rules, by name", "alert-rules",
          query=PageQuery, response=Page[alert_rules_api.AlertRuleRead]),
    Route("POST", "/alert-rules", alert_rules.create_rule, "Add an alert rule", "alert-rules",
          role=ADMIN, body=alert_rules_api.AlertRuleCreate,
          response=alert_rules_api.AlertRuleRead, status=201, errors=(409,),
          description="When a monitor goes down or degraded, a certificate nears expiry or a "
          "budget passes its threshold or its amount, the enabled rules of that trigger "
          "type whose scope covers the target (a monitor by id or tag; an empty scope "
          "covers all) decide the incident: the most severe sets its severity (without a "
          "rule: critical for down and exceeded, else warning), and its `channel_ids` hear "
          "of the incident's changes besides the routing rules. `cooldown_minutes` holds a "
          "new incident back while the target's last one resolved on its own less than "
          "that long ago (for metric rules: after one resolved on its own). `agent_offline` "
          "rules do the same for agents going offline (scope by agent ids or tags). "
          "`infra_metric` rules open incidents themselves: `metric`, `condition` and "
          "`threshold` are required; a target (the host, each mount for disk_pct, each "
          "container for container rules) opens an incident after `breach_count` breaching "
          "samples in a row and resolves after `recovery_count` others in a row, so a value "
          "oscillating around the threshold opens one incident. Samples an agent sends late "
          "(from its spool) never open alerts. cloudwatch_metric is a 400; so are metric "
          "fields on other rules, and ids of another organization's monitors, agents or "
          "channels."),
    Route("GET", "/alert-rules/{id}", alert_rules.get_rule, "One alert rule", "alert-rules",
          response=alert_rules_api.AlertRuleRead),
    Route("PATCH", "/alert-rules/{id}", alert_rules.update_rule, "Change an alert rule",
          "alert-rules", role=ADMIN, body=alert_rules_api.AlertRuleUpdate,
          response=alert_rules_api.AlertRuleRead, errors=(409,)),
    Route("POST", "/alert-rules/{id}/toggle", alert_rules.toggle_rule,
          "Enable a disabled alert rule, or disable an enabled one", "alert-rules", role=ADMIN,
          response=alert_rules_api.AlertRuleRead),
    Route("DELETE", "/alert-rules/{id}", alert_rules.delete_rule, "Delete an alert rule",
          "alert-rules", role=ADMIN, status=204),
    Route("GET", "/alert-rules/{id}/overrides", alert_rules.list_overrides,
          "A metric rule's per-agent overrides", "alert-rules",
          response=list[alert_rules_api.OverrideRead], errors=(400,)),
    Route("PUT", "/alert-rules/{id}/overrides/{agent_id}", alert_rules.set_override,
          "Set an agent's own threshold for a metric rule, or turn the rule off for it",
          "alert-rules", role=ADMIN, body=alert_rules_api.OverrideSet,
          response=alert_rules_api.OverrideRead),
    Route("DELETE", "/alert-rules/{id}/overrides/{agent_id}", alert_rules.delete_override,
          "Remove an agent's override of a metric rule", "alert-rules", role=ADMIN, status=204),
    Route("POST", "/alert-rules/{id}/backtest", alert_rules.backtest,
          "What a metric rule would have done over stored metrics (sends nothing)",
          "alert-rules", body=alert_rules_api.BacktestRequest,
          response=alert_rules_api.BacktestResult,
          description="The same evaluator as live, with the rule's breach and recovery "
          "counts, cooldown and the agents' overrides, over the stored samples from `from` "
          "to `to` (at most 400 days): raw samples where kept (24 h), 5-minute averages "
          "before. Each would-be incident has its target, opened_at, resolved_at (null when "
          "still open at `to`) and peak value. `agent_ids` defaults to every agent the rule "
          "covers."),
    # Infra agents and metrics (fixed paths before /agents/{id})
    Route("GET", "/agents", agents.list_agents, "Infra agents, by name", "agents",
          query=agents_api.AgentQuery, response=Page[agents_api.AgentRead]),
    Route("POST", "/agents", agents.create_agent, "Add an infra agent", "agents", role=ADMIN,
          body=agents_api.AgentCreate, response=agents_api.AgentWithToken, status=201,
          errors=(409,),
          description="Answers the agent's token once (`token`); it is stored as a hash. "
          "The plan's `agents` limit applies (403 naming it)."),
    Route("POST", "/agents/ingest", agents.ingest, "An agent posts its samples", "agents",
          access=AGENT, body=agents_api.IngestBatch, response=agents_api.IngestAccepted,
          status=202, at_once=64, grouped=32,
          description="With the agent's token (`upa_...`), and only with it: a member's "
          "token is a 401 here, and an agent token is a 401 everywhere else. Samples carry "
          "their own `ts`; one already stored is a duplicate (counted, not stored). Samples "
          "newer than the agent's newest and at most three intervals old (a minute at "
          "least) are judged by metric alert rules; older ones (an agent's spool) fill "
          "history only. A sample more than 10 minutes ahead of the server's clock is a 400."),
    Route("GET", "/agents/{id}", agents.get_agent, "One agent", "agents",
          response=agents_api.AgentRead),
    Route("PATCH", "/agents/{id}", agents.update_agent, "Rename or retag an agent", "agents",
          role=ADMIN, body=agents_api.AgentUpdate, response=agents_api.AgentRead,
          errors=(409,)),
    Route("DELETE", "/agents/{id}", agents.delete_agent,
          "Delete an agent with its metrics; its unresolved incidents resolve", "agents",
          role=ADMIN, status=204),
    Route("POST", "/agents/{id}/regenerate-token", agents.regenerate_token,
          "A new token for an agent; the old one is refused at once", "agents", role=ADMIN,
          response=agents_api.AgentWithToken),
    Route("GET", "/agents/{id}/install-script", agents.install_script,
          "A shell script that installs the agent as a service reporting here", "agents",
          response=str, content_type="text/x-shellscript",
          description="POSIX sh, for root on a systemd host: a system user, a venv in "
          "/opt/upmetr-agent with the agent's wheel from this server (GET /agent/...), "
          "/etc/upmetr-agent/agent.toml and a hardened unit; it then checks that this server "
          "accepts a post. The token is not in it: pass it as UPMETR_AGENT_TOKEN or the first "
          "argument. The server's address is the public URL when set, else the one this "
          "request came to (docs/agents.md)."),
    Route("GET", "/metrics/summary", metrics.summary, "The fleet: agents by status, averages "
          "and top hosts by cpu, memory and disk", "metrics", response=metrics_api.FleetSummary),
    Route("GET", "/metrics/agents/{id}", metrics.agent_series, "An agent's series over a range",
          "metrics", query=metrics_api.SeriesQuery, response=metrics_api.MetricSeries,
          description="1h: raw samples; 24h: 5-minute buckets; 7d: 30-minute; 30d: 2-hour "
          "(min, average, max each). `metrics` names host metrics (default cpu_pct, mem_pct, "
          "disk_pct, load1); disk_pct has a series per mount (`label`)."),
    Route("GET", "/metrics/agents/{id}/latest", metrics.agent_latest, "An agent's newest sample",
          "metrics", response=metrics_api.LatestMetrics),
    Route("GET", "/metrics/agents/{id}/containers", metrics.agent_containers,
          "The containers an agent reported last", "metrics",
          response=list[metrics_api.ContainerRead]),
    Route("GET", "/metrics/agents/{id}/containers/{name}", metrics.container_series,
          "A container's cpu and memory series", "metrics",
          query=metrics_api.ContainerSeriesQuery, response=metrics_api.ContainerSeries),
    # Notifications (fixed paths before /notifications/{id})
    Route("GET", "/notifications/channels", notifications.list_channels,
          "Notification channels, by name", "notifications", query=PageQuery,
          response=Page[notifications_api.ChannelRead]),
    Route("POST", "/notifications/channels", notifications.create_channel,
          "Add a notification channel", "notifications", role=ADMIN,
          body=notifications_api.ChannelCreate, response=notifications_api.ChannelRead,
          status=201, errors=(409,),
          description="`config` depends on `type` (docs/channels.md); a key the type does "
          "not know, or a value it cannot use, is a 400 naming it. Secret keys (webhook "
          "URLs, tokens) are stored encrypted and read back masked. A duplicate name is a 409."),
    Route("GET", "/notifications/channels/{id}", notifications.get_channel, "One channel",
          "notifications", response=notifications_api.ChannelRead),
    Route("PATCH", "/notifications/channels/{id}", notifications.update_channel,
          "Change a channel", "notifications", role=ADMIN,
          body=notifications_api.ChannelUpdate, response=notifications_api.ChannelRead,
          errors=(409,),
          description="`config` is merged into the stored one: a secret left out, or sent "
          "back as its masked hint, keeps its value. `enabled: true` re-enables a channel a "
          "permanent error disabled, and clears `last_error`."),
    Route("DELETE", "/notifications/channels/{id}", notifications.delete_channel,
          "Delete a channel (and take it out of every rule)", "notifications", role=ADMIN,
          status=204),
    Route("POST", "/notifications/channels/{id}/test", notifications.test_channel,
          "Send a test message now and answer what came of it", "notifications", role=ADMIN,
          response=notifications_api.ChannelTestResult,
          description="Sent at once, not through the outbox; a failure is reported and "
          "disables nothing."),
    Route("GET", "/notifications/rules", notifications.list_rules, "Routing rules, by name",
          "notifications", query=PageQuery, response=Page[notifications_api.RuleRead]),
    Route("POST", "/notifications/rules", notifications.create_rule, "Add a routing rule",
          "notifications", role=ADMIN, body=notifications_api.RuleCreate,
          response=notifications_api.RuleRead, status=201, errors=(409,),
          description="An event goes to the channels of every enabled rule whose `events` "
          "match it (`budget.*` matches every budget event, `*` every event) and whose "
          "`min_severity` it reaches, once per channel. With `escalate_after_minutes`, an "
          "incident still open (not acknowledged) that long after it opened is also sent to "
          "`escalation_channel_ids`, once; acknowledging or resolving it cancels that. A "
          "channel id that is not this organization's is a 400."),
    Route("GET", "/notifications/rules/{id}", notifications.get_rule, "One routing rule",
          "notifications", response=notifications_api.RuleRead),
    Route("PATCH", "/notifications/rules/{id}", notifications.update_rule,
          "Change a routing rule", "notifications", role=ADMIN,
          body=notifications_api.RuleUpdate, response=notifications_api.RuleRead,
          errors=(409,)),
    Route("DELETE", "/notifications/rules/{id}", notifications.delete_rule,
          "Delete a routing rule", "notifications", role=ADMIN, status=204),
    Route("GET", "/notifications/deliveries", notifications.list_deliveries,
          "The delivery log, newest first, with each attempt", "notifications",
          query=notifications_api.DeliveriesQuery,
          response=Page[notifications_api.DeliveryRead],
          description="A delivery is pending (waiting for its first attempt or a retry after "
          "10 s, 1 min, 5 min, 30 min, 2 h and 6 h), delivered, failed (a permanent error, or "
          "every retry spent) or cancelled (an escalation made needless). Its "
          "`idempotency_id` is the same on every attempt (the webhook's `webhook-id`)."),
    Route("GET", "/notifications/preferences", notifications.get_preferences,
          "The caller's notification preferences", "notifications",
          response=notifications_api.Preferences),
    Route("PUT", "/notifications/preferences", notifications.put_preferences,
          "Replace the caller's notification preferences", "notifications",
          body=notifications_api.PreferencesChange, response=notifications_api.Preferences,
          description="Per event: the inbox (`in_app`) and an email to the caller; "
          "`min_severity` below which nothing is told. Quiet hours are wall-clock times in "
          "`timezone` (an IANA name), across midnight when `end` is before `start`, and "
          "follow daylight saving time; emails in them are held and sent as one digest when "
          "they end (critical ones at once with `critical_bypass`). The inbox is never held. "
          "Events left out go back to their defaults."),
    Route("GET", "/notifications", notifications.list_inbox, "The caller's inbox, newest first",
          "notifications", query=notifications_api.InboxQuery,
          response=Page[notifications_api.NotificationRead]),
    Route("GET", "/notifications/unread-count", notifications.unread_count,
          "How many lines of the caller's inbox are unread", "notifications",
          response=notifications_api.UnreadCount),
    Route("POST", "/notifications/read-all", notifications.mark_all_read,
          "Mark the caller's whole inbox read", "notifications",
          response=notifications_api.UnreadCount),
    Route("POST", "/notifications/{id}/read", notifications.mark_read, "Mark one line read",
          "notifications", response=notifications_api.NotificationRead),
    Route("DELETE", "/notifications/{id}", notifications.delete_notification,
          "Delete one line of the caller's inbox", "notifications", status=204),
    # Status pages (the admin API; the pages themselves are in PAGES)
    Route("GET", "/status-pages/global", status_pages.get_global, "The global status page's settings",
          "status-pages", module=STATUS, response=status_pages_api.PageRead,
          description="Made (disabled) when first read. Its public page is "
          "`/status/{org_slug}`, its JSON `/api/v1/public/status/{org_slug}`."),
    Route("PUT", "/status-pages/global", status_pages.put_global, "Set the global status page",
          "status-pages", role=ADMIN, module=STATUS, body=status_pages_api.PageSettings,
          response=status_pages_api.PageWithToken,
          description="Replaces every setting (left out: its default). `monitor_ids` are shown "
          "in that order; an id that is not this organization's monitor is a 400. Turning "
          "`require_token` on for a page without a token makes one, answered here once "
          "(`token`); it is stored as a hash."),
    Route("POST", "/status-pages/global/regenerate-token", status_pages.regenerate_global_token,
          "A new token for the global page; the old one stops at once", "status-pages",
          role=ADMIN, module=STATUS, response=status_pages_api.PageWithToken),
    Route("POST", "/status-pages/global/generate-history", status_pages.generate_history,
          "Backfill the daily history the pages show", "status-pages", role=ADMIN,
          module=STATUS, response=status_pages_api.HistoryGenerated,
          description="For every monitor on this organization's pages, over the longest "
          "`history_days`: each day whose daily rollup is missing or disagrees with its "
          "hourly rollups (kept 90 days) is written anew from them. Days without hourly "
          "rollups stay as they are."),
    Route("GET", "/status-pages/clients", status_pages.list_clients, "Client status pages, by name",
          "status-pages", module=STATUS, query=PageQuery,
          response=Page[status_pages_api.PageRead]),
    Route("POST", "/status-pages/clients", status_pages.create_client, "Add a client status page",
          "status-pages", role=ADMIN, module=STATUS, body=status_pages_api.ClientPageCreate,
          response=status_pages_api.PageWithToken, status=201, errors=(409,),
          description="`slug` defaults to the name made URL-safe (`Acme EU` -> `acme-eu`); a "
          "slug taken in this organization is a 409, and `badge`, `subscribe` and `global` are "
          "reserved (400). Its page is `/status/{org_slug}/{slug}`. With `require_token`, the "
          "token is answered once (`token`)."),
    Route("GET", "/status-pages/clients/{id}", status_pages.get_client, "One client status page",
          "status-pages", module=STATUS, response=status_pages_api.PageRead),
    Route("PATCH", "/status-pages/clients/{id}", status_pages.update_client,
          "Change a client status page", "status-pages", role=ADMIN, module=STATUS,
          body=status_pages_api.ClientPageUpdate, response=status_pages_api.PageWithToken,
          errors=(409,)),
    Route("DELETE", "/status-pages/clients/{id}", status_pages.delete_client,
          "Delete a client status page with its announcements and subscribers", "status-pages",
          role=ADMIN, module=STATUS, status=204),
    Route("POST", "/status-pages/clients/{id}/regenerate-token",
          status_pages.regenerate_client_token,
          "A new token for a client page; the old one stops at once", "status-pages",
          role=ADMIN, module=STATUS, response=status_pages_api.PageWithToken),
    Route("GET", "/status-pages/announcements", status_pages.list_announcements,
          "Announcements, newest first", "status-pages", module=STATUS,
          query=status_pages_api.AnnouncementQuery,
          response=Page[status_pages_api.AnnouncementRead]),
    Route("POST", "/status-pages/announcements", status_pages.create_announcement,
          "Post an announcement on a status page", "status-pages", role=ADMIN, module=STATUS,
          body=status_pages_api.AnnouncementCreate, response=status_pages_api.AnnouncementRead,
          status=201,
          description="`page` is `global` or a client page's slug (another is a 400). The "
          "page's confirmed subscribers are emailed."),
    Route("GET", "/status-pages/announcements/{id}", status_pages.get_announcement,
          "One announcement with its updates", "status-pages", module=STATUS,
          response=status_pages_api.AnnouncementRead),
    Route("PATCH", "/status-pages/announcements/{id}", status_pages.update_announcement,
          "Move an announcement to a new state, or add a note", "status-pages", role=ADMIN,
          module=STATUS, body=status_pages_api.AnnouncementUpdate,
          response=status_pages_api.AnnouncementRead,
          description="A new `state` or `body` adds an update to its timeline and emails the "
          "page's subscribers; a new `title` only renames it."),
    Route("DELETE", "/status-pages/announcements/{id}", status_pages.delete_announcement,
          "Delete an announcement", "status-pages", role=ADMIN, module=STATUS, status=204),
    Route("GET", "/status-pages/subscribers", status_pages.list_subscribers,
          "A page's confirmed subscribers, by address", "status-pages", role=ADMIN,
          module=STATUS, query=status_pages_api.SubscriberQuery,
          response=Page[status_pages_api.SubscriberRead]),
    Route("DELETE", "/status-pages/subscribers/{id}", status_pages.remove_subscriber,
          "Remove a subscriber", "status-pages", role=ADMIN, module=STATUS, status=204),
    Route("GET", "/public/status/{org_slug}", status_pages.public_global_page,
          "The global status page, as JSON", "status-pages", access=PUBLIC,
          query=status_pages_api.PublicPageQuery, response=status_pages_api.PublicStatusPage,
          errors=(401, 403), description=_PUBLIC_NOTES),
    Route("GET", "/public/status/{org_slug}/{client_slug}", status_pages.public_client_page,
          "A client status page, as JSON", "status-pages", access=PUBLIC,
          query=status_pages_api.PublicPageQuery, response=status_pages_api.PublicStatusPage,
          errors=(401, 403), description=_PUBLIC_NOTES),
    Route("POST", "/public/status/{org_slug}/subscribe", status_pages.subscribe_global,
          "Subscribe to the global status page by email", "status-pages", access=PUBLIC,
          query=status_pages_api.PublicPageQuery, body=status_pages_api.SubscribeRequest,
          response=status_pages_api.SubscribeAccepted, status=202, errors=(401, 403),
          description=_SUBSCRIBE_NOTES),
    Route("POST", "/public/status/{org_slug}/{client_slug}/subscribe",
          status_pages.subscribe_client,
          "Subscribe to a client status page by email", "status-pages", access=PUBLIC,
          query=status_pages_api.PublicPageQuery, body=status_pages_api.SubscribeRequest,
          response=status_pages_api.SubscribeAccepted, status=202, errors=(401, 403),
          description=_SUBSCRIBE_NOTES),
    # Platform admin (platform admins only; the one place that takes other orgs' ids)
    Route("GET", "/admin/organizations", admin.list_orgs,
          "Every organization with its plan, usage and status", "admin", access=PLATFORM,
          query=admin_api.AdminOrgQuery, response=Page[admin_api.AdminOrgRead],
          description="`q` matches the name or slug; `plan` is a plan's code. `usage` is each "
          "counted limit: what the organization uses and what its plan allows (null: "
          "unlimited); users count members and pending invitations."),
    Route("GET", "/admin/organizations/{id}", admin.get_org, "One organization", "admin",
          access=PLATFORM, response=admin_api.AdminOrgRead),
    Route("PATCH", "/admin/organizations/{id}", admin.update_org,
          "Change an organization's plan, status or granted modules", "admin", access=PLATFORM,
          body=admin_api.AdminOrgUpdate, response=admin_api.AdminOrgRead, errors=(409,),
          description=_SUSPEND_NOTES),
    Route("DELETE", "/admin/organizations/{id}", admin.delete_org,
          "Delete an organization with everything it holds", "admin", access=PLATFORM,
          body=admin_api.AdminOrgDelete, status=204, errors=(409,),
          description="`confirm` must be the organization's slug (400 otherwise). Its "
          "members' accounts stay (they may belong elsewhere), as do its audit entries. The "
          "organization you are signed in to cannot be deleted (409)."),
    Route("POST", "/admin/organizations/{id}/impersonate", admin.impersonate,
          "A read-only access token for an organization (at most 30 minutes)", "admin",
          access=PLATFORM, body=admin_api.ImpersonationCreate,
          response=admin_api.ImpersonationToken, errors=(409,),
          description="The token reads what a superadmin of the organization reads; every "
          "write with it is a 403 (read-only impersonation), as is every /admin route. It "
          "needs an interactive sign-in (not an API key), ends with the admin's session and "
          "is audited in both organizations with the reason. A suspended organization is "
          "a 409."),
    Route("GET", "/admin/organizations/{id}/downgrade-preview", admin.downgrade_preview,
          "What an organization would exceed or lose on another plan", "admin",
          access=PLATFORM, query=admin_api.DowngradeQuery, response=admin_api.DowngradePreview,
          description="Each counted limit it would be over (current, new limit), the minimum "
          "check interval when a monitor checks more often (current: the shortest interval), "
          "and the modules it would lose; granted modules stay. An unknown plan is a 400."),
    Route("GET", "/admin/plans", admin.list_plans, "Every plan, cheapest first", "admin",
          access=PLATFORM, response=list[billing_api.PlanRead]),
    Route("POST", "/admin/plans", admin.create_plan, "Create a plan", "admin",
          access=PLATFORM, body=admin_api.PlanCreate, response=billing_api.PlanRead,
          status=201, errors=(409,),
          description="Limits and modules are those of the billing enums; a limit left out "
          "or null is unlimited. A duplicate code is a 409."),
    Route("PATCH", "/admin/plans/{id}", admin.update_plan,
          "Change a plan's name, prices, limits or modules", "admin", access=PLATFORM,
          body=admin_api.PlanUpdate, response=billing_api.PlanRead,
          description="`limits` changes the limits it names and keeps the others. Every "
          "organization on the plan has the change from its next request."),
    Route("GET", "/admin/stats", admin.platform_stats, "The platform's figures", "admin",
          access=PLATFORM, response=admin_api.AdminStats,
          description="Organizations, users, monitors, checks per minute (the last 5 complete "
          "minutes' rollups) and queue depths: monitors past due, jobs queued or running, "
          "notification deliveries pending."),
]  # fmt: skip

HTML = "text/html"

# Pages outside /api/v1, server-rendered without JavaScript: what a browser finds at the
# server's address, and where the links in emails land (API.md, Live events and operations).
PAGES: list[Route] = [
    Route("GET", "/", pages.home, "What this server is: the API docs and the console", "pages",
          access=PUBLIC, content_type=HTML),
    Route("GET", "/magic-link", auth_pages.magic_link,
          "An emailed sign-in link: valid or not, and the command that signs in", "pages",
          access=PUBLIC, content_type=HTML),
    Route("GET", "/reset-password", auth_pages.reset_form,
          "An emailed password reset link: a form for the new password", "pages",
          access=PUBLIC, content_type=HTML),
    Route("POST", "/reset-password", auth_pages.reset_password,
          "The reset form posted: sets the new password (the token is spent)", "pages",
          access=PUBLIC, content_type=HTML),
    Route("GET", "/confirm-email", auth_pages.confirm_email_form,
          "An emailed link confirming a new sign-in email: a button that confirms it", "pages",
          access=PUBLIC, content_type=HTML),
    Route("POST", "/confirm-email", auth_pages.confirm_email,
          "The confirmation posted: the sign-in email changes (the token is spent)", "pages",
          access=PUBLIC, content_type=HTML),
    Route("GET", "/agent/{filename}", agents.agent_wheel,
          "The infra agent's wheel (psutil its one dependency), which install scripts fetch",
          "pages", access=PUBLIC, content_type="application/octet-stream"),
    # Status pages; feeds, badges, the logo and the form before the pages they sit beside.
    *(Route("GET", f"{path}.{kind}", view, f"A status page's {what}", "pages", access=PUBLIC,
            content_type=media)
      for path in ("/status/{org_slug}", "/status/{org_slug}/{client_slug}")
      for kind, view, what, media in (
          ("rss", status_page_pages.status_page_rss, "RSS feed of incidents and announcements",
           "application/rss+xml"),
          ("atom", status_page_pages.status_page_atom,
           "Atom feed of incidents and announcements", "application/atom+xml"),
          ("ics", status_page_pages.status_page_ics,
           "calendar of planned maintenance (the next 30 days)", "text/calendar"),
      )),
    *(Route("GET", f"{path}/badge/{{monitor_id}}.svg", status_page_pages.badge,
            "A monitor's badge: `?type=status` (default), `uptime` (`&days=30`, 1 to 365) or "
            "`response` (the last 24 hours' average)", "pages", access=PUBLIC,
            content_type="image/svg+xml")
      for path in ("/status/{org_slug}", "/status/{org_slug}/{client_slug}")),
    Route("GET", "/status/{org_slug}/logo", status_page_pages.logo,
          "The organization's logo, on whitelabel status pages", "pages", access=PUBLIC,
          content_type="image/*"),
    *(Route("POST", f"{path}/subscribe", status_page_pages.subscribe_form,
            "The status page's subscribe form (email): a confirmation link is emailed",
            "pages", access=PUBLIC, content_type=HTML)
      for path in ("/status/{org_slug}", "/status/{org_slug}/{client_slug}")),
    Route("GET", "/status/{org_slug}", status_page_pages.status_page,
          "The global status page, readable without JavaScript (`?token=` when it needs one)",
          "pages", access=PUBLIC, content_type=HTML),
    Route("GET", "/status/{org_slug}/{client_slug}", status_page_pages.status_page,
          "A client status page, readable without JavaScript (`?token=` when it needs one)",
          "pages", access=PUBLIC, content_type=HTML),
    Route("GET", "/status-subscription/confirm", status_page_pages.confirm_form,
          "An emailed subscription link: a button that confirms it", "pages", access=PUBLIC,
          content_type=HTML),
    Route("POST", "/status-subscription/confirm", status_page_pages.confirm,
          "The confirmation posted: the subscription starts", "pages", access=PUBLIC,
          content_type=HTML),
    Route("GET", "/status-subscription/unsubscribe", status_page_pages.unsubscribe_form,
          "An emailed unsubscribe link: a button that unsubscribes", "pages", access=PUBLIC,
          content_type=HTML),
    Route("POST", "/status-subscription/unsubscribe", status_page_pages.unsubscribe,
          "Unsubscribe: the button, or a mail client's one-click POST (RFC 8058)", "pages",
          access=PUBLIC, content_type=HTML),
]  # fmt: skip
