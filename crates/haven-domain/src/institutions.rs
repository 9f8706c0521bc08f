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

#[cfg(test)]
mod tests {
    use super::*;

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
