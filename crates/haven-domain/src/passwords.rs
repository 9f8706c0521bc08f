//! Whether a password is too easy to guess.
//!
//! zxcvbn ships, inside the binary, the lists of the most common passwords, names and words and
//! estimates how many guesses an attacker needs, recognising keyboard patterns, dates, repeats
//! and l33t substitutions. Haven refuses anything below "safely unguessable" (score 3).

/// Whether `password` is common or easy to guess, given words an attacker would try first for
/// this account (its e-mail address, its name).
pub fn is_weak(password: &str, user_inputs: &[&str]) -> bool {
    // zxcvbn slows down on very long inputs; Haven caps passwords at 128 characters and a
    // password that long with any variety is not weak.
    let sample: String = password.chars().take(100).collect();
    zxcvbn::zxcvbn(&sample, user_inputs).score() < zxcvbn::Score::Three
}

/// Whether `password` is common or easy to guess.
pub fn is_common(password: &str) -> bool {
    is_weak(password, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_weak() {
        for p in [
            "password1234",
            "qwertyuiop123",
            "123456789012",
            "iloveyou2026",
            "passwordpassword",
        ] {
            assert!(is_common(p), "{p}");
        }
    }

    #[test]
    fn passphrases_are_not() {
        for p in [
            "correct horse battery",
            "Tri-zelene-jabuke-na-stolu",
            "vjetar nosi lisce 1987",
        ] {
            assert!(!is_common(p), "{p}");
        }
    }

    #[test]
    fn account_words_count_against() {
        assert!(is_weak("kovacevicana1", &["Kovacevic", "Ana"]));
    }
}
