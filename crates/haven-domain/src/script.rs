//! Serbian's two scripts, and the folding that lets a name typed one way find the same name
//! typed another.
//!
//! Serbian is written in Cyrillic and in Latin, with a one-to-one correspondence between the two
//! (three Latin digraphs — lj, nj, dž — stand for one Cyrillic letter each). A helpline hears a name
//! on the phone and types it in whichever script the keyboard is in, with or without diacritics:
//! Јовановић, Jovanović and Jovanovic are the same person. [`fold`] maps all three to `jovanovic`.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Serbian Cyrillic letters and their Latin equivalents (lower case).
const CYR_LAT: [(char, &str); 30] = [
    ('а', "a"),
    ('б', "b"),
    ('в', "v"),
    ('г', "g"),
    ('д', "d"),
    ('ђ', "đ"),
    ('е', "e"),
    ('ж', "ž"),
    ('з', "z"),
    ('и', "i"),
    ('ј', "j"),
    ('к', "k"),
    ('л', "l"),
    ('љ', "lj"),
    ('м', "m"),
    ('н', "n"),
    ('њ', "nj"),
    ('о', "o"),
    ('п', "p"),
    ('р', "r"),
    ('с', "s"),
    ('т', "t"),
    ('ћ', "ć"),
    ('у', "u"),
    ('ф', "f"),
    ('х', "h"),
    ('ц', "c"),
    ('ч', "č"),
    ('џ', "dž"),
    ('ш', "š"),
];

fn cyr_to_lat(c: char) -> Option<&'static str> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    CYR_LAT
        .iter()
        .find(|(cy, _)| *cy == lower)
        .map(|(_, la)| *la)
}

/// Transliterates Serbian Cyrillic to Serbian Latin; other characters pass through.
///
/// A capital digraph letter becomes `LJ`/`NJ`/`DŽ` inside an all-capitals word and `Lj`/`Nj`/`Dž`
/// otherwise.
pub fn cyrillic_to_latin(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match cyr_to_lat(c) {
            Some(lat) if c.is_uppercase() => {
                let next_upper = chars.get(i + 1).is_some_and(|n| n.is_uppercase());
                let prev_upper = i > 0 && chars[i - 1].is_uppercase();
                let mut it = lat.chars();
                if let Some(first) = it.next() {
                    out.extend(first.to_uppercase());
                }
                if next_upper || (prev_upper && !chars.get(i + 1).is_some_and(|n| n.is_lowercase()))
                {
                    out.extend(it.flat_map(char::to_uppercase));
                } else {
                    out.extend(it);
                }
            }
            Some(lat) => out.push_str(lat),
            None => out.push(c),
        }
    }
    out
}

/// Transliterates Serbian Latin to Serbian Cyrillic; characters with no Serbian equivalent
/// (q, w, x, y, digits, punctuation) pass through.
pub fn latin_to_cyrillic(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let lower = c.to_lowercase().next().unwrap_or(c);
        let next_lower = next.map(|n| n.to_lowercase().next().unwrap_or(n));
        let digraph = match (lower, next_lower) {
            ('l', Some('j')) => Some('љ'),
            ('n', Some('j')) => Some('њ'),
            ('d', Some('ž')) => Some('џ'),
            _ => None,
        };
        let (cyr, used) = if let Some(d) = digraph {
            (Some(d), 2)
        } else {
            let single = CYR_LAT
                .iter()
                .find(|(_, la)| la.chars().count() == 1 && la.starts_with(lower))
                .map(|(cy, _)| *cy);
            (single, 1)
        };
        match cyr {
            Some(cy) if c.is_uppercase() => out.extend(cy.to_uppercase()),
            Some(cy) => out.push(cy),
            None => out.push(c),
        }
        i += used;
    }
    out
}

/// Folds text for matching: Cyrillic to Latin, lower case, Serbian diacritics folded
/// (č ć → c, š → s, ž → z, đ → dj), other accents removed, and everything that is not a letter or a
/// digit dropped (spaces, hyphens, apostrophes, dots).
///
/// `fold("Јовановић") == fold("Jovanović") == fold("JOVANOVIC") == "jovanovic"`.
pub fn fold(text: &str) -> String {
    // Accents come off first, so a letter with an accent folds like the letter without it: `ǽ`
    // like `æ` (to `ae`), Cyrillic `ѐ` like `е` (to `e`). Folding a folded name changes nothing.
    let bare: String = text.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let latin = cyrillic_to_latin(&bare);
    let mut out = String::with_capacity(latin.len());
    for c in latin.chars().flat_map(char::to_lowercase) {
        match c {
            'č' | 'ć' => out.push('c'),
            'š' => out.push('s'),
            'ž' => out.push('z'),
            'đ' => out.push_str("dj"),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            c if c.is_alphanumeric() => {
                for d in c.to_string().nfkd().filter(|d| !is_combining_mark(*d)) {
                    if d.is_alphanumeric() {
                        out.extend(d.to_lowercase());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether the text contains any Cyrillic letter.
pub fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_to_latin_handles_digraphs_and_case() {
        assert_eq!(cyrillic_to_latin("Јовановић"), "Jovanović");
        assert_eq!(
            cyrillic_to_latin("Љубица Њего Џевад"),
            "Ljubica Njego Dževad"
        );
        assert_eq!(cyrillic_to_latin("ЉУБИЦА"), "LJUBICA");
        assert_eq!(cyrillic_to_latin("Ђорђе Шћекић"), "Đorđe Šćekić");
        assert_eq!(cyrillic_to_latin("Haven 116 000"), "Haven 116 000");
    }

    #[test]
    fn latin_to_cyrillic_handles_digraphs_and_case() {
        assert_eq!(latin_to_cyrillic("Jovanović"), "Јовановић");
        assert_eq!(latin_to_cyrillic("Ljubica NJEGOŠ Džep"), "Љубица ЊЕГОШ Џеп");
        assert_eq!(latin_to_cyrillic("Prijava slučaja"), "Пријава случаја");
        assert_eq!(latin_to_cyrillic("đak"), "ђак");
    }

    #[test]
    fn scripts_round_trip() {
        for s in [
            "Жељко Ђурђевић",
            "Шта је радна експлоатација?",
            "Њујорк, Џакарта, Љубљана",
        ] {
            assert_eq!(latin_to_cyrillic(&cyrillic_to_latin(s)), s);
        }
    }

    #[test]
    fn fold_makes_scripts_and_diacritics_equal() {
        let expected = "jovanovic";
        for s in [
            "Јовановић",
            "Jovanović",
            "JOVANOVIC",
            "jovanovic",
            " Jovano-vić ",
        ] {
            assert_eq!(fold(s), expected, "{s}");
        }
        assert_eq!(fold("Ђорђе"), "djordje");
        assert_eq!(fold("Đorđe"), "djordje");
        assert_eq!(fold("Djordje"), "djordje");
        assert_eq!(fold("Müller"), "muller");
        assert_eq!(fold("Živković Šćepan"), "zivkovicscepan");
    }

    #[test]
    fn fold_is_idempotent_for_accented_special_letters() {
        // Found by the `names` fuzz target: `ǽ` decomposed to `æ` after the special letters were
        // mapped, and Cyrillic `ѐ`/`й` to Cyrillic `е`/`и` after transliteration, so a folded
        // name folded again differed (and `Dǽ` did not find `Dæ`).
        let once = fold("DǽEMAL Љиљана");
        assert_eq!(once, "daeemalljiljana");
        assert_eq!(fold(&once), once);
        assert_eq!(fold("Dǽ"), fold("Dæ"));
        assert_eq!(fold("ѐ ѝ"), "ei");
        assert_eq!(fold("Андрей"), "andrei");
    }

    #[test]
    fn detects_cyrillic() {
        assert!(has_cyrillic("Ана"));
        assert!(!has_cyrillic("Ana"));
    }
}
