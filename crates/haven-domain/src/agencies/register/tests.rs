use super::*;

const V1: &[u8] = include_bytes!("../../../testdata/register_v1.csv");
const V2: &[u8] = include_bytes!("../../../testdata/register_v2.csv");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn mapping_of(bytes: &[u8]) -> ColumnMapping {
    let headers = read_headers(bytes, FileFormat::detect(bytes)).unwrap();
    ColumnMapping::guess(&headers)
}

#[test]
fn the_official_cyrillic_headers_are_recognised() {
    let headers = read_headers(V1, FileFormat::Csv).unwrap();
    assert_eq!(headers.len(), 8);
    assert_eq!(headers[1], "Пословно име агенције");
    let m = ColumnMapping::guess(&headers);
    assert_eq!(m.get(RegisterField::Name), Some("Пословно име агенције"));
    assert_eq!(m.get(RegisterField::Address), Some("Седиште"));
    assert_eq!(
        m.get(RegisterField::RegistrationNumber),
        Some("Матични број")
    );
    assert_eq!(m.get(RegisterField::TaxNumber), Some("ПИБ"));
    assert_eq!(
        m.get(RegisterField::LicenceNumber),
        Some("Број решења о дозволи")
    );
    assert_eq!(
        m.get(RegisterField::LicenceDate),
        Some("Датум издавања дозволе")
    );
    assert_eq!(
        m.get(RegisterField::RevocationDate),
        Some("Датум одузимања дозволе")
    );
    assert_eq!(m.get(RegisterField::Status), None);
    assert_eq!(m.get(RegisterField::Place), None);
}

#[test]
fn latin_and_english_headers_are_recognised() {
    let latin: Vec<String> = [
        "Redni broj",
        "Poslovno ime agencije",
        "Sedište",
        "Matični broj",
        "PIB",
        "Broj rešenja o dozvoli",
        "Datum izdavanja dozvole",
        "Datum oduzimanja dozvole",
    ]
    .map(String::from)
    .to_vec();
    let m = ColumnMapping::guess(&latin);
    assert_eq!(m.columns.len(), 7);
    assert_eq!(
        m.get(RegisterField::RegistrationNumber),
        Some("Matični broj")
    );
    assert_eq!(
        m.get(RegisterField::RevocationDate),
        Some("Datum oduzimanja dozvole")
    );

    let english: Vec<String> = [
        "No.",
        "Agency name",
        "Company number",
        "Tax ID",
        "Licence number",
        "Date issued",
        "Revoked on",
        "Status",
        "City",
    ]
    .map(String::from)
    .to_vec();
    let m = ColumnMapping::guess(&english);
    assert_eq!(m.get(RegisterField::Name), Some("Agency name"));
    assert_eq!(m.get(RegisterField::TaxNumber), Some("Tax ID"));
    assert_eq!(m.get(RegisterField::LicenceDate), Some("Date issued"));
    assert_eq!(m.get(RegisterField::RevocationDate), Some("Revoked on"));
    assert_eq!(m.get(RegisterField::Status), Some("Status"));
    assert_eq!(m.get(RegisterField::Place), Some("City"));
    assert!(m.is_usable());
    assert!(!ColumnMapping::guess(&["x".into(), "y".into()]).is_usable());
}

#[test]
fn the_mapping_is_saved_as_json() {
    let m = mapping_of(V1);
    let json = serde_json::to_string(&m).unwrap();
    assert!(
        json.contains(r#""registration_number":"Матични број""#),
        "{json}"
    );
    let back: ColumnMapping = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    let mut m = m;
    m.set(RegisterField::Place, "Седиште");
    m.set(RegisterField::Address, " ");
    assert_eq!(m.get(RegisterField::Place), Some("Седиште"));
    assert_eq!(m.get(RegisterField::Address), None);
}

/// The malformed rows of `V1`, by line and error code.
const V1_ERRORS: [(usize, &str); 3] = [
    (7, "missing_name"),
    (8, "bad_date"),
    (9, "wrong_column_count"),
];

fn errors_of(p: &ParsedRegister) -> Vec<(usize, &str)> {
    p.errors.iter().map(|e| (e.line, e.code)).collect()
}

#[test]
fn a_file_with_old_mac_line_ends_is_numbered_as_an_editor_shows_it() {
    // Found by the register fuzz target: lines ended by a lone carriage return were all "line 1".
    let text = String::from_utf8(V1.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r");
    let bytes = text.as_bytes();
    let parsed = parse(bytes, FileFormat::Csv, &mapping_of(bytes)).unwrap();
    assert_eq!(errors_of(&parsed), V1_ERRORS);
    let unix = parse(V1, FileFormat::Csv, &mapping_of(V1)).unwrap();
    let lines = |p: &ParsedRegister| p.rows.iter().map(|r| r.line).collect::<Vec<_>>();
    assert_eq!(lines(&parsed), lines(&unix));
}

#[test]
fn a_csv_register_is_read_with_its_malformed_rows_reported_by_line() {
    let parsed = parse(V1, FileFormat::Csv, &mapping_of(V1)).unwrap();
    assert_eq!(errors_of(&parsed), V1_ERRORS);
    assert!(
        parsed.errors[1].detail.contains("31.02.2020"),
        "{:?}",
        parsed.errors[1]
    );
    let names: Vec<&str> = parsed.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Агенција за запошљавање „Посао Немачка“ д.о.о.",
            "WORK FORCE INTERNATIONAL DOO",
            "Агенција Сунце ПР",
            "\"Adriatic Jobs\" d.o.o.",
            "Balkan Staffing d.o.o.",
            "Stari Most doo",
        ]
    );
    let first = &parsed.rows[0];
    assert_eq!(first.line, 3);
    assert_eq!(first.registration_number.as_deref(), Some("20123456"));
    assert_eq!(first.tax_number.as_deref(), Some("104567890"));
    assert_eq!(
        first.licence_number.as_deref(),
        Some("110-00-00012/2015-01")
    );
    assert_eq!(first.licence_date, Some(date(2015, 3, 12)));
    assert_eq!(first.address.as_deref(), Some("Београд, Кнеза Милоша 10"));
    assert!(first.licensed);
    let sunce = &parsed.rows[2];
    assert_eq!(sunce.revoked_on, Some(date(2022, 5, 20)));
    assert!(!sunce.licensed);
    assert_eq!(parsed.rows[3].licence_date, Some(date(2019, 9, 30)));
}

#[test]
fn a_comma_separated_file_with_a_bom_and_a_status_column_is_read() {
    let csv = "\u{feff}Name,Registration number,Status,Date issued\n\
               \"Acme, Recruit d.o.o.\",123 456 78,active,1.2.2020\n\
               Beta doo,87654321,oduzeta dozvola,\n\
               \n\
               Gamma,,,\n";
    let bytes = csv.as_bytes();
    assert_eq!(FileFormat::detect(bytes), FileFormat::Csv);
    let parsed = parse(bytes, FileFormat::Csv, &mapping_of(bytes)).unwrap();
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.rows.len(), 3);
    assert_eq!(parsed.rows[0].name, "Acme, Recruit d.o.o.");
    assert_eq!(
        parsed.rows[0].registration_number.as_deref(),
        Some("12345678")
    );
    assert_eq!(parsed.rows[0].licence_date, Some(date(2020, 2, 1)));
    assert!(parsed.rows[0].licensed);
    assert!(!parsed.rows[1].licensed, "a status saying revoked");
    assert_eq!(parsed.rows[2].line, 5);
    assert_eq!(parsed.rows[2].registration_number, None);
}

#[test]
fn a_mapping_naming_a_missing_column_fails_the_whole_file() {
    let mut m = mapping_of(V1);
    m.set(RegisterField::Status, "Статус");
    assert_eq!(
        parse(V1, FileFormat::Csv, &m).unwrap_err(),
        RegisterError::MissingColumn(RegisterField::Status)
    );
    assert_eq!(
        parse(V1, FileFormat::Csv, &ColumnMapping::default()).unwrap_err(),
        RegisterError::MissingColumn(RegisterField::Name)
    );
    assert_eq!(
        parse(b"", FileFormat::Csv, &m).unwrap_err(),
        RegisterError::Empty
    );
    assert_eq!(
        read_headers(b"only-one-column\nvalue\n", FileFormat::Csv).unwrap_err(),
        RegisterError::NoHeader
    );
    assert_eq!(RegisterError::NoHeader.code(), "register_no_header");
}

#[test]
fn duplicate_rows_are_reported() {
    let csv = "Naziv;Matični broj\nAcme;1\nAcme doo;1\n";
    let b = csv.as_bytes();
    let parsed = parse(b, FileFormat::Csv, &mapping_of(b)).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.errors[0].line, 3);
    assert_eq!(parsed.errors[0].code, "duplicate_row");
    assert_eq!(parsed.errors[0].detail, "2");
}

#[test]
fn dates_in_the_usual_spellings() {
    for s in [
        "31.12.2024.",
        "31.12.2024",
        "2024-12-31",
        "31/12/2024",
        "31. 12. 2024.",
        "31.12.2024 00:00:00",
        "45657",
    ] {
        assert_eq!(parse_date(s), Some(date(2024, 12, 31)), "{s}");
    }
    for s in ["", "31.02.2024", "yesterday", "2024", "99999999"] {
        assert_eq!(parse_date(s), None, "{s}");
    }
}

fn v1_xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    let date_format = Format::new().set_num_format("dd.mm.yyyy");
    let headers = [
        "Redni broj",
        "Poslovno ime agencije",
        "Sedište",
        "Matični broj",
        "PIB",
        "Broj rešenja o dozvoli",
        "Datum izdavanja dozvole",
        "Datum oduzimanja dozvole",
    ];
    sheet
        .write_string(0, 0, "Registar agencija za zapošljavanje")
        .unwrap();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    type Ymd = (u16, u8, u8);
    type Row = (&'static str, &'static str, f64, f64, Ymd, Option<Ymd>);
    let rows: [Row; 3] = [
        (
            "Агенција Посао д.о.о.",
            "Beograd",
            20123456.0,
            104567890.0,
            (2015, 3, 12),
            None,
        ),
        (
            "Sunce PR",
            "Niš",
            60123456.0,
            108765432.0,
            (2018, 1, 15),
            Some((2022, 5, 20)),
        ),
        ("", "Beograd", 21456789.0, 0.0, (2020, 2, 1), None),
    ];
    for (i, (name, seat, mb, pib, issued, revoked)) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        sheet.write_number(r, 0, i as f64 + 1.0).unwrap();
        sheet.write_string(r, 1, *name).unwrap();
        sheet.write_string(r, 2, *seat).unwrap();
        sheet.write_number(r, 3, *mb).unwrap();
        if *pib > 0.0 {
            sheet.write_number(r, 4, *pib).unwrap();
        }
        sheet
            .write_string(r, 5, format!("110-00-{i}/2020"))
            .unwrap();
        let d = ExcelDateTime::from_ymd(issued.0, issued.1, issued.2).unwrap();
        sheet
            .write_datetime_with_format(r, 6, &d, &date_format)
            .unwrap();
        if let Some(rv) = revoked {
            let d = ExcelDateTime::from_ymd(rv.0, rv.1, rv.2).unwrap();
            sheet
                .write_datetime_with_format(r, 7, &d, &date_format)
                .unwrap();
        }
    }
    // A date typed as text, wrong.
    sheet.write_number(5, 0, 4.0).unwrap();
    sheet.write_string(5, 1, "Global Recruit doo").unwrap();
    sheet.write_string(5, 6, "32.13.2020").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn an_xlsx_register_is_read_with_real_dates_and_row_numbers() {
    let bytes = v1_xlsx();
    assert_eq!(FileFormat::detect(&bytes), FileFormat::Xlsx);
    let headers = read_headers(&bytes, FileFormat::Xlsx).unwrap();
    assert_eq!(headers[1], "Poslovno ime agencije");
    let m = ColumnMapping::guess(&headers);
    let parsed = parse(&bytes, FileFormat::Xlsx, &m).unwrap();
    assert_eq!(errors_of(&parsed), [(5, "missing_name"), (6, "bad_date")]);
    assert_eq!(parsed.rows.len(), 2);
    let posao = &parsed.rows[0];
    assert_eq!(posao.line, 3);
    assert_eq!(posao.name, "Агенција Посао д.о.о.");
    assert_eq!(posao.registration_number.as_deref(), Some("20123456"));
    assert_eq!(posao.tax_number.as_deref(), Some("104567890"));
    assert_eq!(posao.licence_date, Some(date(2015, 3, 12)));
    assert!(posao.licensed);
    assert_eq!(parsed.rows[1].revoked_on, Some(date(2022, 5, 20)));
    assert!(!parsed.rows[1].licensed);
}

#[test]
fn two_versions_differ_in_new_revoked_removed_and_changed_rows() {
    let a = parse(V1, FileFormat::Csv, &mapping_of(V1)).unwrap();
    let b = parse(V2, FileFormat::Csv, &mapping_of(V2)).unwrap();
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    let d = diff(&a.rows, &b.rows);
    let names = |rows: &[RegisterRow]| rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&d.new_licences),
        vec!["Global Recruit doo", "Агенција Нови Пут д.о.о."]
    );
    assert_eq!(names(&d.revoked), vec!["WORK FORCE INTERNATIONAL DOO"]);
    assert_eq!(
        names(&d.removed),
        vec!["Агенција Сунце ПР", "Stari Most doo"]
    );
    assert_eq!(d.changed.len(), 1);
    assert_eq!(
        d.changed[0].0.address.as_deref(),
        Some("Čačak, Gradsko šetalište 1")
    );
    assert_eq!(
        d.changed[0].1.address.as_deref(),
        Some("Čačak, Železnička 2")
    );
    assert!(!d.is_empty());
    assert!(diff(&b.rows, &b.rows).is_empty());
    // The first import: everything licensed is new, the revoked ones are listed as revoked.
    let first = diff(&[], &a.rows);
    assert_eq!(first.new_licences.len(), 5);
    assert_eq!(names(&first.revoked), vec!["Агенција Сунце ПР"]);
}

#[test]
fn rows_without_numbers_are_keyed_by_name() {
    let row = |name: &str, mb: Option<&str>, pib: Option<&str>| RegisterRow {
        line: 1,
        name: name.to_owned(),
        registration_number: mb.map(str::to_owned),
        tax_number: pib.map(str::to_owned),
        licence_number: None,
        licence_date: None,
        revoked_on: None,
        licensed: true,
        address: None,
        place: None,
    };
    assert_eq!(row("X", Some("1"), Some("2")).key(), "mb:1");
    assert_eq!(row("X", None, Some("2")).key(), "pib:2");
    assert_eq!(
        row("Агенција Посао д.о.о.", None, None).key(),
        row("AGENCIJA POSAO DOO", None, None).key()
    );
    let d = diff(
        &[row("Агенција Посао д.о.о.", None, None)],
        &[row("Agencija Posao doo", None, None)],
    );
    assert!(d.new_licences.is_empty() && d.removed.is_empty());
    assert_eq!(d.changed.len(), 1, "the spelling changed");
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Fuzz-style: random bytes, random CSV-ish text and corrupted workbooks never panic.
#[test]
fn parsing_never_panics_on_any_bytes() {
    let mut seed = 0xDEAD_BEEF_CAFE_F00D_u64;
    let mapping = mapping_of(V1);
    let xlsx = v1_xlsx();
    let csvish = b";,\"\n\r\tab1.-\xEF\xBB\xBF\xD0\x9F\xFF";
    for round in 0..600 {
        let len = (next(&mut seed) % 300) as usize;
        let bytes: Vec<u8> = match round % 3 {
            0 => (0..len).map(|_| next(&mut seed) as u8).collect(),
            1 => (0..len)
                .map(|_| csvish[(next(&mut seed) % csvish.len() as u64) as usize])
                .collect(),
            _ => {
                let mut b = xlsx.clone();
                for _ in 0..1 + next(&mut seed) % 8 {
                    let i = (next(&mut seed) % b.len() as u64) as usize;
                    b[i] = next(&mut seed) as u8;
                }
                b
            }
        };
        for format in [
            FileFormat::Csv,
            FileFormat::Xlsx,
            FileFormat::detect(&bytes),
        ] {
            let _ = read_headers(&bytes, format);
            let _ = parse(&bytes, format, &mapping);
            if let Ok(headers) = read_headers(&bytes, format) {
                let _ = parse(&bytes, format, &ColumnMapping::guess(&headers));
            }
        }
    }
    // The whole files read through the fuzz entry point.
    assert_eq!(parse_any(V1).map(|p| p.rows.len()), Some(6));
    assert_eq!(parse_any(&xlsx).map(|p| p.errors.len()), Some(2));
    // Truncated workbooks, at every length class.
    for cut in (0..xlsx.len()).step_by(97) {
        let _ = parse(&xlsx[..cut], FileFormat::Xlsx, &mapping);
    }
}

#[test]
fn a_workbook_that_expands_too_far_is_refused_before_it_is_read() {
    let bytes = v1_xlsx();
    assert_eq!(check_expansion(&bytes, MAX_XLSX_EXPANDED), Ok(()));
    assert_eq!(check_expansion(&bytes, 1024), Err(RegisterError::TooLarge));
    assert_eq!(RegisterError::TooLarge.code(), "register_too_large");
    assert!(matches!(
        check_expansion(b"PK\x03\x04 not a zip", 1024),
        Err(RegisterError::Xlsx(_))
    ));
}
