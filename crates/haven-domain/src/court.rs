//! Court proceedings the organisation follows: criminal, misdemeanour and civil cases, their
//! defendants and the history of the charges against each, what happened at court (hearings, plea
//! agreements, verdicts, appeals, final judgments), the victims' property claims and what was
//! awarded and actually paid — and the advocacy figures computed from all of it (DOMAIN.md §5).
//!
//! A charge is never changed: a re-qualification (art. 388 trafficking into art. 184 mediation in
//! prostitution, typically at indictment) is a new charge recorded with its stage and date, so the
//! history is the record. The figures are pure functions of plain facts ([`ProceedingFacts`]),
//! which the store reads without decrypting anything: they never need a name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cases::{Taxonomy, taxonomy};
use crate::validate::ValidationErrors;

crate::define_id!(
    /// A court proceeding.
    ProceedingId
);
crate::define_id!(
    /// A defendant in a proceeding.
    DefendantId
);
crate::define_id!(
    /// A charge against a defendant at one stage.
    ChargeId
);
crate::define_id!(
    /// Something that happened in a proceeding (hearing, plea agreement, verdict, …).
    CourtEventId
);
crate::define_id!(
    /// A property claim of an injured party.
    ClaimId
);
crate::define_id!(
    /// Compensation awarded to an injured party.
    AwardId
);

taxonomy! {
    /// The kinds of proceeding.
    ProceedingKind, "proceeding-kind", [
        /// A criminal trial.
        Criminal = "criminal",
        /// A misdemeanour proceeding (e.g. against unregistered employment mediators).
        Misdemeanour = "misdemeanour",
        /// A civil suit (e.g. for compensation after the property claim was referred).
        Civil = "civil",
    ]
}

taxonomy! {
    /// The organisation's role in a proceeding.
    OrgRole, "court-role", [
        /// Legal representative of the injured party.
        LegalRepresentative = "legal_representative",
        /// Support person accompanying the victim.
        SupportPerson = "support_person",
        /// Observer (trial monitoring).
        Observer = "observer",
    ]
}

taxonomy! {
    /// The stages a charge passes through, in order.
    Stage, "court-stage", [
        /// Investigation by the prosecutor.
        Investigation = "investigation",
        /// Indictment filed (and confirmed).
        Indictment = "indictment",
        /// First-instance verdict.
        FirstInstance = "first_instance",
        /// Appeal.
        Appeal = "appeal",
        /// Final.
        Final = "final",
    ]
}

taxonomy! {
    /// What happened in a proceeding.
    CourtEventKind, "court-event", [
        /// A hearing (held or postponed).
        Hearing = "hearing",
        /// A plea agreement accepted by the court.
        PleaAgreement = "plea_agreement",
        /// A verdict on one defendant.
        Verdict = "verdict",
        /// An appeal.
        Appeal = "appeal",
        /// The final judgment.
        FinalJudgment = "final_judgment",
    ]
}

taxonomy! {
    /// Why a hearing was postponed.
    PostponementReason, "postponed", [
        /// The defendant did not appear.
        DefendantAbsent = "defendant_absent",
        /// A witness did not appear.
        WitnessAbsent = "witness_absent",
        /// The injured party did not appear.
        VictimAbsent = "victim_absent",
        /// The judge or panel was absent or changed.
        CourtAbsent = "court_absent",
        /// A lawyer was absent.
        LawyerAbsent = "lawyer_absent",
        /// Evidence or an expert opinion was missing.
        EvidenceMissing = "evidence_missing",
        /// Anything else.
        Other = "other",
    ]
}

taxonomy! {
    /// Measures protecting a victim who testifies.
    ProtectiveMeasure, "protective", [
        /// Testimony by video link.
        VideoLink = "video_link",
        /// Testimony without the defendant present.
        WithoutDefendant = "without_defendant",
        /// The public excluded.
        ClosedSession = "closed_session",
        /// A protected identity (pseudonym).
        Pseudonym = "pseudonym",
        /// Questioned only once, through a psychologist or in a separate room.
        SeparateRoom = "separate_room",
    ]
}

taxonomy! {
    /// A verdict on a defendant.
    VerdictOutcome, "verdict", [
        /// Found guilty.
        Guilty = "guilty",
        /// Acquitted.
        Acquitted = "acquitted",
        /// Charge rejected (procedural).
        Rejected = "rejected",
    ]
}

taxonomy! {
    /// The type of a sentence.
    SentenceType, "sentence", [
        /// Imprisonment.
        Prison = "prison",
        /// House arrest.
        HouseArrest = "house_arrest",
        /// A fine.
        Fine = "fine",
        /// Community service.
        CommunityService = "community_service",
    ]
}

taxonomy! {
    /// Who appealed.
    AppealBy, "appeal-by", [
        /// The prosecutor.
        Prosecution = "prosecution",
        /// The defence.
        Defence = "defence",
        /// The injured party.
        InjuredParty = "injured_party",
    ]
}

taxonomy! {
    /// What became of a property claim.
    ClaimDecision, "claim-decision", [
        /// Decided in the criminal proceeding: compensation awarded.
        Awarded = "awarded",
        /// Referred to a civil suit.
        ReferredToCivil = "referred_to_civil",
        /// Rejected.
        Rejected = "rejected",
    ]
}

taxonomy! {
    /// Where an award of compensation comes from.
    AwardSource, "award-source", [
        /// Decided in the criminal trial on the property claim.
        CriminalTrial = "criminal_trial",
        /// A civil suit's judgment.
        CivilSuit = "civil_suit",
        /// A state compensation fund.
        StateFund = "state_fund",
    ]
}

taxonomy! {
    /// A step taken to enforce an award.
    EnforcementStep, "enforcement", [
        /// A motion for enforcement filed.
        Filed = "filed",
        /// Enforcement ordered.
        Ordered = "ordered",
        /// Assets seized.
        AssetsSeized = "assets_seized",
        /// Enforcement unsuccessful (no assets).
        Unsuccessful = "unsuccessful",
        /// Anything else.
        Other = "other",
    ]
}

taxonomy! {
    /// The state of an application to a state compensation fund.
    FundDecision, "fund-decision", [
        /// Not decided yet.
        Pending = "pending",
        /// Granted.
        Granted = "granted",
        /// Refused.
        Refused = "refused",
    ]
}

taxonomy! {
    /// The kinds of recorded item that can be corrected or withdrawn.
    CourtItem, "court-item", [
        /// Something that happened at court.
        Event = "event",
        /// A charge.
        Charge = "charge",
        /// A property claim.
        Claim = "claim",
        /// Compensation awarded.
        Award = "award",
        /// A payment on an award.
        Payment = "payment",
        /// An enforcement step.
        Step = "step",
        /// An application to a state compensation fund.
        Fund = "fund",
    ]
}

impl Stage {
    /// The place of the stage in the order of a proceeding.
    pub fn rank(self) -> usize {
        Stage::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// The currency amounts are in when none is given.
pub const DEFAULT_CURRENCY: &str = "RSD";

/// An offence of the criminal code (or another law) that a charge names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offence {
    /// The stable code: `<article>-<paragraph>` (`388-1`).
    pub code: String,
    /// The article.
    pub article: u32,
    /// The paragraph.
    pub paragraph: u32,
    /// The name (for statutory offences, the message id of the label is `offence-<code>`).
    pub title: String,
    /// The statutory minimum sentence of imprisonment, in months.
    pub min_months: Option<u32>,
    /// The statutory maximum, in months.
    pub max_months: Option<u32>,
    /// Whether this is trafficking in human beings (art. 388).
    pub trafficking: bool,
    /// Whether it comes with Haven (statutory list) rather than added by staff.
    pub statutory: bool,
}

/// The article of trafficking in human beings.
pub const TRAFFICKING_ARTICLE: u32 = 388;
/// The article of mediation in prostitution.
pub const MEDIATION_ARTICLE: u32 = 184;

const fn statutory(
    article: u32,
    paragraph: u32,
    title: &'static str,
    min: Option<u32>,
    max: Option<u32>,
) -> StatutoryOffence {
    (article, paragraph, title, min, max)
}

/// Article, paragraph, name, minimum and maximum sentence in months.
type StatutoryOffence = (u32, u32, &'static str, Option<u32>, Option<u32>);

/// The offences Haven knows: Criminal Code art. 388 paras 1–8 and art. 184 (DOMAIN.md §5), with
/// their statutory sentences of imprisonment in months. The general maximum (20 years) stands
/// where the code says only "at least".
const STATUTORY: &[StatutoryOffence] = &[
    statutory(388, 1, "Trafficking in human beings", Some(36), Some(144)),
    statutory(
        388,
        2,
        "Trafficking in human beings, minor (means need not be proven)",
        Some(36),
        Some(144),
    ),
    statutory(
        388,
        3,
        "Trafficking in human beings against a minor",
        Some(60),
        Some(240),
    ),
    statutory(
        388,
        4,
        "Trafficking in human beings causing serious injury",
        Some(60),
        Some(180),
    ),
    statutory(
        388,
        5,
        "Trafficking in human beings causing death",
        Some(120),
        Some(240),
    ),
    statutory(
        388,
        6,
        "Trafficking in human beings, habitually or by a group",
        Some(60),
        Some(240),
    ),
    statutory(
        388,
        7,
        "Trafficking in human beings by an organised group",
        Some(120),
        Some(240),
    ),
    statutory(
        388,
        8,
        "Using the services of a victim of trafficking",
        Some(6),
        Some(60),
    ),
    statutory(184, 1, "Mediation in prostitution", Some(6), Some(60)),
    statutory(
        184,
        2,
        "Mediation in prostitution of a minor",
        Some(12),
        Some(120),
    ),
];

/// The offence code of an article and paragraph.
pub fn offence_code(article: u32, paragraph: u32) -> String {
    format!("{article}-{paragraph}")
}

/// The statutory offences.
pub fn statutory_offences() -> Vec<Offence> {
    STATUTORY
        .iter()
        .map(|(a, p, t, min, max)| Offence {
            code: offence_code(*a, *p),
            article: *a,
            paragraph: *p,
            title: (*t).to_owned(),
            min_months: *min,
            max_months: *max,
            trafficking: *a == TRAFFICKING_ARTICLE,
            statutory: true,
        })
        .collect()
}

/// An offence staff add, checked: article and paragraph within reason, a name, minimum not above
/// maximum, and not one of the statutory list already.
pub fn new_offence(
    article: Option<i64>,
    paragraph: Option<i64>,
    title: &str,
    min_months: Option<i64>,
    max_months: Option<i64>,
    known: &[Offence],
) -> Result<Offence, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    if article.is_none() {
        errors.add("offence_article", "required");
    }
    if paragraph.is_none() {
        errors.add("offence_paragraph", "required");
    }
    if title.trim().is_empty() {
        errors.add("offence_title", "required");
    }
    if let (Some(min), Some(max)) = (min_months, max_months)
        && min > max
    {
        errors.add("offence_max_months", "minimum-above-maximum");
    }
    let (Some(a), Some(p)) = (article, paragraph) else {
        return Err(errors);
    };
    let code = offence_code(a as u32, p as u32);
    if known.iter().any(|o| o.code == code) {
        errors.add("offence_article", "offence-exists");
    }
    errors.into_result(Offence {
        code,
        article: a as u32,
        paragraph: p as u32,
        title: title.trim().to_owned(),
        min_months: min_months.map(|m| m as u32),
        max_months: max_months.map(|m| m as u32),
        trafficking: a as u32 == TRAFFICKING_ARTICLE,
        statutory: false,
    })
}

/// Months as a sentence is read: `3 y 6 m`.
pub fn months_text(m: i64) -> String {
    match (m / 12, m % 12) {
        (0, r) => format!("{r} m"),
        (y, 0) => format!("{y} y"),
        (y, r) => format!("{y} y {r} m"),
    }
}

// The facts the rules and figures need: plain values only.

/// A charge as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeFact {
    /// The defendant.
    pub defendant: Uuid,
    /// The offence's code.
    pub offence: String,
    /// The stage at which it applied.
    pub stage: Stage,
    /// Since when.
    pub on: NaiveDate,
}

/// An event as the rules and figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    /// What happened.
    pub kind: CourtEventKind,
    /// When.
    pub on: NaiveDate,
    /// The defendant it concerns (plea agreements, verdicts).
    pub defendant: Option<Uuid>,
    /// The verdict.
    pub outcome: Option<VerdictOutcome>,
    /// The sentence's type.
    pub sentence: Option<SentenceType>,
    /// Its length in months.
    pub months: Option<i64>,
    /// Whether suspended.
    pub suspended: bool,
}

/// A property claim as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimFact {
    /// The amount claimed, minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: String,
    /// What became of it.
    pub decision: Option<ClaimDecision>,
}

/// An award as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardFact {
    /// Where it came from.
    pub source: AwardSource,
    /// The amount, minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: String,
    /// The total paid so far, minor units.
    pub paid: i64,
}

/// An application to a state compensation fund as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundFact {
    /// The amount asked, minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: String,
    /// Its state.
    pub decision: FundDecision,
    /// What was granted, minor units (granted applications).
    pub granted: Option<i64>,
}

/// A proceeding as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProceedingFacts {
    /// Its id.
    pub id: Uuid,
    /// Its kind.
    pub kind: ProceedingKind,
    /// The court (an institution).
    pub court: Option<Uuid>,
    /// The proceeding it follows from (a civil suit after a referred claim).
    pub parent: Option<Uuid>,
    /// When it started (for the period of the figures).
    pub opened_on: NaiveDate,
    /// Every charge, in the order recorded.
    pub charges: Vec<ChargeFact>,
    /// Every event.
    pub events: Vec<EventFact>,
    /// Property claims filed in it.
    pub claims: Vec<ClaimFact>,
    /// Awards decided in it.
    pub awards: Vec<AwardFact>,
    /// Applications to a state compensation fund made in it.
    pub funds: Vec<FundFact>,
}

impl ProceedingFacts {
    /// The stage the proceeding has reached: a final judgment or an accepted plea agreement ends
    /// it; otherwise the furthest stage of any charge, or of a verdict or appeal.
    pub fn stage(&self) -> Stage {
        if self.events.iter().any(|e| {
            matches!(
                e.kind,
                CourtEventKind::FinalJudgment | CourtEventKind::PleaAgreement
            )
        }) {
            return Stage::Final;
        }
        let mut stage = self
            .charges
            .iter()
            .map(|c| c.stage)
            .max_by_key(|s| s.rank())
            .unwrap_or(Stage::Investigation);
        for e in &self.events {
            let s = match e.kind {
                CourtEventKind::Verdict => Stage::FirstInstance,
                CourtEventKind::Appeal => Stage::Appeal,
                _ => continue,
            };
            if s.rank() > stage.rank() {
                stage = s;
            }
        }
        stage
    }

    /// When it ended: the final judgment, else the plea agreement.
    pub fn ended_on(&self) -> Option<NaiveDate> {
        let of = |k: CourtEventKind| {
            self.events
                .iter()
                .filter(|e| e.kind == k)
                .map(|e| e.on)
                .max()
        };
        of(CourtEventKind::FinalJudgment).or_else(|| of(CourtEventKind::PleaAgreement))
    }

    /// Whether a plea agreement ended it.
    pub fn by_plea(&self) -> bool {
        self.events
            .iter()
            .any(|e| e.kind == CourtEventKind::PleaAgreement)
    }

    /// The date of the first charge.
    pub fn first_charged_on(&self) -> Option<NaiveDate> {
        self.charges.iter().map(|c| c.on).min()
    }

    /// Each defendant's charges in the order recorded.
    pub fn charges_by_defendant(&self) -> BTreeMap<Uuid, Vec<&ChargeFact>> {
        let mut out: BTreeMap<Uuid, Vec<&ChargeFact>> = BTreeMap::new();
        for c in &self.charges {
            out.entry(c.defendant).or_default().push(c);
        }
        out
    }
}

// Rules of recording.

/// Checks a new charge against the defendant's earlier ones: a stage never goes back, and a
/// charge cannot date from before the one it follows.
pub fn check_charge(earlier: &[ChargeFact], new: &ChargeFact, errors: &mut ValidationErrors) {
    let mine: Vec<&ChargeFact> = earlier
        .iter()
        .filter(|c| c.defendant == new.defendant)
        .collect();
    if let Some(last) = mine.last() {
        if new.stage.rank() < last.stage.rank() {
            errors.add("charge_stage", "stage-goes-back");
        }
        if new.on < last.on {
            errors.add("charge_on", "date-before-earlier-charge");
        }
    }
}

/// Checks a verdict, plea agreement or final judgment on a defendant against their charges: it
/// needs an indictment dated on or before it.
pub fn check_after_indictment(
    charges: &[ChargeFact],
    defendant: Option<Uuid>,
    on: NaiveDate,
    field: &str,
    errors: &mut ValidationErrors,
) {
    let indicted = charges.iter().any(|c| {
        defendant.is_none_or(|d| c.defendant == d)
            && c.stage.rank() >= Stage::Indictment.rank()
            && c.on <= on
    });
    if !indicted {
        errors.add(field, "verdict-before-indictment");
    }
}

/// Checks a corrected charge against the defendant's other charges (the one corrected left out):
/// in the order of their dates, a defendant's charges never go back a stage.
pub fn check_corrected_charge(
    others: &[ChargeFact],
    corrected: &ChargeFact,
    errors: &mut ValidationErrors,
) {
    let goes_back = others
        .iter()
        .filter(|c| c.defendant == corrected.defendant)
        .any(|c| {
            (c.on < corrected.on && c.stage.rank() > corrected.stage.rank())
                || (c.on > corrected.on && c.stage.rank() < corrected.stage.rank())
        });
    if goes_back {
        errors.add("charge_stage", "stage-out-of-order");
    }
}

/// Checks that every verdict, plea agreement and final judgment recorded still comes after an
/// indictment once the charges are as given (after a charge is corrected).
pub fn check_events_after_indictment(
    charges: &[ChargeFact],
    events: &[EventFact],
    field: &str,
    errors: &mut ValidationErrors,
) {
    let mut e = ValidationErrors::new();
    for ev in events.iter().filter(|ev| {
        matches!(
            ev.kind,
            CourtEventKind::Verdict | CourtEventKind::PleaAgreement | CourtEventKind::FinalJudgment
        )
    }) {
        check_after_indictment(charges, ev.defendant, ev.on, field, &mut e);
    }
    if !e.is_empty() {
        errors.add(field, "verdict-would-precede-indictment");
    }
}

/// Checks a corrected award against what was paid on it: never less than paid, never after the
/// first payment.
pub fn check_corrected_award(
    amount: i64,
    awarded_on: NaiveDate,
    paid: i64,
    first_paid_on: Option<NaiveDate>,
    errors: &mut ValidationErrors,
) {
    if amount < paid {
        errors.add_with(
            "award_amount",
            "award-below-paid",
            vec![("paid", money_text(paid))],
        );
    }
    if first_paid_on.is_some_and(|d| d < awarded_on) {
        errors.add("award_on", "award-after-payment");
    }
}

/// The fields whose values differ between two versions of a record (each as the form's name and
/// value pairs, a multi-valued field repeated), with the old value (several joined by `, `).
pub fn changed_fields(
    names: &[&str],
    old: &[(String, String)],
    new: &[(String, String)],
) -> Vec<(String, String)> {
    let values = |pairs: &[(String, String)], name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    names
        .iter()
        .filter_map(|n| {
            let (a, b) = (values(old, n), values(new, n));
            (a != b).then(|| ((*n).to_owned(), a.join(", ")))
        })
        .collect()
}

/// Checks a payment against its award: what was paid in total may not exceed what was awarded.
pub fn check_payment(awarded: i64, paid_before: i64, amount: i64, errors: &mut ValidationErrors) {
    if amount <= 0 {
        errors.add("payment_amount", "amount-not-positive");
    } else if paid_before.saturating_add(amount) > awarded {
        errors.add_with(
            "payment_amount",
            "payment-exceeds-award",
            vec![("left", money_text(awarded - paid_before))],
        );
    }
}

/// Minor units as a decimal amount (`12500.50`).
pub fn money_text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// A currency code: three capital letters.
pub fn valid_currency(c: &str) -> bool {
    c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())
}

// The advocacy figures.

/// Which proceedings the figures count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureFilter {
    /// First day of the period (the proceeding's start), inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// Only this court.
    pub court: Option<Uuid>,
}

/// One figure: a count (out of a base, where it is a share), amounts per currency, and the
/// proceedings behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The stable key (also the drill-down's parameter and the CSV's first column).
    pub key: String,
    /// The message id of its label.
    pub label: String,
    /// An argument of the label (an offence code, a stage), if any.
    pub arg: Option<String>,
    /// The count.
    pub count: i64,
    /// What the count is a share of.
    pub of: Option<i64>,
    /// Amounts per currency, minor units.
    pub amounts: BTreeMap<String, i64>,
    /// A value other than a count (median days).
    pub value: Option<i64>,
    /// The proceedings behind the figure.
    pub proceedings: BTreeSet<Uuid>,
}

impl Figure {
    fn new(key: impl Into<String>, label: &str) -> Self {
        Self {
            key: key.into(),
            label: label.to_owned(),
            arg: None,
            count: 0,
            of: None,
            amounts: BTreeMap::new(),
            value: None,
            proceedings: BTreeSet::new(),
        }
    }

    fn hit(&mut self, p: Uuid) {
        self.count += 1;
        self.proceedings.insert(p);
    }

    fn add_amount(&mut self, currency: &str, minor: i64) {
        *self.amounts.entry(currency.to_owned()).or_default() += minor;
    }

    /// The share in per cent, one decimal, when the figure is a share.
    pub fn percent(&self) -> Option<String> {
        match self.of {
            Some(of) if of > 0 => Some(format!("{:.1}", self.count as f64 * 100.0 / of as f64)),
            _ => None,
        }
    }

    /// The amounts as text (`RSD 1500.00`), in currency order.
    pub fn amounts_text(&self) -> String {
        self.amounts
            .iter()
            .map(|(c, m)| format!("{c} {}", money_text(*m)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.count)
    }
}

/// Whether a criminal proceeding falls in the filter: by the date it started and its court.
fn selected(p: &ProceedingFacts, f: &FigureFilter) -> bool {
    let start = p.first_charged_on().unwrap_or(p.opened_on).min(p.opened_on);
    p.kind == ProceedingKind::Criminal
        && f.from.is_none_or(|d| start >= d)
        && f.to.is_none_or(|d| start <= d)
        && f.court.is_none_or(|c| p.court == Some(c))
}

/// The median of whole numbers (the lower middle for an even count, so it is a real value).
pub fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[(v.len() - 1) / 2])
}

/// Computes the advocacy figures over the criminal proceedings the filter selects (by the date of
/// the first charge, or of opening, and by court); civil suits that follow from one of them count
/// with it for compensation. `offences` gives the statutory minimum of the original charge.
pub fn figures(all: &[ProceedingFacts], offences: &[Offence], f: &FigureFilter) -> Vec<Figure> {
    let chosen: Vec<&ProceedingFacts> = all.iter().filter(|p| selected(p, f)).collect();
    let chosen_ids: BTreeSet<Uuid> = chosen.iter().map(|p| p.id).collect();
    let minimum = |code: &str| {
        offences
            .iter()
            .find(|o| o.code == code)
            .and_then(|o| o.min_months)
    };
    let is_trafficking = |code: &str| {
        offences
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.trafficking)
            .unwrap_or_else(|| code.starts_with("388-"))
    };
    let mut out = Vec::new();

    // Proceedings and their stages.
    let mut total = Figure::new("proceedings", "fig-proceedings");
    let mut stages: Vec<Figure> = Stage::ALL
        .iter()
        .map(|s| {
            let mut fig = Figure::new(format!("stage-{}", s.code()), "fig-stage");
            fig.arg = Some(s.label_id());
            fig
        })
        .collect();
    for p in &chosen {
        total.hit(p.id);
        stages[p.stage().rank()].hit(p.id);
    }
    let n = total.count;
    for s in &mut stages {
        s.of = Some(n);
    }
    out.push(total);
    out.extend(stages);

    // Trafficking charges and their re-qualification, per defendant.
    let mut charged = Figure::new("trafficking-charged", "fig-trafficking-charged");
    let mut requalified = Figure::new("requalified", "fig-requalified");
    let mut into: BTreeMap<String, Figure> = BTreeMap::new();
    for p in &chosen {
        for charges in p.charges_by_defendant().values() {
            let (Some(first), Some(last)) = (charges.first(), charges.last()) else {
                continue;
            };
            if !is_trafficking(&first.offence) {
                continue;
            }
            charged.hit(p.id);
            if !is_trafficking(&last.offence) {
                requalified.hit(p.id);
                let fig = into.entry(last.offence.clone()).or_insert_with(|| {
                    let mut fig =
                        Figure::new(format!("requalified-into-{}", last.offence), "fig-into");
                    fig.arg = Some(last.offence.clone());
                    fig
                });
                fig.hit(p.id);
            }
        }
    }
    requalified.of = Some(charged.count);
    let base = requalified.count;
    out.push(charged);
    out.push(requalified);
    for (_, mut fig) in into {
        fig.of = Some(base);
        out.push(fig);
    }

    // Endings.
    let mut ended = Figure::new("ended", "fig-ended");
    let mut plea = Figure::new("plea", "fig-plea");
    let mut days = Figure::new("median-days-to-final", "fig-median-days");
    let mut spans = Vec::new();
    for p in &chosen {
        if let Some(end) = p.ended_on() {
            ended.hit(p.id);
            if p.by_plea() {
                plea.hit(p.id);
            }
            if let Some(start) = p.first_charged_on() {
                spans.push((end - start).num_days());
                days.hit(p.id);
            }
        }
    }
    plea.of = Some(ended.count);
    days.value = median(spans);
    out.push(ended);
    out.push(plea);
    out.push(days);

    // Sentences compared with the statutory minimum of the original charge.
    let mut convictions = Figure::new("convictions", "fig-convictions");
    let mut below = Figure::new("sentence-below-minimum", "fig-below-minimum");
    let mut at = Figure::new("sentence-at-minimum", "fig-at-minimum");
    let mut above = Figure::new("sentence-above-minimum", "fig-above-minimum");
    let mut suspended = Figure::new("sentence-suspended", "fig-suspended");
    for p in &chosen {
        let by_defendant = p.charges_by_defendant();
        for e in &p.events {
            let conviction = match e.kind {
                CourtEventKind::PleaAgreement => true,
                CourtEventKind::Verdict => e.outcome == Some(VerdictOutcome::Guilty),
                _ => false,
            };
            if !conviction {
                continue;
            }
            // A verdict after a plea agreement for the same defendant is not counted twice: plea
            // agreements and verdicts are each one conviction as recorded.
            convictions.hit(p.id);
            if e.suspended {
                suspended.hit(p.id);
            }
            let original = e
                .defendant
                .and_then(|d| by_defendant.get(&d))
                .and_then(|c| c.first())
                .and_then(|c| minimum(&c.offence));
            let (Some(min), Some(SentenceType::Prison), Some(months)) =
                (original, e.sentence, e.months)
            else {
                continue;
            };
            let min = i64::from(min);
            if e.suspended || months < min {
                below.hit(p.id);
            } else if months == min {
                at.hit(p.id);
            } else {
                above.hit(p.id);
            }
        }
    }
    for fig in [&mut below, &mut at, &mut above, &mut suspended] {
        fig.of = Some(convictions.count);
    }
    out.extend([convictions, below, at, above, suspended]);

    // Property claims.
    let mut filed = Figure::new("claims-filed", "fig-claims-filed");
    let mut in_trial = Figure::new("claims-decided-in-trial", "fig-claims-in-trial");
    let mut referred = Figure::new("claims-referred", "fig-claims-referred");
    let mut rejected = Figure::new("claims-rejected", "fig-claims-rejected");
    for p in &chosen {
        for c in &p.claims {
            filed.hit(p.id);
            filed.add_amount(&c.currency, c.amount);
            match c.decision {
                Some(ClaimDecision::Awarded) => in_trial.hit(p.id),
                Some(ClaimDecision::ReferredToCivil) => referred.hit(p.id),
                Some(ClaimDecision::Rejected) => rejected.hit(p.id),
                None => {}
            }
        }
    }
    for fig in [&mut in_trial, &mut referred, &mut rejected] {
        fig.of = Some(filed.count);
    }
    out.extend([filed, in_trial, referred, rejected]);

    // Compensation: awards in the chosen proceedings and in the civil suits that follow them.
    let mut awarded = Figure::new("compensation-awarded", "fig-compensation-awarded");
    let mut paid = Figure::new("compensation-paid", "fig-compensation-paid");
    let mut fully = Figure::new("compensation-fully-paid", "fig-compensation-fully-paid");
    for p in all {
        let Some(root) = root_of(p, &chosen_ids) else {
            continue;
        };
        for a in &p.awards {
            awarded.hit(root);
            awarded.add_amount(&a.currency, a.amount);
            if a.paid > 0 {
                paid.hit(root);
                paid.add_amount(&a.currency, a.paid);
            }
            if a.paid >= a.amount && a.amount > 0 {
                fully.hit(root);
            }
        }
    }
    paid.of = Some(awarded.count);
    fully.of = Some(awarded.count);
    out.extend([awarded, paid, fully]);

    // Applications to a state compensation fund, counted the same way: in the chosen proceedings
    // and the civil suits that follow them. Amounts asked on the applications, granted on the
    // decisions.
    let mut applied = Figure::new("fund-applications", "fig-fund-applications");
    let mut granted = Figure::new("fund-granted", "fig-fund-granted");
    let mut refused = Figure::new("fund-refused", "fig-fund-refused");
    let mut pending = Figure::new("fund-pending", "fig-fund-pending");
    for p in all {
        let Some(root) = root_of(p, &chosen_ids) else {
            continue;
        };
        for a in &p.funds {
            applied.hit(root);
            applied.add_amount(&a.currency, a.amount);
            match a.decision {
                FundDecision::Granted => {
                    granted.hit(root);
                    granted.add_amount(&a.currency, a.granted.unwrap_or(a.amount));
                }
                FundDecision::Refused => refused.hit(root),
                FundDecision::Pending => pending.hit(root),
            }
        }
    }
    for fig in [&mut granted, &mut refused, &mut pending] {
        fig.of = Some(applied.count);
    }
    out.extend([applied, granted, refused, pending]);
    out
}

/// The chosen proceeding a proceeding counts with: itself, or the one it follows from.
fn root_of(p: &ProceedingFacts, chosen: &BTreeSet<Uuid>) -> Option<Uuid> {
    if chosen.contains(&p.id) {
        Some(p.id)
    } else {
        p.parent.filter(|parent| chosen.contains(parent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn charge(def: u128, offence: &str, stage: Stage, on: &str) -> ChargeFact {
        ChargeFact {
            defendant: Uuid::from_u128(def),
            offence: offence.into(),
            stage,
            on: d(on),
        }
    }

    fn event(kind: CourtEventKind, on: &str, def: u128) -> EventFact {
        EventFact {
            kind,
            on: d(on),
            defendant: Some(Uuid::from_u128(def)),
            outcome: None,
            sentence: None,
            months: None,
            suspended: false,
        }
    }

    #[test]
    fn statutory_list_has_trafficking_and_mediation() {
        let all = statutory_offences();
        for p in 1..=8 {
            assert!(
                all.iter()
                    .any(|o| o.code == format!("388-{p}") && o.trafficking)
            );
        }
        let m = all.iter().find(|o| o.code == "184-1").unwrap();
        assert!(!m.trafficking);
        assert!(all.iter().all(|o| o.min_months <= o.max_months));
    }

    #[test]
    fn stages_never_go_back_and_verdicts_need_an_indictment() {
        let earlier = vec![charge(1, "388-1", Stage::Indictment, "2025-03-01")];
        let mut e = ValidationErrors::new();
        check_charge(
            &earlier,
            &charge(1, "184-1", Stage::Investigation, "2025-04-01"),
            &mut e,
        );
        assert!(e.for_field("charge_stage").is_some());
        let mut e = ValidationErrors::new();
        check_after_indictment(
            &earlier,
            Some(Uuid::from_u128(1)),
            d("2025-02-01"),
            "on",
            &mut e,
        );
        assert_eq!(e.0[0].code, "verdict-before-indictment");
        let mut e = ValidationErrors::new();
        check_after_indictment(
            &earlier,
            Some(Uuid::from_u128(1)),
            d("2025-05-01"),
            "on",
            &mut e,
        );
        assert!(e.is_empty());
    }

    #[test]
    fn corrections_keep_the_order_of_charges_and_verdicts() {
        let others = vec![
            charge(1, "388-1", Stage::Investigation, "2025-01-10"),
            charge(1, "184-1", Stage::FirstInstance, "2025-09-01"),
        ];
        let mut e = ValidationErrors::new();
        check_corrected_charge(
            &others,
            &charge(1, "184-1", Stage::Indictment, "2025-03-01"),
            &mut e,
        );
        assert!(e.is_empty());
        check_corrected_charge(
            &others,
            &charge(1, "184-1", Stage::Appeal, "2025-03-01"),
            &mut e,
        );
        assert_eq!(e.0[0].code, "stage-out-of-order");
        // The indictment moved after the verdict it led to.
        let charges = vec![charge(1, "388-1", Stage::Indictment, "2025-10-01")];
        let verdict = event(CourtEventKind::Verdict, "2025-09-01", 1);
        let mut e = ValidationErrors::new();
        check_events_after_indictment(&charges, &[verdict], "charge_on", &mut e);
        assert_eq!(e.0[0].code, "verdict-would-precede-indictment");
        let mut e = ValidationErrors::new();
        check_corrected_award(1000, d("2025-05-01"), 1200, Some(d("2025-04-01")), &mut e);
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn changed_fields_name_what_changed_with_the_old_value() {
        let p = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let old = p(&[("on", "2025-01-01"), ("m", "a"), ("m", "b"), ("x", "1")]);
        let new = p(&[("on", "2025-01-02"), ("m", "a"), ("m", "b"), ("x", "1")]);
        assert_eq!(
            changed_fields(&["on", "m", "x"], &old, &new),
            vec![("on".to_owned(), "2025-01-01".to_owned())]
        );
        let new = p(&[("on", "2025-01-01"), ("m", "a")]);
        assert_eq!(
            changed_fields(&["on", "m", "x"], &old, &new),
            vec![
                ("m".to_owned(), "a, b".to_owned()),
                ("x".to_owned(), "1".to_owned())
            ]
        );
    }

    #[test]
    fn payments_never_exceed_the_award() {
        let mut e = ValidationErrors::new();
        check_payment(100_000, 60_000, 50_000, &mut e);
        assert_eq!(e.0[0].code, "payment-exceeds-award");
        let mut e = ValidationErrors::new();
        check_payment(100_000, 60_000, 40_000, &mut e);
        assert!(e.is_empty());
    }

    #[test]
    fn figures_count_requalification_pleas_sentences_and_money() {
        let offences = statutory_offences();
        let a = ProceedingFacts {
            id: Uuid::from_u128(10),
            kind: ProceedingKind::Criminal,
            court: None,
            parent: None,
            opened_on: d("2025-01-10"),
            charges: vec![
                charge(1, "388-1", Stage::Investigation, "2025-01-10"),
                charge(1, "184-1", Stage::Indictment, "2025-03-01"),
            ],
            events: vec![EventFact {
                sentence: Some(SentenceType::Prison),
                months: Some(12),
                ..event(CourtEventKind::PleaAgreement, "2025-06-01", 1)
            }],
            claims: vec![ClaimFact {
                amount: 50_000_000,
                currency: "RSD".into(),
                decision: Some(ClaimDecision::ReferredToCivil),
            }],
            awards: vec![],
            funds: vec![],
        };
        let civil = ProceedingFacts {
            id: Uuid::from_u128(11),
            kind: ProceedingKind::Civil,
            court: None,
            parent: Some(a.id),
            opened_on: d("2025-07-01"),
            charges: vec![],
            events: vec![],
            claims: vec![],
            awards: vec![AwardFact {
                source: AwardSource::CivilSuit,
                amount: 30_000_000,
                currency: "RSD".into(),
                paid: 10_000_000,
            }],
            funds: vec![FundFact {
                amount: 20_000_000,
                currency: "RSD".into(),
                decision: FundDecision::Granted,
                granted: Some(15_000_000),
            }],
        };
        let b = ProceedingFacts {
            id: Uuid::from_u128(12),
            kind: ProceedingKind::Criminal,
            court: None,
            parent: None,
            opened_on: d("2025-02-01"),
            charges: vec![charge(2, "388-1", Stage::Indictment, "2025-02-01")],
            events: vec![
                EventFact {
                    outcome: Some(VerdictOutcome::Guilty),
                    sentence: Some(SentenceType::Prison),
                    months: Some(60),
                    ..event(CourtEventKind::Verdict, "2025-09-01", 2)
                },
                event(CourtEventKind::FinalJudgment, "2025-12-01", 2),
            ],
            claims: vec![],
            awards: vec![],
            funds: vec![],
        };
        let figs = figures(&[a, civil, b], &offences, &FigureFilter::default());
        let get = |k: &str| figs.iter().find(|f| f.key == k).unwrap();
        assert_eq!(get("proceedings").count, 2);
        assert_eq!(get("stage-final").count, 2);
        assert_eq!(get("trafficking-charged").count, 2);
        assert_eq!(get("requalified").count, 1);
        assert_eq!(get("requalified").percent().as_deref(), Some("50.0"));
        assert_eq!(get("requalified-into-184-1").count, 1);
        assert_eq!(get("plea").count, 1);
        assert_eq!(get("plea").of, Some(2));
        assert_eq!(get("sentence-below-minimum").count, 1);
        assert_eq!(get("sentence-above-minimum").count, 1);
        assert_eq!(get("claims-filed").count, 1);
        assert_eq!(get("claims-referred").count, 1);
        assert_eq!(get("compensation-awarded").count, 1);
        assert_eq!(get("compensation-awarded").amounts["RSD"], 30_000_000);
        assert_eq!(get("compensation-paid").amounts["RSD"], 10_000_000);
        assert_eq!(get("compensation-fully-paid").count, 0);
        assert_eq!(get("fund-applications").count, 1);
        assert_eq!(get("fund-applications").amounts["RSD"], 20_000_000);
        assert_eq!(get("fund-granted").count, 1);
        assert_eq!(get("fund-granted").amounts["RSD"], 15_000_000);
        assert_eq!(get("fund-refused").count, 0);
        assert!(
            get("fund-granted")
                .proceedings
                .contains(&Uuid::from_u128(10))
        );
        assert!(
            get("compensation-paid")
                .proceedings
                .contains(&Uuid::from_u128(10))
        );
        // 2025-01-10 → 2025-06-01 is 142 days; 2025-02-01 → 2025-12-01 is 303: the lower middle.
        assert_eq!(get("median-days-to-final").value, Some(142));
        let only_b = figures(
            &[],
            &offences,
            &FigureFilter {
                from: Some(d("2026-01-01")),
                ..Default::default()
            },
        );
        assert_eq!(only_b[0].count, 0);
    }
}
