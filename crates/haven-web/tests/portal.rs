//! The public portal through the real application, on both backends: no cookie and no other
//! origin on any page, pages small enough for a cheap phone; forms that become contacts on the
//! `portal` line of the desk with their files; a file whose extension lies refused; validation
//! that keeps the input; the honeypot, the rate limit and its challenge; cross-site posts
//! refused; the receipt code that reads the counsellor's answer; the self-check storing nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_domain::Role;
use haven_testkit::reqwest::{self, StatusCode};
use haven_testkit::{TestApp, TestBackend, conformance};

const LANGS: &[&str] = &["sr-latn", "sr-cyrl", "en"];
const FORMS: &[&str] = &[
    "report",
    "contract-check",
    "question",
    "missing-child",
    "self-check",
];

async fn app(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.portal.exit_url = "http://127.0.0.1:9/neutral".into();
    })
    .await
}

/// A visitor: no cookie store, no redirects followed.
fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Res {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> Res {
    let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
    Res {
        status: r.status(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

fn input(text: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        + marker.len();
    let end = text[start..].find('"').unwrap() + start;
    haven_testkit::html_unescape(&text[start..end])
}

/// Sends a form as a browser does (multipart), with the token of a freshly loaded form.
async fn send(
    c: &reqwest::Client,
    app: &TestApp,
    lang: &str,
    kind: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, Vec<u8>)>,
) -> Res {
    let form = get(c, app, &format!("/{lang}/send/{kind}")).await;
    let token = input(&form.text, "token");
    send_with_token(c, app, lang, kind, &token, fields, file, &[]).await
}

#[allow(clippy::too_many_arguments)]
async fn send_with_token(
    c: &reqwest::Client,
    app: &TestApp,
    lang: &str,
    kind: &str,
    token: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, Vec<u8>)>,
    headers: &[(&str, &str)],
) -> Res {
    let mut m = reqwest::multipart::Form::new().text("token", token.to_owned());
    for (k, v) in fields {
        m = m.text((*k).to_owned(), (*v).to_owned());
    }
    if let Some((field, name, bytes)) = file {
        m = m.part(
            field.to_owned(),
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    }
    let mut req = c
        .post(format!("{}/{lang}/send/{kind}", app.base))
        .multipart(m);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    Res {
        status: r.status(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

/// The receipt code on a "thank you" page.
fn receipt(text: &str) -> String {
    let start = text
        .find("class=\"receipt\"><strong>")
        .expect("a receipt code")
        + 24;
    let end = text[start..].find('<').unwrap() + start;
    text[start..end].to_owned()
}

async fn contacts(app: &TestApp) -> i64 {
    haven_store::contacts::count(&app.state.db, app.state.default_org)
        .await
        .unwrap()
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\nIDATx\x9cc\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xaeB`\x82";

/// Every page a reader can open without sending anything.
fn reader_pages() -> Vec<String> {
    let mut out = vec!["/exit".to_owned()];
    for l in LANGS {
        out.push(format!("/{l}"));
        for p in haven_web::portal::PAGES {
            out.push(format!("/{l}/page/{p}"));
        }
        for f in FORMS {
            out.push(format!("/{l}/send/{f}"));
        }
        out.push(format!("/{l}/self-check"));
        out.push(format!("/{l}/follow-up"));
        out.push(format!("/{l}/news"));
    }
    out
}

/// The hosts of absolute URLs a page names in `src`, `href` or `action`.
fn other_origins(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\"", "action=\"", "url("] {
        for (i, _) in text.match_indices(attr) {
            let v = &text[i + attr.len()..];
            if v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//") {
                out.push(v.chars().take(60).collect());
            }
        }
    }
    out
}

conformance!(async fn readers_get_no_cookie_no_other_origin_and_small_pages(backend) {
    let app = app(backend).await;
    let c = visitor();
    let css = get(&c, &app, "/static/portal.css").await;
    let js = get(&c, &app, "/static/portal.js").await;
    assert!(css.headers.get("set-cookie").is_none());
    for path in reader_pages() {
        let r = get(&c, &app, &path).await;
        assert!(r.headers.get("set-cookie").is_none(), "{path} sets a cookie");
        assert_eq!(
            r.headers.get("referrer-policy").unwrap(),
            "no-referrer",
            "{path}"
        );
        assert!(
            r.headers
                .get("content-security-policy")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("default-src 'none'"),
            "{path}"
        );
        if path == "/exit" {
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert_eq!(
                r.headers.get("location").unwrap(),
                "http://127.0.0.1:9/neutral"
            );
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            other_origins(&r.text).is_empty(),
            "{path} names another origin: {:?}",
            other_origins(&r.text)
        );
        assert!(r.text.contains("id=\"quick-exit\""), "{path}: no quick exit");
        assert!(r.text.contains("href=\"/exit\""), "{path}");
        assert!(r.text.contains("/static/portal.js"), "{path}");
        let total = r.text.len() + css.text.len() + js.text.len();
        assert!(total < 100 * 1024, "{path}: {total} bytes with CSS and JS");
    }
    // The root sends a reader to the portal in their language.
    let r = c
        .get(format!("{}/", app.base))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("location").unwrap(), "/en");
    // Cyrillic is generated from the Latin pages, and the pages are the seeded content.
    let cyr = get(&c, &app, "/sr-cyrl/page/warning-signs").await;
    assert!(cyr.text.contains("Знаци упозорења"), "{}", cyr.text);
    let en = get(&c, &app, "/en/page/numbers").await;
    assert!(en.text.contains("116 000"));
    assert_eq!(get(&c, &app, "/en/page/nothing").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&c, &app, "/xx/page/numbers").await.status, StatusCode::NOT_FOUND);
    app.stop().await;
});

conformance!(async fn a_question_reaches_the_desk_and_the_receipt_code_reads_the_answer(backend) {
    let app = app(backend).await;
    let c = visitor();
    let before = contacts(&app).await;
    let r = send(
        &c,
        &app,
        "en",
        "question",
        &[("text", "Is a fee of 500 euros for a job in Germany legal?"), ("safe_time", "after 18h")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers.get("set-cookie").is_none());
    let code = receipt(&r.text);
    assert!(code.chars().filter(|c| c.is_ascii_alphanumeric()).count() >= 16, "{code}");
    assert_eq!(contacts(&app).await, before + 1);
    // Only a hash and a selector are stored: the code is nowhere in the database.
    let stored: Vec<(String, String)> = match &app.state.db {
        haven_store::Db::Sqlite { read: p, .. } => sqlx::query_as("SELECT selector, code_hash FROM portal_receipts").fetch_all(p).await.unwrap(),
        haven_store::Db::Postgres { pool: p, .. } => sqlx::query_as("SELECT selector, code_hash FROM portal_receipts").fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 1);
    assert!(stored[0].1.starts_with("$argon2"), "{}", stored[0].1);
    assert!(!stored[0].1.contains(&code.replace('-', "")));

    // The counsellor finds it in the inbox, unassigned, on the portal line.
    let (staff, _) = app.signed_in(&[Role::Counsellor]).await;
    let list = staff.get("/staff/desk/contacts?line=portal").await;
    assert_eq!(list.status, StatusCode::OK);
    let start = list.text.find("/staff/desk/contacts/0").or_else(|| list.text.find("/staff/desk/contacts/")).unwrap();
    let id: String = list.text[start + "/staff/desk/contacts/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    let page = staff.get(&format!("/staff/desk/contacts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Is a fee of 500 euros"), "{}", page.text);
    assert!(page.text.contains("portal-answer"));
    let r = staff
        .submit(
            &format!("/staff/desk/contacts/{id}"),
            &format!("/staff/desk/contacts/{id}/portal-answer"),
            &[("text", "No: an agency may not charge you. Call us.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    // The visitor reads the answer with the code (typed in lower case, with spaces) and adds more.
    let form = get(&c, &app, "/en/follow-up").await;
    let token = input(&form.text, "token");
    let typed = code.to_lowercase().replace('-', " ");
    let r = c
        .post(format!("{}/en/follow-up", app.base))
        .form(&[("token", token.as_str()), ("code", typed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("No: an agency may not charge you."), "{text}");
    let token = input(&text, "token");
    let r = c
        .post(format!("{}/en/follow-up", app.base))
        .form(&[("token", token.as_str()), ("code", code.as_str()), ("text", "The agency is called Example Jobs.")])
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("The agency is called Example Jobs."), "{text}");
    let page = staff.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.text.contains("The agency is called Example Jobs."));

    // A wrong code opens nothing.
    let token = input(&text, "token");
    let r = c
        .post(format!("{}/en/follow-up", app.base))
        .form(&[("token", token.as_str()), ("code", "AAAA-BBBB-CCCC-DDDD-EEEE")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
});

conformance!(async fn a_contract_arrives_sealed_and_a_lying_extension_is_refused(backend) {
    let app = app(backend).await;
    let c = visitor();
    let before = contacts(&app).await;
    // A PNG named .pdf: refused, the text kept.
    let r = send(&c, &app, "sr-latn", "contract-check", &[("text", "Da li je ovo u redu?")], Some(("file", "ugovor.pdf", PNG.to_vec()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("Da li je ovo u redu?"));
    assert!(r.text.contains("id=\"file-error\""));
    // No file at all: refused.
    let r = send(&c, &app, "sr-latn", "contract-check", &[("text", "x")], None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(contacts(&app).await, before);
    // A real PDF: accepted.
    let r = send(&c, &app, "sr-latn", "contract-check", &[("text", "Ugovor za Nemačku")], Some(("file", "ugovor.pdf", PDF.to_vec()))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(contacts(&app).await, before + 1);
    // Sealed in the database: the bytes are not there in the clear.
    let blobs: Vec<Vec<u8>> = match &app.state.db {
        haven_store::Db::Sqlite { read: p, .. } => sqlx::query_scalar("SELECT content_enc FROM portal_files").fetch_all(p).await.unwrap(),
        haven_store::Db::Postgres { pool: p, .. } => sqlx::query_scalar("SELECT content_enc FROM portal_files").fetch_all(p).await.unwrap(),
    };
    assert_eq!(blobs.len(), 1);
    assert!(!blobs[0].windows(8).any(|w| w == b"%PDF-1.4"));
    // The counsellor downloads it from the contact.
    let (staff, _) = app.signed_in(&[Role::Counsellor]).await;
    let list = staff.get("/staff/desk/contacts?line=portal").await;
    let start = list.text.find("/staff/desk/contacts/").unwrap();
    let id: String = list.text[start + "/staff/desk/contacts/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    let page = staff.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.text.contains("ugovor.pdf"), "{}", page.text);
    let start = page.text.find("/portal-files/").unwrap();
    let href: String = page.text[..start + 60]
        .rsplit("href=\"")
        .next()
        .unwrap()
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let file = staff.get(&href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.text.starts_with("%PDF-1.4"));
    assert!(file.header("content-disposition").unwrap().starts_with("attachment"));
    app.stop().await;
});

conformance!(async fn a_file_input_left_empty_is_no_file(backend) {
    // Browsers send an empty file input as an empty part with an empty file name (found by
    // bench/attack/xss, whose Chromium could not send a report without a screenshot).
    let app = app(backend).await;
    let c = visitor();
    let before = contacts(&app).await;
    let r = send(&c, &app, "en", "report", &[("text", "An offer on a job board."), ("agency", "Posao")], Some(("screenshot", "", Vec::new()))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(contacts(&app).await, before + 1);
    // Where a file is required, the empty input is a missing file.
    let r = send(&c, &app, "en", "contract-check", &[("text", "x")], Some(("file", "", Vec::new()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(contacts(&app).await, before + 1);
    app.stop().await;
});

conformance!(async fn validation_honeypot_challenge_rate_limit_and_cross_site(backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.portal.challenge_after = 2;
        s.portal.refuse_after = 5;
    })
    .await;
    let c = visitor();
    let before = contacts(&app).await;
    // 1: a missing required field: named, the rest of the input kept.
    let r = send(&c, &app, "en", "missing-child", &[("text", ""), ("seen", "At the bus station, 3 pm"), ("contact", "+381 64 000 0000")], None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("At the bus station, 3 pm"));
    assert!(r.text.contains("+381 64 000 0000"));
    assert!(r.text.contains("href=\"#text\""));
    assert!(r.text.contains("116 000"));
    // 2: the honeypot: "thank you", nothing recorded, no code.
    let r = send(&c, &app, "en", "question", &[("text", "buy now"), ("website", "http://spam.example")], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains("class=\"receipt\""));
    assert_eq!(contacts(&app).await, before);
    // 3: over the soft limit: the sum is asked, the input kept.
    let r = send(&c, &app, "en", "question", &[("text", "A real question")], None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("name=\"answer\""));
    assert!(r.text.contains("A real question"));
    let q = r.text.find("what is ").unwrap() + 8;
    let words: Vec<&str> = r.text[q..].split_whitespace().take(3).collect();
    let digits = |w: &str| w.chars().filter(char::is_ascii_digit).collect::<String>().parse::<u32>().unwrap();
    let sum: u32 = digits(words[0]) + digits(words[2]);
    let token = input(&r.text, "token");
    // 4: answered: recorded.
    let r = send_with_token(&c, &app, "en", "question", &token, &[("text", "A real question"), ("answer", &sum.to_string())], None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(contacts(&app).await, before + 1);
    // A missing-child report is recorded as urgent.
    // 5: a forged token is refused with the input kept.
    let r = send_with_token(&c, &app, "en", "question", "forged", &[("text", "Kept text")], None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("Kept text"));
    // 6: over the hard limit: refused.
    let r = send(&c, &app, "en", "question", &[("text", "again")], None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // A post from another site is refused before anything else.
    let r = send_with_token(&c, &app, "en", "question", &token, &[("text", "x")], None, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An oversize body is refused early, on a form that takes no file.
    let big = "x".repeat(haven_web::portal::FORM_LIMIT + 1);
    let r = send_with_token(&c, &app, "en", "question", &token, &[("text", &big)], None, &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(contacts(&app).await, before + 1);
    app.stop().await;
});

conformance!(async fn the_self_check_stores_nothing_until_sent(backend) {
    let app = app(backend).await;
    let c = visitor();
    let before = contacts(&app).await;
    let first = get(&c, &app, "/en/self-check").await;
    assert!(first.text.contains("name=\"q-fees\""));
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        let url = format!("{}/en/self-check", app.base);
        async move {
            let r = c.post(url).form(&fields).send().await.unwrap();
            assert!(r.headers().get("set-cookie").is_none());
            r.text().await.unwrap()
        }
    };
    let s2 = post(vec![("step", "1"), ("q-fees", "yes")]).await;
    assert!(s2.contains("name=\"q-documents\""));
    assert!(s2.contains("name=\"q-fees\" value=\"yes\""));
    let s3 = post(vec![("step", "2"), ("q-fees", "yes"), ("q-documents", "yes")]).await;
    let s4 = post(vec![("step", "3"), ("q-fees", "yes"), ("q-documents", "yes")]).await;
    assert!(s3.contains("name=\"q-wages\"") && s4.contains("name=\"q-violence\""));
    let result = post(vec![("step", "4"), ("q-fees", "yes"), ("q-documents", "yes")]).await;
    assert!(result.contains("Someone else keeps my passport or ID."), "{result}");
    assert!(result.contains("I was asked to pay a fee"));
    assert!(!result.contains("My pay is held back"));
    assert_eq!(contacts(&app).await, before, "nothing stored before sending");
    let token = input(&result, "token");
    let r = send_with_token(&c, &app, "en", "self-check", &token, &[("q-fees", "yes"), ("q-documents", "yes")], None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(contacts(&app).await, before + 1);
    app.stop().await;
});

#[test]
fn markdown_is_sanitised_and_transliterated_outside_links() {
    let html = haven_web::portal::render_markdown(
        "Zdravo <script>alert(1)</script> [veza](warning-signs) <img src=x onerror=alert(1)>",
        true,
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("href=\"warning-signs\""), "{html}");
    assert!(html.contains("Здраво"), "{html}");
}

conformance!(async fn an_upload_over_ten_mib_gives_the_form_back_with_what_was_written(backend) {
    let app = app(backend).await;
    let c = visitor();
    let written = "Poslodavac traži da platim 500 evra za vizu. Da li je ovo legalno?";
    let at = &app;
    let send = |size: usize| {
        let (c, base) = (c.clone(), app.base.clone());
        async move {
            let form = get(&c, at, "/en/send/contract-check").await;
            let token = input(&form.text, "token");
            let mut big = PDF.to_vec();
            big.resize(size, b' ');
            // In the form's order, as a browser sends it: the file first, the question after it.
            let m = reqwest::multipart::Form::new()
                .text("token", token)
                .part("file", reqwest::multipart::Part::bytes(big).file_name("ugovor.pdf"))
                .text("text", written);
            c.post(format!("{base}/en/send/contract-check")).multipart(m).send().await
        }
    };
    // Over 10 MiB: the form again, the question in it, the size said; nothing stored.
    let r = send(haven_web::portal::UPLOAD_LIMIT + 100 * 1024).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = r.text().await.unwrap();
    assert!(text.contains("The file is too large (10.1 MiB); at most 10 MiB can be sent."), "{text}");
    assert!(text.contains(written), "what was written is kept: {text}");
    assert!(text.contains("name=\"token\""), "a form to send again: {text}");
    assert_eq!(contacts(&app).await, 0);
    // Text is kept whole, so it has its own limit: a megabyte of it is refused.
    let form = get(&c, &app, "/en/send/contract-check").await;
    let long = "x".repeat(1024 * 1024);
    let r = send_with_token(&c, &app, "en", "contract-check", &input(&form.text, "token"),
        &[("text", &long)], Some(("file", "c.pdf", PDF.to_vec())), &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Far past it (more than four times): refused at once, either a 413 or the connection closed
    // before the body was read.
    if let Ok(r) = send(4 * haven_web::portal::UPLOAD_LIMIT + 128 * 1024).await {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(!r.text().await.unwrap_or_default().contains(written));
    }
    assert_eq!(contacts(&app).await, 0);
    app.stop().await;
});

conformance!(async fn editors_draft_preview_publish_with_history_and_no_raw_html(backend) {
    let app = app(backend).await;
    let c = visitor();
    let (ed, _) = app.signed_in(&[Role::PortalEditor]).await;
    let list = ed.get("/staff/portal").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("/staff/portal/pages/warning-signs/sr-latn"));
    let path = "/staff/portal/pages/warning-signs/sr-latn";
    let form = ed.get(path).await;
    assert!(form.text.contains("Znaci upozorenja"), "{}", form.text);
    let body = "Novi tekst o **ponudama**.\n\n<script>alert(1)</script>";
    // A preview shows the rendered text and saves nothing.
    let r = ed.submit(path, path, &[("title", "Znaci upozorenja (novo)"), ("body", body), ("do", "preview")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("<strong>ponudama</strong>"));
    assert!(!r.text.contains("<script>alert"));
    // A draft is not shown to readers.
    let r = ed.submit(path, path, &[("title", "Znaci upozorenja (novo)"), ("body", body), ("do", "draft")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = get(&c, &app, "/sr-latn/page/warning-signs").await;
    assert!(!page.text.contains("Novi tekst"));
    // Published: readers see it in Latin and, transliterated, in Cyrillic; no raw HTML.
    let r = ed.submit(path, path, &[("title", "Znaci upozorenja (novo)"), ("body", body), ("do", "publish")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = get(&c, &app, "/sr-latn/page/warning-signs").await;
    assert!(page.text.contains("Novi tekst o <strong>ponudama</strong>"), "{}", page.text);
    assert!(!page.text.contains("<script>alert"));
    let cyr = get(&c, &app, "/sr-cyrl/page/warning-signs").await;
    assert!(cyr.text.contains("Нови текст"), "{}", cyr.text);
    // News: a page whose address starts with news-, listed and in the Atom feed.
    let np = "/staff/portal/pages/news-first/en";
    let r = ed.submit(np, np, &[("title", "The portal is open"), ("body", "We answer within a day."), ("do", "publish")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let news = get(&c, &app, "/en/news").await;
    assert!(news.text.contains("The portal is open"));
    let feed = get(&c, &app, "/en/news.atom").await;
    assert_eq!(feed.headers.get("content-type").unwrap(), "application/atom+xml; charset=utf-8");
    assert!(feed.text.contains("<title>The portal is open</title>"), "{}", feed.text);
    assert!(feed.headers.get("set-cookie").is_none());
    // The history keeps both versions.
    let form = ed.get(path).await;
    let history = &form.text[form.text.find("id=\"history\"").unwrap()..];
    assert_eq!(history.matches("<li>").count(), 2, "{history}");
    assert!(form.text.contains("objavljeno") || form.text.contains("published"));
    assert!(form.text.contains("nacrt") || form.text.contains("draft"));
    // A counsellor may not edit.
    let (co, _) = app.signed_in(&[Role::Counsellor]).await;
    assert_eq!(co.get("/staff/portal").await.status, StatusCode::FORBIDDEN);
    app.stop().await;
});

conformance!(async fn the_sos_number_shows_only_once_the_organisation_has_set_it(backend) {
    // Unset (the default): the footer names 116 000 and the police, and no SOS number at all.
    let app = app(backend).await;
    let c = visitor();
    let page = get(&c, &app, "/en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("116 000"), "{}", page.text);
    assert!(!page.text.contains("SOS hotline"), "{}", page.text);
    drop(app);
    // Set: it is shown in the footer of every language.
    let app = TestApp::spawn_with(backend, |s| {
        s.portal.sos_number = "011 765 4321".into();
    })
    .await;
    for lang in ["en", "sr-latn", "sr-cyrl"] {
        let page = get(&c, &app, &format!("/{lang}")).await;
        assert!(page.text.contains("011 765 4321"), "{lang}: {}", page.text);
    }
});

conformance!(async fn a_visitors_phone_is_found_by_the_desks_lookup_and_an_email_is_indexed(backend) {
    let app = app(backend).await;
    let c = visitor();
    let r = send(
        &c,
        &app,
        "en",
        "question",
        &[("text", "Please call me about a job in Slovakia."), ("contact", "064/123-4567"), ("safe", "yes")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (staff, _) = app.signed_in(&[Role::Counsellor]).await;
    // The same person calls the hotline: the lookup in any spelling shows the portal submission.
    let res = staff.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "+381 64 123 4567")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text.matches("/staff/desk/contacts/").count(), 1, "{}", res.text);
    // An e-mail address goes to the e-mail field's blind index (one phone, one e-mail indexed).
    let r = send(&c, &app, "en", "question", &[("text", "Write to me."), ("contact", "visitor@example.org")], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let q = "SELECT kind, COUNT(*) FROM contact_index GROUP BY kind ORDER BY kind";
    let kinds: Vec<(String, i64)> = match &app.state.db {
        haven_store::Db::Sqlite { read: p, .. } => sqlx::query_as(q).fetch_all(p).await.unwrap(),
        haven_store::Db::Postgres { pool: p, .. } => sqlx::query_as(q).fetch_all(p).await.unwrap(),
    };
    assert_eq!(kinds, vec![("email".to_owned(), 1), ("phone".to_owned(), 1)]);
    app.stop().await;
});
