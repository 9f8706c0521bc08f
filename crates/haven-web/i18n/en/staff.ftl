## The staff application.

nav-home = Home
nav-institutions = Institutions
nav-users = Staff
nav-profile = My account

role-admin = Administrator
role-supervisor = Supervisor
role-counsellor = Counsellor
role-case_worker = Case worker
role-lawyer = Lawyer
role-fundraiser = Fundraiser
role-analyst = Analyst
role-portal_editor = Portal editor

status-invited = Invited
status-active = Active
status-disabled = Disabled

field-display-name = Name
field-email = E-mail address
field-password = Password
field-new-password = New password
field-password-again = New password again
field-current-password = Current password
field-organisation = Organisation
field-roles = Roles
field-status = Status
field-language = Language

password-hint = At least 12 characters. A few unrelated words are easy to remember and hard to guess.
password-change-title = Change password
password-change-submit = Change password
password-changed = Your password was changed. You were signed out everywhere else.

link-invalid-title = This link no longer works
link-used = This link has already been used. Each link works only once.
link-expired = This link has expired.
link-revoked = This link was withdrawn.
link-unknown = This link is not valid. Check that you copied all of it.
link-invalid-what-now = If you still need to set a password, ask an administrator for a new link. If you already have an account, sign in.
go-to-sign-in = Go to sign-in
link-created-title = Link created
link-label = Link
link-expires = It works once, until { $time }.
link-shown-once = Copy it now and give it to the person over a safe channel: it will not be shown again.
invite-created = The account was created. Give the person this link so they can choose a password and sign in.
reset-created = Give the person this link so they can choose a new password. Their current password works until they do.

setup-title = Set up Haven
setup-intro = You are creating the first administrator account. Administrators invite the rest of the staff.
setup-submit = Create the administrator account
invite-title = Welcome to Haven
invite-intro = Choose a password for your account.
invite-submit = Set password and sign in
reset-title = Choose a new password
reset-intro = An administrator asked for your password to be reset. Choose a new one.
reset-submit = Set password and sign in

signed-out = You have signed out.
sign-in-failed = The e-mail address or the password is not right.

home-title = Home
home-greeting = Hello, { $name }
home-staff-count = { $count ->
    [one] { $count } staff account
   *[other] { $count } staff accounts
}
home-invited-count = { $count ->
    [one] { $count } invitation not yet accepted
   *[other] { $count } invitations not yet accepted
}
home-institutions-hint = Police, prosecutors, courts, inspectorates, centres for social work and partners.
home-sessions-count = { $count ->
    [one] You are signed in on { $count } device.
   *[other] You are signed in on { $count } devices.
}

users-title = Staff
users-empty = No accounts yet. Invite your colleagues.
user-invite = Invite a colleague
user-new-title = Invite a colleague
user-new-intro = The person gets a one-time link to choose a password. Give only the roles their work needs.
user-invite-submit = Create account and invitation link
user-title = Staff account
user-created = Created { $time }
user-access = Access
user-reset-hint = A one-time link lets the person choose a new password.
user-new-invite-link = New invitation link
user-reset-password = Reset password
user-enable = Enable account
user-disable-hint = The person can no longer sign in; all their sessions end at once.
user-disable = Disable account

sessions-title = Signed-in sessions
sessions-hint = Where you are signed in now. End any you do not recognise, then change your password.
sessions-empty = No open sessions.
session-started = Started
session-last-seen = Last active
session-address = Address
session-browser = Browser
session-this-one = This session
session-end = End

profile-title = My account

institutions-title = Institutions and partners
institutions-count = Showing { $shown } of { $total }.
institutions-empty = Nothing matches. Try fewer words, or another kind.
institution-name = Name
institution-kind = Kind
institution-area = Area
institution-phone = Phone
institution-kind-victim_protection_centre = Centre for victims of trafficking
institution-kind-ministry = Ministry
institution-kind-labour_inspectorate = Labour inspectorate
institution-kind-market_inspectorate = Market inspectorate
institution-kind-police = Police
institution-kind-border_police = Border police
institution-kind-prosecutor = Public prosecutor
institution-kind-court = Court
institution-kind-foreign_affairs = Foreign affairs, embassy, consulate
institution-kind-social_work_centre = Centre for social work
institution-kind-school = School
institution-kind-health_centre = Health care
institution-kind-employment_service = Employment service
institution-kind-partner_ngo = Partner organisation
institution-kind-hotline_116000 = 116 000 line abroad
institution-kind-interpol = Interpol
institution-kind-other = Other

## Keys, people and the audit log

nav-audit = Audit log
audit-title = Audit log
audit-intro = Every sign-in, refusal and change, newest first. Each entry is chained to the one before it by a hash, so a changed, removed or reordered entry is detected.
audit-verify = Verify the chain
audit-verify-ok = The chain holds: { $entries } entries checked, up to entry { $head }.
audit-verify-broken = The chain is broken at entry { $seq }: { $reason } Tell your administrator at once and keep a copy of the database as it is.
audit-break-missing = the entry is missing.
audit-break-does-not-follow = it does not follow the entry before it (entries were reordered or replaced).
audit-break-changed = its content was changed.
audit-break-tail-removed = entries were removed from the end.
audit-break-head-differs = the last entry differs from the recorded end of the chain.
audit-break-after-head = entries were added after the recorded end of the chain.
audit-filter-action = Action starts with
audit-filter-actor = Staff member
audit-filter-record = Record id
audit-filter-submit = Show
audit-empty = No entries match.
audit-newest = Newest entries
audit-older = Older entries
audit-time = Time
audit-who = Who
audit-action = Action
audit-outcome = Outcome
audit-record = Record
audit-address = Address
audit-outcome-ok = Done
audit-outcome-denied = Refused
audit-outcome-failed = Failed
audit-actor-system = Haven (system)
audit-actor-anonymous = Not signed in
audit-actor-token = { $name } (API token)
audit-actor-unknown = Unknown account { $id }
error-audit-actor-invalid = Choose a staff member from the list.
error-audit-record-invalid = This is not a record id; copy one from the audit log.
user-activity-title = Recent activity
user-activity-all = All activity of this account in the audit log
error-country-unknown = Choose a country from the list.
error-birth-year-out-of-range = The year of birth must be between { $min } and { $max }.
## Second factor and API tokens

error-unauthorized-title = Not signed in
error-unauthorized-body = This needs a valid API token or a signed-in session. The token may be unknown, expired or revoked.

sign-in-paused-hint = After several failed attempts, signing in to an account is paused for a while; if so, wait and try again later.

enrol-title = Set up the second factor
enrol-intro = Every Haven account is protected by a second factor: a six-digit code from an app on your phone, which changes every 30 seconds. You set it up once.
enrol-step-app = Install an authenticator app on your phone, if you have none (for example FreeOTP, Aegis or Google Authenticator).
enrol-step-scan = In the app, add an account and scan this code.
enrol-qr-label = QR code for your authenticator app
enrol-step-manual = If you cannot scan it, type this key into the app instead:
enrol-manual-settings = Time-based, 6 digits, every 30 seconds.
enrol-step-code = Enter the six-digit code the app now shows
enrol-submit = Confirm and continue

second-factor-title = Second factor
second-factor-intro = Open your authenticator app and enter the six-digit code it shows for Haven.
second-factor-code = Code
second-factor-recovery-hint = Without your phone, enter one of your recovery codes instead. Each works once.
second-factor-submit = Continue
second-factor-cancel = Cancel and sign out
second-factor-code-wrong = This code is not right. Check the app and enter the code it shows now.
second-factor-code-used = This code was already used. Wait for the next code and enter it.
second-factor-locked = Too many wrong codes. Try again later.

recovery-codes-title = Recovery codes
recovery-codes-intro-enrolled = Your second factor is set up. If you lose your phone, you can sign in with one of these recovery codes; each works once.
recovery-codes-intro-regenerated = These are your new recovery codes; the old ones no longer work. Each works once.
recovery-codes-once = Write them down or print them now and keep them somewhere safe, away from your phone: they will not be shown again.
recovery-codes-saved = I have saved them

second-factor-section = Second factor
second-factor-on-since = Set up on { $time }.
second-factor-off = Not set up yet: you will set it up at your next sign-in.
recovery-codes-left = { $count ->
    [one] { $count } recovery code left.
   *[other] { $count } recovery codes left.
}
recovery-codes-regenerate-code = Code from your authenticator app
recovery-codes-regenerate-hint = New codes replace the old ones, and you are signed out everywhere else.
recovery-codes-regenerate = Make new recovery codes

tokens-section = API tokens
tokens-hint = A token lets your own scripts use the Haven API as you, with only the permissions you give it. Keep it as secret as your password.
tokens-list-title = Your API tokens
token-name = Name
token-days = Valid for (days, 1 to 365)
token-scopes = Permissions
token-read-only = Read only (the token may look, never change)
token-read-only-short = read only
token-create = Create token
token-created = Created
token-expires-at = Expires
token-last-used = Last used
token-never-used = Never
token-revoke = Revoke
token-status-active = Active
token-status-expired = Expired
token-status-revoked = Revoked
token-name-invalid = Give the token a name of at most 80 characters, so you know what it is for.
token-days-invalid = Enter a number of days from 1 to 365.
token-scopes-required = Choose at least one permission.
token-scope-not-yours = A token can only have permissions your account has.
token-revoked = The token was revoked; it no longer works.
token-created-title = API token created
token-created-intro = Use it in the Authorization header of your script's requests: Authorization: Bearer followed by the token.
token-label = Token
token-expires = It works until { $time }, unless you revoke it.
token-shown-once = Copy it now and keep it safe: it will not be shown again.

permission-use_staff_app = Use Haven
permission-manage_users = Manage staff accounts
permission-view_audit = Read the audit log
permission-view_institutions = Read the directory of institutions
permission-manage_institutions = Change the directory of institutions

status-locked = Locked
home-locked-count = { $count ->
    [one] { $count } account is locked after failed sign-ins.
   *[other] { $count } accounts are locked after failed sign-ins.
}
user-locked-until = Locked after failed sign-ins until { $time }.
user-unlock = Unlock
user-was-unlocked = The account was unlocked.
user-second-factor-off = Not set up: the person sets it up at their next sign-in.
user-reset-second-factor-hint = For a person who lost their phone and recovery codes: their second factor is removed and they are signed out everywhere; they set it up again after their password at their next sign-in.
user-reset-second-factor = Reset second factor
user-second-factor-was-reset = The second factor was reset. The person sets it up again at their next sign-in.
