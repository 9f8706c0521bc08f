//! Written notifications and referrals: letters that press institutions to act, and the record of
//! whether they did (issue 6).
//!
//! A notification has a purpose, a recipient institution, a protocol number from the
//! organisation's gapless register, a deadline and a status that moves through a fixed workflow:
//! draft → awaiting approval (when the purpose needs it) → sent (or sending failed, retried) →
//! received → answered → outcome recorded. Overdue is not a stored status: it is what a sent or
//! received notification is once its deadline has passed without an answer.
//!
//! Letter templates carry placeholders written `{{name}}`; [`check_placeholders`] rejects unknown
//! ones when a template is saved, so a letter never fails at sending time.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cases::{Taxonomy, taxonomy};

crate::define_id!(
    /// A written notification or referral.
    NotificationId
);
crate::define_id!(
    /// A letter template.
    TemplateId
);
crate::define_id!(
    /// A reply an institution sent through its link.
    ReplyId
);

taxonomy! {
    /// Why a notification is written.
    Purpose, "notification-purpose", [
        /// A report of facts (an unregistered agency, a suspected exploitation).
        Report = "report",
        /// A request that the institution act (inspect, search, protect).
        RequestForAction = "request_for_action",
        /// A request for information.
        RequestForInformation = "request_for_information",
        /// A referral of a person for services.
        ReferralForServices = "referral_for_services",
        /// A request for a safe return.
        SafeReturnRequest = "safe_return_request",
    ]
}

taxonomy! {
    /// Where a notification stands.
    Status, "notification-status", [
        /// Being written.
        Draft = "draft",
        /// Written, waiting for a supervisor's approval.
        AwaitingApproval = "awaiting_approval",
        /// Approved (or needing no approval), not sent yet.
        Approved = "approved",
        /// The e-mail could not be delivered; the reason is recorded and sending can be retried.
        SendingFailed = "sending_failed",
        /// Sent (by e-mail, post, hand or fax).
        Sent = "sent",
        /// The institution acknowledged receipt.
        Received = "received",
        /// The institution answered.
        Answered = "answered",
        /// The outcome is recorded: the notification is closed.
        OutcomeRecorded = "outcome_recorded",
    ]
}

taxonomy! {
    /// What an institution did about a notification.
    Outcome, "notification-outcome", [
        /// An inspection was opened.
        InspectionOpened = "inspection_opened",
        /// Misdemeanour proceedings were started.
        MisdemeanourProceedingsStarted = "misdemeanour_proceedings_started",
        /// A criminal complaint was filed or an investigation opened.
        CriminalInvestigationOpened = "criminal_investigation_opened",
        /// The child (or person) was located.
        ChildLocated = "child_located",
        /// The person was taken into services.
        ServicesProvided = "services_provided",
        /// The information asked for was given.
        InformationProvided = "information_provided",
        /// The institution took no action.
        NoAction = "no_action",
        /// Something else (see the note).
        Other = "other",
    ]
}

taxonomy! {
    /// How a notification was sent.
    SendMethod, "notification-method", [
        /// By e-mail, from Haven, with the letter as a PDF.
        Email = "email",
        /// By post.
        Post = "post",
        /// By hand.
        Hand = "hand",
        /// By fax.
        Fax = "fax",
    ]
}

/// A step of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The author submits the draft (to approval, or straight to approved).
    Submit,
    /// A supervisor approves.
    Approve,
    /// A supervisor sends the draft back to its author.
    Reject,
    /// The letter left the organisation.
    Send,
    /// The e-mail could not be delivered.
    SendFailed,
    /// The institution acknowledged receipt.
    Receive,
    /// The institution answered.
    Answer,
    /// The outcome is recorded.
    RecordOutcome,
}

/// Why a step is not allowed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a notification that is {from} cannot take this step")]
pub struct TransitionError {
    /// The status it was in.
    pub from: Status,
}

impl Status {
    /// Whether the letter's text may still be edited.
    pub fn editable(self) -> bool {
        self == Status::Draft
    }

    /// Whether the notification has left the organisation.
    pub fn is_sent(self) -> bool {
        matches!(
            self,
            Status::Sent | Status::Received | Status::Answered | Status::OutcomeRecorded
        )
    }

    /// The status after `step`; `needs_approval` says whether the purpose needs a supervisor.
    pub fn after(self, step: Step, needs_approval: bool) -> Result<Status, TransitionError> {
        use Status::*;
        let next = match (self, step) {
            (Draft, Step::Submit) if needs_approval => AwaitingApproval,
            (Draft, Step::Submit) => Approved,
            (AwaitingApproval, Step::Approve) => Approved,
            (AwaitingApproval, Step::Reject) => Draft,
            (Approved | SendingFailed, Step::Send) => Sent,
            (Approved | SendingFailed, Step::SendFailed) => SendingFailed,
            (Sent, Step::Receive) => Received,
            (Sent | Received, Step::Answer) => Answered,
            (Sent | Received | Answered, Step::RecordOutcome) => OutcomeRecorded,
            _ => return Err(TransitionError { from: self }),
        };
        Ok(next)
    }

    /// Whether a notification in this status with this deadline is overdue on `today`: it was sent
    /// and nobody answered by the deadline.
    pub fn overdue(self, deadline: Option<NaiveDate>, today: NaiveDate) -> bool {
        matches!(self, Status::Sent | Status::Received) && deadline.is_some_and(|d| d < today)
    }
}

/// The format of protocol numbers: text with `{n}` (the number in the year's register) and
/// optionally `{year}`, e.g. `{n}/{year}` gives `123/2026`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolFormat(String);

/// Why a protocol format was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolFormatError {
    /// No `{n}` in it.
    #[error("a protocol number format must contain {{n}}")]
    NoNumber,
    /// Too long, or a placeholder other than `{n}` and `{year}`.
    #[error("a protocol number format uses only {{n}} and {{year}}, within 40 characters")]
    Shape,
}

impl Default for ProtocolFormat {
    fn default() -> Self {
        ProtocolFormat("{n}/{year}".to_owned())
    }
}

impl ProtocolFormat {
    /// A format, checked.
    pub fn parse(s: &str) -> Result<Self, ProtocolFormatError> {
        let s = s.trim();
        if s.chars().count() > 40 {
            return Err(ProtocolFormatError::Shape);
        }
        // Read left to right: every brace must open `{n}` or `{year}` (removing one placeholder
        // must not make another, as in `{{n}year}`).
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            let tail = &rest[i..];
            let Some(after) = tail
                .strip_prefix("{n}")
                .or_else(|| tail.strip_prefix("{year}"))
            else {
                return Err(ProtocolFormatError::Shape);
            };
            rest = after;
        }
        if !s.contains("{n}") {
            return Err(ProtocolFormatError::NoNumber);
        }
        Ok(ProtocolFormat(s.to_owned()))
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The protocol number `n` of `year`.
    pub fn number(&self, n: i64, year: i32) -> String {
        self.0
            .replace("{n}", &n.to_string())
            .replace("{year}", &year.to_string())
    }
}

impl fmt::Display for ProtocolFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The placeholders a letter template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "organisation",
    "recipient",
    "recipient_person",
    "protocol_number",
    "date",
    "deadline",
    "case_number",
    "people",
    "subject",
    "body",
    "author",
];

/// The placeholders written in `text` (`{{name}}`), in order, each once.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim().to_owned();
        if !found.contains(&name) {
            found.push(name);
        }
        rest = &after[end + 2..];
    }
    found
}

/// The unknown placeholders of `text`; empty when every one is known.
pub fn check_placeholders(text: &str) -> Vec<String> {
    placeholders(text)
        .into_iter()
        .filter(|p| !PLACEHOLDERS.contains(&p.as_str()))
        .collect()
}

/// `text` with every known placeholder replaced by its value (missing values become empty).
pub fn fill(text: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        if let Some((_, v)) = values.iter().find(|(k, _)| *k == name) {
            out.push_str(v);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The template a new organisation starts with for every purpose and language.
pub fn default_template(lang: crate::Language) -> (&'static str, &'static str) {
    match lang {
        crate::Language::En => (
            "{{subject}}",
            "To: {{recipient}}\nAttention: {{recipient_person}}\n\nOur ref.: {{protocol_number}}, {{date}}\n\n{{body}}\n\n{{people}}\n\nWe kindly ask for your answer by {{deadline}}.\n\n{{author}}\n{{organisation}}",
        ),
        _ => (
            "{{subject}}",
            "Za: {{recipient}}\nN/r: {{recipient_person}}\n\nNaš broj: {{protocol_number}}, {{date}}\n\n{{body}}\n\n{{people}}\n\nMolimo vas za odgovor do {{deadline}}\n\n{{author}}\n{{organisation}}",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn workflow_with_and_without_approval() {
        let s = Status::Draft.after(Step::Submit, true);
        assert_eq!(s, Ok(Status::AwaitingApproval));
        assert_eq!(
            Status::Draft.after(Step::Submit, false),
            Ok(Status::Approved)
        );
        assert_eq!(
            Status::AwaitingApproval.after(Step::Approve, true),
            Ok(Status::Approved)
        );
        assert_eq!(
            Status::Approved.after(Step::SendFailed, true),
            Ok(Status::SendingFailed)
        );
        assert_eq!(
            Status::SendingFailed.after(Step::Send, true),
            Ok(Status::Sent)
        );
        assert_eq!(Status::Sent.after(Step::Answer, true), Ok(Status::Answered));
        assert_eq!(
            Status::Answered.after(Step::RecordOutcome, true),
            Ok(Status::OutcomeRecorded)
        );
        assert!(Status::Draft.after(Step::Send, false).is_err());
        assert!(Status::AwaitingApproval.after(Step::Send, true).is_err());
        assert!(Status::OutcomeRecorded.after(Step::Answer, true).is_err());
    }

    #[test]
    fn overdue_only_when_sent_and_unanswered() {
        let today = d("2026-12-10");
        assert!(Status::Sent.overdue(Some(d("2026-12-09")), today));
        assert!(!Status::Sent.overdue(Some(d("2026-12-10")), today));
        assert!(!Status::Answered.overdue(Some(d("2026-12-01")), today));
        assert!(!Status::Draft.overdue(Some(d("2026-12-01")), today));
        assert!(!Status::Sent.overdue(None, today));
    }

    #[test]
    fn protocol_numbers() {
        let f = ProtocolFormat::default();
        assert_eq!(f.number(123, 2026), "123/2026");
        let f = ProtocolFormat::parse("ASTRA-{n}-{year}").unwrap_or_default();
        assert_eq!(f.number(7, 2027), "ASTRA-7-2027");
        assert_eq!(
            ProtocolFormat::parse("{year}"),
            Err(ProtocolFormatError::NoNumber)
        );
        assert_eq!(
            ProtocolFormat::parse("{n}/{yr}"),
            Err(ProtocolFormatError::Shape)
        );
        // Found by the `placeholders` fuzz target: removing `{n}` used to reveal a `{year}`, so
        // `{{n}year}` passed and numbered letters `{28year}`.
        for stray in [
            "{n}/\0c{n}{n}\0{{n}year}",
            "{y{n}ear}",
            "{n}{",
            "}{n}",
            "{{n}}",
        ] {
            assert_eq!(
                ProtocolFormat::parse(stray),
                Err(ProtocolFormatError::Shape),
                "{stray}"
            );
        }
        let f = ProtocolFormat::parse("{year}{n}{n}").unwrap_or_default();
        assert_eq!(f.number(5, 2026), "202655");
    }

    #[test]
    fn placeholders_checked_and_filled() {
        assert!(check_placeholders("{{recipient}} {{ date }}").is_empty());
        assert_eq!(
            check_placeholders("{{recipient}} {{victim_name}}"),
            vec!["victim_name".to_owned()]
        );
        let out = fill(
            "Za {{recipient}}, {{date}}.",
            &[("recipient", "Inspektorat za rad".to_owned())],
        );
        assert_eq!(out, "Za Inspektorat za rad, .");
        for lang in crate::Language::ALL {
            let (s, b) = default_template(lang);
            assert!(check_placeholders(s).is_empty());
            assert!(check_placeholders(b).is_empty());
        }
    }
}
