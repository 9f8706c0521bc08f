//! Who may do what: the one place where access is decided.
//!
//! Handlers and queries ask this module and never decide themselves. A staff member is an
//! [`Actor`]: an organisation, an account and a set of roles. Each role grants a set of
//! [`Permission`]s; per-record rules (a restricted case, another organisation's record) are
//! functions here too, so a list, a count, a search and an export all filter by the same rule.

use serde::Serialize;

use crate::{OrgId, Role, UserId};

/// Something a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Use the staff application at all (every role has it).
    UseStaffApp,
    /// Invite, disable and change the roles of staff accounts; see and end their sessions.
    ManageUsers,
    /// Read the audit log and verify its chain.
    ViewAudit,
    /// Read the directory of institutions.
    ViewInstitutions,
    /// Add and change institutions in the directory.
    ManageInstitutions,
    /// Open cases and the people, documents and timelines in them (each case still decided by
    /// [`case_access`]).
    ViewCases,
    /// Open cases, record people, notes, services, tasks, documents and consent.
    EditCases,
    /// Approve the closure of cases.
    ApproveClosure,
    /// Open court proceedings (each still decided by [`proceeding_access`]).
    ViewProceedings,
    /// Record proceedings, defendants, charges, events, claims, awards and payments.
    EditProceedings,
    /// See the advocacy figures computed from the proceedings (aggregate, no names).
    ViewCourtFigures,
    /// Read hotline contacts, search them and look up callers (each contact still decided by
    /// [`contact_visible`]).
    ViewContacts,
    /// Record, change and void hotline contacts; tick escalation steps; write handover notes.
    EditContacts,
    /// Export hotline contacts to CSV or XLSX.
    ExportContacts,
    /// Read written notifications and referrals (each still decided by the case or contact it
    /// belongs to).
    ViewNotifications,
    /// Write notifications, send approved ones, record what came of them.
    WriteNotifications,
    /// Approve notifications whose purpose needs approval; edit letter templates and settings.
    ApproveNotifications,
    /// Write, preview and publish the public portal's pages.
    EditPortal,
    /// Read agencies, their channels, job-offer reports, actions and warnings.
    ViewAgencies,
    /// Record and change agencies and their channels, record job-offer reports and actions.
    EditAgencies,
    /// Decide which agencies the public portal warns about.
    PublishAgencyWarnings,
    /// Import the official register of licensed agencies and confirm its uncertain matches.
    ImportRegister,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 22] = [
        Permission::UseStaffApp,
        Permission::ManageUsers,
        Permission::ViewAudit,
        Permission::ViewInstitutions,
        Permission::ManageInstitutions,
        Permission::ViewCases,
        Permission::EditCases,
        Permission::ApproveClosure,
        Permission::ViewProceedings,
        Permission::EditProceedings,
        Permission::ViewCourtFigures,
        Permission::ViewContacts,
        Permission::EditContacts,
        Permission::ExportContacts,
        Permission::ViewNotifications,
        Permission::WriteNotifications,
        Permission::ApproveNotifications,
        Permission::EditPortal,
        Permission::ViewAgencies,
        Permission::EditAgencies,
        Permission::PublishAgencyWarnings,
        Permission::ImportRegister,
    ];

    /// The stable code (stored in API token scopes, shown to scripts).
    pub fn code(self) -> &'static str {
        match self {
            Permission::UseStaffApp => "use_staff_app",
            Permission::ManageUsers => "manage_users",
            Permission::ViewAudit => "view_audit",
            Permission::ViewInstitutions => "view_institutions",
            Permission::ManageInstitutions => "manage_institutions",
            Permission::ViewCases => "view_cases",
            Permission::EditCases => "edit_cases",
            Permission::ApproveClosure => "approve_closure",
            Permission::ViewProceedings => "view_proceedings",
            Permission::EditProceedings => "edit_proceedings",
            Permission::ViewCourtFigures => "view_court_figures",
            Permission::ViewContacts => "view_contacts",
            Permission::EditContacts => "edit_contacts",
            Permission::ExportContacts => "export_contacts",
            Permission::ViewNotifications => "view_notifications",
            Permission::WriteNotifications => "write_notifications",
            Permission::ApproveNotifications => "approve_notifications",
            Permission::EditPortal => "edit_portal",
            Permission::ViewAgencies => "view_agencies",
            Permission::EditAgencies => "edit_agencies",
            Permission::PublishAgencyWarnings => "publish_agency_warnings",
            Permission::ImportRegister => "import_register",
        }
    }

    /// The permission with this code.
    pub fn from_code(code: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// What a role grants.
pub fn grants(role: Role, permission: Permission) -> bool {
    use Permission as P;
    use Role as R;
    match permission {
        P::UseStaffApp => true,
        P::ManageUsers => matches!(role, R::Admin),
        P::ViewAudit => matches!(role, R::Admin | R::Supervisor),
        P::ViewInstitutions => !matches!(role, R::Analyst | R::PortalEditor | R::Fundraiser),
        P::ManageInstitutions => matches!(role, R::Admin | R::Supervisor),
        P::ViewCases | P::EditCases => works_with_cases(role),
        P::ApproveClosure => matches!(role, R::Supervisor),
        P::ViewProceedings => works_with_cases(role),
        P::EditProceedings => matches!(role, R::Admin | R::Supervisor | R::Lawyer),
        P::ViewCourtFigures => matches!(role, R::Admin | R::Supervisor | R::Lawyer | R::Analyst),
        P::ViewContacts | P::EditContacts => works_at_the_desk(role),
        P::ExportContacts => matches!(role, R::Supervisor),
        P::ViewNotifications | P::WriteNotifications => works_with_cases(role),
        P::ApproveNotifications => matches!(role, R::Supervisor),
        P::EditPortal => matches!(role, R::Admin | R::PortalEditor),
        P::ViewAgencies => works_with_cases(role),
        P::EditAgencies => works_at_the_desk(role),
        P::PublishAgencyWarnings => matches!(role, R::Admin | R::Supervisor),
        P::ImportRegister => matches!(role, R::Admin | R::Supervisor),
    }
}

/// A signed-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The organisation they work for.
    pub org_id: OrgId,
    /// Their account.
    pub user_id: UserId,
    /// Their roles.
    pub roles: Vec<Role>,
}

impl Actor {
    /// Whether any of the actor's roles grants `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.roles.iter().any(|r| grants(*r, permission))
    }

    /// Whether the actor may touch a record of organisation `org` at all.
    pub fn same_org(&self, org: OrgId) -> bool {
        self.org_id == org
    }

    /// Whether the actor may do `permission` to a record of organisation `org`.
    pub fn can_in(&self, permission: Permission, org: OrgId) -> bool {
        self.same_org(org) && self.can(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            org_id: OrgId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn only_admins_manage_users() {
        for role in Role::ALL {
            assert_eq!(
                actor(&[role]).can(Permission::ManageUsers),
                role == Role::Admin,
                "{role}"
            );
        }
    }

    #[test]
    fn permission_codes_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_code(p.code()), Some(p));
        }
        assert_eq!(Permission::from_code("root"), None);
    }

    #[test]
    fn roles_add_up() {
        let a = actor(&[Role::Analyst, Role::Supervisor]);
        assert!(a.can(Permission::ViewAudit));
        assert!(!actor(&[Role::Analyst]).can(Permission::ViewAudit));
    }

    #[test]
    fn another_organisation_is_always_refused() {
        let a = actor(&[Role::Admin]);
        assert!(!a.can_in(Permission::ManageUsers, OrgId(Uuid::from_u128(1))));
        assert!(a.can_in(Permission::ManageUsers, OrgId(Uuid::nil())));
    }
}

/// What the policy knows about a case when deciding who may open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    /// The case's organisation.
    pub org_id: OrgId,
    /// Whether the case is restricted to its advisors and supervisors.
    pub restricted: bool,
    /// The case's advisors (the lead among them).
    pub advisors: Vec<UserId>,
}

/// The answer to "may this person open this case".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAccess {
    /// Yes.
    Allow,
    /// Yes, through a break-the-glass grant still running (every view is audited as such).
    AllowedByBreakGlass,
    /// Not now: the case is restricted; the person may break the glass, giving a reason.
    BreakGlassRequired,
    /// No (another organisation, or a role that never sees cases).
    Deny,
}

/// Roles that work with cases.
fn works_with_cases(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Supervisor | Role::Counsellor | Role::CaseWorker | Role::Lawyer
    )
}

/// Who may open a case: the organisation's staff who work with cases; a restricted case only its
/// advisors and supervisors, and others only by breaking the glass (`grant_running` says whether
/// this person holds a break-the-glass grant for this case that has not expired).
pub fn case_access(actor: &Actor, case: &CaseFacts, grant_running: bool) -> CaseAccess {
    if !actor.same_org(case.org_id) || !actor.roles.iter().any(|r| works_with_cases(*r)) {
        return CaseAccess::Deny;
    }
    if !case.restricted
        || actor.roles.contains(&Role::Supervisor)
        || case.advisors.contains(&actor.user_id)
    {
        return CaseAccess::Allow;
    }
    if grant_running {
        CaseAccess::AllowedByBreakGlass
    } else {
        CaseAccess::BreakGlassRequired
    }
}

/// Who may open a person's record: anyone who may open one of the cases the person is in (the
/// most open answer wins); a person in no case, those who work with cases. `cases` pairs each
/// case's facts with whether the actor holds a running break-the-glass grant for it.
pub fn person_access(actor: &Actor, org: OrgId, cases: &[(CaseFacts, bool)]) -> CaseAccess {
    if !actor.same_org(org) || !actor.roles.iter().any(|r| works_with_cases(*r)) {
        return CaseAccess::Deny;
    }
    let mut best = if cases.is_empty() {
        CaseAccess::Allow
    } else {
        CaseAccess::Deny
    };
    for (facts, grant) in cases {
        let a = case_access(actor, facts, *grant);
        best = match (best, a) {
            (CaseAccess::Allow, _) | (_, CaseAccess::Allow) => CaseAccess::Allow,
            (CaseAccess::AllowedByBreakGlass, _) | (_, CaseAccess::AllowedByBreakGlass) => {
                CaseAccess::AllowedByBreakGlass
            }
            (CaseAccess::BreakGlassRequired, _) | (_, CaseAccess::BreakGlassRequired) => {
                CaseAccess::BreakGlassRequired
            }
            _ => CaseAccess::Deny,
        };
    }
    best
}

/// Who may open a court proceeding: anyone who may open one of its linked cases (the most open
/// answer wins, as for people). A proceeding linked to no case holds no victim's record, but its
/// defendants are still identified people: only those who record proceedings (lawyers,
/// supervisors, administrators) open it.
pub fn proceeding_access(actor: &Actor, org: OrgId, cases: &[(CaseFacts, bool)]) -> CaseAccess {
    if !actor.same_org(org) || !actor.can(Permission::ViewProceedings) {
        return CaseAccess::Deny;
    }
    if cases.is_empty() {
        return if actor.can(Permission::EditProceedings) {
            CaseAccess::Allow
        } else {
            CaseAccess::Deny
        };
    }
    person_access(actor, org, cases)
}

impl CaseAccess {
    /// Whether the record may be opened now.
    pub fn allowed(self) -> bool {
        matches!(self, CaseAccess::Allow | CaseAccess::AllowedByBreakGlass)
    }
}

#[cfg(test)]
mod case_tests {
    use super::*;
    use uuid::Uuid;

    fn actor(n: u128, roles: &[Role]) -> Actor {
        Actor {
            org_id: OrgId(Uuid::nil()),
            user_id: UserId(Uuid::from_u128(n)),
            roles: roles.to_vec(),
        }
    }

    fn case(restricted: bool, advisors: &[u128]) -> CaseFacts {
        CaseFacts {
            org_id: OrgId(Uuid::nil()),
            restricted,
            advisors: advisors
                .iter()
                .map(|a| UserId(Uuid::from_u128(*a)))
                .collect(),
        }
    }

    #[test]
    fn open_cases_are_for_everyone_who_works_with_cases() {
        for role in Role::ALL {
            let expected = if works_with_cases(role) {
                CaseAccess::Allow
            } else {
                CaseAccess::Deny
            };
            assert_eq!(
                case_access(&actor(1, &[role]), &case(false, &[]), false),
                expected,
                "{role}"
            );
        }
    }

    #[test]
    fn restricted_cases_are_for_advisors_and_supervisors() {
        let c = case(true, &[7]);
        assert_eq!(
            case_access(&actor(7, &[Role::Counsellor]), &c, false),
            CaseAccess::Allow
        );
        assert_eq!(
            case_access(&actor(8, &[Role::Supervisor]), &c, false),
            CaseAccess::Allow
        );
        assert_eq!(
            case_access(&actor(9, &[Role::Counsellor]), &c, false),
            CaseAccess::BreakGlassRequired
        );
        assert_eq!(
            case_access(&actor(9, &[Role::Admin]), &c, false),
            CaseAccess::BreakGlassRequired
        );
        assert_eq!(
            case_access(&actor(9, &[Role::Counsellor]), &c, true),
            CaseAccess::AllowedByBreakGlass
        );
        // Breaking the glass is not a way in for roles that never see cases.
        assert_eq!(
            case_access(&actor(9, &[Role::Analyst]), &c, true),
            CaseAccess::Deny
        );
    }

    #[test]
    fn people_follow_their_cases() {
        let open = case(false, &[]);
        let restricted = case(true, &[7]);
        let c = actor(9, &[Role::Counsellor]);
        assert_eq!(
            person_access(&c, OrgId(Uuid::nil()), &[]),
            CaseAccess::Allow
        );
        assert_eq!(
            person_access(&c, OrgId(Uuid::nil()), &[(restricted.clone(), false)]),
            CaseAccess::BreakGlassRequired
        );
        assert_eq!(
            person_access(
                &c,
                OrgId(Uuid::nil()),
                &[(restricted.clone(), false), (open, false)]
            ),
            CaseAccess::Allow
        );
        assert_eq!(
            person_access(&c, OrgId(Uuid::nil()), &[(restricted, true)]),
            CaseAccess::AllowedByBreakGlass
        );
        assert_eq!(
            person_access(&actor(9, &[Role::Analyst]), OrgId(Uuid::nil()), &[]),
            CaseAccess::Deny
        );
    }

    #[test]
    fn only_supervisors_approve_closures() {
        for role in Role::ALL {
            assert_eq!(
                grants(role, Permission::ApproveClosure),
                role == Role::Supervisor
            );
            assert_eq!(grants(role, Permission::ViewCases), works_with_cases(role));
        }
    }

    #[test]
    fn proceedings_follow_their_cases() {
        let org = OrgId(Uuid::nil());
        let restricted = case(true, &[7]);
        let lawyer = actor(9, &[Role::Lawyer]);
        let counsellor = actor(9, &[Role::Counsellor]);
        assert_eq!(proceeding_access(&lawyer, org, &[]), CaseAccess::Allow);
        assert_eq!(proceeding_access(&counsellor, org, &[]), CaseAccess::Deny);
        assert_eq!(
            proceeding_access(&counsellor, org, &[(case(false, &[]), false)]),
            CaseAccess::Allow
        );
        assert_eq!(
            proceeding_access(&lawyer, org, &[(restricted.clone(), false)]),
            CaseAccess::BreakGlassRequired
        );
        assert_eq!(
            proceeding_access(&actor(7, &[Role::Lawyer]), org, &[(restricted, false)]),
            CaseAccess::Allow
        );
        assert_eq!(
            proceeding_access(&actor(9, &[Role::Analyst]), org, &[]),
            CaseAccess::Deny
        );
        assert_eq!(
            proceeding_access(&lawyer, OrgId(Uuid::from_u128(5)), &[]),
            CaseAccess::Deny
        );
    }

    #[test]
    fn another_organisations_case_is_never_opened() {
        let mut c = case(false, &[1]);
        c.org_id = OrgId(Uuid::from_u128(99));
        assert_eq!(
            case_access(&actor(1, &[Role::Supervisor, Role::Admin]), &c, true),
            CaseAccess::Deny
        );
    }
}

/// Roles that answer the lines or work on what the lines bring.
fn works_at_the_desk(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Supervisor | Role::Counsellor | Role::CaseWorker
    )
}

/// Whether a person may see a hotline contact: staff of its organisation who work at the desk;
/// a contact kept confidential only its own counsellors and supervisors. Lists, lookups, search
/// and exports filter by this same rule.
pub fn contact_visible(
    actor: &Actor,
    org: OrgId,
    confidential: bool,
    counsellors: &[UserId],
) -> bool {
    if !actor.same_org(org) || !actor.roles.iter().any(|r| works_at_the_desk(*r)) {
        return false;
    }
    !confidential || actor.roles.contains(&Role::Supervisor) || counsellors.contains(&actor.user_id)
}

#[cfg(test)]
mod desk_tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn confidential_contacts_are_for_their_counsellors_and_supervisors() {
        let me = UserId(Uuid::from_u128(7));
        let org = OrgId(Uuid::nil());
        let actor = |roles: &[Role], user: UserId| Actor {
            org_id: org,
            user_id: user,
            roles: roles.to_vec(),
        };
        let other = UserId(Uuid::from_u128(8));
        assert!(contact_visible(
            &actor(&[Role::Counsellor], me),
            org,
            true,
            &[me]
        ));
        assert!(!contact_visible(
            &actor(&[Role::Counsellor], other),
            org,
            true,
            &[me]
        ));
        assert!(!contact_visible(
            &actor(&[Role::Admin], other),
            org,
            true,
            &[me]
        ));
        assert!(contact_visible(
            &actor(&[Role::Supervisor], other),
            org,
            true,
            &[me]
        ));
        assert!(contact_visible(
            &actor(&[Role::CaseWorker], other),
            org,
            false,
            &[me]
        ));
        assert!(!contact_visible(
            &actor(&[Role::Analyst], other),
            org,
            false,
            &[me]
        ));
        assert!(!contact_visible(
            &actor(&[Role::Supervisor], other),
            OrgId(Uuid::from_u128(1)),
            false,
            &[me]
        ));
    }
}
