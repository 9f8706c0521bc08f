//! Cases: the situations the organisation works on over time — a potential victim of
//! trafficking, a missing child, workers in labour exploitation — and the taxonomies they use.
//!
//! Codes are stable (HTCDS 2.0 codes where the standard has them; `snake_case` elsewhere) and are
//! what the database stores and exports carry; labels live in the translations as
//! `<prefix>-<code>`. Each kind of case has its own typed details, parsed and checked here from
//! what a form sent ([`parse_details`]); the store keeps the identifying parts sealed and a
//! projection of the non-identifying facts in plain columns for statistics.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::people::CountryCode;
use crate::validate::ValidationErrors;

crate::define_id!(
    /// A case.
    CaseId
);
crate::define_id!(
    /// A service planned or delivered in a case.
    ServiceId
);
crate::define_id!(
    /// A task of a case.
    TaskId
);
crate::define_id!(
    /// A document of a case.
    DocumentId
);
crate::define_id!(
    /// An entry of a case's timeline.
    EventId
);
crate::define_id!(
    /// A consent record.
    ConsentId
);
crate::define_id!(
    /// A break-the-glass grant.
    GrantId
);

/// A list of stable codes with translated labels.
pub trait Taxonomy: Copy + PartialEq + 'static {
    /// Every value, in the order forms list them.
    fn values() -> &'static [Self];
    /// The stable code.
    fn as_code(self) -> &'static str;
    /// The message id of the label.
    fn label(self) -> String;
    /// The value with this code.
    fn parse_code(code: &str) -> Option<Self>;
}

/// Defines a taxonomy: an enum of stable codes with `ALL`, `code`, `from_code`, the label's
/// message id, and serde as the code.
macro_rules! taxonomy {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, [ $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),* $(,)? ]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in the order forms list them.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            /// The prefix of the labels' message ids.
            pub const PREFIX: &'static str = $prefix;

            /// The stable code.
            pub fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )* }
            }

            /// The value with this code.
            pub fn from_code(code: &str) -> Option<Self> {
                let code = code.trim();
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// The message id of the label (`<prefix>-<code>`).
            pub fn label_id(self) -> String {
                format!("{}-{}", $prefix, self.code())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl Taxonomy for $name {
            fn values() -> &'static [Self] {
                Self::ALL
            }
            fn as_code(self) -> &'static str {
                self.code()
            }
            fn label(self) -> String {
                self.label_id()
            }
            fn parse_code(code: &str) -> Option<Self> {
                Self::from_code(code)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::from_code(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown code {s:?}")))
            }
        }
    };
}

pub(crate) use taxonomy;

taxonomy! {
    /// The kinds of case.
    CaseKind, "case-kind", [
        /// A potential victim of trafficking.
        Trafficking = "trafficking",
        /// A missing child (116 000).
        MissingChild = "missing_child",
        /// Workers in labour exploitation.
        LabourExploitation = "labour_exploitation",
    ]
}

taxonomy! {
    /// The lines (services) a case is opened on; each has its own register of case numbers.
    Line, "line", [
        /// The SOS hotline (trafficking, labour exploitation).
        Sos = "sos",
        /// 116 000, the European number for missing children.
        MissingChildren = "116000",
        /// Submissions through the public portal.
        Portal = "portal",
    ]
}

impl Line {
    /// The prefix of this line's case numbers (`116-2026-00042`).
    pub fn number_prefix(self) -> &'static str {
        match self {
            Line::Sos => "SOS",
            Line::MissingChildren => "116",
            Line::Portal => "WEB",
        }
    }
}

impl CaseKind {
    /// The line a case of this kind is opened on unless another is chosen.
    pub fn default_line(self) -> Line {
        match self {
            CaseKind::MissingChild => Line::MissingChildren,
            CaseKind::Trafficking | CaseKind::LabourExploitation => Line::Sos,
        }
    }

    /// The role of the person the case is about.
    pub fn primary_role(self) -> PersonRole {
        match self {
            CaseKind::MissingChild => PersonRole::MissingChild,
            CaseKind::Trafficking | CaseKind::LabourExploitation => PersonRole::Beneficiary,
        }
    }
}

taxonomy! {
    /// The five 116 000 categories of missing children.
    MissingCategory, "missing-category", [
        /// Runaway (incl. thrown out of home or care).
        Runaway = "runaway",
        /// Parental abduction.
        ParentalAbduction = "parental_abduction",
        /// Criminal abduction by a third party.
        CriminalAbduction = "criminal_abduction",
        /// Missing unaccompanied migrant child.
        UnaccompaniedMigrant = "unaccompanied_migrant",
        /// Lost, injured or otherwise missing.
        LostInjuredOther = "lost_injured_other",
    ]
}

taxonomy! {
    /// Whether a disappearance crossed a border.
    Scope, "scope", [
        /// National.
        National = "national",
        /// International.
        International = "international",
    ]
}

taxonomy! {
    /// The state of a child when found.
    FoundState, "found-state", [
        /// Safe and well.
        SafeAndWell = "safe_and_well",
        /// Needs medical or psychological care.
        NeedsCare = "needs_care",
        /// Harmed or exploited.
        Harmed = "harmed",
        /// Deceased.
        Deceased = "deceased",
    ]
}

taxonomy! {
    /// To whom a found child was returned.
    ReturnedTo, "returned-to", [
        /// Parent with custody.
        ParentWithCustody = "parent_with_custody",
        /// Other parent.
        OtherParent = "other_parent",
        /// Guardian or relative.
        Guardian = "guardian",
        /// Care institution.
        CareInstitution = "care_institution",
        /// Stayed abroad under local protection.
        StayedAbroad = "stayed_abroad",
        /// Other.
        Other = "other",
    ]
}

taxonomy! {
    /// HTCDS trafficking status.
    TraffickingStatus, "trafficking-status", [
        /// Possible victim of trafficking.
        PossibleVictimOfTrafficking = "PossibleVictimOfTrafficking",
        /// Actual victim of trafficking.
        ActualVictimOfTrafficking = "ActualVictimOfTrafficking",
        /// Not a victim of trafficking.
        NotAVictimOfTrafficking = "NotAVictimOfTrafficking",
    ]
}

taxonomy! {
    /// HTCDS: who decided the trafficking status.
    StatusDecider, "status-decider", [
        /// Police.
        Police = "Police",
        /// NGO.
        Ngo = "NGO",
        /// Court or prosecution.
        CourtOrProsecution = "CourtOrProsecution",
        /// Non-police governmental organisation (e.g. the national centre).
        NonPoliceGovernmentalOrganization = "NonPoliceGovernmentalOrganization",
        /// Other.
        Other = "Other",
    ]
}

taxonomy! {
    /// HTCDS type of exploitation (with forced criminality, which Serbian law names).
    ExploitationType, "exploitation", [
        /// Forced labour.
        ForcedLabour = "ForcedLabour",
        /// Sexual exploitation.
        SexualExploitation = "SexualExploitation",
        /// Child labour.
        ChildLabour = "ChildLabour",
        /// Forced marriage.
        ForcedMarriage = "ForcedMarriage",
        /// Servitude.
        Servitude = "Servitude",
        /// Forced military service (non-state actors).
        ForcedMilitaryByNonStateActors = "ForcedMilitaryByNonStateActors",
        /// Organ removal.
        OrganRemoval = "OrganRemoval",
        /// Forced begging.
        ForcedBegging = "ForcedBegging",
        /// Forced adoption.
        ForcedAdoption = "ForcedAdoption",
        /// Surrogacy.
        Surrogacy = "Surrogacy",
        /// Forced criminality.
        ForcedCriminality = "ForcedCriminality",
        /// Other.
        Other = "Other",
    ]
}

taxonomy! {
    /// ISIC v4 sections, as HTCDS codes them (forced-labour industry, sector).
    Industry, "industry", [
        /// Agriculture, forestry and fishing.
        A = "A_AgricultureForestryAndFishing",
        /// Mining and quarrying.
        B = "B_MiningAndQuarrying",
        /// Manufacturing.
        C = "C_Manufacturing",
        /// Electricity, gas, steam and air conditioning.
        D = "D_ElectricityGasSteamAndAirConditioningSupply",
        /// Water supply, sewerage, waste.
        E = "E_WaterSupplySewerageWasteManagement",
        /// Construction.
        F = "F_Construction",
        /// Wholesale and retail trade.
        G = "G_WholesaleAndRetailTradeRepairOfMotorVehicles",
        /// Transportation and storage.
        H = "H_TransportationAndStorage",
        /// Accommodation and food service.
        I = "I_AccommodationAndFoodServiceActivities",
        /// Information and communication.
        J = "J_InformationAndCommunication",
        /// Financial and insurance activities.
        K = "K_FinancialAndInsuranceActivities",
        /// Real estate.
        L = "L_RealEstateActivities",
        /// Professional, scientific and technical activities.
        M = "M_ProfessionalScientificAndTechnicalActivities",
        /// Administrative and support services.
        N = "N_AdministrativeAndSupportServiceActivities",
        /// Public administration and defence.
        O = "O_PublicAdministrationAndDefence",
        /// Education.
        P = "P_Education",
        /// Health and social work.
        Q = "Q_HumanHealthAndSocialWorkActivities",
        /// Arts, entertainment and recreation.
        R = "R_ArtsEntertainmentAndRecreation",
        /// Other services.
        S = "S_OtherServiceActivities",
        /// Households as employers (domestic work).
        T = "T_ActivitiesOfHouseholdsAsEmployers",
        /// Extraterritorial organisations.
        U = "U_ActivitiesOfExtraterritorialOrganizations",
    ]
}

taxonomy! {
    /// HTCDS type of sexual exploitation.
    SexExploitationType, "sex-exploitation", [
        /// Prostitution.
        Prostitution = "Prostitution",
        /// Pornography.
        Pornography = "Pornography",
        /// Remote interactive services.
        RemoteInteractiveServices = "RemoteInteractiveServices",
        /// Private sexual services.
        PrivateSexualServices = "PrivateSexualServices",
    ]
}

taxonomy! {
    /// HTCDS methods of control (with RestrictsMovement from older versions).
    ControlMethod, "control", [
        /// Threats of physical harm.
        PhysicalThreats = "PhysicalThreats",
        /// Threats of reporting to authorities.
        ThreatsLawEnforcement = "ThreatsLawEnforcement",
        /// Threats against children or family.
        ThreatensChildrenFamily = "ThreatensChildrenFamily",
        /// Debt bondage.
        DebtBondage = "DebtBondage",
        /// False promises.
        FalsePromises = "FalsePromises",
        /// Physical abuse.
        PhysicalAbuse = "PhysicalAbuse",
        /// Sexual abuse.
        SexualAbuse = "SexualAbuse",
        /// Takes earnings.
        TakesEarnings = "TakesEarnings",
        /// Restricts access to money.
        RestrictsFinancialAccess = "RestrictsFinancialAccess",
        /// Restricts medical care.
        RestrictsMedicalCare = "RestrictsMedicalCare",
        /// Withholds necessities.
        WithholdsNecessities = "WithholdsNecessities",
        /// Psychological abuse.
        PsychologicalAbuse = "PsychologicalAbuse",
        /// Psychoactive substances.
        PsychoactiveSubstance = "PsychoactiveSubstance",
        /// Excessive working hours.
        ExcessiveWorkingHours = "ExcessiveWorkingHours",
        /// Withholds documents.
        WithholdsDocuments = "WithholdsDocuments",
        /// Restricts movement.
        RestrictsMovement = "RestrictsMovement",
        /// Other.
        Other = "Other",
    ]
}

taxonomy! {
    /// HTCDS method of recruitment.
    RecruitmentMethod, "recruitment", [
        /// At a place of business.
        AtAPlaceOfBusiness = "AtAPlaceOfBusiness",
        /// At an educational institution.
        AtAnEducationalInstitution = "AtAnEducationalInstitution",
        /// At work.
        AtWork = "AtWork",
        /// Through online social networks.
        ThroughOnlineSocialNetworks = "ThroughOnlineSocialNetworks",
        /// Through an online advertisement.
        ThroughAnOnlineAdvertisement = "ThroughAnOnlineAdvertisement",
        /// Through a television advert.
        ThroughATelevisionAdvert = "ThroughATelevisionAdvert",
        /// Through a newspaper advert.
        ThroughANewspaperAdvert = "ThroughANewspaperAdvert",
        /// Through family.
        ThroughFamilyOrFamilyEvents = "ThroughFamilyOrFamilyEvents",
        /// Through friends or social events.
        ThroughFriendsOrSocialEvents = "ThroughFriendsOrSocialEvents",
        /// Other.
        Other = "Other",
    ]
}

taxonomy! {
    /// HTCDS recruitment and exploitation websites and apps.
    WebsiteOrApp, "app", [
        /// Facebook.
        Facebook = "Facebook",
        /// Instagram.
        Instagram = "Instagram",
        /// WhatsApp.
        WhatsApp = "WhatsApp",
        /// Telegram.
        Telegram = "Telegram",
        /// Facebook Messenger.
        FacebookMessenger = "FacebookMessenger",
        /// Viber.
        Viber = "Viber",
        /// Snapchat.
        SnapChat = "SnapChat",
        /// Line.
        Line = "Line",
        /// 4Sale.
        FourSale = "4Sale",
        /// WeChat.
        WeChat = "WeChat",
        /// QQ.
        Qq = "QQ",
        /// QZone.
        QZone = "QZone",
        /// TikTok.
        TikTok = "TikTok",
        /// Twitter (X).
        Twitter = "Twitter",
        /// Other.
        Other = "Other",
    ]
}

taxonomy! {
    /// HTCDS relationship of the victim to the trafficker.
    Relationship, "relationship", [
        /// Family.
        Familial = "Familial",
        /// Acquainted.
        Acquainted = "Acquainted",
        /// Stranger.
        Unaquainted = "Unaquainted",
    ]
}

taxonomy! {
    /// HTCDS perpetrator's role in the process.
    PerpetratorRole, "perpetrator-role", [
        /// Travelling partner.
        TravellingPartner = "TravellingPartner",
        /// Transporter.
        Transporter = "Transporter",
        /// Recruiter or intermediary.
        RecruiterOrIntermediary = "RecruiterOrIntermediary",
        /// Broker or travel agent.
        BrokerTravelAgent = "BrokerTravelAgent",
        /// Transferred the person.
        TransferredIndividual = "TransferredIndividual",
        /// Harboured the person.
        HarbouredIndividual = "HarbouredIndividual",
        /// Sold the person.
        SoldIndividual = "SoldIndividual",
        /// Bought the person.
        BoughtIndividual = "BoughtIndividual",
        /// Received the person.
        ReceivedIndividual = "ReceivedIndividual",
        /// Controlled the person.
        ControlledIndividual = "ControlledIndividual",
        /// Smuggler.
        Smuggler = "Smuggler",
        /// Abuser.
        Abuser = "Abuser",
        /// Kidnapper.
        Kidnapper = "Kidnapper",
        /// Exploiter.
        Exploiter = "Exploiter",
        /// Other.
        Other = "Other",
    ]
}

taxonomy! {
    /// The ILO's 11 indicators of forced labour.
    IloIndicator, "ilo", [
        /// Abuse of vulnerability.
        AbuseOfVulnerability = "abuse_of_vulnerability",
        /// Deception.
        Deception = "deception",
        /// Restriction of movement.
        RestrictionOfMovement = "restriction_of_movement",
        /// Isolation.
        Isolation = "isolation",
        /// Physical and sexual violence.
        PhysicalAndSexualViolence = "physical_and_sexual_violence",
        /// Intimidation and threats.
        IntimidationAndThreats = "intimidation_and_threats",
        /// Retention of identity documents.
        RetentionOfIdentityDocuments = "retention_of_identity_documents",
        /// Withholding of wages.
        WithholdingOfWages = "withholding_of_wages",
        /// Debt bondage.
        DebtBondage = "debt_bondage",
        /// Abusive working and living conditions.
        AbusiveConditions = "abusive_working_and_living_conditions",
        /// Excessive overtime.
        ExcessiveOvertime = "excessive_overtime",
    ]
}

taxonomy! {
    /// A person's role in a case.
    PersonRole, "person-role", [
        /// Beneficiary / potential victim.
        Beneficiary = "beneficiary",
        /// Missing child.
        MissingChild = "missing_child",
        /// Parent.
        Parent = "parent",
        /// Guardian.
        Guardian = "guardian",
        /// Reporting person.
        ReportingPerson = "reporting_person",
        /// Witness.
        Witness = "witness",
        /// Suspected perpetrator.
        SuspectedPerpetrator = "suspected_perpetrator",
        /// Employer.
        Employer = "employer",
        /// Contact person.
        ContactPerson = "contact_person",
    ]
}

taxonomy! {
    /// HTCDS highest level of education (ISCED).
    EducationLevel, "education", [
        /// Early childhood education.
        EarlyChildhoodEducation = "EarlyChildhoodEducation",
        /// Primary education.
        PrimaryEducation = "PrimaryEducation",
        /// Lower secondary education.
        LowerSecondaryEducation = "LowerSecondaryEducation",
        /// Upper secondary education.
        UpperSecondaryEducation = "UpperSecondaryEducation",
        /// Post-secondary non-tertiary.
        PostSecondaryNonTertiaryEducation = "PostSecondaryNonTertiaryEducation",
        /// Short-cycle tertiary.
        ShortCycleTertiaryEducation = "ShortCycleTertiaryEducation",
        /// Bachelor's or equivalent.
        BachelorsOrEquivalentLevel = "BachelorsOrEquivalentLevel",
        /// Master's or equivalent.
        MastersOrEquivalentLevel = "MastersOrEquivalentLevel",
        /// Doctoral or equivalent.
        DoctoralOrEquivalentLevel = "DoctoralOrEquivalentLevel",
    ]
}

taxonomy! {
    /// Services to beneficiaries (DOMAIN.md §4).
    ServiceKind, "service", [
        /// Legal aid and representation.
        LegalAid = "legal_aid",
        /// Compensation claim.
        CompensationClaim = "compensation_claim",
        /// Medical help.
        Medical = "medical",
        /// Psychological support.
        Psychological = "psychological",
        /// Accommodation.
        Accommodation = "accommodation",
        /// Financial aid.
        FinancialAid = "financial_aid",
        /// Return to school.
        School = "school",
        /// Vocational training and job placement.
        VocationalTraining = "vocational_training",
        /// Safe return / repatriation.
        SafeReturn = "safe_return",
        /// Interpretation.
        Interpretation = "interpretation",
        /// Documents (ID, residence).
        Documents = "documents",
        /// Family mediation.
        FamilyMediation = "family_mediation",
    ]
}

taxonomy! {
    /// Where a service stands.
    ServiceStatus, "service-status", [
        /// Planned.
        Planned = "planned",
        /// In progress.
        InProgress = "in_progress",
        /// Delivered.
        Delivered = "delivered",
        /// Cancelled.
        Cancelled = "cancelled",
    ]
}

taxonomy! {
    /// HTCDS case status.
    CaseStatus, "case-status", [
        /// Active.
        Active = "Active",
        /// Follow-up.
        FollowUp = "FollowUp",
        /// Closed.
        Closed = "Closed",
        /// Closed, referred.
        ClosedReferred = "ClosedReferred",
    ]
}

taxonomy! {
    /// Why a case was closed.
    ClosureReason, "closure-reason", [
        /// Needs met, resolved.
        Resolved = "resolved",
        /// Child found.
        ChildFound = "child_found",
        /// Referred to another organisation.
        Referred = "referred",
        /// Contact lost.
        LostContact = "lost_contact",
        /// Beneficiary declined further help.
        Declined = "declined",
        /// Turned out not to be a case.
        NotACase = "not_a_case",
        /// Duplicate of another case.
        Duplicate = "duplicate",
        /// Other.
        Other = "other",
    ]
}

taxonomy! {
    /// What a document is.
    DocumentKind, "document-kind", [
        /// Custody decision.
        CustodyDecision = "custody_decision",
        /// Police report.
        PoliceReport = "police_report",
        /// Photo.
        Photo = "photo",
        /// Identity document.
        IdentityDocument = "identity_document",
        /// Contract.
        Contract = "contract",
        /// Medical record.
        Medical = "medical",
        /// Court document.
        Court = "court",
        /// Correspondence.
        Correspondence = "correspondence",
        /// Evidence of consent.
        ConsentEvidence = "consent_evidence",
        /// Other.
        Other = "other",
    ]
}

taxonomy! {
    /// What a person consents to.
    ConsentPurpose, "consent-purpose", [
        /// Processing of personal data.
        DataProcessing = "data_processing",
        /// Sharing with a named institution.
        Sharing = "sharing",
        /// Research use (anonymised).
        Research = "research",
    ]
}

taxonomy! {
    /// HTCDS support-plan types.
    SupportPlanType, "support-plan", [
        /// Education.
        Education = "Education",
        /// Financial.
        Financial = "Financial",
        /// Health.
        Health = "Health",
        /// Labour exploitation rehabilitation.
        LabourExploitationRehabilitation = "LabourExploitationRehabilitation",
        /// Legal.
        Legal = "Legal",
        /// Livelihood.
        Livelihood = "Livelihood",
        /// Rights-based training.
        RightsBasedTraining = "RightsBasedTraining",
        /// Sexual exploitation rehabilitation.
        SexualExploitationRehabilitation = "SexualExploitationRehabilitation",
        /// Social care.
        SocialCare = "SocialCare",
    ]
}

impl CaseStatus {
    /// Whether work goes on (Active or FollowUp).
    pub fn is_open(self) -> bool {
        matches!(self, CaseStatus::Active | CaseStatus::FollowUp)
    }
}

impl ServiceKind {
    /// The HTCDS support-plan type this service counts under in exports.
    pub fn support_plan_type(self) -> SupportPlanType {
        use ServiceKind as S;
        use SupportPlanType as T;
        match self {
            S::LegalAid | S::CompensationClaim | S::Documents => T::Legal,
            S::Medical | S::Psychological => T::Health,
            S::Accommodation | S::SafeReturn | S::Interpretation | S::FamilyMediation => {
                T::SocialCare
            }
            S::FinancialAid => T::Financial,
            S::School => T::Education,
            S::VocationalTraining => T::Livelihood,
        }
    }
}

/// The details of a missing-child case (116 000).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingChildDetails {
    /// The 116 000 category.
    pub category: Option<MissingCategory>,
    /// National or international.
    pub scope: Option<Scope>,
    /// When the child was last seen.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Where the child was last seen.
    pub last_seen_place: String,
    /// A description of the child (appearance, clothing).
    pub description: String,
    /// The court that decided custody.
    pub custody_court: String,
    /// The date of the custody decision.
    pub custody_date: Option<NaiveDate>,
    /// The number of the custody decision.
    pub custody_number: String,
    /// The police station the disappearance was reported to.
    pub police_station: String,
    /// When the police report was made.
    pub police_reported_at: Option<DateTime<Utc>>,
    /// The police report's number.
    pub police_report_number: String,
    /// Whether Interpol issued a notice.
    pub interpol_notice: bool,
    /// Whether a Schengen (SIS) alert was issued.
    pub schengen_alert: bool,
    /// Countries involved.
    pub countries: Vec<CountryCode>,
    /// Partner NGOs and 116 000 lines abroad asked for help (names, as given).
    pub partners_asked: String,
    /// When the child was found.
    pub found_at: Option<DateTime<Utc>>,
    /// The child's state when found.
    pub found_state: Option<FoundState>,
    /// To whom the child was returned.
    pub returned_to: Option<ReturnedTo>,
}

impl MissingChildDetails {
    /// How long the search took, from last seen to found.
    pub fn time_to_resolution(&self) -> Option<TimeDelta> {
        Some(self.found_at? - self.last_seen_at?)
    }
}

/// A place and time in a trafficking story (recruitment, transit, exploitation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraffickingPlace {
    /// The country.
    pub country: Option<CountryCode>,
    /// The place (town, address), as given.
    pub place: String,
    /// When.
    pub date: Option<NaiveDate>,
}

/// The details of a trafficking case (HTCDS victim context).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraffickingDetails {
    /// The trafficking status.
    pub status: Option<TraffickingStatus>,
    /// Who decided it.
    pub decided_by: Option<StatusDecider>,
    /// Whether the national centre formally identified the person.
    pub formally_identified: bool,
    /// The date of the formal identification.
    pub identified_on: Option<NaiveDate>,
    /// Types of exploitation.
    pub exploitation: Vec<ExploitationType>,
    /// The forced-labour industry.
    pub industry: Option<Industry>,
    /// Types of sexual exploitation.
    pub sex_exploitation: Vec<SexExploitationType>,
    /// Methods of control.
    pub control: Vec<ControlMethod>,
    /// Methods of recruitment.
    pub recruitment: Vec<RecruitmentMethod>,
    /// Websites and apps used to recruit.
    pub recruitment_apps: Vec<WebsiteOrApp>,
    /// Websites and apps used to exploit.
    pub exploitation_apps: Vec<WebsiteOrApp>,
    /// The relationship to the trafficker.
    pub relationship: Option<Relationship>,
    /// Age in years when first trafficked.
    pub age_when_trafficked: Option<u8>,
    /// Where and when the person was recruited.
    pub recruited: TraffickingPlace,
    /// Where and when the person passed through.
    pub transit: TraffickingPlace,
    /// Where and when the person was exploited.
    pub exploited: TraffickingPlace,
}

/// The details of a labour-exploitation case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabourDetails {
    /// The employer, as named.
    pub employer: String,
    /// The recruitment agency, as named.
    pub agency: String,
    /// The country of work.
    pub country: Option<CountryCode>,
    /// The sector (ISIC section).
    pub sector: Option<Industry>,
    /// ILO indicators observed.
    pub indicators: Vec<IloIndicator>,
    /// Wages owed, in minor units of `currency`.
    pub wages_owed_minor: Option<i64>,
    /// The currency of the wages (ISO 4217).
    pub currency: String,
    /// Whether identity documents are retained by the employer or agency.
    pub documents_retained: bool,
    /// How many workers are affected.
    pub workers_affected: Option<i32>,
}

/// A case's details, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseDetails {
    /// Trafficking.
    Trafficking(TraffickingDetails),
    /// A missing child.
    MissingChild(MissingChildDetails),
    /// Labour exploitation.
    LabourExploitation(LabourDetails),
}

impl CaseDetails {
    /// Empty details of a kind.
    pub fn empty(kind: CaseKind) -> Self {
        match kind {
            CaseKind::Trafficking => CaseDetails::Trafficking(TraffickingDetails::default()),
            CaseKind::MissingChild => CaseDetails::MissingChild(MissingChildDetails::default()),
            CaseKind::LabourExploitation => {
                CaseDetails::LabourExploitation(LabourDetails::default())
            }
        }
    }

    /// The kind.
    pub fn kind(&self) -> CaseKind {
        match self {
            CaseDetails::Trafficking(_) => CaseKind::Trafficking,
            CaseDetails::MissingChild(_) => CaseKind::MissingChild,
            CaseDetails::LabourExploitation(_) => CaseKind::LabourExploitation,
        }
    }
}

/// What a form sent: repeated names allowed (check boxes, multi-selects).
pub trait FormFields {
    /// The first value of a field, trimmed (empty when absent).
    fn one(&self, name: &str) -> &str;
    /// Every non-empty value of a field.
    fn all(&self, name: &str) -> Vec<&str>;
}

impl FormFields for [(String, String)] {
    fn one(&self, name: &str) -> &str {
        self.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// The longest free text a detail field takes.
pub const MAX_TEXT: usize = 2000;

/// The facts a parser needs about the moment: now, and the organisation's time zone (for dates
/// and times typed by people).
#[derive(Debug, Clone, Copy)]
pub struct ParseCtx {
    /// Now.
    pub now: DateTime<Utc>,
    /// The organisation's time zone.
    pub tz: chrono_tz::Tz,
}

impl ParseCtx {
    /// Today in the organisation's time zone.
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive()
    }
}

/// Parses form input into values, collecting every problem.
pub struct Parser<'a, F: FormFields + ?Sized> {
    form: &'a F,
    ctx: ParseCtx,
    /// Every problem found so far.
    pub errors: ValidationErrors,
}

impl<'a, F: FormFields + ?Sized> Parser<'a, F> {
    /// A parser over a form.
    pub fn new(form: &'a F, ctx: ParseCtx) -> Self {
        Self {
            form,
            ctx,
            errors: ValidationErrors::new(),
        }
    }

    /// Free text of at most [`MAX_TEXT`] characters, without control characters (line breaks
    /// allowed).
    pub fn text(&mut self, name: &str) -> String {
        self.text_max(name, MAX_TEXT)
    }

    /// Free text of at most `max` characters.
    pub fn text_max(&mut self, name: &str, max: usize) -> String {
        let v = self.form.one(name);
        if v.chars().count() > max {
            self.errors
                .add_with(name, "too-long", vec![("max", max.to_string())]);
        } else if v
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.errors.add(name, "control-characters");
        }
        v.to_owned()
    }

    /// A required free text.
    pub fn required_text(&mut self, name: &str, max: usize) -> String {
        let v = self.text_max(name, max);
        if v.is_empty() && self.errors.for_field(name).is_none() {
            self.errors.add(name, "required");
        }
        v
    }

    /// A check box.
    pub fn flag(&mut self, name: &str) -> bool {
        matches!(self.form.one(name), "on" | "true" | "1" | "yes")
    }

    /// An optional code of a taxonomy.
    pub fn code<T>(&mut self, name: &str, from_code: fn(&str) -> Option<T>) -> Option<T> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        let parsed = from_code(v);
        if parsed.is_none() {
            self.errors.add(name, "code-unknown");
        }
        parsed
    }

    /// Every code of a taxonomy chosen in a multi-valued field, without repeats.
    pub fn codes<T: PartialEq + Ord>(
        &mut self,
        name: &str,
        from_code: fn(&str) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for v in self.form.all(name) {
            match from_code(v) {
                Some(c) if !out.contains(&c) => out.push(c),
                Some(_) => {}
                None => {
                    if self.errors.for_field(name).is_none() {
                        self.errors.add(name, "code-unknown");
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// An optional country.
    pub fn country(&mut self, name: &str) -> Option<CountryCode> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        CountryCode::parse(name, v)
            .map_err(|e| self.errors.0.push(e))
            .ok()
    }

    /// Countries from a multi-valued field or one field of codes separated by commas or spaces.
    pub fn countries(&mut self, name: &str) -> Vec<CountryCode> {
        let mut out = Vec::new();
        for v in self.form.all(name) {
            for part in v.split([',', ' ', ';']).filter(|p| !p.trim().is_empty()) {
                match CountryCode::parse(name, part) {
                    Ok(c) if !out.contains(&c) => out.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        if self.errors.for_field(name).is_none() {
                            self.errors.0.push(e);
                        }
                    }
                }
            }
        }
        out
    }

    /// An optional date (`YYYY-MM-DD`), not in the future.
    pub fn past_date(&mut self, name: &str) -> Option<NaiveDate> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if d > self.ctx.today() => {
                self.errors.add(name, "date-in-future");
                None
            }
            Ok(d) if d.year() < 1900 => {
                self.errors.add(name, "date-invalid");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                self.errors.add(name, "date-invalid");
                None
            }
        }
    }

    /// An optional date (`YYYY-MM-DD`) that may lie in the future (a planned service).
    pub fn any_date(&mut self, name: &str) -> Option<NaiveDate> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if (1900..=2200).contains(&d.year()) => Some(d),
            _ => {
                self.errors.add(name, "date-invalid");
                None
            }
        }
    }

    /// An optional date and time typed in the organisation's time zone (`YYYY-MM-DDTHH:MM`,
    /// as a `datetime-local` field sends it, or with a space), not in the future.
    pub fn past_time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        let parsed = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
            .and_then(|naive| self.ctx.tz.from_local_datetime(&naive).earliest())
            .map(|t| t.with_timezone(&Utc));
        match parsed {
            Some(t) if t > self.ctx.now + TimeDelta::minutes(5) => {
                self.errors.add(name, "time-in-future");
                None
            }
            Some(t) if t.year() < 1900 => {
                self.errors.add(name, "time-invalid");
                None
            }
            Some(t) => Some(t),
            None => {
                self.errors.add(name, "time-invalid");
                None
            }
        }
    }

    /// An optional date and time in the organisation's time zone that may lie in the future
    /// (a task's due time).
    pub fn any_time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        let parsed = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(17, 0, 0))
            })
            .and_then(|naive| self.ctx.tz.from_local_datetime(&naive).earliest())
            .map(|t| t.with_timezone(&Utc));
        if parsed.is_none() {
            self.errors.add(name, "time-invalid");
        }
        parsed
    }

    /// An optional whole number within a range.
    pub fn number(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        let v = self.form.one(name);
        if v.is_empty() {
            return None;
        }
        match v.replace([' ', '.', '\''], "").parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.errors.add_with(
                    name,
                    "number-out-of-range",
                    vec![("min", min.to_string()), ("max", max.to_string())],
                );
                None
            }
        }
    }

    /// An optional amount of money (`1250`, `1250.50`, `1.250,50`) in minor units.
    pub fn money(&mut self, name: &str) -> Option<i64> {
        let v = self.form.one(name).replace([' ', '\''], "");
        if v.is_empty() {
            return None;
        }
        // The last separator followed by one or two digits is the decimal one.
        let (units, cents) = match v.rfind([',', '.']) {
            Some(i) if v.len() - i - 1 <= 2 && v.len() - i > 1 => {
                (v[..i].replace([',', '.'], ""), v[i + 1..].to_owned())
            }
            _ => (v.replace([',', '.'], ""), String::new()),
        };
        let cents = format!("{cents:0<2}");
        match (units.parse::<i64>(), cents.parse::<i64>()) {
            (Ok(u), Ok(c)) if (0..1_000_000_000_000).contains(&u) => Some(u * 100 + c),
            _ => {
                self.errors.add(name, "money-invalid");
                None
            }
        }
    }
}

/// Parses and checks the details of a case of `kind` from a form.
pub fn parse_details<F: FormFields + ?Sized>(
    kind: CaseKind,
    form: &F,
    ctx: ParseCtx,
) -> Result<CaseDetails, ValidationErrors> {
    let mut p = Parser::new(form, ctx);
    let details = match kind {
        CaseKind::MissingChild => CaseDetails::MissingChild(parse_missing_child(&mut p)),
        CaseKind::Trafficking => CaseDetails::Trafficking(parse_trafficking(&mut p)),
        CaseKind::LabourExploitation => CaseDetails::LabourExploitation(parse_labour(&mut p)),
    };
    p.errors.into_result(details)
}

fn parse_missing_child<F: FormFields + ?Sized>(p: &mut Parser<'_, F>) -> MissingChildDetails {
    let d = MissingChildDetails {
        category: p.code("mc_category", MissingCategory::from_code),
        scope: p.code("mc_scope", Scope::from_code),
        last_seen_at: p.past_time("mc_last_seen_at"),
        last_seen_place: p.text("mc_last_seen_place"),
        description: p.text("mc_description"),
        custody_court: p.text_max("mc_custody_court", 200),
        custody_date: p.past_date("mc_custody_date"),
        custody_number: p.text_max("mc_custody_number", 100),
        police_station: p.text_max("mc_police_station", 200),
        police_reported_at: p.past_time("mc_police_reported_at"),
        police_report_number: p.text_max("mc_police_report_number", 100),
        interpol_notice: p.flag("mc_interpol_notice"),
        schengen_alert: p.flag("mc_schengen_alert"),
        countries: p.countries("mc_countries"),
        partners_asked: p.text("mc_partners_asked"),
        found_at: p.past_time("mc_found_at"),
        found_state: p.code("mc_found_state", FoundState::from_code),
        returned_to: p.code("mc_returned_to", ReturnedTo::from_code),
    };
    if let (Some(seen), Some(found)) = (d.last_seen_at, d.found_at)
        && found < seen
    {
        p.errors.add("mc_found_at", "found-before-last-seen");
    }
    if let (Some(seen), Some(reported)) = (d.last_seen_at, d.police_reported_at)
        && reported < seen
    {
        p.errors
            .add("mc_police_reported_at", "reported-before-last-seen");
    }
    if d.found_at.is_none() && (d.found_state.is_some() || d.returned_to.is_some()) {
        p.errors.add("mc_found_at", "found-date-needed");
    }
    d
}

fn parse_place<F: FormFields + ?Sized>(p: &mut Parser<'_, F>, prefix: &str) -> TraffickingPlace {
    TraffickingPlace {
        country: p.country(&format!("{prefix}_country")),
        place: p.text_max(&format!("{prefix}_place"), 300),
        date: p.past_date(&format!("{prefix}_date")),
    }
}

fn parse_trafficking<F: FormFields + ?Sized>(p: &mut Parser<'_, F>) -> TraffickingDetails {
    let d = TraffickingDetails {
        status: p.code("tr_status", TraffickingStatus::from_code),
        decided_by: p.code("tr_decided_by", StatusDecider::from_code),
        formally_identified: p.flag("tr_formally_identified"),
        identified_on: p.past_date("tr_identified_on"),
        exploitation: p.codes("tr_exploitation", ExploitationType::from_code),
        industry: p.code("tr_industry", Industry::from_code),
        sex_exploitation: p.codes("tr_sex_exploitation", SexExploitationType::from_code),
        control: p.codes("tr_control", ControlMethod::from_code),
        recruitment: p.codes("tr_recruitment", RecruitmentMethod::from_code),
        recruitment_apps: p.codes("tr_recruitment_apps", WebsiteOrApp::from_code),
        exploitation_apps: p.codes("tr_exploitation_apps", WebsiteOrApp::from_code),
        relationship: p.code("tr_relationship", Relationship::from_code),
        age_when_trafficked: p
            .number("tr_age_when_trafficked", 0, 100)
            .and_then(|n| u8::try_from(n).ok()),
        recruited: parse_place(p, "tr_recruited"),
        transit: parse_place(p, "tr_transit"),
        exploited: parse_place(p, "tr_exploited"),
    };
    if d.formally_identified
        && d.identified_on.is_none()
        && p.errors.for_field("tr_identified_on").is_none()
    {
        p.errors
            .add("tr_identified_on", "identification-date-needed");
    }
    if d.status.is_some() && d.decided_by.is_none() {
        p.errors.add("tr_decided_by", "decided-by-needed");
    }
    if d.industry.is_some() && !d.exploitation.contains(&ExploitationType::ForcedLabour) {
        p.errors.add("tr_industry", "industry-needs-forced-labour");
    }
    if !d.sex_exploitation.is_empty()
        && !d
            .exploitation
            .contains(&ExploitationType::SexualExploitation)
    {
        p.errors
            .add("tr_sex_exploitation", "sex-types-need-sexual-exploitation");
    }
    if let (Some(r), Some(e)) = (d.recruited.date, d.exploited.date)
        && e < r
    {
        p.errors
            .add("tr_exploited_date", "exploited-before-recruited");
    }
    d
}

fn parse_labour<F: FormFields + ?Sized>(p: &mut Parser<'_, F>) -> LabourDetails {
    let currency = p.form.one("lx_currency").to_ascii_uppercase();
    let wages = p.money("lx_wages_owed");
    if !currency.is_empty()
        && (currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()))
    {
        p.errors.add("lx_currency", "currency-invalid");
    }
    LabourDetails {
        employer: p.text_max("lx_employer", 300),
        agency: p.text_max("lx_agency", 300),
        country: p.country("lx_country"),
        sector: p.code("lx_sector", Industry::from_code),
        indicators: p.codes("lx_indicators", IloIndicator::from_code),
        wages_owed_minor: wages,
        currency: if currency.is_empty() && wages.is_some() {
            "EUR".into()
        } else {
            currency
        },
        documents_retained: p.flag("lx_documents_retained"),
        workers_affected: p
            .number("lx_workers_affected", 1, 100_000)
            .and_then(|n| i32::try_from(n).ok()),
    }
}

/// A change of a case's status that someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Active → FollowUp.
    FollowUp,
    /// FollowUp → Active.
    BackToActive,
    /// Close (Closed or ClosedReferred) with a reason.
    Close(CaseStatus, ClosureReason),
    /// A closed case is opened again.
    Reopen,
}

/// What a status change leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The status changes at once.
    Now(CaseStatus),
    /// A closure waits for a supervisor's approval.
    AwaitsApproval(CaseStatus, ClosureReason),
}

/// Why a status change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The change makes no sense from the current status.
    #[error("status-change-invalid")]
    Invalid,
    /// A closure is already waiting for approval.
    #[error("closure-pending")]
    ClosurePending,
    /// A missing-child case closed as "child found" needs the date the child was found.
    #[error("closure-needs-found-date")]
    NeedsFoundDate,
}

impl StatusError {
    /// The message code.
    pub fn code(self) -> &'static str {
        match self {
            StatusError::Invalid => "status-change-invalid",
            StatusError::ClosurePending => "closure-pending",
            StatusError::NeedsFoundDate => "closure-needs-found-date",
        }
    }
}

/// The workflow: what `change` does to a case in `status` (`pending` says a closure already
/// awaits approval), when closing `needs_approval` and the person `may_approve` or not.
pub fn change_status(
    status: CaseStatus,
    pending: bool,
    change: StatusChange,
    needs_approval: bool,
    may_approve: bool,
    child_found: Option<bool>,
) -> Result<StatusOutcome, StatusError> {
    match change {
        StatusChange::FollowUp if status == CaseStatus::Active => {
            Ok(StatusOutcome::Now(CaseStatus::FollowUp))
        }
        StatusChange::BackToActive if status == CaseStatus::FollowUp => {
            Ok(StatusOutcome::Now(CaseStatus::Active))
        }
        StatusChange::Close(to, reason) if status.is_open() && !to.is_open() => {
            if pending {
                return Err(StatusError::ClosurePending);
            }
            if reason == ClosureReason::ChildFound && child_found == Some(false) {
                return Err(StatusError::NeedsFoundDate);
            }
            if needs_approval && !may_approve {
                Ok(StatusOutcome::AwaitsApproval(to, reason))
            } else {
                Ok(StatusOutcome::Now(to))
            }
        }
        StatusChange::Reopen if !status.is_open() => Ok(StatusOutcome::Now(CaseStatus::Active)),
        _ => Err(StatusError::Invalid),
    }
}

/// A rule of escalation for a line: how long after opening the police must have the report, and
/// how long the family may go without contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationRules {
    /// Hours after opening by which a police report must be recorded.
    pub police_report_hours: Option<u32>,
    /// Hours the family may go without contact.
    pub family_contact_hours: Option<u32>,
}

/// Which escalation timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationKind {
    /// No police report yet.
    PoliceReport,
    /// No contact with the family.
    FamilyContact,
}

impl EscalationKind {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            EscalationKind::PoliceReport => "police_report",
            EscalationKind::FamilyContact => "family_contact",
        }
    }
}

/// How urgent something with a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Time enough.
    Ok,
    /// Due soon (amber).
    DueSoon,
    /// Overdue (red).
    Overdue,
}

impl Urgency {
    /// The code (used as a CSS class: `ok`, `due-soon`, `overdue`).
    pub fn code(self) -> &'static str {
        match self {
            Urgency::Ok => "ok",
            Urgency::DueSoon => "due-soon",
            Urgency::Overdue => "overdue",
        }
    }

    /// The urgency of a deadline `due` now, counting "soon" as within `soon` of it.
    pub fn of(due: DateTime<Utc>, now: DateTime<Utc>, soon: TimeDelta) -> Urgency {
        if now >= due {
            Urgency::Overdue
        } else if due - now <= soon {
            Urgency::DueSoon
        } else {
            Urgency::Ok
        }
    }
}

/// A running escalation timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// Which.
    pub kind: EscalationKind,
    /// When it runs out.
    pub due_at: DateTime<Utc>,
    /// How urgent it is now.
    pub urgency: Urgency,
}

/// The facts escalation timers are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationFacts {
    /// When the case was opened.
    pub opened_at: DateTime<Utc>,
    /// Whether work on it goes on.
    pub open: bool,
    /// Whether the child has been found.
    pub found: bool,
    /// When the police report was made, if it was.
    pub police_reported_at: Option<DateTime<Utc>>,
    /// The last contact with the family, if any.
    pub family_contact_at: Option<DateTime<Utc>>,
}

/// The escalation timers still running for a case (none once it is closed or the child found).
pub fn escalations(
    facts: &EscalationFacts,
    rules: &EscalationRules,
    now: DateTime<Utc>,
) -> Vec<Escalation> {
    let mut out = Vec::new();
    if !facts.open || facts.found {
        return out;
    }
    let soon =
        |hours: u32| TimeDelta::minutes(i64::from(hours) * 60 / 4).max(TimeDelta::minutes(30));
    if let Some(h) = rules.police_report_hours
        && facts.police_reported_at.is_none()
    {
        let due_at = facts.opened_at + TimeDelta::hours(i64::from(h));
        out.push(Escalation {
            kind: EscalationKind::PoliceReport,
            due_at,
            urgency: Urgency::of(due_at, now, soon(h)),
        });
    }
    if let Some(h) = rules.family_contact_hours {
        let since = facts.family_contact_at.unwrap_or(facts.opened_at);
        let due_at = since + TimeDelta::hours(i64::from(h));
        out.push(Escalation {
            kind: EscalationKind::FamilyContact,
            due_at,
            urgency: Urgency::of(due_at, now, soon(h)),
        });
    }
    out
}

/// A consent record as the sharing check reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentFact {
    /// For what.
    pub purpose: ConsentPurpose,
    /// For sharing: with whom (an institution's id).
    pub institution: Option<uuid::Uuid>,
    /// Given or withdrawn.
    pub given: bool,
    /// When recorded (the latest record of a purpose counts).
    pub recorded_at: DateTime<Utc>,
}

/// Whether the latest record for `purpose` (and, for sharing, `institution`) says given.
pub fn consent_holds(
    records: &[ConsentFact],
    purpose: ConsentPurpose,
    institution: Option<uuid::Uuid>,
) -> bool {
    records
        .iter()
        .filter(|r| {
            r.purpose == purpose
                && (purpose != ConsentPurpose::Sharing || r.institution == institution)
        })
        .max_by_key(|r| r.recorded_at)
        .is_some_and(|r| r.given)
}

/// What is missing before a case may be shared with `institution`: for each person, the
/// purposes whose consent is not given (data processing, and sharing with that institution).
pub fn missing_for_sharing(
    people: &[(crate::people::PersonId, Vec<ConsentFact>)],
    institution: uuid::Uuid,
) -> Vec<(crate::people::PersonId, Vec<ConsentPurpose>)> {
    people
        .iter()
        .filter_map(|(p, records)| {
            let mut missing = Vec::new();
            if !consent_holds(records, ConsentPurpose::DataProcessing, None) {
                missing.push(ConsentPurpose::DataProcessing);
            }
            if !consent_holds(records, ConsentPurpose::Sharing, Some(institution)) {
                missing.push(ConsentPurpose::Sharing);
            }
            (!missing.is_empty()).then_some((*p, missing))
        })
        .collect()
}

/// The initials of a name (`Marija Petrović` → `M. P.`), for lists that must not show names.
pub fn initials(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '-')
        .filter_map(|w| w.chars().find(|c| c.is_alphabetic()))
        .filter(|c| c.is_uppercase() || c.is_alphabetic())
        .take(3)
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whole years between a year of birth and a date.
pub fn age_in(birth_year: i32, on: NaiveDate) -> i32 {
    on.year() - birth_year
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseCtx {
        ParseCtx {
            now: DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            tz: chrono_tz::Europe::Belgrade,
        }
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn taxonomies_round_trip_and_use_htcds_codes() {
        for s in ExploitationType::ALL {
            assert_eq!(ExploitationType::from_code(s.code()), Some(*s));
        }
        assert_eq!(ControlMethod::ALL.len(), 17);
        assert_eq!(Industry::ALL.len(), 21);
        assert_eq!(IloIndicator::ALL.len(), 11);
        assert_eq!(MissingCategory::ALL.len(), 5);
        assert_eq!(
            CaseStatus::from_code("ClosedReferred"),
            Some(CaseStatus::ClosedReferred)
        );
        assert_eq!(
            WebsiteOrApp::from_code("4Sale"),
            Some(WebsiteOrApp::FourSale)
        );
        assert_eq!(
            MissingCategory::ParentalAbduction.label_id(),
            "missing-category-parental_abduction"
        );
        assert_eq!(
            serde_json::to_string(&Scope::International).unwrap(),
            "\"international\""
        );
    }

    #[test]
    fn missing_child_dates_are_checked() {
        let e = parse_details(
            CaseKind::MissingChild,
            form(&[
                ("mc_category", "parental_abduction"),
                ("mc_last_seen_at", "2026-11-20T10:00"),
                ("mc_found_at", "2026-11-19T10:00"),
            ])
            .as_slice(),
            ctx(),
        )
        .unwrap_err();
        assert_eq!(
            e.for_field("mc_found_at").unwrap().code,
            "found-before-last-seen"
        );
        let e = parse_details(
            CaseKind::MissingChild,
            form(&[
                ("mc_last_seen_at", "2027-01-01T10:00"),
                ("mc_category", "kidnap"),
            ])
            .as_slice(),
            ctx(),
        )
        .unwrap_err();
        assert_eq!(
            e.for_field("mc_last_seen_at").unwrap().code,
            "time-in-future"
        );
        assert_eq!(e.for_field("mc_category").unwrap().code, "code-unknown");
        let e = parse_details(
            CaseKind::MissingChild,
            form(&[("mc_custody_date", "2026-02-30")]).as_slice(),
            ctx(),
        )
        .unwrap_err();
        assert_eq!(e.for_field("mc_custody_date").unwrap().code, "date-invalid");
        let ok = parse_details(
            CaseKind::MissingChild,
            form(&[
                ("mc_category", "runaway"),
                ("mc_scope", "international"),
                ("mc_last_seen_at", "2026-11-20T10:00"),
                ("mc_countries", "de, RS"),
                ("mc_found_at", "2026-11-27T18:30"),
                ("mc_found_state", "safe_and_well"),
            ])
            .as_slice(),
            ctx(),
        )
        .unwrap();
        let CaseDetails::MissingChild(d) = ok else {
            panic!()
        };
        assert_eq!(d.countries.len(), 2);
        let json = serde_json::to_string(&CaseDetails::MissingChild(d.clone())).unwrap();
        assert!(
            json.contains("[\"DE\",\"RS\"]") || json.contains("[\"RS\",\"DE\"]"),
            "{json}"
        );
        let back: CaseDetails = serde_json::from_str(&json).unwrap();
        assert_eq!(back, CaseDetails::MissingChild(d.clone()));
        // 10:00 Belgrade is 09:00 UTC in November.
        assert_eq!(
            d.last_seen_at.unwrap().to_rfc3339(),
            "2026-11-20T09:00:00+00:00"
        );
        assert_eq!(d.time_to_resolution().unwrap().num_hours(), 7 * 24 + 8);
    }

    #[test]
    fn trafficking_rules() {
        let e = parse_details(
            CaseKind::Trafficking,
            form(&[
                ("tr_status", "ActualVictimOfTrafficking"),
                ("tr_exploitation", "SexualExploitation"),
                ("tr_exploitation", "Slavery"),
                ("tr_industry", "F_Construction"),
                ("tr_formally_identified", "on"),
            ])
            .as_slice(),
            ctx(),
        )
        .unwrap_err();
        assert_eq!(e.for_field("tr_exploitation").unwrap().code, "code-unknown");
        assert_eq!(
            e.for_field("tr_decided_by").unwrap().code,
            "decided-by-needed"
        );
        assert_eq!(
            e.for_field("tr_industry").unwrap().code,
            "industry-needs-forced-labour"
        );
        assert_eq!(
            e.for_field("tr_identified_on").unwrap().code,
            "identification-date-needed"
        );
    }

    #[test]
    fn labour_money_and_numbers() {
        let ok = parse_details(
            CaseKind::LabourExploitation,
            form(&[
                ("lx_wages_owed", "1.250,50"),
                ("lx_workers_affected", "2"),
                ("lx_indicators", "debt_bondage"),
            ])
            .as_slice(),
            ctx(),
        )
        .unwrap();
        let CaseDetails::LabourExploitation(d) = ok else {
            panic!()
        };
        assert_eq!(d.wages_owed_minor, Some(125_050));
        assert_eq!(d.currency, "EUR");
        let e = parse_details(
            CaseKind::LabourExploitation,
            form(&[
                ("lx_workers_affected", "0"),
                ("lx_country", "XX"),
                ("lx_currency", "euro"),
            ])
            .as_slice(),
            ctx(),
        )
        .unwrap_err();
        assert_eq!(
            e.for_field("lx_workers_affected").unwrap().code,
            "number-out-of-range"
        );
        assert_eq!(e.for_field("lx_country").unwrap().code, "country-unknown");
        assert_eq!(e.for_field("lx_currency").unwrap().code, "currency-invalid");
    }

    #[test]
    fn workflow() {
        use CaseStatus::*;
        let close = StatusChange::Close(Closed, ClosureReason::Resolved);
        assert_eq!(
            change_status(Active, false, close, true, false, None),
            Ok(StatusOutcome::AwaitsApproval(
                Closed,
                ClosureReason::Resolved
            ))
        );
        assert_eq!(
            change_status(Active, false, close, true, true, None),
            Ok(StatusOutcome::Now(Closed))
        );
        assert_eq!(
            change_status(Active, false, close, false, false, None),
            Ok(StatusOutcome::Now(Closed))
        );
        assert_eq!(
            change_status(Active, true, close, true, false, None),
            Err(StatusError::ClosurePending)
        );
        assert_eq!(
            change_status(Closed, false, close, true, true, None),
            Err(StatusError::Invalid)
        );
        assert_eq!(
            change_status(Closed, false, StatusChange::Reopen, true, false, None),
            Ok(StatusOutcome::Now(Active))
        );
        assert_eq!(
            change_status(Active, false, StatusChange::Reopen, true, false, None),
            Err(StatusError::Invalid)
        );
        assert_eq!(
            change_status(
                Active,
                false,
                StatusChange::Close(Closed, ClosureReason::ChildFound),
                true,
                true,
                Some(false)
            ),
            Err(StatusError::NeedsFoundDate)
        );
    }

    #[test]
    fn escalation_timers() {
        let opened = ctx().now;
        let facts = EscalationFacts {
            opened_at: opened,
            open: true,
            found: false,
            police_reported_at: None,
            family_contact_at: None,
        };
        let rules = EscalationRules {
            police_report_hours: Some(2),
            family_contact_hours: Some(24),
        };
        let e = escalations(&facts, &rules, opened + TimeDelta::minutes(10));
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].urgency, Urgency::Ok);
        let e = escalations(&facts, &rules, opened + TimeDelta::minutes(100));
        assert_eq!(e[0].urgency, Urgency::DueSoon);
        let e = escalations(&facts, &rules, opened + TimeDelta::hours(3));
        assert_eq!(e[0].urgency, Urgency::Overdue);
        assert_eq!(e[1].urgency, Urgency::Ok);
        let reported = EscalationFacts {
            police_reported_at: Some(opened),
            ..facts
        };
        assert_eq!(
            escalations(&reported, &rules, opened + TimeDelta::hours(3)).len(),
            1
        );
        let found = EscalationFacts {
            found: true,
            ..facts
        };
        assert!(escalations(&found, &rules, opened + TimeDelta::hours(30)).is_empty());
    }

    #[test]
    fn sharing_needs_both_consents_latest_wins() {
        let p = crate::people::PersonId(uuid::Uuid::from_u128(1));
        let inst = uuid::Uuid::from_u128(9);
        let t = ctx().now;
        let rec = |purpose, institution, given, mins| ConsentFact {
            purpose,
            institution,
            given,
            recorded_at: t + TimeDelta::minutes(mins),
        };
        let records = vec![
            rec(ConsentPurpose::DataProcessing, None, true, 0),
            rec(ConsentPurpose::Sharing, Some(inst), true, 1),
            rec(ConsentPurpose::Sharing, Some(inst), false, 2),
        ];
        assert_eq!(
            missing_for_sharing(&[(p, records.clone())], inst),
            vec![(p, vec![ConsentPurpose::Sharing])]
        );
        let mut again = records;
        again.push(rec(ConsentPurpose::Sharing, Some(inst), true, 3));
        assert!(missing_for_sharing(&[(p, again)], inst).is_empty());
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Marija Petrović"), "M. P.");
        assert_eq!(initials("Ђорђе Јовановић-Ilić"), "Ђ. Ј. I.");
        assert_eq!(initials(""), "");
    }
}
