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
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 5] = [
        Permission::UseStaffApp,
        Permission::ManageUsers,
        Permission::ViewAudit,
        Permission::ViewInstitutions,
        Permission::ManageInstitutions,
    ];

    /// The stable code (stored in API token scopes, shown to scripts).
    pub fn code(self) -> &'static str {
        match self {
            Permission::UseStaffApp => "use_staff_app",
            Permission::ManageUsers => "manage_users",
            Permission::ViewAudit => "view_audit",
            Permission::ViewInstitutions => "view_institutions",
            Permission::ManageInstitutions => "manage_institutions",
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
