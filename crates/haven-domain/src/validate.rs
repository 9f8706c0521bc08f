//! Field-level validation errors, carried to the user in their language.
//!
//! A validation failure names the field and a message code; the web layer turns the code into a
//! sentence in the user's language (`error-<code>` in the translation files) and shows it next to
//! the field, with what the user typed kept.

use std::fmt;

use serde::Serialize;

/// One field that needs fixing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The form field's name.
    pub field: String,
    /// The message code (`required`, `email-invalid`, …).
    pub code: &'static str,
    /// Values the message needs (a maximum length, a minimum), as name/value pairs.
    pub args: Vec<(&'static str, String)>,
}

/// Every field that needs fixing in one submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with a field.
    pub fn add(&mut self, field: impl Into<String>, code: &'static str) {
        self.0.push(FieldError {
            field: field.into(),
            code,
            args: Vec::new(),
        });
    }

    /// Records a problem with a field, with values for its message.
    pub fn add_with(
        &mut self,
        field: impl Into<String>,
        code: &'static str,
        args: Vec<(&'static str, String)>,
    ) {
        self.0.push(FieldError {
            field: field.into(),
            code,
            args,
        });
    }

    /// Whether nothing needs fixing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first error for a field, if any.
    pub fn for_field(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }

    /// `Ok(value)` when nothing needs fixing, the errors otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.code))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

impl std::error::Error for ValidationErrors {}

impl From<FieldError> for ValidationErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

/// A display name for a person on staff: trimmed, 1 to 120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name, naming `field` in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError {
                field: field.into(),
                code: "required",
                args: vec![],
            });
        }
        if s.chars().count() > 120 {
            return Err(FieldError {
                field: field.into(),
                code: "too-long",
                args: vec![("max", "120".into())],
            });
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError {
                field: field.into(),
                code: "control-characters",
                args: vec![],
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address: trimmed, one `@`, a plausible domain, at most 254 characters; the domain is
/// lower-cased (the local part is kept, as some servers treat it case-sensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an e-mail address, naming `field` in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let err = |code| FieldError {
            field: field.into(),
            code,
            args: vec![],
        };
        if s.is_empty() {
            return Err(err("required"));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(err("email-invalid"));
        };
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local.chars().all(|c| {
                !c.is_whitespace()
                    && !c.is_control()
                    && c != '<'
                    && c != '>'
                    && c != '"'
                    && c != ','
            });
        if !domain_ok || !local_ok || s.len() > 254 {
            return Err(err("email-invalid"));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address for comparisons and lookups: entirely lower case.
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse("e", " Ana@Example.ORG ")
                .unwrap()
                .as_str(),
            "Ana@example.org"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana@example",
            "a na@example.org",
            "ana@ex..org",
            "<a>@example.org",
        ] {
            assert!(EmailAddress::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(
            DisplayName::parse("n", "  Ana K. ").unwrap().as_str(),
            "Ana K."
        );
        assert_eq!(DisplayName::parse("n", " ").unwrap_err().code, "required");
        assert_eq!(
            DisplayName::parse("n", &"x".repeat(121)).unwrap_err().code,
            "too-long"
        );
        assert_eq!(
            DisplayName::parse("n", "a\u{7}b").unwrap_err().code,
            "control-characters"
        );
    }

    #[test]
    fn errors_collect() {
        let mut e = ValidationErrors::new();
        assert!(e.clone().into_result(()).is_ok());
        e.add("email", "required");
        assert_eq!(e.for_field("email").unwrap().code, "required");
        assert!(e.into_result(()).is_err());
    }
}

/// The shortest password Haven accepts. ASVS 5.0 asks for at least 8 and recommends 15; Haven's
/// staff guard the most sensitive data there is, and a passphrase of 12 is easy to type.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// The longest password Haven accepts (long enough for any passphrase or manager, short enough
/// that hashing it cannot be used to tie up the server).
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Checks a new password and its confirmation; `email` is the account's address, which the
/// password must not contain.
pub fn new_password(password: &str, again: &str, email: &str) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        errors.add_with(
            "password",
            "password-too-short",
            vec![("min", PASSWORD_MIN_CHARS.to_string())],
        );
    } else if n > PASSWORD_MAX_CHARS {
        errors.add_with(
            "password",
            "too-long",
            vec![("max", PASSWORD_MAX_CHARS.to_string())],
        );
    } else if password.trim().is_empty() {
        errors.add("password", "password-too-short");
    } else {
        let lower = password.to_lowercase();
        let local = email.split('@').next().unwrap_or("").to_lowercase();
        if local.len() >= 4 && lower.contains(&local) {
            errors.add("password", "password-contains-email");
        } else if crate::passwords::is_weak(password, &[email, local.as_str()]) {
            errors.add("password", "password-weak");
        }
    }
    if errors.for_field("password").is_none() && password != again {
        errors.add("password_again", "password-mismatch");
    }
    errors.into_result(())
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(
            new_password(
                "correct horse battery",
                "correct horse battery",
                "ana@example.org"
            )
            .is_ok()
        );
        let e = new_password("short", "short", "ana@example.org").unwrap_err();
        assert_eq!(e.for_field("password").unwrap().code, "password-too-short");
        let e =
            new_password("correct horse battery", "correct horse", "ana@example.org").unwrap_err();
        assert_eq!(
            e.for_field("password_again").unwrap().code,
            "password-mismatch"
        );
        let e = new_password(
            "anastasija-2026!",
            "anastasija-2026!",
            "anastasija@example.org",
        )
        .unwrap_err();
        assert_eq!(
            e.for_field("password").unwrap().code,
            "password-contains-email"
        );
        let e = new_password("            ", "            ", "ana@example.org").unwrap_err();
        assert_eq!(e.for_field("password").unwrap().code, "password-too-short");
        let e = new_password(&"x".repeat(129), "", "ana@example.org").unwrap_err();
        assert_eq!(e.for_field("password").unwrap().code, "too-long");
    }
}
