//! Staff roles. A user may hold several; what each allows is decided by the policy module.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the organisation's Haven: accounts, configuration, keys, audit.
    Admin,
    /// Leads counsellors and case workers; sees restricted cases; approves closures and letters.
    Supervisor,
    /// Answers the lines and records contacts.
    Counsellor,
    /// Works on cases after the call: services, tasks, documents.
    CaseWorker,
    /// Represents beneficiaries and follows court proceedings.
    Lawyer,
    /// Donors, donations, campaigns and public updates.
    Fundraiser,
    /// Statistics and anonymised exports; never identities.
    Analyst,
    /// Writes the public portal's pages.
    PortalEditor,
}

/// A role code Haven does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}: expected one of admin, supervisor, counsellor, case_worker, lawyer, fundraiser, analyst, portal_editor"
)]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role, in the order screens list them.
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Supervisor,
        Role::Counsellor,
        Role::CaseWorker,
        Role::Lawyer,
        Role::Fundraiser,
        Role::Analyst,
        Role::PortalEditor,
    ];

    /// The stable code stored in the database and used in the API.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Counsellor => "counsellor",
            Role::CaseWorker => "case_worker",
            Role::Lawyer => "lawyer",
            Role::Fundraiser => "fundraiser",
            Role::Analyst => "analyst",
            Role::PortalEditor => "portal_editor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or(UnknownRole(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.code().parse::<Role>().unwrap(), r);
        }
        assert_eq!("Case worker".parse::<Role>().unwrap(), Role::CaseWorker);
        assert!("root".parse::<Role>().is_err());
    }
}
