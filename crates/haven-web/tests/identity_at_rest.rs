//! Identities at rest: "a test seeds identities and then scans the SQLite file, its WAL, a
//! PostgreSQL dump and the logs for those names, phone numbers and e-mails in any case and
//! script: zero hits."
//!
//! People with Serbian names in both scripts, phones, e-mail addresses, identity numbers,
//! addresses and notes are recorded through the store inside a running Haven, found again,
//! re-encrypted after a key rotation, shown in the audit log and even logged by mistake (as a
//! debug value and in an error). Then every byte Haven left behind — the SQLite database, its WAL
//! and shared-memory files, every other file in the data folder, a `pg_dump` of the test schema,
//! and everything logged at TRACE level — is searched for each value in lower, upper and given
//! case, in Latin and Cyrillic, with and without diacritics, as UTF-8, UTF-16LE and hex (how
//! `pg_dump` writes BYTEA). The scan must find nothing; and it must find a staff member's e-mail
//! address, which is stored in plain text, so that it cannot pass by finding nothing anywhere.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::NaiveDate;
use haven_domain::people::{CountryCode, Gender};
use haven_domain::script::{cyrillic_to_latin, fold, latin_to_cyrillic};
use haven_domain::{OsRng, Role};
use haven_store::audit::{AuditEvent, Outcome};
use haven_store::people::{self, NewPerson};
use haven_store::{Backend, execute, keys};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{TestApp, conformance};

/// Everything logged by this test binary, at every level.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init()
            .expect("this test binary installs the only subscriber");
        buf
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One person's identifying values, as staff would type them.
struct Seed {
    name: &'static str,
    alias: &'static str,
    phone: &'static str,
    phone_e164: &'static str,
    email: &'static str,
    identity_number: &'static str,
    address: &'static str,
    notes: &'static str,
}

const SEEDS: [Seed; 4] = [
    Seed {
        name: "Драгослава Радивојевић",
        alias: "Gagica Radivojević",
        phone: "+381 64 987 6543",
        phone_e164: "+381649876543",
        email: "Dragoslava.Radivojevic@Primer.rs",
        identity_number: "2304985715027",
        address: "Ulica Despota Đurđa 33, Sjenica",
        notes: "Pobegla od poslodavca koji joj je oduzeo pasoš",
    },
    Seed {
        name: "Svetlana Mihajlović",
        alias: "Светлана Михајловић-Ђукић",
        phone: "064/555-0199",
        phone_e164: "+381645550199",
        email: "svetlana.mihajlovic@posta.example",
        identity_number: "P 007733991",
        address: "Карађорђева 101, Прокупље",
        notes: "Тражи помоћ око повратка кући из Беча",
    },
    Seed {
        name: "Милорад Стојаковић",
        alias: "Miki Stojaković",
        phone: "00381 63 444 7788",
        phone_e164: "+381634447788",
        email: "MILORAD.STOJAKOVIC@EXAMPLE.NET",
        identity_number: "1107002780044",
        address: "Bulevar Mihajla Pupina 212, Zemun",
        notes: "Maloletan, poslednji put viđen na autobuskoj stanici",
    },
    Seed {
        name: "Đurđija Šćekić",
        alias: "Ђурђија Шћекић",
        phone: "+381 11 3344 556",
        phone_e164: "+381113344556",
        email: "djurdjija.scekic@primer.example",
        identity_number: "A1B2-C3D4-E5",
        address: "Njegoševa 9, Kraljevo",
        notes: "Radila bez ugovora u Nemačkoj, dug za smeštaj",
    },
];

/// What staff write into a case: narratives, places, numbers of police reports and court
/// decisions, notes, task titles, outcomes, reasons, a person recorded through the case page, a
/// document's name and content. Every one must be sealed.
const CASE_SECRETS: [&str; 14] = [
    "Otac je odveo Mrmoljanku preko prelaza Kvrgavac",
    "Zlatibrdica, iza pekare Šumadinka",
    "Plava jakna, ožiljak iznad obrve, zove se Tijanka",
    "PU-Mrmoljevo-4471/26",
    "Sudnica Bradavičevo, P2-981/25",
    "Majka Vukosava Đerekarević zvala u ponoć",
    "Pozvati Vukosavu na broj iz prijave",
    "Podneta tužba protiv Kvrgavčevića",
    "Saglasnost potpisala pred Zlatibrdićem",
    "Korisnica na vezi traži hitan smeštaj Mrmoljevo",
    "Милијана Крстајић-Бранковић",
    "+381 66 7788 990",
    "Rešenje Bradavičevo.pdf",
    "Presuda-Mrmoljevo-99812",
];

/// The needles of [`CASE_SECRETS`].
fn case_needles() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in CASE_SECRETS {
        values.push(v.to_owned());
        values.extend(
            v.split(|c: char| c.is_whitespace() || c == '-' || c == ',' || c == '/' || c == '.')
                .filter(|w| w.chars().count() >= 7)
                .map(str::to_owned),
        );
    }
    values.push("+381667788990".into());
    values.push("0667788990".into());
    let mut out: Vec<String> = values.iter().flat_map(|v| spellings(v)).collect();
    out.sort();
    out.dedup();
    out
}

/// What a counsellor types at the hotline desk: the caller's phone, e-mail and handle, the
/// summary and notes, a police report number in the escalation checklist, a task, a handover
/// note, a draft and a reason for voiding. Every one must be sealed.
const DESK_SECRETS: [&str; 10] = [
    "+381 69 4455 667",
    "Ljubomirka.Desk@primer.rs",
    "@grozdanka_ljubomirka",
    "Zvala Ljubomirka iz Bačke Palanke",
    "Dete Grozdanka odvedeno preko Horgoša",
    "PU-Zrenjanin-5531/26",
    "Proveriti Grozdankinu školu",
    "Nazvati Ljubomirku sutra ujutru",
    "Nedovršeno: Vukašinka zove ponovo",
    "Pogrešno uneto za Ljubomirku",
];

/// The needles of [`DESK_SECRETS`].
fn desk_needles() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in DESK_SECRETS {
        values.push(v.to_owned());
        values.extend(
            v.split(|c: char| {
                c.is_whitespace()
                    || c == '-'
                    || c == ','
                    || c == '/'
                    || c == '.'
                    || c == '@'
                    || c == '_'
            })
            .filter(|w| w.chars().count() >= 7)
            .map(str::to_owned),
        );
    }
    values.push("+381694455667".into());
    values.push("0694455667".into());
    values.push("ljubomirka.desk@primer.rs".into());
    let mut out: Vec<String> = values.iter().flat_map(|v| spellings(v)).collect();
    out.sort();
    out.dedup();
    out
}

/// Records everything of [`DESK_SECRETS`] through the desk's pages, as a counsellor would.
async fn desk_work(app: &TestApp) {
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let fields = [
        ("line", "116000"),
        ("channel", "phone"),
        ("caller_type", "family_member"),
        ("phone", DESK_SECRETS[0]),
        ("email", DESK_SECRETS[1]),
        ("handle", DESK_SECRETS[2]),
        ("summary", DESK_SECRETS[3]),
        ("notes", DESK_SECRETS[4]),
        ("category", "missing_child.parental_abduction"),
        ("do", "save"),
    ];
    let res = c
        .submit("/staff/desk/new", "/staff/desk/new", &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let path = res.location();
    let page = c.get(&path).await;
    assert!(page.contains("+381694455667"));
    c.submit(
        &path,
        &format!("{path}/checks"),
        &[
            ("step", "police_report_number"),
            ("done", "on"),
            ("value", DESK_SECRETS[5]),
        ],
    )
    .await;
    c.submit(
        &path,
        &format!("{path}/tasks"),
        &[("title", DESK_SECRETS[6]), ("due_at", "2026-12-01T10:00")],
    )
    .await;
    c.submit(
        "/staff/desk",
        "/staff/desk/handover",
        &[("line", "116000"), ("body", DESK_SECRETS[7])],
    )
    .await;
    let form = c.get("/staff/desk/new").await;
    let draft = form.input_value("draft_id").unwrap();
    let res = c
        .post_form(
            "/staff/desk/draft",
            &[
                ("csrf", &form.csrf()),
                ("draft_id", &draft),
                ("summary", DESK_SECRETS[8]),
                ("phone", "069 4455 667"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    // Looked up and searched by number and address, then voided.
    let found = c
        .submit(
            "/staff/desk/new",
            "/staff/desk/lookup",
            &[("phone", "069/4455-667")],
        )
        .await;
    assert!(found.contains(path.trim_start_matches("/staff/desk/contacts/")));
    c.submit(
        "/staff/desk/contacts",
        "/staff/desk/search",
        &[("email", DESK_SECRETS[1])],
    )
    .await;
    let res = c
        .submit(
            &path,
            &format!("{path}/void"),
            &[("reason", DESK_SECRETS[9])],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(c.get(&path).await.contains(DESK_SECRETS[9]));
}

/// Records everything of [`CASE_SECRETS`] through the case pages, as staff would.
async fn case_work(app: &TestApp) {
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (other, _) = app.signed_in(&[Role::CaseWorker]).await;
    let (sup, _) = app.signed_in(&[Role::Supervisor]).await;
    let res = c
        .submit(
            "/staff/cases/new",
            "/staff/cases/new",
            &[
                ("kind", "missing_child"),
                ("restricted", "on"),
                ("summary", CASE_SECRETS[0]),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let case = res.location();
    let post = |action: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        let case = case.clone();
        async move {
            let res = c.submit(&case, &format!("{case}/{action}"), &fields).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}: {}", res.text);
        }
    };
    post(
        "details",
        vec![
            ("summary", CASE_SECRETS[0]),
            ("mc_category", "parental_abduction"),
            ("mc_last_seen_at", "2026-11-27T20:00"),
            ("mc_last_seen_place", CASE_SECRETS[1]),
            ("mc_description", CASE_SECRETS[2]),
            ("mc_police_reported_at", "2026-11-27T23:00"),
            ("mc_police_report_number", CASE_SECRETS[3]),
            ("mc_custody_court", CASE_SECRETS[4]),
        ],
    )
    .await;
    post(
        "notes",
        vec![("note_text", CASE_SECRETS[5]), ("family_contact", "on")],
    )
    .await;
    post(
        "tasks",
        vec![
            ("task_title", CASE_SECRETS[6]),
            ("task_due", "2026-11-29T10:00"),
        ],
    )
    .await;
    post(
        "services",
        vec![
            ("service_kind", "psychological"),
            ("outcome", CASE_SECRETS[7]),
        ],
    )
    .await;
    post(
        "people",
        vec![
            ("role", "parent"),
            ("name", CASE_SECRETS[10]),
            ("phones", CASE_SECRETS[11]),
            ("languages", "sr de"),
            ("education", "UpperSecondaryEducation"),
            ("person_notes", CASE_SECRETS[9]),
        ],
    )
    .await;
    let page = c.get(&case).await;
    let person = page.text.split("/staff/people/").nth(1).unwrap()[..36].to_owned();
    let res = c
        .submit(
            &case,
            &format!("{case}/consents"),
            &[
                ("consent_person", &person),
                ("purpose", "data_processing"),
                ("given", "given"),
                ("given_by", "person"),
                ("given_on", "2026-11-28"),
                ("consent_note", CASE_SECRETS[8]),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend_from_slice(CASE_SECRETS[13].as_bytes());
    pdf.extend(std::iter::repeat_n(b' ', 200 * 1024));
    pdf.extend_from_slice(CASE_SECRETS[13].as_bytes());
    let csrf = c.get(&case).await.csrf();
    let res = c
        .post_multipart(
            &format!("{case}/documents?csrf={csrf}"),
            &[("kind", "custody_decision")],
            ("file", CASE_SECRETS[12], pdf.clone()),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    // Someone breaks the glass with a reason; they and a supervisor read everything back.
    let res = other
        .submit(
            &format!("{case}/break-glass"),
            &format!("{case}/break-glass"),
            &[("reason", CASE_SECRETS[9])],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    for reader in [&c, &other, &sup] {
        let page = reader.get(&case).await;
        assert!(
            page.contains(CASE_SECRETS[1])
                && page.contains(CASE_SECRETS[5])
                && page.contains(CASE_SECRETS[12])
        );
        let doc = page
            .text
            .split(&format!("{case}/documents/"))
            .nth(1)
            .unwrap()[..36]
            .to_owned();
        let res = reader.get(&format!("{case}/documents/{doc}")).await;
        assert!(res.text.as_bytes() == pdf.as_slice());
        assert_eq!(
            reader.get(&format!("/staff/people/{person}")).await.status,
            StatusCode::OK
        );
    }
    assert!(
        sup.get("/staff/break-glass")
            .await
            .contains(CASE_SECRETS[9])
    );
    assert!(c.get("/staff/").await.contains("/staff/cases/"));
}

/// What a lawyer writes into a court proceeding: a defendant's name, court numbers, the judge, a
/// note on a hearing, an enforcement note. Every one must be sealed.
const COURT_SECRETS: [&str; 5] = [
    "Bogoljub Kvrgavčević-Mrmoljac",
    "KTR-Bradavičevo-5512/25",
    "Radmila Zvrčkovićka",
    "Svedokinja Tijanka drhtala iza paravana",
    "Izvršiteljka Đurđica Mrmoljevka",
];

/// The needles of [`COURT_SECRETS`].
fn court_needles() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in COURT_SECRETS {
        values.push(v.to_owned());
        values.extend(
            v.split(|c: char| c.is_whitespace() || c == '-' || c == '/')
                .filter(|w| w.chars().count() >= 7)
                .map(str::to_owned),
        );
    }
    let mut out: Vec<String> = values.iter().flat_map(|v| spellings(v)).collect();
    out.sort();
    out.dedup();
    out
}

/// Records everything of [`COURT_SECRETS`] through the proceeding pages, and reads it back.
async fn court_work(app: &TestApp) {
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let court = haven_store::institutions::search(
        &app.state.db,
        app.state.default_org,
        Some(haven_domain::institutions::InstitutionKind::Court),
        "",
    )
    .await
    .unwrap()[0]
        .id
        .to_string();
    let res = c
        .submit(
            "/staff/proceedings/new",
            "/staff/proceedings/new",
            &[
                ("kind", "criminal"),
                ("court", &court),
                ("court_number", COURT_SECRETS[1]),
                ("judge", COURT_SECRETS[2]),
                ("opened_on", "2025-01-10"),
                ("org_role", "legal_representative"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let p = res.location();
    let post = |action: &'static str, fields: Vec<(&'static str, String)>| {
        let c = c.clone();
        let p = p.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = c.submit(&p, &format!("{p}/{action}"), &fields).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}: {}", res.text);
        }
    };
    post(
        "defendants",
        vec![
            ("defendant_name", COURT_SECRETS[0].into()),
            ("defendant_offence", "388-1".into()),
            ("defendant_stage", "indictment".into()),
            ("defendant_charged_on", "2025-01-10".into()),
        ],
    )
    .await;
    post(
        "events",
        vec![
            ("event_kind", "hearing".into()),
            ("event_on", "2025-02-10".into()),
            ("event_held", "on".into()),
            ("event_victim_testified", "on".into()),
            ("event_measures", "video_link".into()),
            ("event_note", COURT_SECRETS[3].into()),
        ],
    )
    .await;
    post(
        "awards",
        vec![
            ("award_source", "criminal_trial".into()),
            ("award_on", "2025-03-01".into()),
            ("award_amount", "1000".into()),
        ],
    )
    .await;
    let page = c.get(&p).await;
    let award = page
        .text
        .split("<select id=\"step_award\"")
        .nth(1)
        .unwrap()
        .split("<option value=\"")
        .nth(2)
        .unwrap()[..36]
        .to_owned();
    post(
        "enforcement",
        vec![
            ("step_award", award),
            ("step_kind", "filed".into()),
            ("step_on", "2025-04-01".into()),
            ("step_note", COURT_SECRETS[4].into()),
        ],
    )
    .await;
    let page = c.get(&p).await;
    for s in COURT_SECRETS {
        assert!(page.contains(s), "{s} is shown to the lawyer");
    }
    // Lists and figures name nobody.
    assert!(!c.get("/staff/proceedings").await.contains(COURT_SECRETS[0]));
    assert!(
        !c.get("/staff/court/figures")
            .await
            .contains(COURT_SECRETS[0])
    );
}

/// What a counsellor writes into a notification to an institution: a person's name in the body,
/// the inspector it is addressed to, and the institution's reply. Every one must be sealed.
const REFERRAL_SECRETS: [&str; 3] = [
    "Radojka Vrtirepić-Zvrndžijević",
    "Inspektorka Mirosava Čkaljević",
    "Zaposlena Radojka kod Kvrgovića",
];

/// A file the institution attaches to its reply: its name, and a witness named in its content.
const REPLY_FILE_SECRETS: [&str; 2] = [
    "Zapisnik Blagomira Šćekića.pdf",
    "Svedok Vukašinović-Trnokopić",
];

/// The needles of [`REFERRAL_SECRETS`] and [`REPLY_FILE_SECRETS`].
fn referral_needles() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in REFERRAL_SECRETS.into_iter().chain(REPLY_FILE_SECRETS) {
        values.push(v.to_owned());
        values.extend(
            v.split(|c: char| c.is_whitespace() || c == '-')
                .filter(|w| w.chars().count() >= 8)
                .map(str::to_owned),
        );
    }
    let mut out: Vec<String> = values.iter().flat_map(|v| spellings(v)).collect();
    out.sort();
    out.dedup();
    out
}

/// Writes, sends and answers a notification carrying [`REFERRAL_SECRETS`], and reads it back.
async fn referral_work(app: &TestApp) {
    let (c, _) = app.signed_in(&[Role::Supervisor]).await;
    let inspectorate = haven_store::institutions::search(
        &app.state.db,
        app.state.default_org,
        Some(haven_domain::institutions::InstitutionKind::LabourInspectorate),
        "",
    )
    .await
    .unwrap()[0]
        .id
        .to_string();
    let res = c
        .submit(
            "/staff/cases/new",
            "/staff/cases/new",
            &[
                ("kind", "labour_exploitation"),
                ("summary", "Rad bez ugovora."),
            ],
        )
        .await;
    let case = res
        .location()
        .trim_start_matches("/staff/cases/")
        .to_owned();
    let body = format!("Prijavljujemo da {} radi bez ugovora.", REFERRAL_SECRETS[0]);
    let res = c
        .submit(
            &format!("/staff/notifications/new?case={case}"),
            "/staff/notifications/new",
            &[
                ("case", &case),
                ("purpose", "report"),
                ("institution", &inspectorate),
                ("recipient_person", REFERRAL_SECRETS[1]),
                ("letter_language", "sr-latn"),
                ("subject", "Rad bez ugovora"),
                ("letter_body", &body),
                ("deadline", "2026-12-28"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let n = res.location();
    for action in ["submit", "approve"] {
        let res = c.submit(&n, &format!("{n}/{action}"), &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}");
    }
    let res = c
        .submit(
            &n,
            &format!("{n}/send"),
            &[("method", "post"), ("sent_on", "2026-11-28")],
        )
        .await;
    let link = res
        .text
        .split("/reply/")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let anon = app.client();
    let reply = format!("/reply/{link}");
    anon.get(&reply).await;
    let content = format!(
        "%PDF-1.4\n% {}\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
        REPLY_FILE_SECRETS[1]
    );
    let res = anon
        .post_multipart_files(
            &reply,
            &[("reply", REFERRAL_SECRETS[2])],
            &[("files", REPLY_FILE_SECRETS[0], content.into_bytes())],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let page = c.get(&n).await;
    for s in REFERRAL_SECRETS.into_iter().chain([REPLY_FILE_SECRETS[0]]) {
        assert!(page.contains(s), "{s} is shown to staff");
    }
    assert!(
        !c.get("/staff/notifications")
            .await
            .contains(REFERRAL_SECRETS[0])
    );
}

/// What staff and visitors write about recruiters and job offers: a recruiter's private mobile
/// and e-mail given as an agency's channels, a staff note naming a person, a report's ad text and
/// address, an action's note; and on the portal a visitor's report and question naming
/// themselves, with their phone. Every one must be sealed (agency names are public by design and
/// carry no identity here).
const AGENCY_SECRETS: [&str; 9] = [
    "+381 65 321 9876",
    "vidosava.prcic@regrut.example",
    "Vlasnica Vidosava Prćić prima pare u kešu",
    "Vidosava Prćić nudi posao u Beču, javiti se Milutinki",
    "https://www.facebook.com/vidosava.prcic.posao",
    "Inspekcija saslušala Vidosavu Prćić",
    "Portalom prijavila Živadinka Grčić iz Leskovca",
    "+381 62 111 2233",
    "Зовем се Радосава Цвејић, помозите",
];

/// The needles of [`AGENCY_SECRETS`].
fn agency_needles() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in AGENCY_SECRETS {
        values.push(v.to_owned());
        values.extend(
            v.split(|c: char| {
                c.is_whitespace() || c == '-' || c == ',' || c == '/' || c == '.' || c == '@'
            })
            // Words of the addresses that name nobody are not needles.
            .filter(|w| w.chars().count() >= 7 && !["example", "facebook", "https:"].contains(w))
            .map(str::to_owned),
        );
    }
    for phone in ["+381653219876", "+381621112233"] {
        values.push(phone.into());
        values.push(phone.replace("+381", "0"));
        values.push(phone.replace('+', "00"));
    }
    let mut out: Vec<String> = values.iter().flat_map(|v| spellings(v)).collect();
    out.sort();
    out.dedup();
    out
}

/// Records an agency with [`AGENCY_SECRETS`] as channels and notes, a job-offer report from a
/// hotline contact, an action; then a visitor's report and question on the portal.
async fn agency_work(app: &TestApp) {
    let (c, _) = app.signed_in(&[Role::Supervisor, Role::Counsellor]).await;
    let res = c
        .submit(
            "/staff/agencies/new",
            "/staff/agencies/new",
            &[
                ("ag_name", "Zlatni Posao d.o.o."),
                ("ag_countries", "AT"),
                ("ag_notes", AGENCY_SECRETS[2]),
                (
                    "ag_channels",
                    &format!("{}\n{}", AGENCY_SECRETS[0], AGENCY_SECRETS[1]),
                ),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let agency = res.location();
    let agency_id = agency.trim_start_matches("/staff/agencies/").to_owned();
    let res = c
        .submit(
            "/staff/desk/new",
            "/staff/desk/new",
            &[
                ("line", "sos"),
                ("channel", "phone"),
                ("direction", "inbound"),
                ("caller_type", "citizen"),
                ("category", "labour.job_offer"),
                ("countries", "AT"),
                ("urgency", "routine"),
                ("summary", "Ponuda za posao u Austriji"),
                ("do", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let contact = res
        .location()
        .trim_start_matches("/staff/desk/contacts/")
        .to_owned();
    let form = c
        .get(&format!("/staff/agencies/reports/new?contact={contact}"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    let channels = format!("{}\n{}", AGENCY_SECRETS[4], AGENCY_SECRETS[1]);
    let res = c
        .post_form(
            "/staff/agencies/reports",
            &[
                ("csrf", &form.csrf()),
                ("contact", &contact),
                ("rp_channels", &channels),
                ("rp_agency_name", "Zlatni Posao"),
                ("rp_ad_text", AGENCY_SECRETS[3]),
                ("rp_ad_url", AGENCY_SECRETS[4]),
                ("rp_country", "AT"),
                ("rp_choice", &agency_id),
                ("do", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let res = c
        .submit(
            &agency,
            &format!("{agency}/actions"),
            &[
                ("act_kind", "inspection"),
                ("act_on", "2026-11-27"),
                ("act_note", AGENCY_SECRETS[5]),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&agency).await;
    for s in [AGENCY_SECRETS[2], AGENCY_SECRETS[3], AGENCY_SECRETS[5]] {
        assert!(page.contains(s), "{s} is shown to staff: {}", page.text);
    }
    // A visitor on the portal: a job-offer report and a question, with a phone to call back.
    let visitor = app.client();
    for (kind, fields) in [
        (
            "report",
            vec![
                ("agency", "Zlatni Posao"),
                ("country", "AT"),
                ("text", AGENCY_SECRETS[6]),
                ("link", AGENCY_SECRETS[4]),
            ],
        ),
        (
            "question",
            vec![
                ("text", AGENCY_SECRETS[8]),
                ("contact", AGENCY_SECRETS[7]),
                ("safe", "yes"),
            ],
        ),
    ] {
        let form = visitor.get(&format!("/en/send/{kind}")).await;
        let token = form.input_value("token").unwrap();
        let mut all = vec![("token", token.as_str())];
        all.extend(fields);
        let res = visitor
            .post_multipart_files(&format!("/en/send/{kind}"), &all, &[])
            .await;
        assert_eq!(res.status, StatusCode::OK, "{kind}: {}", res.text);
        assert!(!res.contains(AGENCY_SECRETS[6]) && !res.contains(AGENCY_SECRETS[8]));
    }
    // The visitor checks the recruiter on the portal by its mobile.
    let form = visitor.get("/en/agency-check").await;
    let token = form.input_value("token").unwrap();
    let check = visitor
        .post_form(
            "/en/agency-check",
            &[("token", token.as_str()), ("q", AGENCY_SECRETS[0])],
        )
        .await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text);
    // Staff read both in the desk.
    let list = c.get("/staff/desk/contacts?line=portal").await;
    assert_eq!(list.status, StatusCode::OK);
    let mut shown = String::new();
    for id in list.text.split("/staff/desk/contacts/").skip(1) {
        let id: String = id
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
            .collect();
        if id.len() == 36 {
            shown.push_str(&c.get(&format!("/staff/desk/contacts/{id}")).await.text);
        }
    }
    assert!(shown.contains(AGENCY_SECRETS[6]) && shown.contains(AGENCY_SECRETS[8]));
}

/// The exports meant to carry no identity: the contacts' CSV and XLSX and the court figures'
/// CSV (the XLSX unpacked with Python's zipfile, so that its XML is scanned, not its deflate).
async fn anonymous_exports(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let (c, _) = app
        .signed_in(&[
            Role::Supervisor,
            Role::Analyst,
            Role::Fundraiser,
            Role::Lawyer,
        ])
        .await;
    let mut out = Vec::new();
    for format in ["csv", "xlsx"] {
        let csrf = c.get("/staff/desk/contacts").await.csrf();
        let (status, bytes) = c
            .post_form_bytes(
                "/staff/desk/export",
                &[("csrf", csrf.as_str()), ("format", format)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "export {format}");
        let bytes = if format == "xlsx" {
            unzip(&bytes)
        } else {
            bytes
        };
        assert!(bytes.len() > 200, "the {format} export has rows");
        out.push((format!("contacts export ({format})"), bytes));
    }
    let figures = c.get_bytes("/staff/court/figures.csv").await;
    out.push(("court figures export (csv)".into(), figures));
    out
}

/// The files of a ZIP archive (an XLSX), one after the other.
fn unzip(bytes: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist(): sys.stdout.buffer.write(z.read(n))",
        ])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("python3 unpacks the XLSX: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A value's spellings: as given, in both scripts, in lower and upper case, with diacritics
/// folded (with and without spaces).
fn spellings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for base in [
        value.to_owned(),
        cyrillic_to_latin(value),
        latin_to_cyrillic(value),
    ] {
        out.push(base.to_lowercase());
        out.push(base.to_uppercase());
        out.push(base.clone());
    }
    let words: Vec<String> = value.split_whitespace().map(fold).collect();
    out.push(words.join(" "));
    out.push(fold(value));
    out.retain(|s| s.chars().count() >= 5);
    out.sort();
    out.dedup();
    out
}

/// Everything the scan looks for: each value and its words of six or more letters, spelled every
/// way; the phone in every form; the digits of numbers.
fn needles() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for s in &SEEDS {
        for v in [s.name, s.alias, s.email, s.address, s.notes] {
            values.push(v.to_owned());
            values.extend(
                v.split(|c: char| c.is_whitespace() || c == '-' || c == ',' || c == '@')
                    .filter(|w| w.chars().count() >= 6)
                    .map(str::to_owned),
            );
        }
        values.push(s.phone.to_owned());
        values.push(s.phone_e164.to_owned());
        let national = s.phone_e164.replace("+381", "0");
        values.push(national.clone());
        values.push(s.phone_e164.replace('+', "00"));
        values.push(s.phone_e164.trim_start_matches('+').to_owned());
        values.push(s.identity_number.to_owned());
        values.push(haven_crypto::normalize::identity_number(s.identity_number));
    }
    let mut out: Vec<String> = values.iter().flat_map(|v| spellings(v)).collect();
    out.sort();
    out.dedup();
    out
}

/// The byte strings that would betray `needle`: UTF-8, UTF-16LE, and lower-case hex of UTF-8.
fn encodings(needle: &str) -> Vec<Vec<u8>> {
    vec![
        needle.as_bytes().to_vec(),
        needle.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        hex::encode(needle.as_bytes()).into_bytes(),
    ]
}

/// Every phone number seeded, as the digits of its national significant number (without the
/// country code or the leading zero): found by [`digit_hits`] whatever separates the digits.
fn phone_digits() -> Vec<String> {
    let mut out: Vec<String> = SEEDS
        .iter()
        .map(|s| s.phone_e164.trim_start_matches("+381").to_owned())
        .collect();
    out.extend(
        [
            CASE_SECRETS[11],
            DESK_SECRETS[0],
            AGENCY_SECRETS[0],
            AGENCY_SECRETS[7],
        ]
        .iter()
        .map(|p| {
            let d: String = p.chars().filter(char::is_ascii_digit).collect();
            d.trim_start_matches("381").to_owned()
        }),
    );
    out
}

/// The phone numbers found in `haystack` once spaces, dashes, slashes, dots and brackets between
/// digits are ignored (as ASCII and as UTF-16LE), so "064/987-65 43" is found as well.
fn digit_hits(haystack: &[u8], phones: &[String]) -> Vec<String> {
    let mut found = BTreeSet::new();
    for (enc, step) in [("digits", 1usize), ("digits, UTF-16LE", 2)] {
        for offset in 0..step {
            let mut digits = Vec::new();
            let mut i = offset;
            while i + step <= haystack.len() {
                let b = haystack[i];
                let wide_ok = step == 1 || haystack[i + 1] == 0;
                if wide_ok && b.is_ascii_digit() {
                    digits.push(b);
                } else if !(wide_ok && b" -/.()".contains(&b)) {
                    if digits.len() >= 8 {
                        let run = String::from_utf8_lossy(&digits).into_owned();
                        for p in phones {
                            if run.contains(p.as_str()) {
                                found.insert(format!("phone {p:?} ({enc})"));
                            }
                        }
                    }
                    digits.clear();
                }
                i += step;
            }
            let run = String::from_utf8_lossy(&digits).into_owned();
            for p in phones {
                if run.contains(p.as_str()) {
                    found.insert(format!("phone {p:?} ({enc})"));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The needles found in `haystack`, with the encoding that matched (one pass over the haystack,
/// looking each position up by its first three bytes).
fn hits(haystack: &[u8], needles: &[String]) -> Vec<String> {
    let mut by_prefix: HashMap<[u8; 3], Vec<(String, Vec<u8>)>> = HashMap::new();
    for n in needles {
        for (enc, bytes) in ["UTF-8", "UTF-16LE", "hex"].iter().zip(encodings(n)) {
            assert!(bytes.len() >= 3, "{n:?}");
            by_prefix
                .entry([bytes[0], bytes[1], bytes[2]])
                .or_default()
                .push((format!("{n:?} ({enc})"), bytes));
        }
    }
    let mut found = BTreeSet::new();
    for i in 0..haystack.len().saturating_sub(2) {
        if let Some(candidates) = by_prefix.get(&[haystack[i], haystack[i + 1], haystack[i + 2]]) {
            for (label, bytes) in candidates {
                if haystack[i..].starts_with(bytes) {
                    found.insert(label.clone());
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Every file in the data folder (database, WAL, shared memory, key file), by name.
fn data_files(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&app.settings.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    files
}

fn pg_dump(app: &TestApp) -> Vec<u8> {
    let schema = app.pg_schema().expect("a PostgreSQL test has a schema");
    let out = std::process::Command::new("pg_dump")
        .args([
            "--schema",
            schema,
            "--no-owner",
            &haven_testkit::postgres_url(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("pg_dump must be installed to scan PostgreSQL: {e}"));
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        contains(&out.stdout, b"CREATE TABLE"),
        "the dump holds the schema"
    );
    out.stdout
}

fn seeded(app: &TestApp, s: &Seed, n: usize) -> NewPerson {
    NewPerson {
        id: app.state.ids().id(),
        name: s.name.into(),
        aliases: vec![s.alias.into()],
        birth_date: NaiveDate::from_ymd_opt(1985 + n as i32, 4, 23),
        phones: vec![s.phone.into()],
        emails: vec![s.email.into()],
        identity_numbers: vec![s.identity_number.into()],
        address: s.address.into(),
        notes: s.notes.into(),
        gender: if n.is_multiple_of(2) {
            Gender::Feminine
        } else {
            Gender::Masculine
        },
        birth_year: None,
        citizenship: Some(CountryCode::parse("citizenship", "RS").unwrap()),
        created_by: None,
        now: app.state.now(),
    }
}

conformance!(async fn no_identity_is_readable_at_rest_or_in_the_logs(backend) {
    let logs = captured_logs();
    let mut needles = needles();
    needles.extend(case_needles());
    needles.extend(court_needles());
    needles.extend(desk_needles());
    needles.extend(referral_needles());
    needles.extend(agency_needles());
    // The scanner finds a value in each encoding it claims to search.
    for enc in encodings("Радивојевић") {
        let mut blob = vec![0u8; 100];
        blob.extend_from_slice(&enc);
        assert!(!hits(&blob, &needles).is_empty());
    }

    let app = TestApp::spawn(backend).await;
    let org = app.state.default_org;
    let (admin, _) = app.admin().await;
    let ring = app.state.keys.get(org).await.unwrap();
    let mut recorded = Vec::new();
    for (n, s) in SEEDS.iter().enumerate() {
        let p = seeded(&app, s, n);
        let mut tx = app.state.db.begin().await.unwrap();
        people::insert(&mut tx, &ring, &OsRng, org, "RS", &p).await.unwrap();
        haven_store::audit::append(&mut tx, org, app.state.ids().uuid(), app.state.now(), &AuditEvent::new(haven_store::audit::AuditActor::System, "person.created", Outcome::Ok).target("person", p.id.0)).await.unwrap();
        tx.commit().await.unwrap();
        // A careless debug line: Debug shows the record, never the identity.
        tracing::debug!(person = ?p, "recorded");
        recorded.push(p);
    }
    // Found again however typed.
    for (s, p) in SEEDS.iter().zip(&recorded) {
        let by_phone = people::find_by_phone(&app.state.db, &ring, org, "RS", &s.phone_e164.replace("+381", "0")).await.unwrap();
        assert_eq!(by_phone.iter().map(|x| x.id).collect::<Vec<_>>(), vec![p.id]);
        let by_email = people::find_by_email(&app.state.db, &ring, org, &s.email.to_uppercase()).await.unwrap();
        assert_eq!(by_email.len(), 1);
        let by_name = people::find_by_name(&app.state.db, &ring, org, &latin_to_cyrillic(&cyrillic_to_latin(s.name))).await.unwrap();
        assert!(by_name.iter().any(|x| x.id == p.id));
        tracing::info!(found = ?by_name, "lookup");
    }
    // A rotation and the background re-encryption write every ciphertext again.
    let master = app.state.keys.master();
    let mut tx = app.state.db.begin().await.unwrap();
    keys::add_data_key_version(&mut tx, &master, org, app.state.now(), &OsRng).await.unwrap();
    tx.commit().await.unwrap();
    // 32 sealed fields of the four people, and the administrator's second-factor secret.
    assert_eq!(haven_web::keys::reencrypt_stale(&app.state).await.unwrap(), 33);
    // A damaged record makes an error, which a handler would log.
    let mut tx = app.state.db.begin().await.unwrap();
    execute!(&mut tx, "UPDATE people SET notes_enc = address_enc WHERE org_id = $1 AND id = $2", org.0, recorded[0].id.0).unwrap();
    tx.commit().await.unwrap();
    let damaged = recorded[0].id;
    let err = app.state.keys.with(org, |ring| { let db = app.state.db.clone(); async move { people::get(&db, &ring, org, damaged).await } }).await.unwrap_err();
    tracing::error!(error = %err, debug = ?err, "could not open a person");
    // Case work through the pages: narratives, notes, documents, a person, a reason.
    case_work(&app).await;
    // Court work through the pages: a defendant, numbers, the judge, notes.
    court_work(&app).await;
    // Contacts at the hotline desk: caller, summary, notes, checklist, task, handover, draft.
    desk_work(&app).await;
    // A notification to an institution, sent, and the institution's reply.
    referral_work(&app).await;
    // Agencies, a job-offer report, and a visitor's report and question on the portal.
    agency_work(&app).await;
    // The exports meant to be anonymous.
    let exports = anonymous_exports(&app).await;
    // Staff look at the audit log and verify it.
    let (supervisor, _) = app.signed_in(&[Role::Supervisor]).await;
    assert_eq!(supervisor.get("/staff/audit").await.status, StatusCode::OK);
    assert_eq!(admin.submit("/staff/audit", "/staff/audit/verify", &[]).await.status, StatusCode::OK);
    tracing::info!(marker = "log-capture-works-7f3a", "end of activity");

    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    match app.backend {
        Backend::Sqlite => {
            places.extend(data_files(&app).into_iter().map(|(n, b)| (format!("{n} (running)"), b)));
            // Closing checkpoints the WAL into the database file: scan it again afterwards.
            app.state.db.close().await;
            places.extend(data_files(&app).into_iter().map(|(n, b)| (format!("{n} (closed)"), b)));
            let names: Vec<&str> = places.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names.contains(&"haven.db-wal (running)") && names.contains(&"haven.db (closed)"), "{names:?}");
        }
        Backend::Postgres => places.push(("pg_dump".into(), pg_dump(&app))),
    }
    places.extend(exports);
    let log_bytes = logs.lock().unwrap().clone();
    assert!(contains(&log_bytes, b"log-capture-works-7f3a"), "logs are captured");
    assert!(contains(&log_bytes, b"/staff/audit"), "the application's own log lines are captured");
    places.push(("logs".into(), log_bytes));

    // The scan can see plain text: a staff member's e-mail address is stored as such.
    let db_bytes: Vec<u8> = places.iter().filter(|(n, _)| n != "logs" && !n.contains("export")).flat_map(|(_, b)| b.clone()).collect();
    assert!(contains(&db_bytes, b"admin@example.org"), "the scan must be able to find a plain-text value");

    let phones = phone_digits();
    let mut leaks = Vec::new();
    for (place, bytes) in &places {
        for hit in hits(bytes, &needles) {
            leaks.push(format!("{place}: {hit}"));
        }
        for hit in digit_hits(bytes, &phones) {
            leaks.push(format!("{place}: {hit}"));
        }
    }
    let tried = (needles.len() + phones.len()) * places.len();
    for l in &leaks {
        eprintln!("LEAK {l}");
    }
    eprintln!(
        "searched {} spellings and {} phone numbers in {} places: {:?}",
        needles.len(),
        phones.len(),
        places.len(),
        places.iter().map(|(n, b)| format!("{n} ({} bytes)", b.len())).collect::<Vec<_>>()
    );
    eprintln!("RESULT identity-scan tried={tried} failed={}", leaks.len());
    assert!(leaks.is_empty(), "identifying values found at rest:\n{}", leaks.join("\n"));
    assert!(needles.len() > 200, "{} spellings searched", needles.len());
});
