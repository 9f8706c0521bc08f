//! The official register of licensed agencies imported through the pages, on both backends: a
//! CSV in the official column layout with Cyrillic and Latin names, legal suffixes and malformed
//! rows (reported with their line numbers, the rest imported); a bad file and a bad mapping keep
//! the source, the date and the chosen columns; certain matches applied with their reasons, an
//! uncertain one confirmed and another rejected; a second version, as XLSX, shows the differences
//! and moves the licence statuses (revoked, not found) with their history.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use haven_domain::Role;
use haven_domain::agencies::LicenceStatus;
use haven_store::agencies::{self, AgencyInput, AgencyRow};
use haven_store::audit::{AuditFilter, list as audit_list};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Page, TestApp, conformance};
use uuid::Uuid;

const V1: &[u8] = include_bytes!("../../haven-domain/testdata/register_v1.csv");
const V2: &str = include_str!("../../haven-domain/testdata/register_v2.csv");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The second version of the register as an XLSX workbook, cell for cell.
fn v2_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (r, line) in V2.lines().enumerate() {
        for (c, cell) in line.split(';').enumerate() {
            let cell = match cell.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => cell.to_owned(),
            };
            if !cell.is_empty() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn agency(app: &TestApp, name: &str, registration_number: Option<&str>) -> Uuid {
    let org = app.state.default_org;
    let ring = app.state.keys.get(org).await.unwrap();
    let id = app.state.ids().uuid();
    let mut tx = app.state.db.begin().await.unwrap();
    agencies::insert(
        &mut tx,
        &ring,
        app.state.rng.as_ref(),
        org,
        id,
        &AgencyInput {
            name: name.into(),
            registration_number: registration_number.map(str::to_owned),
            tax_number: None,
            addresses: String::new(),
            countries: Vec::new(),
            sectors: Vec::new(),
            notes: String::new(),
        },
        None,
        app.state.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn row(app: &TestApp, id: Uuid) -> AgencyRow {
    agencies::row(&app.state.db, app.state.default_org, id)
        .await
        .unwrap()
        .unwrap()
}

/// The agency created from a register row, found by its registration number.
async fn by_number(app: &TestApp, number: &str) -> AgencyRow {
    let all = agencies::list(&app.state.db, app.state.default_org, 1000, 0)
        .await
        .unwrap();
    all.into_iter()
        .find(|a| a.registration_number.as_deref() == Some(number))
        .unwrap_or_else(|| panic!("no agency with number {number}"))
}

/// The text of the section with this id.
fn section<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page
        .text
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", page.text));
    let rest = &page.text[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    &rest[..end]
}

fn import_id(location: &str) -> String {
    location
        .strip_prefix("/staff/agencies/register/imports/")
        .unwrap_or_else(|| panic!("unexpected redirect {location}"))
        .to_owned()
}

conformance!(async fn a_register_is_imported_twice_with_its_differences(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Supervisor]).await;
    let posao = agency(&app, "Agencija za zapošljavanje Posao Nemačka", Some("20123456")).await;
    let work_force = agency(&app, "Work Force Internacional", None).await;
    let adriatic = agency(&app, "Adriatic Jobs", None).await;

    // A file that is not a register: refused, with the source and the date kept.
    let csrf = c.get("/staff/agencies/register").await.csrf();
    let action = format!("/staff/agencies/register?csrf={csrf}");
    let bad = c
        .post_multipart(
            &action,
            &[("source", ""), ("new_source", "Ministarstvo rada"), ("register_date", "2025-09-01")],
            ("file", "register.csv", b"just one column\nand nothing else\n".to_vec()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("id=\"register-error\""), "{}", bad.text);
    assert_eq!(bad.input_value("new_source").as_deref(), Some("Ministarstvo rada"));
    assert_eq!(bad.input_value("register_date").as_deref(), Some("2025-09-01"));
    // A date is required.
    let no_date = c
        .post_multipart(
            &action,
            &[("source", ""), ("new_source", "Ministarstvo rada"), ("register_date", "")],
            ("file", "register.csv", V1.to_vec()),
        )
        .await;
    assert_eq!(no_date.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The official file: kept as a pending import, columns guessed from the Cyrillic headers.
    let up = c
        .post_multipart(
            &action,
            &[("source", ""), ("new_source", "Ministarstvo rada"), ("register_date", "2025-09-01")],
            ("file", "register.csv", V1.to_vec()),
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.text);
    let first = import_id(&up.location());
    let url = format!("/staff/agencies/register/imports/{first}");
    let p = c.get(&url).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.contains("<option value=\"Пословно име агенције\" selected>"), "{}", p.text);
    assert!(p.contains("<option value=\"Матични број\" selected>"));
    // Malformed rows, by line: no name, 31 February, too few columns.
    let errors = section(&p, "register-errors");
    for line in [7, 8, 9] {
        assert!(errors.contains(&format!("id=\"error-line-{line}\"")), "line {line}: {errors}");
    }
    assert!(errors.contains("31.02.2020"));
    assert!(!errors.contains("error-line-3"));
    assert!(p.contains("6 rows read, 3 malformed"), "{}", p.text);
    // A certain match, with its reason.
    let certain = section(&p, "register-certain");
    assert!(certain.contains(&posao.to_string()) && certain.contains("same registration number"), "{certain}");
    // Uncertain ones: the same words, the same name without the legal form.
    let uncertain = section(&p, "register-uncertain");
    assert!(uncertain.contains(&format!("value=\"{work_force}\"")), "{uncertain}");
    assert!(uncertain.contains(&format!("value=\"{adriatic}\"")));
    assert!(uncertain.contains("same name without the legal form"));
    let unmatched = section(&p, "register-unmatched");
    for name in ["Агенција Сунце ПР", "Balkan Staffing d.o.o.", "Stari Most doo"] {
        assert!(unmatched.contains(name), "{name}: {unmatched}");
    }
    assert!(section(&p, "register-diff").contains("first import from this source"));

    // A mapping that leaves out the name, and a bad date: refused, the other choices kept.
    let csrf = p.csrf();
    let mapping = |name: &'static str, date: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("register_date", date.to_owned()),
            ("map_name", name.to_owned()),
            ("map_registration_number", "Матични број".to_owned()),
            ("map_tax_number", "ПИБ".to_owned()),
            ("map_licence_number", "Број решења о дозволи".to_owned()),
            ("map_licence_date", "Датум издавања дозволе".to_owned()),
            ("map_revocation_date", "Датум одузимања дозволе".to_owned()),
            ("map_address", "Седиште".to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let c = &c;
        let url = format!("{url}/mapping");
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.post_form(&url, &refs).await
        }
    };
    let no_name = send(mapping("", "2025-09-01")).await;
    assert_eq!(no_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_name.contains("id=\"mapping-error\""));
    assert_eq!(no_name.input_value("register_date").as_deref(), Some("2025-09-01"));
    assert!(no_name.contains("<option value=\"ПИБ\" selected>"));
    let bad_date = send(mapping("Пословно име агенције", "31.02.2025")).await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_date.input_value("register_date").as_deref(), Some("31.02.2025"));
    assert!(bad_date.contains("<option value=\"Пословно име агенције\" selected>"));
    let good = send(mapping("Пословно име агенције", "2025-09-01")).await;
    assert_eq!(good.status, StatusCode::SEE_OTHER);

    // Confirming needs a decision on every uncertain match; nothing is written without.
    let confirm = format!("{url}/confirm");
    let undecided = c
        .post_form(&confirm, &[("csrf", &csrf), ("decide_4", &work_force.to_string())])
        .await;
    assert_eq!(undecided.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(undecided.contains("id=\"confirm-error\""));
    assert!(undecided.contains(&format!("value=\"{work_force}\" checked")), "the decision made is kept");
    assert_eq!(row(&app, posao).await.licence_status, LicenceStatus::Unknown);

    // Work Force is the agency Haven knew; the Adriatic row is another company.
    let done = c
        .post_form(
            &confirm,
            &[("csrf", &csrf), ("decide_4", &work_force.to_string()), ("decide_6", "new")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let p = c.get(&url).await;
    assert!(p.contains("6 rows imported, 3 malformed"), "{}", p.text);
    let a = row(&app, posao).await;
    assert_eq!((a.licence_status, a.licence_as_of), (LicenceStatus::Licensed, Some(date(2025, 9, 1))));
    let w = row(&app, work_force).await;
    assert_eq!(w.licence_status, LicenceStatus::Licensed);
    assert_eq!(w.registration_number.as_deref(), Some("20234567"), "numbers filled in from the register");
    assert_eq!(row(&app, adriatic).await.licence_status, LicenceStatus::Unknown);
    let sunce = by_number(&app, "60123456").await;
    assert_eq!((sunce.name.as_str(), sunce.licence_status), ("Агенција Сунце ПР", LicenceStatus::Revoked));
    let new_adriatic = by_number(&app, "21345678").await;
    assert_ne!(new_adriatic.id, adriatic);
    assert_eq!(new_adriatic.licence_status, LicenceStatus::Licensed);
    let stari_most = by_number(&app, "21890123").await;
    assert_eq!(stari_most.licence_status, LicenceStatus::Licensed);
    // Confirming again changes nothing.
    let again = c
        .post_form(&confirm, &[("csrf", &csrf), ("decide_4", &work_force.to_string()), ("decide_6", "new")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(agencies::count(&app.state.db, app.state.default_org).await.unwrap(), 7);

    // The second version, as a workbook, from the same source: its saved mapping applies.
    let index = c.get("/staff/agencies/register").await;
    assert!(index.contains(&format!("id=\"import-{first}\"")));
    let source = haven_store::register::sources(&app.state.db, app.state.default_org)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let csrf = index.csrf();
    let up = c
        .post_multipart(
            &format!("/staff/agencies/register?csrf={csrf}"),
            &[("source", &source), ("new_source", ""), ("register_date", "2025-11-01")],
            ("file", "register.xlsx", v2_xlsx()),
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.text);
    let second = import_id(&up.location());
    let url = format!("/staff/agencies/register/imports/{second}");
    let p = c.get(&url).await;
    assert!(p.contains("XLSX"));
    assert!(p.contains("6 rows read, 0 malformed"), "{}", p.text);
    assert!(section(&p, "register-uncertain").contains("(0)"), "every row known by number now");
    let diff = section(&p, "register-diff");
    let list = |id: &str| {
        let start = diff.find(&format!("id=\"{id}\"")).unwrap();
        let end = diff[start..].find("</ul>").unwrap() + start;
        diff[start..end].to_owned()
    };
    assert!(list("diff-new").contains("Global Recruit doo") && list("diff-new").contains("Агенција Нови Пут д.о.о."));
    assert!(list("diff-revoked").contains("WORK FORCE INTERNATIONAL DOO"));
    assert!(list("diff-removed").contains("Агенција Сунце ПР") && list("diff-removed").contains("Stari Most doo"));
    assert!(list("diff-changed").contains("Balkan Staffing d.o.o."));
    assert!(section(&p, "register-not-found").contains("Stari Most doo"));
    let csrf = p.csrf();
    let done = c.post_form(&format!("{url}/confirm"), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);

    // The statuses as of the second register's date, and the history behind them.
    let w = row(&app, work_force).await;
    assert_eq!((w.licence_status, w.licence_as_of), (LicenceStatus::Revoked, Some(date(2025, 11, 1))));
    let s = row(&app, stari_most.id).await;
    assert_eq!((s.licence_status, s.licence_as_of), (LicenceStatus::NotFound, Some(date(2025, 11, 1))));
    assert_eq!(row(&app, posao).await.licence_as_of, Some(date(2025, 11, 1)));
    assert_eq!(by_number(&app, "21789012").await.licence_status, LicenceStatus::Licensed);
    assert_eq!(by_number(&app, "21567890").await.licence_status, LicenceStatus::Licensed);
    let history = haven_store::register::history_of(&app.state.db, app.state.default_org, work_force)
        .await
        .unwrap();
    let h: Vec<(NaiveDate, LicenceStatus)> = history.iter().map(|e| (e.as_of, e.status)).collect();
    assert_eq!(h, vec![(date(2025, 11, 1), LicenceStatus::Revoked), (date(2025, 9, 1), LicenceStatus::Licensed)]);
    // The agency's page shows that history, each import linked for those who import.
    let page = c.get(&format!("/staff/agencies/{work_force}")).await;
    let table = page.text.split("id=\"register-history\"").nth(1).expect("the register history").split("</table>").next().unwrap().to_owned();
    assert!(table.find("Licence revoked").unwrap() < table.find("Licensed").unwrap(), "newest first: {table}");
    assert!(table.contains(&format!("/staff/agencies/register/imports/{second}")), "{table}");
    // The done page shows the same differences.
    let p = c.get(&url).await;
    assert!(p.contains("6 rows imported, 0 malformed"));
    assert!(p.contains("1 no longer in the register"), "{}", p.text);
    assert!(section(&p, "register-diff").contains("WORK FORCE INTERNATIONAL DOO"));

    // Audited: uploads, views, the mapping, both imports.
    let entries = audit_list(
        &app.state.db,
        app.state.default_org,
        &AuditFilter { action_prefix: Some("register.imported".into()), ..Default::default() },
        100,
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 2);
});

conformance!(async fn only_supervisors_and_admins_import_and_a_foreign_import_is_not_found(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Admin]).await;
    let csrf = c.get("/staff/agencies/register").await.csrf();
    let up = c
        .post_multipart(
            &format!("/staff/agencies/register?csrf={csrf}"),
            &[("new_source", "Ministarstvo"), ("register_date", "1.9.2025.")],
            ("file", "r.csv", V1.to_vec()),
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER);
    let url = up.location();
    let (counsellor, _) = app.signed_in(&[Role::Counsellor]).await;
    assert_eq!(counsellor.get(&url).await.status, StatusCode::FORBIDDEN);
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Supervisor]).await;
    assert_eq!(foreign.get(&url).await.status, StatusCode::NOT_FOUND);
    // Oversized files are refused with the form kept.
    let big = vec![b'a'; haven_web::staff::register::FILE_LIMIT + 1];
    let res = c
        .post_multipart(
            &format!("/staff/agencies/register?csrf={csrf}"),
            &[("new_source", "Ministarstvo"), ("register_date", "2025-09-01")],
            ("file", "r.csv", big),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.input_value("register_date").as_deref(), Some("2025-09-01"));
});
