//! The official register of licensed employment agencies, read from the CSV or XLSX file the
//! ministry publishes (or a partner sends): column mapping, parsing with per-row errors, and the
//! differences between two versions.
//!
//! Files are untrusted input: [`parse`] and [`read_headers`] return errors, never panic, whatever
//! the bytes (a property test feeds them random and corrupted files).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::name_key;
use crate::script;

/// Most data rows read from one file.
pub const MAX_ROWS: usize = 50_000;
/// Longest cell kept (longer cells are a row error).
pub const MAX_CELL_CHARS: usize = 1_000;
/// Most bytes the parts of a workbook may expand to when decompressed (a real register of a few
/// hundred rows expands to a few MiB; a compressed bomb to gigabytes).
pub const MAX_XLSX_EXPANDED: u64 = 200 * 1024 * 1024;
/// Rows searched for the header row above the data (title lines come first in published files).
const HEADER_SEARCH_ROWS: usize = 20;

/// A column of the register Haven understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterField {
    /// The agency's business name (required).
    Name,
    /// The company registration number (matični broj).
    RegistrationNumber,
    /// The tax number (PIB).
    TaxNumber,
    /// The number of the licence decision.
    LicenceNumber,
    /// When the licence was issued.
    LicenceDate,
    /// When the licence was revoked (empty while in force).
    RevocationDate,
    /// A status column (`aktivna`, `oduzeta`, …), when the file has one.
    Status,
    /// The registered address (sedište).
    Address,
    /// The town.
    Place,
}

impl RegisterField {
    /// Every field, in form order.
    pub const ALL: [RegisterField; 9] = [
        RegisterField::Name,
        RegisterField::RegistrationNumber,
        RegisterField::TaxNumber,
        RegisterField::LicenceNumber,
        RegisterField::LicenceDate,
        RegisterField::RevocationDate,
        RegisterField::Status,
        RegisterField::Address,
        RegisterField::Place,
    ];

    /// The stable code (form field names, message keys).
    pub fn code(self) -> &'static str {
        match self {
            RegisterField::Name => "name",
            RegisterField::RegistrationNumber => "registration_number",
            RegisterField::TaxNumber => "tax_number",
            RegisterField::LicenceNumber => "licence_number",
            RegisterField::LicenceDate => "licence_date",
            RegisterField::RevocationDate => "revocation_date",
            RegisterField::Status => "status",
            RegisterField::Address => "address",
            RegisterField::Place => "place",
        }
    }

    /// The field with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// Header texts (folded, words separated by one space) that name this field, most specific
    /// first: Serbian Latin (Cyrillic folds to it) and English.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            RegisterField::Name => &[
                "poslovno ime agencije",
                "poslovno ime",
                "naziv agencije",
                "naziv",
                "ime agencije",
                "agencija",
                "agency name",
                "company name",
                "business name",
                "name",
            ],
            RegisterField::RegistrationNumber => &[
                "maticni broj",
                "mb",
                "registration number",
                "company number",
                "reg no",
            ],
            RegisterField::TaxNumber => &[
                "pib",
                "poreski identifikacioni broj",
                "poreski broj",
                "tax number",
                "tax id",
                "vat number",
            ],
            RegisterField::LicenceNumber => &[
                "broj resenja o dozvoli",
                "broj resenja",
                "broj dozvole",
                "licence number",
                "license number",
                "permit number",
            ],
            RegisterField::LicenceDate => &[
                "datum izdavanja dozvole",
                "datum izdavanja",
                "datum resenja",
                "datum dozvole",
                "licence date",
                "license date",
                "date issued",
                "issued on",
            ],
            RegisterField::RevocationDate => &[
                "datum oduzimanja dozvole",
                "datum oduzimanja",
                "datum prestanka",
                "oduzeta",
                "revocation date",
                "date revoked",
                "revoked on",
            ],
            RegisterField::Status => &["status dozvole", "status", "stanje"],
            RegisterField::Address => &["sediste", "adresa", "adresa sedista", "address", "seat"],
            RegisterField::Place => &["mesto", "grad", "opstina", "place", "town", "city"],
        }
    }
}

/// Which column of the file holds each field, by header text as written in the file. Saved (as
/// JSON) per register source so the next file from the same source needs no choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// Field → header text.
    pub columns: BTreeMap<RegisterField, String>,
}

/// Words of a header, folded, one space between them (`„Пословно име“` → `poslovno ime`).
fn header_words(header: &str) -> String {
    script::cyrillic_to_latin(header)
        .split(|c: char| !c.is_alphanumeric())
        .map(script::fold)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl ColumnMapping {
    /// Guesses the mapping from the file's headers (Serbian Cyrillic or Latin, or English): an
    /// exact synonym first, then a header containing a synonym; each header is used once.
    pub fn guess(headers: &[String]) -> ColumnMapping {
        let folded: Vec<String> = headers.iter().map(|h| header_words(h)).collect();
        let mut used: HashSet<usize> = HashSet::new();
        let mut columns = BTreeMap::new();
        for exact in [true, false] {
            for field in RegisterField::ALL {
                if columns.contains_key(&field) {
                    continue;
                }
                let found = field.synonyms().iter().find_map(|syn| {
                    folded.iter().enumerate().find_map(|(i, h)| {
                        let hit = if exact {
                            h == syn
                        } else {
                            syn.len() > 3 && format!(" {h} ").contains(&format!(" {syn} "))
                        };
                        (hit && !used.contains(&i)).then_some(i)
                    })
                });
                if let Some(i) = found {
                    used.insert(i);
                    columns.insert(field, headers[i].clone());
                }
            }
        }
        ColumnMapping { columns }
    }

    /// The header mapped to a field.
    pub fn get(&self, field: RegisterField) -> Option<&str> {
        self.columns.get(&field).map(String::as_str)
    }

    /// Maps a field to a header (an empty header unmaps it).
    pub fn set(&mut self, field: RegisterField, header: &str) {
        if header.trim().is_empty() {
            self.columns.remove(&field);
        } else {
            self.columns.insert(field, header.trim().to_owned());
        }
    }

    /// Whether the fields an import needs are mapped (the name).
    pub fn is_usable(&self) -> bool {
        self.columns.contains_key(&RegisterField::Name)
    }
}

/// The format of a register file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Comma- or semicolon-separated text (UTF-8, BOM allowed).
    Csv,
    /// An Excel workbook (first sheet).
    Xlsx,
}

impl FileFormat {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    /// The format with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "csv" => Some(FileFormat::Csv),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    /// The format of a file, by its content: a ZIP archive is an XLSX workbook, anything else is
    /// read as CSV.
    pub fn detect(bytes: &[u8]) -> FileFormat {
        if bytes.starts_with(b"PK\x03\x04") {
            FileFormat::Xlsx
        } else {
            FileFormat::Csv
        }
    }
}

/// Why a whole file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The file has no rows.
    #[error("the file is empty")]
    Empty,
    /// No row looks like a header row.
    #[error("no header row was found")]
    NoHeader,
    /// A mapped column is not among the file's headers (or the name is not mapped).
    #[error("the column for {} was not found in the file", .0.code())]
    MissingColumn(RegisterField),
    /// The CSV text could not be read.
    #[error("the CSV file could not be read: {0}")]
    Csv(String),
    /// The workbook could not be read.
    #[error("the workbook could not be read: {0}")]
    Xlsx(String),
    /// More rows than an import accepts.
    #[error("the file has more than {MAX_ROWS} rows")]
    TooManyRows,
    /// A workbook that expands to more than [`MAX_XLSX_EXPANDED`] bytes.
    #[error("the workbook expands to more than {MAX_XLSX_EXPANDED} bytes")]
    TooLarge,
}

impl RegisterError {
    /// A stable code, for translated messages.
    pub fn code(&self) -> &'static str {
        match self {
            RegisterError::Empty => "register_empty",
            RegisterError::NoHeader => "register_no_header",
            RegisterError::MissingColumn(_) => "register_missing_column",
            RegisterError::Csv(_) => "register_bad_csv",
            RegisterError::Xlsx(_) => "register_bad_xlsx",
            RegisterError::TooManyRows => "register_too_many_rows",
            RegisterError::TooLarge => "register_too_large",
        }
    }
}

/// One agency as the register lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRow {
    /// The line (CSV) or row (XLSX) number in the file, from 1.
    pub line: usize,
    /// The business name, as written.
    pub name: String,
    /// The company registration number, without spaces or punctuation.
    pub registration_number: Option<String>,
    /// The tax number, without spaces or punctuation.
    pub tax_number: Option<String>,
    /// The licence decision's number.
    pub licence_number: Option<String>,
    /// When the licence was issued.
    pub licence_date: Option<NaiveDate>,
    /// When the licence was revoked.
    pub revoked_on: Option<NaiveDate>,
    /// Whether the licence is in force (no revocation date, and no status saying otherwise).
    pub licensed: bool,
    /// The registered address.
    pub address: Option<String>,
    /// The town.
    pub place: Option<String>,
}

impl RegisterRow {
    /// The key rows of two versions are matched by: registration number, else tax number, else
    /// the name key.
    pub fn key(&self) -> String {
        if let Some(n) = &self.registration_number {
            format!("mb:{n}")
        } else if let Some(n) = &self.tax_number {
            format!("pib:{n}")
        } else {
            format!("name:{}", name_key(&self.name))
        }
    }
}

/// A row that could not be read, with its line number and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The line (CSV) or row (XLSX) number, from 1.
    pub line: usize,
    /// A stable code: `missing_name`, `bad_date`, `wrong_column_count`, `cell_too_long`,
    /// `duplicate_row`.
    pub code: &'static str,
    /// The offending value or column, for the person reading the preview.
    pub detail: String,
}

/// A file read: the good rows and the errors of the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedRegister {
    /// Rows read.
    pub rows: Vec<RegisterRow>,
    /// Rows refused.
    pub errors: Vec<RowError>,
}

/// A grid of cells with each row's line number.
struct Grid {
    rows: Vec<(usize, Vec<String>)>,
}

fn csv_grid(bytes: &[u8]) -> Result<Grid, RegisterError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = sniff_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rows = Vec::new();
    // The reader's own line count skips blank lines; count newlines up to each record instead, so
    // the number shown is the line a text editor shows.
    let (mut line, mut counted_to) = (1usize, 0usize);
    for record in reader.byte_records() {
        let record = record.map_err(|e| RegisterError::Csv(e.to_string()))?;
        let start = record
            .position()
            .map_or(counted_to, |p| {
                usize::try_from(p.byte()).unwrap_or(counted_to)
            })
            .clamp(counted_to, bytes.len());
        // The reader's position is where it started looking: blank lines it skipped come first.
        let blank = bytes[start..]
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        let start = start + blank;
        line += line_breaks(bytes, counted_to, start);
        counted_to = start;
        let cells = record
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_owned())
            .collect();
        rows.push((line, cells));
        if rows.len() > MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(RegisterError::TooManyRows);
        }
    }
    Ok(Grid { rows })
}

/// The line breaks in `bytes[from..to]` as a text editor counts them: `\n`, `\r\n` and a lone
/// `\r` (old Mac files, which the CSV reader also takes as ends of records).
fn line_breaks(bytes: &[u8], from: usize, to: usize) -> usize {
    (from..to)
        .filter(|&i| match bytes[i] {
            b'\n' => true,
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            _ => false,
        })
        .count()
}

/// `;` when the first line has more semicolons than commas (outside quotes), tab likewise, else `,`.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in bytes.iter().take(64 * 1024) {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted && counts.iter().any(|c| *c > 0) => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let [comma, semicolon, tab] = counts;
    if semicolon > comma && semicolon >= tab {
        b';'
    } else if tab > comma && tab > semicolon {
        b'\t'
    } else {
        b','
    }
}

/// Decompresses every part of the archive into nothing, counting, and refuses it once the total
/// passes `limit`: the sizes an archive declares can lie, the bytes cannot.
fn check_expansion(bytes: &[u8], limit: u64) -> Result<(), RegisterError> {
    use std::io::Read;
    let bad = |e: &dyn std::fmt::Display| RegisterError::Xlsx(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let part = archive.by_index(i).map_err(|e| bad(&e))?;
        let left = limit.saturating_sub(total);
        total +=
            std::io::copy(&mut part.take(left + 1), &mut std::io::sink()).map_err(|e| bad(&e))?;
        if total > limit {
            return Err(RegisterError::TooLarge);
        }
    }
    Ok(())
}

fn xlsx_grid(bytes: &[u8]) -> Result<Grid, RegisterError> {
    use calamine::{Data, Reader, Xlsx};
    check_expansion(bytes, MAX_XLSX_EXPANDED)?;
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| RegisterError::Xlsx(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(RegisterError::Empty)?
        .map_err(|e| RegisterError::Xlsx(e.to_string()))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        if rows.len() > MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(RegisterError::TooManyRows);
        }
        // Columns left of the used range are empty; keep positions as in the sheet.
        let mut cells = vec![String::new(); first_col];
        cells.extend(row.iter().map(|cell| {
            match cell {
                Data::Empty | Data::Error(_) => String::new(),
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                    s.trim().to_owned()
                }
                Data::Int(n) => n.to_string(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                Data::Float(f) => f.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => serial_date(d.as_f64())
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            }
        }));
        rows.push((first_row + i + 1, cells));
    }
    Ok(Grid { rows })
}

/// An Excel serial day number as a date (1900 system; days counted from 1899-12-30).
fn serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(serial as u64))
}

fn grid(bytes: &[u8], format: FileFormat) -> Result<Grid, RegisterError> {
    let grid = match format {
        FileFormat::Csv => csv_grid(bytes)?,
        FileFormat::Xlsx => xlsx_grid(bytes)?,
    };
    if grid
        .rows
        .iter()
        .all(|(_, cells)| cells.iter().all(String::is_empty))
    {
        return Err(RegisterError::Empty);
    }
    Ok(grid)
}

/// The index of the header row: the first of the top rows with at least two non-empty cells
/// (a published file may begin with a title line).
fn header_index(grid: &Grid) -> Result<usize, RegisterError> {
    grid.rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, cells)| cells.iter().filter(|c| !c.is_empty()).count() >= 2)
        .ok_or(RegisterError::NoHeader)
}

/// The file's column headers (from its header row), for the mapping form.
pub fn read_headers(bytes: &[u8], format: FileFormat) -> Result<Vec<String>, RegisterError> {
    let grid = grid(bytes, format)?;
    let at = header_index(&grid)?;
    let mut headers = grid.rows[at].1.clone();
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    Ok(headers)
}

/// A number as the register writes it, without spaces, dots, hyphens or slashes.
fn number(s: &str) -> Option<String> {
    let n: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '/'))
        .flat_map(char::to_uppercase)
        .collect();
    (!n.is_empty()).then_some(n)
}

fn text(s: &str) -> Option<String> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

/// A date as registers write it: `31.12.2024.`, `31.12.2024`, `2024-12-31`, `31/12/2024`, or an
/// Excel serial number.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    // `31. 12. 2024.` → `31.12.2024`; a time after the date is ignored.
    let squeezed = s.trim().replace(". ", ".");
    let t = squeezed.trim_end_matches('.').trim();
    let t = t.split_once(' ').map_or(t, |(d, _)| d);
    for format in ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y.%m.%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, format) {
            return Some(d);
        }
    }
    if t.len() == 5 && t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse::<f64>().ok().and_then(serial_date);
    }
    None
}

/// Whether a status cell says the licence is no longer in force.
fn status_says_revoked(status: &str) -> bool {
    let f = header_words(status);
    [
        "oduzet",
        "ukinut",
        "prestal",
        "brisan",
        "revoked",
        "withdrawn",
        "cancel",
        "neaktiv",
        "inactive",
    ]
    .iter()
    .any(|w| f.contains(w))
}

/// Reads a register file with a column mapping. Rows that cannot be read are reported in
/// [`ParsedRegister::errors`] with their line numbers; the file as a whole fails only when it
/// cannot be read at all or a mapped column is missing. Blank rows are skipped. Never panics.
pub fn parse(
    bytes: &[u8],
    format: FileFormat,
    mapping: &ColumnMapping,
) -> Result<ParsedRegister, RegisterError> {
    let grid = grid(bytes, format)?;
    let at = header_index(&grid)?;
    let headers = &grid.rows[at].1;
    let width = headers
        .iter()
        .rposition(|h| !h.is_empty())
        .map_or(0, |i| i + 1);
    if !mapping.is_usable() {
        return Err(RegisterError::MissingColumn(RegisterField::Name));
    }
    let mut columns: HashMap<RegisterField, usize> = HashMap::new();
    for (field, header) in &mapping.columns {
        let wanted = header_words(header);
        let i = headers
            .iter()
            .position(|h| h.trim() == header.trim())
            .or_else(|| headers.iter().position(|h| header_words(h) == wanted))
            .ok_or(RegisterError::MissingColumn(*field))?;
        columns.insert(*field, i);
    }
    let mut parsed = ParsedRegister::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, cells) in &grid.rows[at + 1..] {
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if parsed.rows.len() >= MAX_ROWS {
            return Err(RegisterError::TooManyRows);
        }
        let line = *line;
        let used = cells
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |i| i + 1);
        if format == FileFormat::Csv && cells.len() != headers.len() && used != width {
            parsed.errors.push(RowError {
                line,
                code: "wrong_column_count",
                detail: format!("{} / {}", cells.len(), headers.len()),
            });
            continue;
        }
        if let Some(long) = cells.iter().find(|c| c.chars().count() > MAX_CELL_CHARS) {
            parsed.errors.push(RowError {
                line,
                code: "cell_too_long",
                detail: long.chars().take(40).collect(),
            });
            continue;
        }
        let cell = |field: RegisterField| -> &str {
            columns
                .get(&field)
                .and_then(|i| cells.get(*i))
                .map_or("", String::as_str)
        };
        let Some(name) = text(cell(RegisterField::Name)) else {
            parsed.errors.push(RowError {
                line,
                code: "missing_name",
                detail: String::new(),
            });
            continue;
        };
        let date = |field: RegisterField| -> Result<Option<NaiveDate>, RowError> {
            let raw = cell(field).trim();
            if raw.is_empty() {
                return Ok(None);
            }
            parse_date(raw).map(Some).ok_or_else(|| RowError {
                line,
                code: "bad_date",
                detail: format!(
                    "{}: {}",
                    field.code(),
                    raw.chars().take(40).collect::<String>()
                ),
            })
        };
        let licence_date = match date(RegisterField::LicenceDate) {
            Ok(d) => d,
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
        let revoked_on = match date(RegisterField::RevocationDate) {
            Ok(d) => d,
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
        let status = cell(RegisterField::Status);
        let licensed = revoked_on.is_none() && !status_says_revoked(status);
        let row = RegisterRow {
            line,
            name,
            registration_number: number(cell(RegisterField::RegistrationNumber)),
            tax_number: number(cell(RegisterField::TaxNumber)),
            licence_number: text(cell(RegisterField::LicenceNumber)),
            licence_date,
            revoked_on,
            licensed,
            address: text(cell(RegisterField::Address)),
            place: text(cell(RegisterField::Place)),
        };
        let key = row.key();
        if let Some(first) = seen.get(&key) {
            parsed.errors.push(RowError {
                line,
                code: "duplicate_row",
                detail: first.to_string(),
            });
            continue;
        }
        seen.insert(key, line);
        parsed.rows.push(row);
    }
    Ok(parsed)
}

/// The whole reading of an unknown file, as a fuzz target would drive it: format detected,
/// headers read, mapping guessed, rows parsed. `None` when the file cannot be read at all. Never
/// panics, whatever the bytes.
pub fn parse_any(bytes: &[u8]) -> Option<ParsedRegister> {
    let format = FileFormat::detect(bytes);
    let headers = read_headers(bytes, format).ok()?;
    parse(bytes, format, &ColumnMapping::guess(&headers)).ok()
}

/// What changed between two versions of a register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterDiff {
    /// Licensed now, and not licensed (or absent) before.
    pub new_licences: Vec<RegisterRow>,
    /// Not licensed now, and licensed (or absent) before.
    pub revoked: Vec<RegisterRow>,
    /// In the previous version, not in this one.
    pub removed: Vec<RegisterRow>,
    /// In both with the same licence state but other details changed: (before, now).
    pub changed: Vec<(RegisterRow, RegisterRow)>,
}

impl RegisterDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.new_licences.is_empty()
            && self.revoked.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
    }
}

/// The differences from `previous` to `current`, rows keyed by registration number, else tax
/// number, else name key ([`RegisterRow::key`]).
pub fn diff(previous: &[RegisterRow], current: &[RegisterRow]) -> RegisterDiff {
    let before: HashMap<String, &RegisterRow> = previous.iter().map(|r| (r.key(), r)).collect();
    let now: HashSet<String> = current.iter().map(RegisterRow::key).collect();
    let mut out = RegisterDiff::default();
    for row in current {
        match before.get(&row.key()) {
            None if row.licensed => out.new_licences.push(row.clone()),
            None => out.revoked.push(row.clone()),
            Some(old) if row.licensed && !old.licensed => out.new_licences.push(row.clone()),
            Some(old) if !row.licensed && old.licensed => out.revoked.push(row.clone()),
            Some(old) if !same_details(old, row) => out.changed.push(((*old).clone(), row.clone())),
            Some(_) => {}
        }
    }
    out.removed = previous
        .iter()
        .filter(|r| !now.contains(&r.key()))
        .cloned()
        .collect();
    out
}

fn same_details(a: &RegisterRow, b: &RegisterRow) -> bool {
    a.name == b.name
        && a.registration_number == b.registration_number
        && a.tax_number == b.tax_number
        && a.licence_number == b.licence_number
        && a.licence_date == b.licence_date
        && a.revoked_on == b.revoked_on
        && a.address == b.address
        && a.place == b.place
}

#[cfg(test)]
mod tests;
