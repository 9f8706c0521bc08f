//! The tables the attack bench (bench/attack) reads, checked against the code they describe.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use haven_domain::Role;
use haven_domain::policy::{Permission, grants};
use haven_web::auth::Access;

/// bench/attack/api_access.json: the permission of every JSON API operation and the permissions
/// of every role, which bench/attack/schemathesis uses to decide which calls must be refused.
#[test]
fn api_access_table_matches_the_code() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/attack/api_access.json"
    );
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();

    let mut operations = BTreeMap::new();
    for spec in haven_web::routes::specs() {
        if !spec.path.starts_with("/api/v1/") {
            continue;
        }
        let Access::Staff(p) = spec.access else {
            panic!("{} {} is not a staff route", spec.method, spec.path);
        };
        operations.insert(
            format!("{} {}", spec.method, spec.path),
            p.code().to_owned(),
        );
    }
    let written: BTreeMap<String, String> =
        serde_json::from_value(table["operations"].clone()).unwrap();
    assert_eq!(
        written, operations,
        "bench/attack/api_access.json `operations` differs from the route table"
    );

    let mut roles = BTreeMap::new();
    for role in Role::ALL {
        let granted: Vec<String> = Permission::ALL
            .into_iter()
            .filter(|p| grants(role, *p))
            .map(|p| p.code().to_owned())
            .collect();
        roles.insert(role.code().to_owned(), granted);
    }
    let written: BTreeMap<String, Vec<String>> =
        serde_json::from_value(table["roles"].clone()).unwrap();
    assert_eq!(
        written, roles,
        "bench/attack/api_access.json `roles` differs from the policy"
    );
}
