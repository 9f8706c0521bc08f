//! `haven demo`: synthetic, clearly fake data for demonstrations and benchmarks.
//!
//! Everything it writes is marked as demo data: e-mail addresses end in `.invalid` (a domain
//! that can never exist), names carry "(demo)", and the people it records (encrypted like real
//! ones) have numbers from one block of `064 000`. It adds to the default organisation, and
//! refuses to touch one that has staff who are not demo accounts unless told `--yes`.

use std::process::ExitCode;

use chrono::TimeDelta;
use haven_domain::cases::{CaseId, CaseKind};
use haven_domain::institutions::InstitutionKind;
use haven_domain::people::{CountryCode, Gender, PersonId};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{Language, Role, UserId};
use haven_store::institutions::{self, Institution};
use haven_store::users::{self, NewUser, UserStatus};
use haven_store::{cases, people};
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
        .hasher()
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
    tx.commit().await.map_err(|e| e.to_string())?;
    let staff = users::list(&state.db, org)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|u| u.email.ends_with(DEMO_DOMAIN))
        .map(|u| (u.roles.clone(), u.id))
        .collect::<Vec<_>>();
    let workers: Vec<UserId> = staff
        .iter()
        .filter(|(roles, _)| {
            roles.iter().any(|r| {
                matches!(
                    r,
                    Role::Counsellor | Role::CaseWorker | Role::Lawyer | Role::Supervisor
                )
            })
        })
        .map(|(_, id)| *id)
        .collect();
    let ring = state.keys.get(org).await.map_err(|e| e.to_string())?;
    let mut added = 0usize;
    let mut people_added = 0usize;
    let mut cases_added = 0usize;
    let mut proceedings_added = 0usize;
    let courts = demo_courts(&state).await?;
    let mut contacts_added = 0usize;
    let mut agencies_added = 0usize;
    let units = args.size as usize;
    // Batches of a few units per transaction, so that a large demo neither holds one huge
    // transaction nor loses everything to a late failure.
    for first in (0..units).step_by(BATCH_UNITS) {
        let last = (first + BATCH_UNITS).min(units);
        let mut tx = state.db.begin().await.map_err(|e| e.to_string())?;
        for unit in first..last {
            for k in 0..20 {
                institutions::insert(
                    &mut tx,
                    &demo_institution(&state, unit * 20 + k),
                    false,
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
                added += 1;
            }
            let mut persons = Vec::new();
            for k in 0..10 {
                let p = demo_person(&state, unit * 10 + k);
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
                persons.push(p.id);
                people_added += 1;
            }
            if !workers.is_empty() {
                let mut trafficking = Vec::new();
                cases_added += demo_cases(
                    &state,
                    &mut tx,
                    &ring,
                    unit,
                    &persons,
                    &workers,
                    &mut trafficking,
                )
                .await?;
                proceedings_added +=
                    demo_proceedings(&state, &mut tx, &ring, &courts, &trafficking).await?;
                contacts_added += demo_contacts(&state, &mut tx, &ring, unit, &workers).await?;
                agencies_added += demo_agencies(&state, &mut tx, &ring, unit, &workers).await?;
            }
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        if units > BATCH_UNITS {
            println!("  {last} of {units} done");
        }
    }
    println!(
        "Added demo data (size {}): {} staff accounts, {} institutions, {} cases, {} hotline contacts, {} people, {} court proceedings, {} agencies.",
        args.size,
        created.len(),
        added,
        cases_added,
        contacts_added,
        people_added,
        proceedings_added,
        agencies_added
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

/// Hotline contacts of one unit: ten calls, chats and messages on the three lines over the last
/// weeks, of every kind the desk sees (most are not cases: information requests, job-offer
/// checks, silent calls), with phones that call again, flags and follow-up.
async fn demo_contacts(
    state: &haven_web::AppState,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    unit: usize,
    workers: &[UserId],
) -> Result<usize, String> {
    use haven_domain::desk::{
        CallerType, Channel, ContactId, ContactInput, ContactUrgency, Direction, FlagKind, HeardVia,
    };
    use haven_store::contacts;
    const KINDS: &[(&str, &str, CallerType, ContactUrgency, &str)] = &[
        (
            "116000",
            "missing_child.runaway",
            CallerType::FamilyMember,
            ContactUrgency::Urgent,
            "Ćerka (15) nije došla kući posle škole",
        ),
        (
            "116000",
            "missing_child.parental_abduction",
            CallerType::FamilyMember,
            ContactUrgency::ImmediateDanger,
            "Otac odveo dete preko granice bez saglasnosti",
        ),
        (
            "sos",
            "labour.job_offer",
            CallerType::PotentialVictim,
            ContactUrgency::Routine,
            "Provera oglasa za posao u Nemačkoj, traže depozit",
        ),
        (
            "sos",
            "trafficking.forced_labour",
            CallerType::Citizen,
            ContactUrgency::Urgent,
            "Radnici na gradilištu bez pasoša i plate",
        ),
        (
            "sos",
            "information.request",
            CallerType::Professional,
            ContactUrgency::Routine,
            "Škola traži materijale za radionicu",
        ),
        (
            "sos",
            "silent.silent",
            CallerType::SilentTest,
            ContactUrgency::Routine,
            "",
        ),
        (
            "portal",
            "labour.rights",
            CallerType::PotentialVictim,
            ContactUrgency::Routine,
            "Poslodavac ne isplaćuje prekovremeni rad",
        ),
        (
            "sos",
            "trafficking.sexual_exploitation",
            CallerType::FriendPartner,
            ContactUrgency::ImmediateDanger,
            "Drugarica zadržana u stanu, oduzet telefon",
        ),
        (
            "116000",
            "missing_child.unaccompanied_migrant",
            CallerType::OtherHotline,
            ContactUrgency::Urgent,
            "Dečak iz prihvatnog centra nestao",
        ),
        (
            "sos",
            "other.other",
            CallerType::Anonymous,
            ContactUrgency::Routine,
            "Pitanje o radu linije",
        ),
    ];
    const CHANNELS: &[Channel] = &[
        Channel::Phone,
        Channel::Phone,
        Channel::Phone,
        Channel::Viber,
        Channel::WhatsApp,
        Channel::Email,
        Channel::WebForm,
        Channel::WebChat,
        Channel::Sms,
        Channel::SocialMedia,
    ];
    let e = |e: haven_store::StoreError| e.to_string();
    let org = state.default_org;
    let now = state.now();
    let mut added = 0;
    for (k, (line, cat, caller, urgency, summary)) in KINDS.iter().enumerate() {
        let n = unit * 10 + k;
        let channel = if *line == "portal" {
            Channel::WebForm
        } else {
            CHANNELS[n % CHANNELS.len()]
        };
        // One caller in seven calls again from the same number.
        let phone = if matches!(
            channel,
            Channel::Phone | Channel::Viber | Channel::WhatsApp | Channel::Sms
        ) {
            format!("+38164{:07}", (n / 7 * 7) * 7919 % 10_000_000)
        } else {
            String::new()
        };
        let id: ContactId = state.ids().id();
        let by = workers[n % workers.len()];
        contacts::insert(
            tx,
            ring,
            state.rng.as_ref(),
            org,
            &contacts::NewContact {
                id,
                input: ContactInput {
                    line: (*line).to_owned(),
                    channel,
                    direction: Direction::Inbound,
                    started_at: now - TimeDelta::minutes(37 * (1 + (n % 2000) as i64)),
                    duration_seconds: if *caller == CallerType::SilentTest {
                        12
                    } else {
                        60 + (n % 40) as i64 * 23
                    },
                    caller_type: *caller,
                    anonymous: *caller == CallerType::Anonymous,
                    email: if channel == Channel::Email {
                        format!("pozivalac{n}@primer.invalid")
                    } else {
                        String::new()
                    },
                    handle: if channel == Channel::SocialMedia {
                        format!("@korisnik{n}")
                    } else {
                        String::new()
                    },
                    phone,
                    language: "sr".into(),
                    safe_to_call_back: !n.is_multiple_of(3),
                    confidential: n.is_multiple_of(17),
                    heard_via: HeardVia::ALL[n % HeardVia::ALL.len()],
                    categories: vec![(*cat).to_owned()],
                    countries: if cat.contains("abduction") || cat.contains("forced_labour") {
                        vec![
                            CountryCode::parse("countries", "DE")
                                .map_err(|_| "country".to_owned())?,
                        ]
                    } else {
                        Vec::new()
                    },
                    summary: (*summary).to_owned(),
                    notes: if summary.is_empty() {
                        String::new()
                    } else {
                        format!("{summary}. {} (demo)", CITIES[n % CITIES.len()])
                    },
                    urgency: *urgency,
                    action: if *urgency == ContactUrgency::Routine {
                        "Informisan".into()
                    } else {
                        "Obaveštena policija".into()
                    },
                    outcome: String::new(),
                    referral: String::new(),
                    needs_follow_up: *urgency != ContactUrgency::Routine && n.is_multiple_of(2),
                },
                person_id: None,
                counsellors: vec![by],
                by,
                now,
            },
        )
        .await
        .map_err(e)?;
        if *caller == CallerType::SilentTest && n.is_multiple_of(3) {
            contacts::add_flag(
                tx,
                org,
                state.ids().uuid(),
                id,
                FlagKind::KnownPrank,
                now + TimeDelta::days(30),
                by,
                now,
            )
            .await
            .map_err(e)?;
        }
        added += 1;
    }
    Ok(added)
}

/// Units of demo data per transaction.
const BATCH_UNITS: usize = 20;

/// A clearly fake institution.
fn demo_institution(state: &haven_web::AppState, n: usize) -> Institution {
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
    Institution {
        org_id: state.default_org,
        id: state.ids().uuid(),
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
    }
}

/// The kinds of the five cases of each unit: about two in five for missing children, as on a
/// busy 116 000 line, the rest trafficking and labour exploitation.
const CASE_KINDS: [CaseKind; 5] = [
    CaseKind::MissingChild,
    CaseKind::Trafficking,
    CaseKind::MissingChild,
    CaseKind::LabourExploitation,
    CaseKind::Trafficking,
];

/// Adds the five cases of one unit, each with two of the unit's people, details of its kind,
/// services, a task and a timeline; returns how many.
async fn demo_cases(
    state: &haven_web::AppState,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    unit: usize,
    persons: &[PersonId],
    workers: &[UserId],
    trafficking: &mut Vec<DemoTrafficking>,
) -> Result<usize, String> {
    use haven_domain::cases::{
        CaseDetails, CaseStatus, ClosureReason, ControlMethod, ExploitationType, FoundState,
        IloIndicator, Industry, LabourDetails, MissingCategory, MissingChildDetails, PersonRole,
        RecruitmentMethod, ReturnedTo, Scope, ServiceKind, ServiceStatus, StatusDecider,
        TraffickingDetails, TraffickingStatus,
    };
    let e = |e: haven_store::StoreError| e.to_string();
    let org = state.default_org;
    let rng = state.rng.as_ref();
    let now = state.now();
    let mut added = 0;
    for (k, kind) in CASE_KINDS.iter().enumerate() {
        let n = unit * 5 + k;
        let lead = workers[n % workers.len()];
        // Opened over the last year; every fifth case is recent, every third closed.
        let opened = now
            - TimeDelta::hours(if n.is_multiple_of(5) {
                1 + (n % 20) as i64
            } else {
                24 * (1 + (n % 360) as i64)
            });
        let closed = n.is_multiple_of(3) && !n.is_multiple_of(5);
        let city = CITIES[n % CITIES.len()];
        let (details, summary, roles) = match kind {
            CaseKind::MissingChild => {
                let category = MissingCategory::ALL[[0, 0, 1, 1, 0, 2, 3, 4][n % 8]];
                let last_seen = opened - TimeDelta::hours(3 + (n % 30) as i64);
                let reported = (!n.is_multiple_of(4)).then(|| opened + TimeDelta::minutes(40));
                (
                    CaseDetails::MissingChild(MissingChildDetails {
                        category: Some(category),
                        scope: Some(if n.is_multiple_of(3) {
                            Scope::International
                        } else {
                            Scope::National
                        }),
                        last_seen_at: Some(last_seen),
                        last_seen_place: format!("{city}, kod autobuske stanice (demo)"),
                        description: "Demo: plava jakna, ranac (demo)".into(),
                        police_station: reported
                            .map(|_| format!("PS {city} (demo)"))
                            .unwrap_or_default(),
                        police_reported_at: reported,
                        police_report_number: reported
                            .map(|_| format!("{n}/26 (demo)"))
                            .unwrap_or_default(),
                        schengen_alert: n.is_multiple_of(3),
                        countries: if n.is_multiple_of(3) {
                            vec![
                                CountryCode::parse("c", "RS").map_err(|_| "country")?,
                                CountryCode::parse("c", ["DE", "AT", "HU", "BA"][n % 4])
                                    .map_err(|_| "country")?,
                            ]
                        } else {
                            Vec::new()
                        },
                        found_at: closed
                            .then(|| (opened + TimeDelta::hours(6 + (n % 200) as i64)).min(now)),
                        found_state: closed.then_some(FoundState::SafeAndWell),
                        returned_to: closed.then_some(ReturnedTo::ParentWithCustody),
                        ..MissingChildDetails::default()
                    }),
                    "Demo: roditelj prijavio da dete nije došlo kući (demo).",
                    [PersonRole::MissingChild, PersonRole::Parent],
                )
            }
            CaseKind::Trafficking => (
                CaseDetails::Trafficking(TraffickingDetails {
                    status: Some(if n.is_multiple_of(4) {
                        TraffickingStatus::ActualVictimOfTrafficking
                    } else {
                        TraffickingStatus::PossibleVictimOfTrafficking
                    }),
                    decided_by: Some(if n.is_multiple_of(4) {
                        StatusDecider::NonPoliceGovernmentalOrganization
                    } else {
                        StatusDecider::Ngo
                    }),
                    exploitation: vec![if n.is_multiple_of(2) {
                        ExploitationType::SexualExploitation
                    } else {
                        ExploitationType::ForcedLabour
                    }],
                    industry: (n % 2 == 1).then_some(Industry::I),
                    control: vec![
                        ControlMethod::WithholdsDocuments,
                        ControlMethod::DebtBondage,
                    ],
                    recruitment: vec![RecruitmentMethod::ThroughOnlineSocialNetworks],
                    age_when_trafficked: Some(16 + (n % 10) as u8),
                    ..TraffickingDetails::default()
                }),
                "Demo: ponuda posla preko društvene mreže, oduzet pasoš (demo).",
                [PersonRole::Beneficiary, PersonRole::SuspectedPerpetrator],
            ),
            CaseKind::LabourExploitation => (
                CaseDetails::LabourExploitation(LabourDetails {
                    employer: format!("Firma {n} d.o.o. (demo)"),
                    agency: format!("Agencija {city} (demo)"),
                    country: Some(
                        CountryCode::parse("c", ["SK", "DE", "HR", "SI"][n % 4])
                            .map_err(|_| "country")?,
                    ),
                    sector: Some([Industry::F, Industry::C, Industry::A][n % 3]),
                    indicators: vec![
                        IloIndicator::WithholdingOfWages,
                        IloIndicator::RetentionOfIdentityDocuments,
                    ],
                    wages_owed_minor: Some(100_000 + (n as i64 % 50) * 10_000),
                    currency: "EUR".into(),
                    documents_retained: n.is_multiple_of(2),
                    workers_affected: Some(1 + (n % 6) as i32),
                }),
                "Demo: radnici bez ugovora, plata nije isplaćena (demo).",
                [PersonRole::Beneficiary, PersonRole::Employer],
            ),
        };
        let id: CaseId = state.ids().id();
        cases::create(
            tx,
            ring,
            rng,
            org,
            &cases::NewCase {
                id,
                kind: *kind,
                line: kind.default_line(),
                restricted: n.is_multiple_of(7),
                lead,
                summary: summary.into(),
                details,
                opened_by: lead,
                now: opened,
                year: cases::register_year(opened, &state.settings.org.time_zone),
            },
        )
        .await
        .map_err(e)?;
        if *kind == CaseKind::Trafficking {
            trafficking.push(DemoTrafficking {
                case: id,
                perpetrator: persons[k * 2 + 1],
                n,
                lead,
            });
        }
        let event = |kind: &'static str, data: serde_json::Value, body: &str| {
            let mut ev = cases::NewEvent::new(kind, Some(lead));
            ev.data = data;
            ev.body = body.to_owned();
            ev
        };
        let mut at = opened;
        cases::add_event(
            tx,
            ring,
            rng,
            org,
            id,
            state.ids().id(),
            &event("created", serde_json::json!({ "kind": kind.code() }), ""),
            at,
        )
        .await
        .map_err(e)?;
        for (p, role) in persons[k * 2..k * 2 + 2].iter().zip(roles) {
            at += TimeDelta::minutes(5);
            cases::add_person(tx, org, id, *p, role, &[], Some(lead), at)
                .await
                .map_err(e)?;
            let mut ev = event(
                "person_added",
                serde_json::json!({ "role": role.code() }),
                "",
            );
            ev.ref_id = Some(p.0);
            cases::add_event(tx, ring, rng, org, id, state.ids().id(), &ev, at)
                .await
                .map_err(e)?;
        }
        at += TimeDelta::minutes(30);
        cases::add_event(
            tx,
            ring,
            rng,
            org,
            id,
            state.ids().id(),
            &event(
                "note",
                serde_json::json!({}),
                "Demo beleška: razgovor sa korisnikom (demo).",
            ),
            at,
        )
        .await
        .map_err(e)?;
        let service_kind = [
            ServiceKind::Psychological,
            ServiceKind::LegalAid,
            ServiceKind::SafeReturn,
            ServiceKind::School,
        ][n % 4];
        let delivered = closed || n.is_multiple_of(2);
        cases::save_service(
            tx,
            ring,
            rng,
            org,
            &cases::Service {
                id: state.ids().id(),
                case_id: id,
                person_id: Some(persons[k * 2]),
                kind: service_kind,
                status: if delivered {
                    ServiceStatus::Delivered
                } else {
                    ServiceStatus::InProgress
                },
                provider_institution: None,
                provider_user: Some(lead),
                planned_on: Some(opened.date_naive()),
                started_on: Some(opened.date_naive()),
                ended_on: delivered
                    .then(|| (opened + TimeDelta::days(20)).date_naive())
                    .filter(|d| *d <= now.date_naive()),
                cost_minor: (n.is_multiple_of(3)).then_some(2_500_000),
                currency: (n.is_multiple_of(3)).then(|| "RSD".to_owned()),
                funding_source: "Demo projekat (demo)".into(),
                outcome: "Demo ishod (demo)".into(),
            },
            Some(lead),
            at,
        )
        .await
        .map_err(e)?;
        cases::add_event(
            tx,
            ring,
            rng,
            org,
            id,
            state.ids().id(),
            &event(
                "service_added",
                serde_json::json!({ "service": service_kind.code(), "status": "in_progress" }),
                "",
            ),
            at,
        )
        .await
        .map_err(e)?;
        if !closed {
            cases::add_task(
                tx,
                ring,
                rng,
                org,
                &cases::Task {
                    id: state.ids().id(),
                    case_id: id,
                    title: "Demo: pozvati korisnika (demo)".into(),
                    due_at: Some(now + TimeDelta::hours((n % 72) as i64 - 12)),
                    assignee: Some(lead),
                    done_at: None,
                },
                Some(lead),
                at,
            )
            .await
            .map_err(e)?;
        } else {
            let reason = if *kind == CaseKind::MissingChild {
                ClosureReason::ChildFound
            } else {
                ClosureReason::Resolved
            };
            let closed_at = (at + TimeDelta::days(30)).min(now);
            cases::set_status(tx, org, id, CaseStatus::Closed, Some(reason), closed_at)
                .await
                .map_err(e)?;
            cases::add_event(
                tx,
                ring,
                rng,
                org,
                id,
                state.ids().id(),
                &event(
                    "status_changed",
                    serde_json::json!({ "to": "Closed", "reason": reason.code() }),
                    "",
                ),
                closed_at,
            )
            .await
            .map_err(e)?;
        }
        added += 1;
    }
    Ok(added)
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
    // The first person of each missing-child case (see `demo_cases`) is a child.
    let year = if matches!(n % 10, 0 | 4) {
        2009 + (n % 8) as i32
    } else {
        1975 + (n % 30) as i32
    };
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

/// A trafficking case of a unit, for the proceedings that follow it.
struct DemoTrafficking {
    case: CaseId,
    perpetrator: PersonId,
    n: usize,
    lead: UserId,
}

/// The seeded courts and prosecutor's office the demo proceedings use: a higher court (criminal),
/// a basic court (civil suits), a higher prosecutor's office.
struct DemoCourts {
    higher: uuid::Uuid,
    basic: uuid::Uuid,
    prosecutor: Option<uuid::Uuid>,
}

async fn demo_courts(state: &haven_web::AppState) -> Result<Option<DemoCourts>, String> {
    let org = state.default_org;
    let find = |kind, name: &'static str| async move {
        let all = institutions::search(&state.db, org, Some(kind), "")
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(
            all.iter()
                .find(|i| i.name_sr_latn.starts_with(name))
                .or(all.first())
                .map(|i| i.id),
        )
    };
    let higher = find(InstitutionKind::Court, "Viši sud").await?;
    let basic = find(InstitutionKind::Court, "Prvi osnovni sud").await?;
    let prosecutor = find(InstitutionKind::Prosecutor, "Više javno").await?;
    Ok(higher.zip(basic).map(|(higher, basic)| DemoCourts {
        higher,
        basic,
        prosecutor,
    }))
}

/// The deadline an event sets, still ahead, as tasks on the case: the application's own code path
/// (the same title, assignee, due time and case timeline entry as when a lawyer records it).
async fn deadline_tasks(
    state: &haven_web::AppState,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    t: &DemoTrafficking,
    event: &haven_store::court::CourtEvent,
) -> Result<usize, String> {
    haven_web::staff::court::write_deadline_tasks(
        state,
        tx,
        ring,
        state.default_org,
        state.settings.org.language,
        &[t.case],
        event,
        Some(t.lead),
        t.lead,
    )
    .await
    .map_err(|e| e.to_string())
}

/// A criminal proceeding for each trafficking case old enough, against the case's suspected
/// perpetrator, with distributions close to what the organisation reports: about two in five
/// trafficking charges re-qualified into mediation in prostitution at indictment, close to half
/// of the ended proceedings closed by plea agreements with sentences under the statutory minimum,
/// most property claims referred to civil suits, few awards and fewer payments. Returns how many
/// proceedings (civil suits included).
async fn demo_proceedings(
    state: &haven_web::AppState,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    courts: &Option<DemoCourts>,
    trafficking: &[DemoTrafficking],
) -> Result<usize, String> {
    use haven_domain::court::{
        AwardSource, ClaimDecision, CourtEventKind, DefendantId, OrgRole, ProceedingId,
        ProceedingKind, SentenceType, Stage, VerdictOutcome,
    };
    use haven_store::court as store;
    let Some(courts) = courts else {
        return Ok(0);
    };
    let e = |e: haven_store::StoreError| e.to_string();
    let org = state.default_org;
    let rng = state.rng.as_ref();
    let now = state.now();
    let today = now.date_naive();
    let mut added = 0;
    for t in trafficking {
        // Spread the unit's numbers so that the patterns below do not line up with the case kinds.
        let n = t.n.wrapping_mul(2_654_435_761) % 10_007;
        // Trials last years: the proceedings spread over the last four, whenever the case was
        // entered in Haven (a case often comes to the organisation after the charges).
        let opened = today - TimeDelta::days(30 + (n * 97 % 1400) as i64);
        let id: ProceedingId = state.ids().id();
        store::create(
            tx,
            ring,
            rng,
            org,
            state.ids().uuid(),
            &store::NewProceeding {
                id,
                kind: ProceedingKind::Criminal,
                court: courts.higher,
                prosecutor: courts.prosecutor,
                judge: format!("Sudija {} (demo)", WORDS[n % WORDS.len()]),
                org_role: [
                    OrgRole::LegalRepresentative,
                    OrgRole::LegalRepresentative,
                    OrgRole::SupportPerson,
                    OrgRole::Observer,
                ][n % 4],
                lawyer: Some(t.lead),
                parent: None,
                opened_on: opened,
                number: format!("KTI {}/{} (demo)", 1 + n % 300, opened.format("%y")),
                by: t.lead,
                now,
            },
        )
        .await
        .map_err(e)?;
        store::link_case(tx, org, id, t.case, t.lead, now)
            .await
            .map_err(e)?;
        added += 1;
        let defendant: DefendantId = state.ids().id();
        store::add_defendant(tx, org, id, defendant, t.perpetrator, t.lead, now)
            .await
            .map_err(e)?;
        let original = if n.is_multiple_of(5) {
            "388-3"
        } else {
            "388-1"
        };
        let charge = |offence: &str, stage: Stage, on: chrono::NaiveDate| store::Charge {
            id: state.ids().id(),
            defendant,
            offence: offence.to_owned(),
            stage,
            on,
        };
        let first = charge(original, Stage::Investigation, opened);
        store::add_charge(tx, org, id, &first, t.lead, now)
            .await
            .map_err(e)?;
        // The indictment, some months later; two in five re-qualified.
        let indicted = opened + TimeDelta::days(90 + (n % 60) as i64);
        if indicted >= today {
            continue;
        }
        let requalified = matches!(n % 5, 1 | 3);
        let current = if requalified { "184-1" } else { original };
        let second = charge(current, Stage::Indictment, indicted);
        store::add_charge(tx, org, id, &second, t.lead, now)
            .await
            .map_err(e)?;
        let event = |kind, on, note: &str| store::CourtEvent {
            id: state.ids().id(),
            kind,
            on,
            defendant: None,
            held: None,
            postponement: None,
            victim_testified: None,
            measures: Vec::new(),
            outcome: None,
            sentence: None,
            months: None,
            suspended: false,
            fine: None,
            currency: None,
            claim_invited: None,
            appeal_by: None,
            deadline: None,
            note: note.to_owned(),
        };
        let hearing_on = indicted + TimeDelta::days(45);
        if hearing_on < today {
            let mut h = event(CourtEventKind::Hearing, hearing_on, "Demo ročište (demo)");
            h.held = Some(!n.is_multiple_of(3));
            h.postponement = n
                .is_multiple_of(3)
                .then_some(haven_domain::court::PostponementReason::DefendantAbsent);
            h.victim_testified = Some(!n.is_multiple_of(3));
            if !n.is_multiple_of(3) {
                h.measures = vec![haven_domain::court::ProtectiveMeasure::VideoLink];
            }
            store::add_event(tx, ring, rng, org, id, &h, t.lead, now)
                .await
                .map_err(e)?;
        }
        // A property claim in three of five proceedings.
        let claim = (n % 5 < 3).then(|| store::Claim {
            id: state.ids().id(),
            person: None,
            filed_on: indicted + TimeDelta::days(10),
            amount: 100_000_000 + (n % 20) as i64 * 10_000_000,
            currency: "RSD".into(),
            decision: None,
            decided_on: None,
            civil: None,
        });
        if let Some(c) = &claim
            && c.filed_on < today
        {
            store::add_claim(tx, org, id, c, t.lead, now)
                .await
                .map_err(e)?;
        }
        // The end: a plea agreement in close to half, else a verdict.
        let ended_on = indicted + TimeDelta::days(120 + (n % 200) as i64);
        if ended_on >= today {
            // Still at trial: the next hearing is ahead, and its date a task on the case, written
            // as when a lawyer records it.
            let mut next = event(
                CourtEventKind::Hearing,
                today + TimeDelta::days(7 + (n % 60) as i64),
                "",
            );
            next.held = Some(false);
            next.victim_testified = Some(false);
            next.deadline = Some(next.on);
            store::add_event(tx, ring, rng, org, id, &next, t.lead, now)
                .await
                .map_err(e)?;
            deadline_tasks(state, tx, ring, t, &next).await?;
            continue;
        }
        let plea = n % 9 < 4;
        let min = if current == "184-1" {
            6
        } else if current == "388-3" {
            60
        } else {
            36
        };
        let mut end = event(
            if plea {
                CourtEventKind::PleaAgreement
            } else {
                CourtEventKind::Verdict
            },
            ended_on,
            "",
        );
        end.defendant = Some(defendant);
        let acquitted = !plea && n.is_multiple_of(4);
        if plea {
            end.sentence = Some(SentenceType::Prison);
            end.months = Some((min - 6 + (n % 7) as i64 * 2).max(3));
            end.suspended = n.is_multiple_of(6);
            end.claim_invited = Some(n.is_multiple_of(3));
        } else if acquitted {
            end.outcome = Some(VerdictOutcome::Acquitted);
        } else {
            end.outcome = Some(VerdictOutcome::Guilty);
            end.sentence = Some(SentenceType::Prison);
            end.months = Some(min + (n % 5) as i64 * 6);
        }
        if !plea {
            // The appeal period, as the app sets it: 15 days from the verdict.
            end.deadline = Some(ended_on + TimeDelta::days(15));
        }
        store::add_event(tx, ring, rng, org, id, &end, t.lead, now)
            .await
            .map_err(e)?;
        deadline_tasks(state, tx, ring, t, &end).await?;
        let final_on = if plea {
            ended_on
        } else {
            ended_on + TimeDelta::days(150 + (n % 120) as i64)
        };
        if !plea && final_on < today {
            store::add_event(
                tx,
                ring,
                rng,
                org,
                id,
                &event(CourtEventKind::FinalJudgment, final_on, ""),
                t.lead,
                now,
            )
            .await
            .map_err(e)?;
        }
        // The claim: rarely decided in the trial, mostly referred to a civil suit.
        let Some(c) = claim.filter(|c| c.filed_on < today) else {
            continue;
        };
        let decision = match n % 7 {
            0 => ClaimDecision::Awarded,
            1 => ClaimDecision::Rejected,
            _ => ClaimDecision::ReferredToCivil,
        };
        let decision = if acquitted {
            ClaimDecision::ReferredToCivil
        } else {
            decision
        };
        let civil_on = ended_on + TimeDelta::days(60);
        let civil = (decision == ClaimDecision::ReferredToCivil && n % 3 == 0 && civil_on < today)
            .then(|| state.ids().id::<ProceedingId>());
        store::decide_claim(tx, org, id, c.id, decision, ended_on, None)
            .await
            .map_err(e)?;
        let award_in = |on: chrono::NaiveDate, source| store::Award {
            id: state.ids().id(),
            claim: Some(c.id),
            source,
            awarded_on: on,
            amount: c.amount / 2,
            currency: "RSD".into(),
            paid: 0,
        };
        let mut award = None;
        if decision == ClaimDecision::Awarded {
            let a = award_in(ended_on, AwardSource::CriminalTrial);
            store::add_award(tx, org, id, &a, t.lead, now)
                .await
                .map_err(e)?;
            award = Some(a);
        }
        if let Some(civil) = civil {
            store::create(
                tx,
                ring,
                rng,
                org,
                state.ids().uuid(),
                &store::NewProceeding {
                    id: civil,
                    kind: ProceedingKind::Civil,
                    court: courts.basic,
                    prosecutor: None,
                    judge: String::new(),
                    org_role: OrgRole::LegalRepresentative,
                    lawyer: Some(t.lead),
                    parent: Some(id),
                    opened_on: civil_on,
                    number: format!("P {}/{} (demo)", 1 + n % 900, civil_on.format("%y")),
                    by: t.lead,
                    now,
                },
            )
            .await
            .map_err(e)?;
            added += 1;
            store::decide_claim(tx, org, id, c.id, decision, ended_on, Some(civil))
                .await
                .map_err(e)?;
            let awarded_on = civil_on + TimeDelta::days(300);
            if n.is_multiple_of(2) && awarded_on < today {
                let a = award_in(awarded_on, AwardSource::CivilSuit);
                store::add_award(tx, org, civil, &a, t.lead, now)
                    .await
                    .map_err(e)?;
                award = Some(a);
            }
        }
        // Payments are rare; enforcement is tried.
        if let Some(a) = award {
            let step_on = a.awarded_on + TimeDelta::days(90);
            if step_on < today {
                store::add_step(
                    tx,
                    ring,
                    rng,
                    org,
                    state.ids().uuid(),
                    &store::Step {
                        award: a.id,
                        step: haven_domain::court::EnforcementStep::Filed,
                        on: step_on,
                        note: "Demo: predlog za izvršenje (demo)".into(),
                    },
                    t.lead,
                    now,
                )
                .await
                .map_err(e)?;
                if n.is_multiple_of(3) && step_on + TimeDelta::days(30) < today {
                    store::add_payment(
                        tx,
                        org,
                        state.ids().uuid(),
                        &store::Payment {
                            award: a.id,
                            paid_on: step_on + TimeDelta::days(30),
                            amount: a.amount / 5,
                            currency: a.currency.clone(),
                        },
                        t.lead,
                        now,
                    )
                    .await
                    .map_err(e)?;
                }
            }
        }
    }
    Ok(added)
}

/// Agencies of one unit: five recruiters with names in both scripts and legal suffixes, their
/// web sites, pages and phones, a job-offer report or two each, a register verdict, and a
/// published warning on one of every ten.
async fn demo_agencies(
    state: &haven_web::AppState,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    unit: usize,
    workers: &[UserId],
) -> Result<usize, String> {
    use haven_domain::agencies::{LicenceStatus, normalise_channel};
    use haven_store::agencies::{
        self as store, AgencyInput, NewReport, ReportSource, WarningDecision,
    };
    const NAMES: [&str; 10] = [
        "Радни Хоризонт д.о.о.",
        "Posao Bez Granica doo",
        "\"Euro Rad\" d.o.o.",
        "Агенција Нови Почетак",
        "Global Work Solutions Ltd",
        "Sezonski Poslovi pr",
        "Балкан Ворк ад",
        "Brza Zarada DOO",
        "Work & Travel Partner GmbH",
        "Дунав Запошљавање",
    ];
    const COUNTRIES: [&str; 6] = ["DE", "SK", "CZ", "HR", "SI", "CN"];
    let org = state.default_org;
    let now = state.now();
    let today = now.date_naive();
    let rng = state.rng.as_ref();
    let err = |e: haven_store::StoreError| e.to_string();
    let mut added = 0;
    for k in 0..5 {
        let n = unit * 5 + k;
        let id = state.ids().uuid();
        let name = format!("{} {}", NAMES[n % NAMES.len()], n / NAMES.len() + 1);
        let slug = format!("demo-agencija-{n}");
        store::insert(
            tx,
            ring,
            rng,
            org,
            id,
            &AgencyInput {
                name,
                registration_number: Some(format!("2{:07}", n)),
                countries: vec![COUNTRIES[n % COUNTRIES.len()].to_owned()],
                sectors: vec!["građevina".into()],
                notes: format!("Demo beleška {n}."),
                ..AgencyInput::default()
            },
            None,
            now,
        )
        .await
        .map_err(err)?;
        for raw in [
            format!("https://www.{slug}.example/"),
            format!("https://www.facebook.com/{slug}/"),
            format!(
                "+381 6{} {:03} {:04}",
                n % 10,
                n % 1000,
                (n * 7919) % 10_000
            ),
        ] {
            if let Ok(ch) = normalise_channel(&raw, &state.settings.org.phone_region) {
                let _ =
                    store::add_channel(tx, ring, rng, org, state.ids().uuid(), id, &ch, None, now)
                        .await
                        .map_err(err)?;
            }
        }
        let status = match n % 4 {
            0 => LicenceStatus::Licensed,
            1 => LicenceStatus::NotFound,
            2 => LicenceStatus::Unknown,
            _ => LicenceStatus::Revoked,
        };
        if status != LicenceStatus::Unknown {
            store::set_licence(
                tx,
                org,
                id,
                status,
                Some(today - chrono::TimeDelta::days(7)),
                now,
            )
            .await
            .map_err(err)?;
        }
        for r in 0..(1 + n % 2) {
            store::insert_report(
                tx,
                ring,
                rng,
                org,
                &NewReport {
                    id: state.ids().uuid(),
                    agency_id: Some(id),
                    contact_id: None,
                    source: if r == 0 {
                        ReportSource::Hotline
                    } else {
                        ReportSource::Portal
                    },
                    reported_on: today - chrono::TimeDelta::days((n * 3 + r) as i64 % 90),
                    ad_text: format!(
                        "Demo oglas {n}: posao u inostranstvu, plata 2500 EUR, smeštaj obezbeđen."
                    ),
                    ad_url: format!("https://www.facebook.com/{slug}/posts/{r}"),
                    channels: Vec::new(),
                    agency_name: NAMES[n % NAMES.len()].to_owned(),
                    destination_country: Some(COUNTRIES[n % COUNTRIES.len()].to_owned()),
                    job_type: Some("Skladištar".into()),
                    wage_minor: Some(250_000),
                    fee_minor: n.is_multiple_of(3).then_some(30_000),
                    currency: "EUR".into(),
                    red_flags: vec!["fees".into(), "mobile_only".into()],
                    by: workers[n % workers.len()],
                    now,
                },
            )
            .await
            .map_err(err)?;
        }
        if n % 10 == 7 {
            store::decide_warning(
                tx,
                org,
                &WarningDecision {
                    id: state.ids().uuid(),
                    agency_id: id,
                    published: true,
                    reason: "Naplaćuje radnicima posredovanje i nije u registru (demo).".into(),
                    review_on: Some(today + chrono::TimeDelta::days(60)),
                    by: Some(workers[0]),
                    at: now,
                },
            )
            .await
            .map_err(err)?;
        }
        added += 1;
    }
    Ok(added)
}
