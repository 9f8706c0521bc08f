//! Sending letters by e-mail through the configured SMTP server (`[smtp]`), the letter attached
//! as PDF. The password comes from `HAVEN_SMTP_PASSWORD` or `smtp.password_file`, never from the
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
    let pdf = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    let message_id = format!("<{}@{}>", m.message_key, from.email.domain());
    let message = Message::builder()
        .message_id(Some(message_id))
        .date_now()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(m.text.clone()))
                .singlepart(Attachment::new(m.pdf_name.clone()).body(m.pdf.clone(), pdf)),
        )
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
