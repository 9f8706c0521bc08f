//! Institutions and partners the organisation notifies and refers to: kinds, and the Serbian
//! defaults every new organisation starts with (DOMAIN.md §4). Contact details are left for each
//! organisation to fill in: a wrong phone number in a directory is worse than none.

use serde::Serialize;

/// A kind of institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    /// The national centre that formally identifies victims of trafficking.
    VictimProtectionCentre,
    /// A ministry.
    Ministry,
    /// A labour inspectorate.
    LabourInspectorate,
    /// A market inspectorate.
    MarketInspectorate,
    /// Police (directorate, station).
    Police,
    /// Border police.
    BorderPolice,
    /// A public prosecutor's office.
    Prosecutor,
    /// A court.
    Court,
    /// The ministry of foreign affairs, an embassy or a consulate.
    ForeignAffairs,
    /// A centre for social work.
    SocialWorkCentre,
    /// A school.
    School,
    /// A health centre or hospital.
    HealthCentre,
    /// The employment service.
    EmploymentService,
    /// A partner NGO.
    PartnerNgo,
    /// Another country's 116 000 line.
    Hotline116000,
    /// Interpol's national bureau.
    Interpol,
    /// Anything else.
    Other,
}

impl InstitutionKind {
    /// Every kind, in the order lists show them.
    pub const ALL: [InstitutionKind; 17] = [
        InstitutionKind::VictimProtectionCentre,
        InstitutionKind::Police,
        InstitutionKind::BorderPolice,
        InstitutionKind::Prosecutor,
        InstitutionKind::Court,
        InstitutionKind::SocialWorkCentre,
        InstitutionKind::LabourInspectorate,
        InstitutionKind::MarketInspectorate,
        InstitutionKind::Ministry,
        InstitutionKind::ForeignAffairs,
        InstitutionKind::EmploymentService,
        InstitutionKind::School,
        InstitutionKind::HealthCentre,
        InstitutionKind::PartnerNgo,
        InstitutionKind::Hotline116000,
        InstitutionKind::Interpol,
        InstitutionKind::Other,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            InstitutionKind::VictimProtectionCentre => "victim_protection_centre",
            InstitutionKind::Ministry => "ministry",
            InstitutionKind::LabourInspectorate => "labour_inspectorate",
            InstitutionKind::MarketInspectorate => "market_inspectorate",
            InstitutionKind::Police => "police",
            InstitutionKind::BorderPolice => "border_police",
            InstitutionKind::Prosecutor => "prosecutor",
            InstitutionKind::Court => "court",
            InstitutionKind::ForeignAffairs => "foreign_affairs",
            InstitutionKind::SocialWorkCentre => "social_work_centre",
            InstitutionKind::School => "school",
            InstitutionKind::HealthCentre => "health_centre",
            InstitutionKind::EmploymentService => "employment_service",
            InstitutionKind::PartnerNgo => "partner_ngo",
            InstitutionKind::Hotline116000 => "hotline_116000",
            InstitutionKind::Interpol => "interpol",
            InstitutionKind::Other => "other",
        }
    }

    /// The kind with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// An institution every new organisation's directory starts with.
#[derive(Debug, Clone, Copy)]
pub struct SeedInstitution {
    /// Its kind.
    pub kind: InstitutionKind,
    /// Its name in Serbian (Latin script); the Cyrillic is transliterated.
    pub name_sr: &'static str,
    /// Its name in English.
    pub name_en: &'static str,
    /// The area it covers, if not the whole country.
    pub area: Option<&'static str>,
    /// Its emergency or public number, where it is nationally known.
    pub phone: Option<&'static str>,
}

const fn seed(
    kind: InstitutionKind,
    name_sr: &'static str,
    name_en: &'static str,
    area: Option<&'static str>,
    phone: Option<&'static str>,
) -> SeedInstitution {
    SeedInstitution {
        kind,
        name_sr,
        name_en,
        area,
        phone,
    }
}

/// The Serbian defaults.
pub const SERBIAN_DEFAULTS: &[SeedInstitution] = &[
    seed(
        InstitutionKind::VictimProtectionCentre,
        "Centar za zaštitu žrtava trgovine ljudima",
        "Centre for the Protection of Victims of Trafficking",
        None,
        None,
    ),
    seed(
        InstitutionKind::Ministry,
        "Ministarstvo za rad, zapošljavanje, boračka i socijalna pitanja",
        "Ministry of Labour, Employment, Veteran and Social Policy",
        None,
        None,
    ),
    seed(
        InstitutionKind::LabourInspectorate,
        "Inspektorat za rad",
        "Labour Inspectorate",
        None,
        None,
    ),
    seed(
        InstitutionKind::MarketInspectorate,
        "Sektor tržišne inspekcije, Ministarstvo unutrašnje i spoljne trgovine",
        "Market Inspectorate, Ministry of Internal and Foreign Trade",
        None,
        None,
    ),
    seed(
        InstitutionKind::Police,
        "Ministarstvo unutrašnjih poslova — Direkcija policije",
        "Ministry of Interior — Police Directorate",
        None,
        Some("192"),
    ),
    seed(
        InstitutionKind::Police,
        "Uprava kriminalističke policije — Služba za borbu protiv organizovanog kriminala",
        "Criminal Police Directorate — Service for Combating Organised Crime",
        None,
        None,
    ),
    seed(
        InstitutionKind::BorderPolice,
        "Uprava granične policije",
        "Border Police Directorate",
        None,
        None,
    ),
    seed(
        InstitutionKind::Police,
        "Policijska uprava za grad Beograd",
        "Belgrade City Police Department",
        Some("Beograd"),
        Some("192"),
    ),
    seed(
        InstitutionKind::Prosecutor,
        "Republičko javno tužilaštvo",
        "Republic Public Prosecutor's Office",
        None,
        None,
    ),
    seed(
        InstitutionKind::Prosecutor,
        "Tužilaštvo za organizovani kriminal",
        "Prosecutor's Office for Organised Crime",
        None,
        None,
    ),
    seed(
        InstitutionKind::Prosecutor,
        "Više javno tužilaštvo u Beogradu",
        "Higher Public Prosecutor's Office in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::Prosecutor,
        "Prvo osnovno javno tužilaštvo u Beogradu",
        "First Basic Public Prosecutor's Office in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::Court,
        "Viši sud u Beogradu",
        "Higher Court in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::Court,
        "Prvi osnovni sud u Beogradu",
        "First Basic Court in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::Court,
        "Prekršajni sud u Beogradu",
        "Misdemeanour Court in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::Court,
        "Apelacioni sud u Beogradu",
        "Court of Appeal in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::ForeignAffairs,
        "Ministarstvo spoljnih poslova — Sektor za konzularne poslove",
        "Ministry of Foreign Affairs — Consular Affairs",
        None,
        None,
    ),
    seed(
        InstitutionKind::SocialWorkCentre,
        "Gradski centar za socijalni rad u Beogradu",
        "City Centre for Social Work in Belgrade",
        Some("Beograd"),
        None,
    ),
    seed(
        InstitutionKind::EmploymentService,
        "Nacionalna služba za zapošljavanje",
        "National Employment Service",
        None,
        None,
    ),
    seed(
        InstitutionKind::Interpol,
        "Nacionalni centralni biro Interpola u Beogradu",
        "Interpol National Central Bureau Belgrade",
        None,
        None,
    ),
];

/// One institution read from a CSV import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRow {
    /// Its kind.
    pub kind: Option<InstitutionKind>,
    /// Its name in Serbian, Latin script.
    pub name_sr_latn: String,
    /// Its name in Serbian, Cyrillic script (empty: transliterated).
    pub name_sr_cyrl: String,
    /// Its name in English.
    pub name_en: String,
    /// The area it covers.
    pub area: String,
    /// Its country (ISO 3166 alpha-2).
    pub country: String,
    /// Its address.
    pub address: String,
    /// Its phone.
    pub phone: String,
    /// Its e-mail.
    pub email: String,
    /// Its web site.
    pub website: String,
    /// Notes.
    pub notes: String,
}

/// The columns a CSV import has, in its header line.
pub const CSV_COLUMNS: [&str; 11] = [
    "kind",
    "name_sr_latn",
    "name_sr_cyrl",
    "name_en",
    "area",
    "country",
    "address",
    "phone",
    "email",
    "website",
    "notes",
];

/// Splits one CSV line (commas, or semicolons as spreadsheets in Serbia write them; double
/// quotes around fields that hold them).
fn csv_fields(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur).trim().to_owned()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_owned());
    out
}

/// Reads a CSV import: a header naming some of [`CSV_COLUMNS`] (`kind` and `name_sr_latn`
/// required), then one institution a line. Problems name the line (from 1, the header) and why.
pub fn parse_csv(text: &str) -> Result<Vec<ImportRow>, Vec<(usize, String)>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(vec![(1, "empty".into())]);
    };
    let sep = if header.contains(';') && !header.contains(',') {
        ';'
    } else {
        ','
    };
    let cols: Vec<String> = csv_fields(header.trim_start_matches('\u{feff}'), sep)
        .into_iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut problems = Vec::new();
    for c in &cols {
        if !CSV_COLUMNS.contains(&c.as_str()) {
            problems.push((1, format!("unknown column {c}")));
        }
    }
    for needed in ["kind", "name_sr_latn"] {
        if !cols.iter().any(|c| c == needed) {
            problems.push((1, format!("missing column {needed}")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for (n, line) in lines {
        let fields = csv_fields(line, sep);
        let get = |name: &str| {
            cols.iter()
                .position(|c| c == name)
                .and_then(|i| fields.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let kind = InstitutionKind::from_code(&get("kind"));
        if kind.is_none() {
            problems.push((n + 1, format!("unknown kind {}", get("kind"))));
        }
        if get("name_sr_latn").is_empty() {
            problems.push((n + 1, "name_sr_latn is empty".into()));
        }
        let country = get("country").to_ascii_uppercase();
        if !country.is_empty()
            && (country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()))
        {
            problems.push((n + 1, format!("country {country} is not a two-letter code")));
        }
        let email = get("email");
        if !email.is_empty() && !email.contains('@') {
            problems.push((n + 1, format!("e-mail {email} has no @")));
        }
        rows.push(ImportRow {
            kind,
            name_sr_latn: get("name_sr_latn"),
            name_sr_cyrl: get("name_sr_cyrl"),
            name_en: get("name_en"),
            area: get("area"),
            country: if country.is_empty() {
                "RS".into()
            } else {
                country
            },
            address: get("address"),
            phone: get("phone"),
            email,
            website: get("website"),
            notes: get("notes"),
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_imports_with_quotes_and_semicolons_and_names_bad_lines() {
        let ok = parse_csv(
            "kind;name_sr_latn;email;notes\nlabour_inspectorate;Inspektorat za rad, Niš;nis@inspekcija.example;\"Kaže \"\"hitno\"\"; zvati\"\n",
        )
        .unwrap_or_default();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].name_sr_latn, "Inspektorat za rad, Niš");
        assert_eq!(ok[0].notes, "Kaže \"hitno\"; zvati");
        assert_eq!(ok[0].country, "RS");
        let bad = parse_csv("kind,name_sr_latn\npolice,PU Niš\nwizards,Hogwarts\n").unwrap_err();
        assert_eq!(bad, vec![(3, "unknown kind wizards".to_owned())]);
        assert!(parse_csv("name,kind\n").is_err());
    }

    #[test]
    fn codes_round_trip() {
        for k in InstitutionKind::ALL {
            assert_eq!(InstitutionKind::from_code(k.code()), Some(k));
        }
    }

    #[test]
    fn defaults_cover_the_institutions_the_domain_names() {
        for kind in [
            InstitutionKind::VictimProtectionCentre,
            InstitutionKind::LabourInspectorate,
            InstitutionKind::MarketInspectorate,
            InstitutionKind::Police,
            InstitutionKind::BorderPolice,
            InstitutionKind::Prosecutor,
            InstitutionKind::Court,
            InstitutionKind::ForeignAffairs,
            InstitutionKind::SocialWorkCentre,
            InstitutionKind::EmploymentService,
            InstitutionKind::Interpol,
        ] {
            assert!(SERBIAN_DEFAULTS.iter().any(|s| s.kind == kind), "{kind:?}");
        }
    }
}
