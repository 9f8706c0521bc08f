//! Sending letters by e-mail through the configured SMTP server (`[smtp]`), the letter attached
//! as PDF and the case documents chosen for it after it, up to `smtp.max_message_mib`. The password comes from `HAVEN_SMTP_PASSWORD` or `smtp.password_file`, never from the
//! configuration file. A failure comes back as a short reason for the notification's record;
//! nothing identifying is logged.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::settings::SmtpSettings;

/// A letter to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The covering text.
    pub text: String,
    /// The letter.
    pub pdf: Vec<u8>,
    /// The attachment's file name.
    pub pdf_name: String,
    /// A unique left-hand part of the Message-ID (the sender's domain is added).
    pub message_key: String,
    /// The case documents sent with the letter.
    pub attachments: Vec<MailAttachment>,
}

/// A file sent with a letter.
#[derive(Clone)]
pub struct MailAttachment {
    /// The file name the recipient sees.
    pub name: String,
    /// Its media type, as found in its content at upload.
    pub media_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for MailAttachment {
    // A document's name and content identify people: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailAttachment")
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl Outgoing {
    /// The size of what is sent, before encoding.
    pub fn size(&self) -> usize {
        self.text.len()
            + self.pdf.len()
            + self
                .attachments
                .iter()
                .map(|a| a.bytes.len())
                .sum::<usize>()
    }
}

/// A file name safe in a MIME header and on the recipient's disk: no path, no control
/// characters, at most 120 characters, never empty.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

/// Whether e-mail is configured.
pub fn enabled(s: &SmtpSettings) -> bool {
    !s.host.trim().is_empty()
}

fn password(s: &SmtpSettings) -> Result<Option<String>, String> {
    if let Ok(p) = std::env::var("HAVEN_SMTP_PASSWORD") {
        return Ok(Some(p));
    }
    match &s.password_file {
        Some(f) => std::fs::read_to_string(f)
            .map(|p| Some(p.trim_end().to_owned()))
            .map_err(|e| format!("smtp.password_file: {e}")),
        None => Ok(None),
    }
}

/// Sends one letter; the error is a reason fit for the notification's record.
pub async fn send(s: &SmtpSettings, m: &Outgoing) -> Result<(), String> {
    let from: Mailbox = s.from.parse().map_err(|e| format!("sender address: {e}"))?;
    let to: Mailbox =
        m.to.parse()
            .map_err(|e| format!("recipient address: {e}"))?;
    let limit = s.max_message_mib as usize * 1024 * 1024;
    if m.size() > limit {
        return Err(format!(
            "the letter with its attachments is {:.1} MiB, more than the {} MiB the server takes (smtp.max_message_mib): send it by post or by hand",
            m.size() as f64 / (1024.0 * 1024.0),
            s.max_message_mib
        ));
    }
    let pdf = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    let message_id = format!("<{}@{}>", m.message_key, from.email.domain());
    let mut parts = MultiPart::mixed()
        .singlepart(SinglePart::plain(m.text.clone()))
        .singlepart(Attachment::new(m.pdf_name.clone()).body(m.pdf.clone(), pdf));
    for a in &m.attachments {
        let kind = ContentType::parse(&a.media_type)
            .or_else(|_| ContentType::parse("application/octet-stream"))
            .map_err(|e| e.to_string())?;
        parts =
            parts.singlepart(Attachment::new(safe_file_name(&a.name)).body(a.bytes.clone(), kind));
    }
    let message = Message::builder()
        .message_id(Some(message_id))
        .date_now()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .multipart(parts)
        .map_err(|e| format!("message: {e}"))?;
    let host = s.host.trim();
    let builder = match s.tls.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| format!("server: {e}"))?;
    let mut builder = builder
        .port(s.port)
        .timeout(Some(Duration::from_secs(u64::from(s.timeout_seconds))));
    if !s.username.is_empty() {
        let pass = password(s)?.unwrap_or_default();
        builder = builder.credentials(Credentials::new(s.username.clone(), pass));
    }
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| {
            let reason = e.to_string();
            reason.chars().take(300).collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_header_breakers() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\x\\izjava.pdf"), "izjava.pdf");
        assert_eq!(safe_file_name("a\r\nBcc: x@y.z.pdf"), "aBcc x@y.z.pdf");
        assert_eq!(safe_file_name("\"quoted\".png"), "quoted.png");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name(""), "attachment");
        assert_eq!(safe_file_name("Изјава сведока.pdf"), "Изјава сведока.pdf");
        assert_eq!(safe_file_name(&"x".repeat(500)).chars().count(), 120);
    }
}
