//! Reading a form with files (multipart) so that files too large together do not cost the sender
//! what they typed.
//!
//! A body over the route's limit used to be refused with a bare 413 before it was read, and the
//! text typed with it was gone: an institution's reply, a visitor's anonymous report. Here the
//! files are kept up to a `budget` of bytes; past it their contents are dropped and the rest of
//! the body is read and thrown away (never held), so the handler can answer with the form again,
//! the text in it and a message saying how large the files were. Browsers show that answer only
//! if the server reads what they send before answering, hence the reading to the end. The body
//! limit in front of these routes ([`body_cap`]) is a few times the budget: past it, a request is
//! refused at once as before.

use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use http::StatusCode;

use haven_domain::Language;
use haven_domain::documents::safe_file_name;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The most text (field names and values) a form read with [`read`] may carry.
pub const TEXT_BUDGET: usize = 1024 * 1024;

/// How large a body the routes read with [`read`] accept: four budgets, and room for the text.
pub fn body_cap(budget: usize) -> usize {
    budget.saturating_mul(4).saturating_add(64 * 1024)
}

/// A file part of the form, as sent.
#[derive(Debug)]
pub struct SentFile {
    /// The form field it came in.
    pub field: String,
    /// Its name, made safe to store and show (`documents::safe_file_name`).
    pub name: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// What a multipart form sent.
#[derive(Debug, Default)]
pub struct SentForm {
    /// The text fields, in order.
    pub fields: Vec<(String, String)>,
    /// The files (none when they were too large together). A file input left empty sends an
    /// empty part without a name (every browser does): that is no file, and is not listed.
    pub files: Vec<SentFile>,
    /// When the files together were over the budget: their total size in bytes. Their contents
    /// were not kept.
    pub too_large: Option<usize>,
}

/// A size in MiB for a message, with one decimal in the language's way ("2.4", "2,4"), never
/// rounded down to the limit it went past.
pub fn mib(bytes: usize, lang: Language) -> String {
    const MIB: usize = 1024 * 1024;
    // Tenths of a MiB, rounded up.
    let tenths = bytes.saturating_mul(10).div_ceil(MIB);
    let sep = if lang == Language::En { '.' } else { ',' };
    format!("{}{sep}{}", tenths / 10, tenths % 10)
}

/// Reads a multipart form: the parts named in `file_fields` are files, kept while they total at
/// most `budget` bytes; every other part is text, kept whole (at most [`TEXT_BUDGET`] in all).
///
/// # Errors
/// [`AppError::PayloadTooLarge`] when the body goes past the route's body limit or the text past
/// [`TEXT_BUDGET`]; [`AppError::BadRequest`] when it is not a well-formed multipart form.
pub async fn read(
    state: &AppState,
    req: Request,
    file_fields: &[&str],
    budget: usize,
) -> AppResult<SentForm> {
    let refused = |e: &MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest
        }
    };
    let mut m = Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::BadRequest)?;
    let mut form = SentForm::default();
    let mut kept = 0usize;
    let mut total = 0usize;
    let mut over = false;
    let mut text = 0usize;
    while let Some(mut field) = m.next_field().await.map_err(|e| refused(&e))? {
        let name = field.name().unwrap_or("").to_owned();
        if !file_fields.contains(&name.as_str()) {
            // Text is always kept, so it has a budget of its own: nobody types a megabyte.
            text = text.saturating_add(name.len());
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| refused(&e))? {
                text = text.saturating_add(chunk.len());
                if text > TEXT_BUDGET {
                    return Err(AppError::PayloadTooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(bytes).map_err(|_| AppError::BadRequest)?;
            form.fields.push((name, value));
            continue;
        }
        let file_name = field.file_name().unwrap_or("").to_owned();
        let mut content = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| refused(&e))? {
            total = total.saturating_add(chunk.len());
            if over {
                continue;
            }
            if kept + content.len() + chunk.len() <= budget {
                content.extend_from_slice(&chunk);
            } else {
                // Over the budget: what was kept is let go; the rest is only counted.
                over = true;
                form.files = Vec::new();
                content = Vec::new();
            }
        }
        // Only the raw name tells an empty file input, since the cleaned one is never empty.
        let empty_input = file_name.is_empty() && content.is_empty();
        if !over && !empty_input {
            kept += content.len();
            form.files.push(SentFile {
                field: name,
                name: safe_file_name(&file_name),
                content,
            });
        }
    }
    form.too_large = over.then_some(total);
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_given_in_tenths_of_a_mib_rounded_up() {
        assert_eq!(mib(2 * 1024 * 1024, Language::En), "2.0");
        assert_eq!(mib(2 * 1024 * 1024 + 9, Language::En), "2.1");
        assert_eq!(mib(1_258_292, Language::SrLatn), "1,3");
        assert_eq!(mib(0, Language::SrCyrl), "0,0");
    }
}
