//! Reading the official register of agencies: a register of `HAVEN_BENCH_REGISTER_ROWS` agencies
//! (default 5000, about 25 times the Serbian register) in the official column layout, as CSV and
//! as XLSX, parsed with the guessed mapping, and the differences between two versions; each timed
//! over several runs (p50 and the slowest). The baseline is reading the same CSV's records with no
//! register work (splitting lines on `;`), in the same run.
//!
//! Example: `cargo bench -p haven-bench --bench register`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use haven_domain::agencies::register::{self, ColumnMapping, FileFormat};

const HEADERS: [&str; 8] = [
    "Редни број",
    "Пословно име агенције",
    "Седиште",
    "Матични број",
    "ПИБ",
    "Број решења о дозволи",
    "Датум издавања дозволе",
    "Датум одузимања дозволе",
];

fn row(i: usize, version: usize) -> [String; 8] {
    let name = if i.is_multiple_of(2) {
        format!("Агенција за запошљавање „Посао {i}“ д.о.о.")
    } else {
        format!("Agencija Posao {i} doo")
    };
    let revoked = if version == 2 && i.is_multiple_of(50) {
        "01.10.2025."
    } else {
        ""
    };
    [
        (i + 1).to_string(),
        name,
        format!("Beograd, Ulica {i}"),
        format!("{}", 20_000_000 + i),
        format!("{}", 100_000_000 + i),
        format!("110-00-{i:05}/2020-01"),
        "12.03.2015.".to_owned(),
        revoked.to_owned(),
    ]
}

fn csv(rows: usize, version: usize) -> Vec<u8> {
    let mut out = HEADERS.join(";");
    out.push('\n');
    for i in 0..rows {
        // The second version drops every hundredth agency.
        if version == 2 && i % 100 == 99 {
            continue;
        }
        out.push_str(&row(i, version).join(";"));
        out.push('\n');
    }
    out.into_bytes()
}

fn xlsx(rows: usize) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        for (c, v) in row(i, 1).iter().enumerate() {
            sheet.write_string(i as u32 + 1, c as u16, v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    (t[t.len() / 2], t[t.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let rows: usize = std::env::var("HAVEN_BENCH_REGISTER_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let runs = 11;
    let v1 = csv(rows, 1);
    let v2 = csv(rows, 2);
    let book = xlsx(rows);
    let headers = register::read_headers(&v1, FileFormat::Csv).unwrap();
    let mapping = ColumnMapping::guess(&headers);
    let (p50, max) = time(runs, || {
        let n = std::str::from_utf8(&v1)
            .unwrap()
            .lines()
            .map(|l| l.split(';').count())
            .sum::<usize>();
        assert!(n > rows);
    });
    println!(
        "baseline: split {rows} CSV lines on ';'      p50 {} max {}",
        ms(p50),
        ms(max)
    );
    let (p50, max) = time(runs, || {
        let p = register::parse(&v1, FileFormat::Csv, &mapping).unwrap();
        assert_eq!(p.rows.len(), rows);
    });
    println!(
        "parse CSV  ({rows} rows, {} KiB)          p50 {} max {}",
        v1.len() / 1024,
        ms(p50),
        ms(max)
    );
    let (p50, max) = time(runs, || {
        let p = register::parse(&book, FileFormat::Xlsx, &mapping).unwrap();
        assert_eq!(p.rows.len(), rows);
    });
    println!(
        "parse XLSX ({rows} rows, {} KiB)          p50 {} max {}",
        book.len() / 1024,
        ms(p50),
        ms(max)
    );
    let a = register::parse(&v1, FileFormat::Csv, &mapping)
        .unwrap()
        .rows;
    let b = register::parse(&v2, FileFormat::Csv, &mapping)
        .unwrap()
        .rows;
    let (p50, max) = time(runs, || {
        let d = register::diff(&a, &b);
        assert_eq!(d.removed.len(), rows / 100);
    });
    println!(
        "diff two versions ({rows} rows)           p50 {} max {}",
        ms(p50),
        ms(max)
    );
}
