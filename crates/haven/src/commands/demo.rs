//! `haven demo`: synthetic, clearly fake data for demonstrations and benchmarks.
//!
//! Everything it writes is marked as demo data: e-mail addresses end in `.invalid` (a domain
//! that can never exist), names carry "(demo)", and the people it records (encrypted like real
//! ones) have numbers from one block of `064 000`. It adds to the default organisation, and
//! refuses to touch one that has staff who are not demo accounts unless told `--yes`.

use std::process::ExitCode;

use haven_domain::institutions::InstitutionKind;
use haven_domain::people::{CountryCode, Gender};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{Language, Role};
use haven_store::institutions::{self, Institution};
use haven_store::people;
use haven_store::users::{self, NewUser, UserStatus};
use haven_web::Settings;

/// Options of `haven demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How much to add: 1 is a small office; each step adds the same again.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub size: u32,
    /// Add demo data even though the organisation has real staff accounts.
    #[arg(long)]
    pub yes: bool,
}

const DEMO_DOMAIN: &str = "demo.haven.invalid";

const CITIES: &[&str] = &[
    "Beograd",
    "Novi Sad",
    "Niš",
    "Kragujevac",
    "Subotica",
    "Zrenjanin",
    "Pančevo",
    "Čačak",
    "Kraljevo",
    "Novi Pazar",
    "Smederevo",
    "Leskovac",
    "Valjevo",
    "Kruševac",
    "Vranje",
    "Šabac",
    "Užice",
    "Sombor",
    "Požarevac",
    "Pirot",
];

const WORDS: &[&str] = &[
    "lipa", "reka", "most", "sunce", "kamen", "oblak", "jabuka", "vetar", "polje", "zvezda",
    "luka", "breza",
];

/// Runs the demo filler.
pub async fn run(settings: Settings, args: DemoArgs) -> Result<ExitCode, String> {
    let haven = super::open(settings).await?;
    let state = haven.state;
    let org = state.default_org;
    let existing = users::list(&state.db, org)
        .await
        .map_err(|e| e.to_string())?;
    let real = existing
        .iter()
        .filter(|u| !u.email.ends_with(DEMO_DOMAIN))
        .count();
    if real > 0 && !args.yes {
        return Err(format!(
            "this organisation has {real} real staff account(s); demo data would mix with real records. Use a fresh data folder, or add --yes"
        ));
    }
    let now = state.now();
    let password = demo_password(&state);
    let hash = state
        .passwords
        .hash(&password, state.rng.as_ref())
        .map_err(|e| e.to_string())?;
    let mut tx = state.db.begin().await.map_err(|e| e.to_string())?;
    let mut created = Vec::new();
    for role in Role::ALL {
        let email = format!("{}@{DEMO_DOMAIN}", role.code().replace('_', "-"));
        if existing.iter().any(|u| u.email == email) {
            continue;
        }
        let name = format!("{} (demo)", demo_name(role));
        users::insert(
            &mut tx,
            &NewUser {
                org_id: org,
                id: state.ids().id(),
                email: EmailAddress::parse("email", &email)
                    .map_err(|_| "demo e-mail".to_owned())?,
                display_name: DisplayName::parse("name", &name)
                    .map_err(|_| "demo name".to_owned())?,
                language: if role == Role::Analyst {
                    Language::En
                } else {
                    Language::SrLatn
                },
                roles: vec![role],
                status: UserStatus::Active,
                password_hash: Some(hash.clone()),
                now,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        created.push(email);
    }
    let ids = state.ids();
    let mut added = 0usize;
    for n in 0..args.size as usize * 20 {
        let city = CITIES[n % CITIES.len()];
        let round = n / CITIES.len() + 1;
        let (kind, sr, en) = match n % 4 {
            0 => (
                InstitutionKind::SocialWorkCentre,
                format!("Centar za socijalni rad {city} {round} (demo)"),
                format!("Centre for Social Work {city} {round} (demo)"),
            ),
            1 => (
                InstitutionKind::Police,
                format!("Policijska stanica {city} {round} (demo)"),
                format!("Police station {city} {round} (demo)"),
            ),
            2 => (
                InstitutionKind::School,
                format!("Osnovna škola {city} {round} (demo)"),
                format!("Primary school {city} {round} (demo)"),
            ),
            _ => (
                InstitutionKind::PartnerNgo,
                format!("Udruženje {city} {round} (demo)"),
                format!("Association {city} {round} (demo)"),
            ),
        };
        let i = Institution {
            org_id: org,
            id: ids.uuid(),
            kind,
            name_sr_latn: sr,
            name_sr_cyrl: None,
            name_en: Some(en),
            area: Some(city.to_owned()),
            country: "RS".into(),
            address: None,
            phone: None,
            email: Some(format!("kontakt{n}@{DEMO_DOMAIN}")),
            website: None,
            notes: Some("Demo record: not a real institution.".into()),
        };
        institutions::insert(&mut tx, &i, false, now)
            .await
            .map_err(|e| e.to_string())?;
        added += 1;
    }
    let ring = state.keys.get(org).await.map_err(|e| e.to_string())?;
    let people = args.size as usize * 10;
    for n in 0..people {
        let p = demo_person(&state, n);
        people::insert(
            &mut tx,
            &ring,
            state.rng.as_ref(),
            org,
            &state.settings.org.phone_region,
            &p,
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    println!(
        "Added demo data (size {}): {} staff accounts, {} institutions, {} people.",
        args.size,
        created.len(),
        added,
        people
    );
    if !created.is_empty() {
        println!();
        println!(
            "Sign in at {}/staff/login with any of these accounts, password: {password}",
            state.settings.public_base_url()
        );
        for e in &created {
            println!("    {e}");
        }
        println!();
        println!(
            "Each account enrols a second factor (an authenticator app) at its first sign-in."
        );
    }
    state.db.close().await;
    Ok(ExitCode::SUCCESS)
}

const GIVEN: &[(&str, Gender)] = &[
    ("Jovana", Gender::Feminine),
    ("Милица", Gender::Feminine),
    ("Teodora", Gender::Feminine),
    ("Ана", Gender::Feminine),
    ("Luka", Gender::Masculine),
    ("Стефан", Gender::Masculine),
    ("Nemanja", Gender::Masculine),
    ("Вук", Gender::Masculine),
    ("Sara", Gender::NonSpecifiedUnknown),
];

const FAMILY: &[&str] = &[
    "Jovanović",
    "Петровић",
    "Nikolić",
    "Ђорђевић",
    "Stojanović",
    "Илић",
    "Marković",
    "Павловић",
];

/// A clearly fake person: "(demo)" in the name, an `.invalid` address, numbers from a block of
/// the Serbian plan that the test data of every run shares.
fn demo_person(state: &haven_web::AppState, n: usize) -> people::NewPerson {
    let (given, gender) = GIVEN[n % GIVEN.len()];
    let family = FAMILY[(n / GIVEN.len()) % FAMILY.len()];
    let year = 1980 + (n % 30) as i32;
    people::NewPerson {
        id: state.ids().id(),
        name: format!("{given} {family} (demo)"),
        aliases: Vec::new(),
        birth_date: chrono::NaiveDate::from_ymd_opt(year, 1 + (n % 12) as u32, 1 + (n % 28) as u32),
        phones: vec![format!("064 000 {:04}", n % 10_000)],
        emails: vec![format!("osoba{n}@{DEMO_DOMAIN}")],
        identity_numbers: Vec::new(),
        address: format!("{} (demo)", CITIES[n % CITIES.len()]),
        notes: "Demo record: not a real person.".into(),
        gender,
        birth_year: None,
        citizenship: CountryCode::parse("citizenship", "RS").ok(),
        created_by: None,
        now: state.now(),
    }
}

fn demo_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "Ana Admin",
        Role::Supervisor => "Sanja Supervizor",
        Role::Counsellor => "Marko Savetnik",
        Role::CaseWorker => "Jelena Voditelj",
        Role::Lawyer => "Nikola Advokat",
        Role::Fundraiser => "Ivana Donacije",
        Role::Analyst => "Petar Analitičar",
        Role::PortalEditor => "Milica Urednik",
    }
}

fn demo_password(state: &haven_web::AppState) -> String {
    let bytes: [u8; 5] = haven_domain::clock::random_bytes(state.rng.as_ref());
    let words: Vec<&str> = bytes[..4]
        .iter()
        .map(|b| WORDS[*b as usize % WORDS.len()])
        .collect();
    format!("{}-{}", words.join("-"), 10 + bytes[4] % 90)
}
