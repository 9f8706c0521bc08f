//! Cross-site scripting, in a real browser (headless Chromium over WebDriver): every text field
//! of every staff form and portal form is filled with payloads from
//! `bench/attack/xss-payloads.txt` (each made unique to its field), submitted, and then every
//! page found by following the application's links — lists, detail pages, the inbox, search
//! results, the audit log, the portal — is loaded and watched.
//!
//! The watch, installed before any page script runs: `haven_xss(id)` (which every payload calls
//! if it ever runs), `alert`, `confirm`, `prompt` and `print` record their calls; a listener
//! records every Content-Security-Policy violation of scripts; a dialog that opens anyway fails
//! the WebDriver command and is counted too. Because the CSP alone would stop most of these
//! payloads, each page is also checked for what an escaped payload never leaves behind: an event
//! handler, a `javascript:` or `data:` address, a `srcdoc`, a meta refresh or a script element
//! carrying a payload, or a JSON data block that no longer parses. Payloads that show up on a
//! page are counted, so the test cannot pass by showing nothing.
//!
//! Forms are driven generically: a form with text fields gets a payload in each input (all
//! payloads at once in each text area); when the answer names fields to fix, those get a plain
//! valid value and the form is sent again, so everything else is stored. Forms without a text
//! field (buttons that approve, close, disable, sign out) are left alone.
//!
//! Run with `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser_xss -- --nocapture`, or
//! `bench/attack/xss`, which prints `RESULT chromium-xss tried=<payloads shown> failed=<hits>`.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use haven_domain::Role;
use haven_testkit::{Browser, TestApp, TestBackend};
use serde_json::{Value, json};

/// Installed in every page before its own scripts: records payload calls, dialogs and CSP
/// violations in `localStorage` (same origin, so they survive the navigation a payload may
/// cause).
const HOOK: &str = r##"(() => {
  if (window.__hxInstalled) return;
  const K = '__haven_xss_hits';
  const rec = (kind, d) => {
    const e = kind + ' ' + String(d).slice(0, 300) + ' at ' + location.pathname + location.search;
    try {
      const a = JSON.parse(localStorage.getItem(K) || '[]');
      a.push(e);
      localStorage.setItem(K, JSON.stringify(a));
    } catch (_) {}
    try { (window.top.__hxLocal = window.top.__hxLocal || []).push(e); } catch (_) {}
  };
  Object.defineProperty(window, '__hxInstalled', { value: true });
  Object.defineProperty(window, 'haven_xss', {
    value: (id) => rec('script-ran', 'haven_xss(' + id + ')'), writable: false, configurable: false,
  });
  for (const f of ['alert', 'confirm', 'prompt', 'print']) {
    Object.defineProperty(window, f, {
      value: (m) => { rec('dialog', f + '(' + m + ')'); return null; }, writable: false, configurable: false,
    });
  }
  const csp = (e) => {
    const d = String(e.violatedDirective || e.effectiveDirective || '');
    const s = String(e.sample || '');
    if (d.startsWith('script') || d.startsWith('default') || /haven_xss|alert|confirm|prompt/.test(s)) {
      rec('csp-violation', d + ' ' + e.blockedURI + ' ' + s);
    }
  };
  window.addEventListener('securitypolicyviolation', csp, true);
})();"##;

/// Takes the hits recorded so far.
const TAKE_HITS: &str = r##"
  const K = '__haven_xss_hits';
  let a = [];
  try { a = JSON.parse(localStorage.getItem(K) || '[]'); localStorage.removeItem(K); } catch (_) {}
  return a.concat(window.__hxLocal || []).filter((v, i, all) => all.indexOf(v) === i);
"##;

/// What an escaped payload never leaves in a page, and the payload ids the page shows.
const INSPECT: &str = r##"
  const out = { injected: [], shown: [], installed: !!window.__hxInstalled };
  const call = /haven_xss\(|alert\(|confirm\(|prompt\(/;
  const html = document.documentElement.outerHTML;
  for (const m of html.matchAll(/haven_xss\((\d+)\)/g)) out.shown.push(Number(m[1]));
  const bad = (el, why) => out.injected.push(why + ': ' + el.outerHTML.replace(/\s+/g, ' ').slice(0, 200));
  const urlish = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background', 'codebase', 'cite'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const a of Array.from(el.attributes)) {
      const n = a.name.toLowerCase();
      const v = a.value;
      if (!call.test(v)) continue;
      const bare = v.replace(/[\u0000-\u0020]/g, '').toLowerCase();
      if (n.startsWith('on')) bad(el, 'event handler ' + n);
      else if (n === 'srcdoc') bad(el, 'srcdoc');
      else if (urlish.includes(n) && /^(javascript|vbscript|data):/.test(bare)) bad(el, 'script address in ' + n);
      else if (tag === 'meta' && n === 'content' && el.hasAttribute('http-equiv')) bad(el, 'meta refresh');
    }
    if (tag === 'script') {
      const type = (el.getAttribute('type') || '').toLowerCase();
      if (type.includes('json')) {
        try { JSON.parse(el.textContent); } catch (e) { bad(el, 'JSON data block broken'); }
      } else if (call.test(el.textContent) || call.test(el.getAttribute('src') || '')) {
        bad(el, 'script element');
      }
    }
  }
  return out;
"##;

/// Fills the form with action `arguments[1]` and field names `arguments[2]` (or else the one at
/// index `arguments[0]`): every text field gets a
/// payload (a text area gets all of them) unless `arguments[5]` (name → value) says otherwise;
/// then sends it. Returns the fields filled, as [name, first id, count].
const FILL_AND_SEND: &str = r##"
  const [fi, action, names, start, payloads, overrides] = arguments;
  const sig = (x) => Array.from(x.elements).map((el) => el.name).filter((n) => n).sort().join(',');
  const forms = Array.from(document.forms);
  const f = forms.find((x) => (x.getAttribute('action') || location.pathname) === action && sig(x) === names)
    || forms.find((x) => (x.getAttribute('action') || location.pathname) === action)
    || forms[fi];
  if (!f) return null;
  let n = start;
  const used = [];
  const set = (el, v) => {
    const ty = (el.type || '').toLowerCase();
    if (ty === 'file' || ty === 'hidden') return;
    if (ty === 'checkbox' || ty === 'radio') { el.checked = v !== ''; return; }
    if (el.tagName === 'SELECT') {
      const o = Array.from(el.options).find((o) => o.value === v) || Array.from(el.options).find((o) => o.value);
      if (o) el.value = o.value;
      return;
    }
    try { el.value = v; } catch (_) {}
  };
  const seen = new Set();
  for (const el of Array.from(f.elements)) {
    if (!el.name || el.disabled) continue;
    const tag = el.tagName.toLowerCase();
    const ty = (el.type || '').toLowerCase();
    if (Object.prototype.hasOwnProperty.call(overrides, el.name)) {
      if ((ty === 'radio') && seen.has(el.name)) continue;
      seen.add(el.name);
      set(el, overrides[el.name]);
      continue;
    }
    if (el.readOnly || el.tabIndex === -1 || el.closest('[aria-hidden="true"]')) continue;
    const texty = tag === 'textarea' || (tag === 'input' && ['text', 'search', 'email', 'tel', 'url'].includes(ty));
    if (!texty) continue;
    if (tag === 'textarea') {
      // As many payloads as the field takes (its maxlength, or 1900 characters), each on a line.
      const cap = el.maxLength > 0 ? el.maxLength : 1900;
      let text = '';
      let k = 0;
      while (k < payloads.length) {
        const next = payloads[(n + k) % payloads.length].replaceAll('{id}', String(n + k));
        if (text.length + next.length + 1 > cap) break;
        text += (k ? '\n' : '') + next;
        k += 1;
      }
      el.value = text;
      used.push([el.name, n, k]);
      n += k;
    } else {
      el.value = payloads[n % payloads.length].replaceAll('{id}', String(n));
      used.push([el.name, n, 1]);
      n += 1;
    }
  }
  f.noValidate = true;
  const buttons = Array.from(f.querySelectorAll('button, input[type=submit]'))
    .filter((b) => (b.type || 'submit') === 'submit' && !b.disabled);
  const submitter = buttons.find((b) => b.value === 'save') || buttons[0];
  window.__hxOld = true;
  setTimeout(() => { if (submitter) f.requestSubmit(submitter); else f.requestSubmit(); }, 0);
  return used;
"##;

/// The fields a form's answer asks to fix (the error summary's links), with a plain valid value
/// for each, guessed from the field's kind and name.
const FIELDS_TO_FIX: &str = r##"
  const out = {};
  const nav = performance.getEntriesByType('navigation')[0];
  const status = nav && nav.responseStatus ? nav.responseStatus : 0;
  const summary = document.querySelector('#error-summary, .error-summary');
  if (!summary) return { status, fix: null };
  const guess = (el) => {
    const n = (el.name || '').toLowerCase();
    const ty = (el.type || '').toLowerCase();
    if (el.tagName === 'SELECT') { const o = Array.from(el.options).find((o) => o.value); return o ? o.value : ''; }
    if (ty === 'checkbox' || ty === 'radio') return el.value || 'on';
    if (el.list) { const o = Array.from(el.list.options).find((o) => o.value); if (o) return o.value; }
    if (/countr|citizen/.test(n)) return 'RS';
    if (/currency/.test(n)) return 'EUR';
    if (/lang/.test(n)) return 'sr';
    if (/duration/.test(n)) return '1:00';
    if (/case_number/.test(n)) return '';
    if (/format/.test(n)) return '{n}/{year}';
    if (ty === 'datetime-local' || /_at$|due|started/.test(n)) return '2026-11-20T10:00';
    if (ty === 'date' || /_on$|date|deadline|until|review|since/.test(n)) return '2026-11-20';
    if (ty === 'email' || /email/.test(n)) return 'xss@example.org';
    if (ty === 'tel' || /phone|sos/.test(n)) return '+381 64 123 4567';
    if (ty === 'number' || /amount|fee|wage|cost|fine|granted|count|year|minutes|answer/.test(n)) return '1';
    if (ty === 'url' || /url|link|website/.test(n)) return 'https://example.org/x';
    if (/channel/.test(n)) return 'https://example.org/agency';
    if (/offence/.test(n)) return '388-1';
    if (/number|code/.test(n)) return '12345';
    return 'Plain text';
  };
  for (const a of summary.querySelectorAll('a[href^="#"]')) {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    let el = document.getElementById(id) || document.getElementsByName(id)[0];
    if (el && !el.name) el = el.querySelector('[name]') || (el.closest('fieldset') && el.closest('fieldset').querySelector('[name]')) || el;
    if (!el) el = document.querySelector('[name="' + id + '"]');
    if (el && el.name) out[el.name] = guess(el);
  }
  return { status, fix: out, why: summary.textContent.replace(/\s+/g, ' ').slice(0, 400) };
"##;

/// Describes the forms of the page: index, method, action, and whether it has a text field.
const FORMS: &str = r##"
  return Array.from(document.forms).map((f, i) => {
    const texty = Array.from(f.elements).some((el) => !el.disabled && el.name && el.tabIndex !== -1
      && !el.closest('[aria-hidden="true"]')
      && (el.tagName === 'TEXTAREA' || (el.tagName === 'INPUT' && ['text', 'search', 'email', 'tel', 'url'].includes((el.type || '').toLowerCase()))));
    const names = Array.from(f.elements).map((el) => el.name).filter((n) => n).sort().join(',');
    return [i, (f.method || 'get').toLowerCase(), f.getAttribute('action') || location.pathname, texty, names];
  });
"##;

/// The same-origin links of the page.
const LINKS: &str = r##"
  return Array.from(document.querySelectorAll('a[href]'))
    .map((a) => a.href)
    .filter((h) => h.startsWith(location.origin));
"##;

/// The payloads of `bench/attack/xss-payloads.txt`.
fn payloads() -> Vec<String> {
    let path = std::env::var("HAVEN_XSS_PAYLOADS").unwrap_or_else(|_| {
        format!(
            "{}/../../bench/attack/xss-payloads.txt",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("payloads at {path}: {e}"));
    let list: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("# "))
        .map(str::to_owned)
        .collect();
    assert!(
        list.iter().all(|p| p.contains("{id}")),
        "every payload names its field"
    );
    list
}

/// Pages never opened: signing out, files and downloads, feeds, the API, the quick exit, links
/// that change state on GET.
fn skipped(path: &str) -> bool {
    const SKIP: [&str; 16] = [
        "/staff/logout",
        "/staff/link/",
        "/static/",
        "/api/",
        "/metrics",
        "/exit",
        "/documents/",
        "/portal-files/",
        "/screenshots/",
        "/reply-files/",
        ".pdf",
        ".csv",
        ".atom",
        "/staff/desk/export",
        "format=xlsx",
        "/healthz",
    ];
    SKIP.iter().any(|s| path.contains(s)) || path.starts_with("/reply/")
}

/// Forms never sent: signing out, changing the interface language or one's password.
fn form_skipped(action: &str) -> bool {
    [
        "/staff/logout",
        "/staff/profile/language",
        "/staff/profile/password",
        "/exit",
    ]
    .iter()
    .any(|s| action.contains(s))
}

/// A path with its record ids replaced, so that one kind of page is opened a few times, not for
/// every record.
fn shape(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let segs: Vec<String> = p
        .split('/')
        .map(|s| {
            let digits = s.chars().filter(char::is_ascii_digit).count();
            let hexlike = s.len() >= 16 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if hexlike || (digits >= 4 && digits * 2 >= s.len()) {
                "{id}".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    let mut keys: Vec<&str> = q
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split('=').next().unwrap_or(""))
        .collect();
    keys.sort_unstable();
    format!("{}?{}", segs.join("/"), keys.join("&"))
}

/// The whole run: what was filled, what was seen, what ran.
#[derive(Default)]
struct Run {
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Every payload id given out, with the form action and field it went into.
    ids: BTreeMap<u64, String>,
    next_id: u64,
    /// Form fields filled (form action, field name).
    fields: BTreeSet<String>,
    /// Forms sent and accepted / sent and refused in the end.
    forms_stored: BTreeSet<String>,
    forms_refused: BTreeSet<String>,
    /// Answers with a server error (status ≥ 500), by form.
    server_errors: Vec<String>,
    /// Pages opened and checked.
    pages: BTreeSet<String>,
    /// (page, payload id) pairs where a payload was shown and checked.
    shown: BTreeSet<(String, u64)>,
    /// Pages where the hook did not run (not HTML).
    unhooked: BTreeSet<String>,
    /// Everything that went wrong.
    hits: Vec<String>,
}

impl Run {
    fn field_of(&self, id: u64) -> String {
        self.ids
            .range(..=id)
            .next_back()
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| format!("unknown field (id {id})"))
    }

    /// Names the field behind each id in a hit.
    fn explain(&self, hit: &str) -> String {
        let ids: Vec<u64> = hit
            .split('(')
            .skip(1)
            .filter_map(|rest| rest.split(')').next()?.parse().ok())
            .filter(|id| *id >= 1000)
            .collect();
        match ids.first() {
            Some(id) => format!("{hit} [payload {id} typed into {}]", self.field_of(*id)),
            None => hit.to_owned(),
        }
    }
}

/// Waits for the page a form submission leads to (or, when a script handled it in place, for
/// the page to settle).
async fn settle(b: &Browser) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let r = b
            .client
            .execute(
                "return [window.__hxOld === true, document.readyState];",
                vec![],
            )
            .await;
        match r {
            Ok(Value::Array(v)) if v[0] == json!(false) && v[1] == json!("complete") => return,
            Err(e) if e.to_string().contains("alert") => return,
            _ => {}
        }
        if std::time::Instant::now() > deadline {
            return;
        }
    }
}

/// Runs a script; a dialog left open by a payload is a hit, and the dialog is dismissed.
async fn exec(b: &Browser, run: &mut Run, script: &str, args: Vec<Value>) -> Option<Value> {
    match b.client.execute(script, args).await {
        Ok(v) => Some(v),
        Err(e) => {
            let text = e.to_string();
            if text.to_lowercase().contains("alert") || text.to_lowercase().contains("dialog") {
                let msg = b.client.get_alert_text().await.unwrap_or_default();
                let _ = b.client.dismiss_alert().await;
                let hit = format!("dialog opened: {msg:?} at {}", b.path().await);
                run.hits.push(run.explain(&hit));
                None
            } else {
                panic!("script failed: {text}")
            }
        }
    }
}

/// Checks the page shown: hits recorded by the hook, injected markup, payloads shown.
async fn check(b: &Browser, run: &mut Run) {
    let path = b.path().await;
    run.pages.insert(path.clone());
    let Some(hits) = exec(b, run, TAKE_HITS, vec![]).await else {
        return;
    };
    for h in hits.as_array().cloned().unwrap_or_default() {
        let h = h.as_str().unwrap_or_default().to_owned();
        run.hits.push(run.explain(&h));
    }
    let Some(out) = exec(b, run, INSPECT, vec![]).await else {
        return;
    };
    if out["installed"] != json!(true) {
        run.unhooked.insert(path.clone());
    }
    for i in out["injected"].as_array().cloned().unwrap_or_default() {
        let hit = format!(
            "markup injected at {path}: {}",
            i.as_str().unwrap_or_default()
        );
        run.hits.push(run.explain(&hit));
    }
    for id in out["shown"].as_array().cloned().unwrap_or_default() {
        if let Some(id) = id.as_u64() {
            run.shown.insert((path.clone(), id));
        }
    }
}

/// Opens a page and checks it.
async fn visit(b: &Browser, run: &mut Run, path: &str) {
    if let Err(e) = b.client.goto(&format!("{}{path}", run.base)).await {
        let msg = b.client.get_alert_text().await.unwrap_or_default();
        let _ = b.client.dismiss_alert().await;
        run.hits
            .push(run.explain(&format!("opening {path} failed ({e}); dialog {msg:?}")));
    }
    check(b, run).await;
}

/// Fills and sends the form at `index` of `page`, fixing refused fields up to four times.
/// Returns the page it led to.
async fn drive(
    b: &Browser,
    run: &mut Run,
    page: &str,
    form: (u64, &str, &str),
    payloads: &[String],
) -> String {
    let (index, action, names) = form;
    visit(b, run, page).await;
    let mut overrides = serde_json::Map::new();
    let mut why = String::new();
    for attempt in 0..5 {
        let start = run.next_id;
        let Some(used) = exec(
            b,
            run,
            FILL_AND_SEND,
            vec![
                json!(index),
                json!(action),
                json!(names),
                json!(start),
                json!(payloads),
                Value::Object(overrides.clone()),
            ],
        )
        .await
        else {
            return b.path().await;
        };
        for u in used.as_array().cloned().unwrap_or_default() {
            let name = u[0].as_str().unwrap_or_default().to_owned();
            let first = u[1].as_u64().unwrap_or_default();
            let count = u[2].as_u64().unwrap_or(1);
            let field = format!("{action} field {name}");
            run.ids.insert(first, field.clone());
            run.fields.insert(field);
            run.next_id = run.next_id.max(first + count);
        }
        // Ids are spaced so that each submission's are apart from the next.
        run.next_id += 1;
        settle(b).await;
        check(b, run).await;
        let Some(answer) = exec(b, run, FIELDS_TO_FIX, vec![]).await else {
            return b.path().await;
        };
        let status = answer["status"].as_u64().unwrap_or(0);
        if status >= 500 {
            run.server_errors
                .push(format!("{action}: status {status} at {}", b.path().await));
        }
        match &answer["fix"] {
            Value::Object(map) if !map.is_empty() && attempt < 4 => {
                let before = overrides.clone();
                overrides.extend(map.clone());
                if overrides == before {
                    break;
                }
                // Sent again from the page that shows the errors (it keeps the input), or
                // from the start when that page has no such form.
                let again = format!(
                    "return Array.from(document.forms).some((x) => (x.getAttribute('action') || location.pathname) === {});",
                    json!(action)
                );
                if exec(b, run, &again, vec![]).await != Some(json!(true)) {
                    visit(b, run, page).await;
                }
            }
            Value::Null if status < 400 => {
                run.forms_stored.insert(action.to_owned());
                return b.path().await;
            }
            _ => {
                why = format!("status {status}: {}", answer["why"].as_str().unwrap_or(""));
                break;
            }
        }
        why = format!("status {status}: {}", answer["why"].as_str().unwrap_or(""));
    }
    eprintln!("refused in the end: {action} ({why}); fixed {overrides:?}");
    run.forms_refused.insert(action.to_owned());
    b.path().await
}

/// Pages to start from: every section of the staff side and every portal page and form.
fn starts() -> Vec<String> {
    let mut v: Vec<String> = [
        "/staff/",
        "/staff/desk",
        "/staff/desk/new",
        "/staff/desk/new?line=116000",
        "/staff/desk/contacts",
        "/staff/cases",
        "/staff/cases/new",
        "/staff/agencies",
        "/staff/agencies/new",
        "/staff/agencies/register",
        "/staff/proceedings",
        "/staff/proceedings/new",
        "/staff/court/figures",
        "/staff/court/offences",
        "/staff/notifications",
        "/staff/notifications/settings",
        "/staff/letter-templates",
        "/staff/institutions",
        "/staff/institutions/import",
        "/staff/users",
        "/staff/users/new",
        "/staff/profile",
        "/staff/portal",
        "/staff/portal/new",
        "/staff/break-glass",
        "/staff/audit",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for lang in ["en", "sr-latn", "sr-cyrl"] {
        v.push(format!("/{lang}"));
        v.push(format!("/{lang}/news"));
        v.push(format!("/{lang}/self-check"));
        v.push(format!("/{lang}/agency-check"));
        v.push(format!("/{lang}/follow-up"));
        for kind in [
            "report",
            "contract-check",
            "question",
            "missing-child",
            "self-check",
        ] {
            v.push(format!("/{lang}/send/{kind}"));
        }
    }
    v
}

async fn the_whole_application(app: &TestApp) -> Run {
    let payloads = payloads();
    let user = app.add_user(&Role::ALL).await;
    let b = Browser::start(&app.base).await;
    b.sign_in_first_time(app, &user).await;
    b.on_every_page(HOOK).await;
    let mut run = Run {
        next_id: 1000,
        base: app.base.clone(),
        ..Run::default()
    };

    // Crawl: open pages, follow links, drive each kind of form once.
    let mut queue: VecDeque<String> = starts().into();
    let mut opened: Vec<String> = Vec::new();
    let mut per_shape: HashMap<String, usize> = HashMap::new();
    let mut forms_done: BTreeSet<String> = BTreeSet::new();
    let max_pages: usize = std::env::var("HAVEN_XSS_MAX_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    while let Some(page) = queue.pop_front() {
        if opened.len() >= max_pages {
            break;
        }
        if skipped(&page) || opened.contains(&page) {
            continue;
        }
        let n = per_shape.entry(shape(&page)).or_default();
        if *n >= 3 {
            continue;
        }
        *n += 1;
        visit(&b, &mut run, &page).await;
        let here = b.path().await;
        if here.starts_with("/staff/login") {
            panic!("signed out while crawling, at {page}");
        }
        opened.push(page.clone());
        let base = app.base.clone();
        if let Some(Value::Array(links)) = exec(&b, &mut run, LINKS, vec![]).await {
            for l in links {
                let l = l.as_str().unwrap_or_default();
                let path = l
                    .trim_start_matches(&base)
                    .split('#')
                    .next()
                    .unwrap_or("")
                    .to_owned();
                if !path.is_empty() && !skipped(&path) && !opened.contains(&path) {
                    queue.push_back(path);
                }
            }
        }
        let Some(Value::Array(forms)) = exec(&b, &mut run, FORMS, vec![]).await else {
            continue;
        };
        for f in forms {
            let index = f[0].as_u64().unwrap_or_default();
            let action = f[2].as_str().unwrap_or_default().to_owned();
            let texty = f[3].as_bool().unwrap_or(false);
            let key = format!(
                "{} {} [{}]",
                f[1].as_str().unwrap_or(""),
                shape(&action),
                f[4].as_str().unwrap_or("")
            );
            if !texty || form_skipped(&action) || forms_done.contains(&key) {
                continue;
            }
            forms_done.insert(key);
            let names = f[4].as_str().unwrap_or_default().to_owned();
            let landed = drive(&b, &mut run, &page, (index, &action, &names), &payloads).await;
            if !skipped(&landed) && !opened.contains(&landed) {
                queue.push_front(landed);
            }
        }
    }

    // Everything stored is now in place: open every page again and check it.
    for page in &opened {
        visit(&b, &mut run, page).await;
    }
    b.close().await;
    eprintln!(
        "forms sent: {} kinds, {} stored, {} refused in the end: {:?}",
        forms_done.len(),
        run.forms_stored.len(),
        run.forms_refused.len(),
        run.forms_refused
    );
    run
}

haven_testkit::browser_test! {
    async fn no_payload_in_any_text_field_runs_on_any_page() {
        let app = TestApp::spawn_with(TestBackend::Sqlite, |s| {
            s.session.idle_timeout_minutes = 24 * 60;
            s.session.absolute_lifetime_hours = 72;
            s.portal.challenge_after = 1000;
            s.portal.refuse_after = 2000;
            s.portal.exit_url = "/healthz".into();
        })
        .await;
        let mut run = the_whole_application(&app).await;
        run.hits.sort();
        run.hits.dedup();
        let fields = run.fields.len();
        let pages = run.pages.len();
        let shown = run.shown.len();
        let stored_ids: BTreeSet<u64> = run.shown.iter().map(|(_, id)| *id).collect();
        eprintln!("fields filled: {fields}");
        for f in &run.fields {
            eprintln!("  {f}");
        }
        eprintln!("forms stored: {:?}", run.forms_stored);
        eprintln!("pages checked: {pages}");
        eprintln!("pages the hook could not watch (not HTML): {:?}", run.unhooked);
        eprintln!("payloads shown and checked (page, payload): {shown}; distinct payloads seen: {}", stored_ids.len());
        for e in &run.server_errors {
            eprintln!("SERVER ERROR {e}");
        }
        for h in &run.hits {
            eprintln!("HIT {h}");
        }
        eprintln!("RESULT chromium-xss tried={shown} failed={}", run.hits.len());
        // The run reached the application: many fields, pages and payloads shown back.
        assert!(fields >= 60, "only {fields} fields were filled");
        assert!(pages >= 80, "only {pages} pages were checked");
        assert!(shown >= 500, "only {shown} payloads were shown back");
        for must in [
            "/staff/desk/new",
            "/staff/cases/new",
            "/staff/agencies/new",
            "/staff/proceedings/new",
            "/staff/notifications/new",
        ] {
            assert!(
                run.forms_stored.iter().any(|f| f == must),
                "the form {must} was stored: {:?}",
                run.forms_stored
            );
        }
        assert!(run.hits.is_empty(), "{} cross-site scripting hits:\n{}", run.hits.len(), run.hits.join("\n"));
        assert!(run.server_errors.is_empty(), "server errors: {:?}", run.server_errors);
        app.stop().await;
    }
}
