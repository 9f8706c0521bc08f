//! The hotline desk: contacts on every line and channel, their taxonomies (DOMAIN.md §3), the
//! configurable two-level category tree, the escalation rule and the checking of what the intake
//! form sent.
//!
//! Codes are stable and stored; labels live in the translations as `<prefix>-<code>` (categories:
//! `cat-<group>-<code>`, with the code itself shown when an organisation adds a category that has
//! no translation).

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::{FormFields, ParseCtx, Parser, Taxonomy, taxonomy};
use crate::people::CountryCode;
use crate::validate::{EmailAddress, ValidationErrors};

crate::define_id!(
    /// A contact: one interaction on any line and channel.
    ContactId
);
crate::define_id!(
    /// A draft of a contact being recorded.
    DraftId
);

taxonomy! {
    /// How the contact reached the line (or the line reached them).
    Channel, "channel", [
        /// A telephone call.
        Phone = "phone",
        /// An e-mail.
        Email = "email",
        /// The portal's web form.
        WebForm = "web_form",
        /// A web chat.
        WebChat = "web_chat",
        /// A text message.
        Sms = "sms",
        /// Viber.
        Viber = "viber",
        /// WhatsApp.
        WhatsApp = "whatsapp",
        /// A social-media message.
        SocialMedia = "social_media",
        /// A visit.
        InPerson = "in_person",
        /// A letter.
        Letter = "letter",
    ]
}

taxonomy! {
    /// Who started the contact.
    Direction, "direction", [
        /// The caller reached the line.
        Inbound = "inbound",
        /// The line reached the caller.
        Outbound = "outbound",
    ]
}

taxonomy! {
    /// Who the caller is (DOMAIN.md §3).
    CallerType, "caller-type", [
        /// A potential victim, about themselves.
        PotentialVictim = "potential_victim",
        /// A family member.
        FamilyMember = "family_member",
        /// A friend or partner.
        FriendPartner = "friend_partner",
        /// A citizen.
        Citizen = "citizen",
        /// A professional or an institution.
        Professional = "professional",
        /// Another hotline.
        OtherHotline = "other_hotline",
        /// Anonymous.
        Anonymous = "anonymous",
        /// Silent, prank or test.
        SilentTest = "silent_test",
    ]
}

taxonomy! {
    /// How urgent the situation is.
    ContactUrgency, "urgency", [
        /// Routine.
        Routine = "routine",
        /// Urgent.
        Urgent = "urgent",
        /// Someone is in immediate danger.
        ImmediateDanger = "immediate_danger",
    ]
}

taxonomy! {
    /// A warning about a caller, shown when their number calls again, until it expires.
    FlagKind, "caller-flag", [
        /// Abusive towards counsellors.
        Abusive = "abusive",
        /// Calling back would put the caller at risk.
        DoNotCallBack = "do_not_call_back",
        /// Known for prank calls.
        KnownPrank = "known_prank",
    ]
}

taxonomy! {
    /// How the caller heard of the line.
    HeardVia, "heard-via", [
        /// Not asked or not known.
        Unknown = "unknown",
        /// A web search or site.
        Internet = "internet",
        /// Social media.
        SocialMedia = "social_media",
        /// Press, radio, television.
        Media = "media",
        /// A poster or leaflet.
        Poster = "poster",
        /// An institution (school, police, social work centre).
        Institution = "institution",
        /// Family or friends.
        Friend = "friend",
        /// Something else.
        Other = "other",
    ]
}

/// One group of the category tree with its categories (codes `group.category`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryGroup {
    /// The group's code.
    pub code: String,
    /// The full codes of its categories.
    pub categories: Vec<String>,
}

/// [`default_categories`], built once: every contact form is checked against it.
pub fn default_category_tree() -> &'static [CategoryGroup] {
    static TREE: std::sync::LazyLock<Vec<CategoryGroup>> =
        std::sync::LazyLock::new(default_categories);
    &TREE
}

/// The category tree DOMAIN.md §3 seeds: trafficking by type of exploitation, the five
/// missing-children categories, labour rights and suspicious job offers, information requests,
/// other, silent and test contacts.
pub fn default_categories() -> Vec<CategoryGroup> {
    let group = |code: &str, cats: &[&str]| CategoryGroup {
        code: code.to_owned(),
        categories: cats.iter().map(|c| format!("{code}.{c}")).collect(),
    };
    vec![
        group(
            "trafficking",
            &[
                "forced_labour",
                "sexual_exploitation",
                "child_labour",
                "forced_marriage",
                "servitude",
                "forced_begging",
                "forced_criminality",
                "organ_removal",
                "forced_adoption",
                "surrogacy",
                "other",
            ],
        ),
        group(
            "missing_child",
            &[
                "runaway",
                "parental_abduction",
                "criminal_abduction",
                "unaccompanied_migrant",
                "lost_injured_other",
            ],
        ),
        group("labour", &["rights", "job_offer"]),
        group("information", &["request"]),
        group("other", &["other"]),
        group("silent", &["silent", "test"]),
    ]
}

/// The message id of a category's or group's label (`missing_child.runaway` →
/// `cat-missing_child-runaway`).
pub fn category_label_id(code: &str) -> String {
    format!("cat-{}", code.replace('.', "-"))
}

/// The group of missing-children categories: any of them opens the escalation checklist.
pub const MISSING_CHILD_GROUP: &str = "missing_child";

/// Whether a contact opens its line's escalation checklist: someone in immediate danger, or a
/// missing child.
pub fn needs_escalation(urgency: ContactUrgency, categories: &[String]) -> bool {
    urgency == ContactUrgency::ImmediateDanger
        || categories
            .iter()
            .any(|c| c.split('.').next() == Some(MISSING_CHILD_GROUP))
}

/// The escalation steps of a line unless configured otherwise.
pub fn default_checklist(line: &str) -> Vec<String> {
    let steps: &[&str] = match line {
        "116000" => &[
            "police_report",
            "police_report_number",
            "custody_decision",
            "photo",
            "other_country",
        ],
        _ => &[
            "police_informed",
            "safe_place",
            "centre_notified",
            "medical_help",
        ],
    };
    steps.iter().map(|s| (*s).to_owned()).collect()
}

/// What the rules of the desk allow, for [`parse_contact`].
pub struct DeskRules<'a> {
    /// The organisation's lines.
    pub lines: &'a [String],
    /// The category tree.
    pub categories: &'a [CategoryGroup],
    /// The largest note, in bytes.
    pub note_limit: usize,
    /// Normalises a phone number to E.164, or `None` when it cannot be read.
    pub phone: &'a dyn Fn(&str) -> Option<String>,
}

impl DeskRules<'_> {
    /// Whether a category code is in the tree.
    pub fn knows_category(&self, code: &str) -> bool {
        self.categories
            .iter()
            .any(|g| g.categories.iter().any(|c| c == code))
    }
}

/// A contact as the desk form or the API describes it, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactInput {
    /// The line.
    pub line: String,
    /// The channel.
    pub channel: Channel,
    /// The direction.
    pub direction: Direction,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it lasted, in seconds.
    pub duration_seconds: i64,
    /// Who called.
    pub caller_type: CallerType,
    /// Whether the caller stayed anonymous.
    pub anonymous: bool,
    /// The caller's phone number in E.164, or empty.
    pub phone: String,
    /// The caller's e-mail address, or empty.
    pub email: String,
    /// The caller's handle on a messenger or social network, or empty.
    pub handle: String,
    /// The language spoken (ISO 639-1).
    pub language: String,
    /// Whether the caller may be called back safely.
    pub safe_to_call_back: bool,
    /// Whether the contact is kept confidential (its counsellors and supervisors only).
    pub confidential: bool,
    /// How the caller heard of the line.
    pub heard_via: HeardVia,
    /// Category codes.
    pub categories: Vec<String>,
    /// Countries involved.
    pub countries: Vec<CountryCode>,
    /// The summary.
    pub summary: String,
    /// Notes.
    pub notes: String,
    /// Urgency.
    pub urgency: ContactUrgency,
    /// What was done.
    pub action: String,
    /// How it ended.
    pub outcome: String,
    /// The service referred to.
    pub referral: String,
    /// Whether someone must follow up.
    pub needs_follow_up: bool,
}

// Debug output ends up in logs: the record's plain facts, never the caller.
impl std::fmt::Debug for ContactInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactInput")
            .field("line", &self.line)
            .field("channel", &self.channel)
            .field("urgency", &self.urgency)
            .finish_non_exhaustive()
    }
}

/// The longest contact, in seconds (a day).
pub const MAX_DURATION_SECONDS: i64 = 24 * 3600;

/// Reads a duration typed as `m:ss`, `h:mm:ss` or whole minutes; `Err(code)` when it cannot.
pub fn parse_duration(v: &str) -> Result<i64, &'static str> {
    let v = v.trim();
    if v.starts_with('-') {
        return Err("duration-negative");
    }
    let parts: Vec<&str> = v.split(':').collect();
    let nums: Option<Vec<i64>> = parts.iter().map(|p| p.trim().parse::<i64>().ok()).collect();
    let secs = match nums.as_deref() {
        Some([m]) => m.checked_mul(60),
        Some([m, s]) if *s < 60 => m.checked_mul(60).map(|x| x + s),
        Some([h, m, s]) if *m < 60 && *s < 60 => Some(h * 3600 + m * 60 + s),
        _ => None,
    };
    match secs {
        Some(s) if s < 0 => Err("duration-negative"),
        Some(s) if s <= MAX_DURATION_SECONDS => Ok(s),
        _ => Err("duration-invalid"),
    }
}

/// Writes a duration as `m:ss` (or `h:mm:ss`).
pub fn format_duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// Checks what the intake form (or the API, as the same field names) sent, collecting every
/// problem with its field. A missing start time is now; a missing duration is the time since
/// the start.
pub fn parse_contact<F: FormFields + ?Sized>(
    form: &F,
    ctx: ParseCtx,
    rules: &DeskRules<'_>,
) -> Result<ContactInput, ValidationErrors> {
    let now = ctx.now;
    let mut p = Parser::new(form, ctx);
    let line = form.one("line").to_owned();
    if line.is_empty() {
        p.errors.add("line", "required");
    } else if !rules.lines.contains(&line) {
        p.errors.add("line", "code-unknown");
    }
    let channel = p.code("channel", Channel::from_code);
    let direction = p.code("direction", Direction::from_code);
    let started_at = if form.one("started_at").is_empty() {
        Some(now)
    } else {
        p.past_time("started_at")
    };
    let duration = match form.one("duration") {
        "" => started_at.map(|s| (now - s).num_seconds().clamp(0, MAX_DURATION_SECONDS)),
        v => match parse_duration(v) {
            Ok(s) => Some(s),
            Err(code) => {
                p.errors.add("duration", code);
                None
            }
        },
    };
    let caller_type = p.code("caller_type", CallerType::from_code);
    let anonymous = p.flag("anonymous");
    let phone = match form.one("phone") {
        "" => String::new(),
        v => match (rules.phone)(v) {
            Some(e164) => e164,
            None => {
                p.errors.add("phone", "phone-invalid");
                String::new()
            }
        },
    };
    let email = match form.one("email") {
        "" => String::new(),
        v => match EmailAddress::parse("email", v) {
            Ok(_) => v.to_owned(),
            Err(e) => {
                p.errors.0.push(e);
                String::new()
            }
        },
    };
    let handle = p.text_max("handle", 200);
    let language = form.one("language").to_ascii_lowercase();
    if !language.is_empty()
        && (language.len() != 2 || !language.chars().all(|c| c.is_ascii_lowercase()))
    {
        p.errors.add("language", "code-unknown");
    }
    let safe_to_call_back = p.flag("safe_to_call_back");
    let confidential = p.flag("confidential");
    let heard_via = p.code("heard_via", HeardVia::from_code);
    let mut categories: Vec<String> = Vec::new();
    for c in form.all("category") {
        if !rules.knows_category(c) {
            if p.errors.for_field("category").is_none() {
                p.errors
                    .add_with("category", "category-unknown", vec![("code", c.to_owned())]);
            }
        } else if !categories.iter().any(|x| x == c) {
            categories.push(c.to_owned());
        }
    }
    categories.sort();
    let countries = p.countries("countries");
    let summary = p.text_max("summary", 2_000);
    let notes = form.one("notes").to_owned();
    if notes.len() > rules.note_limit {
        p.errors.add_with(
            "notes",
            "note-too-long",
            vec![("max", (rules.note_limit / 1024).to_string())],
        );
    }
    let urgency = p.code("urgency", ContactUrgency::from_code);
    let action = p.text_max("action", 2_000);
    let outcome = p.text_max("outcome", 2_000);
    let referral = p.text_max("referral", 500);
    let needs_follow_up = p.flag("needs_follow_up");
    if channel.is_none() && p.errors.for_field("channel").is_none() {
        p.errors.add("channel", "required");
    }
    if caller_type.is_none() && p.errors.for_field("caller_type").is_none() {
        p.errors.add("caller_type", "required");
    }
    match (
        channel,
        started_at,
        duration,
        caller_type,
        p.errors.is_empty(),
    ) {
        (Some(channel), Some(started_at), Some(duration_seconds), Some(caller_type), true) => {
            Ok(ContactInput {
                line,
                channel,
                direction: direction.unwrap_or(Direction::Inbound),
                started_at,
                duration_seconds,
                caller_type,
                anonymous,
                phone,
                email,
                handle,
                language,
                safe_to_call_back,
                confidential,
                heard_via: heard_via.unwrap_or(HeardVia::Unknown),
                categories,
                countries,
                summary,
                notes,
                urgency: urgency.unwrap_or(ContactUrgency::Routine),
                action,
                outcome,
                referral,
                needs_follow_up,
            })
        }
        _ => Err(p.errors),
    }
}

/// A caller flag's end, from a number of days (at most a year).
pub fn flag_until(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    now + TimeDelta::days(days.clamp(1, 366))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("4:05"), Ok(245));
        assert_eq!(parse_duration("3"), Ok(180));
        assert_eq!(parse_duration("1:00:01"), Ok(3601));
        assert_eq!(parse_duration("-3"), Err("duration-negative"));
        assert_eq!(parse_duration("x"), Err("duration-invalid"));
        assert_eq!(format_duration(245), "4:05");
    }

    #[test]
    fn escalation() {
        assert!(needs_escalation(ContactUrgency::ImmediateDanger, &[]));
        assert!(needs_escalation(
            ContactUrgency::Routine,
            &["missing_child.runaway".to_owned()]
        ));
        assert!(!needs_escalation(
            ContactUrgency::Urgent,
            &["labour.job_offer".to_owned()]
        ));
    }

    #[test]
    fn the_tree_has_the_five_missing_children_categories() {
        let tree = default_categories();
        let mc = tree.iter().find(|g| g.code == MISSING_CHILD_GROUP).unwrap();
        assert_eq!(mc.categories.len(), 5);
        assert_eq!(
            category_label_id("missing_child.parental_abduction"),
            "cat-missing_child-parental_abduction"
        );
    }
}
