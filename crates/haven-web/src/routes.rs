//! The route table: every route of the application, with what it requires of the person asking.
//!
//! The router is built from this table, so a route cannot exist without an entry that states its
//! access; the authorisation test walks the same table for every role, for an anonymous visitor
//! and for a member of another organisation, and fails when a route appears that its own
//! expectations do not list.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use haven_domain::policy::Permission;

use crate::auth::Access;
use crate::state::AppState;
use crate::{api, api_agencies, api_desk, ops, portal, staff};

/// One route's contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The method.
    pub method: Method,
    /// The path pattern (axum syntax, `{id}` for parameters).
    pub path: &'static str,
    /// What it requires.
    pub access: Access,
}

/// A route: its contract and its handler.
pub struct Route {
    /// The contract.
    pub spec: RouteSpec,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

fn get_<H, T>(path: &'static str, access: Access, h: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        spec: RouteSpec {
            method: Method::GET,
            path,
            access,
        },
        handler: get(h),
    }
}

fn post_<H, T>(path: &'static str, access: Access, h: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        spec: RouteSpec {
            method: Method::POST,
            path,
            access,
        },
        handler: post(h),
    }
}

/// A POST route that takes uploaded files: axum's own 2 MiB default is lifted, the body limit
/// of the upload routes ([`crate::app::UPLOAD_ROUTES`]) applies instead.
fn upload_<H, T>(path: &'static str, access: Access, h: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        spec: RouteSpec {
            method: Method::POST,
            path,
            access,
        },
        handler: post(h).layer(axum::extract::DefaultBodyLimit::disable()),
    }
}

/// Every route.
pub fn table() -> Vec<Route> {
    use Access::{Public, SecondFactor, SignIn, Staff};
    use Permission as P;
    vec![
        // Operations and assets.
        get_("/", Public, portal::root),
        get_("/healthz", Public, ops::healthz),
        get_("/readyz", Public, ops::readyz),
        get_("/metrics", Public, ops::metrics),
        get_("/static/{file}", Public, ops::asset),
        // Getting in and out.
        get_("/staff/link/{token}", SignIn, staff::access::link_form),
        post_("/staff/link/{token}", SignIn, staff::access::link_submit),
        get_("/staff/login", SignIn, staff::access::login_form),
        post_("/staff/login", SignIn, staff::access::login_submit),
        post_("/staff/logout", SignIn, staff::access::logout),
        // The second factor, after the password.
        get_(
            "/staff/enrol",
            SecondFactor,
            staff::second_factor::enrol_form,
        ),
        post_(
            "/staff/enrol",
            SecondFactor,
            staff::second_factor::enrol_submit,
        ),
        get_(
            "/staff/login/second-factor",
            SecondFactor,
            staff::second_factor::second_factor_form,
        ),
        post_(
            "/staff/login/second-factor",
            SecondFactor,
            staff::second_factor::second_factor_submit,
        ),
        // Home and profile.
        get_("/staff/", Staff(P::UseStaffApp), staff::home::home),
        get_(
            "/staff/profile",
            Staff(P::UseStaffApp),
            staff::profile::show,
        ),
        post_(
            "/staff/profile/language",
            Staff(P::UseStaffApp),
            staff::profile::set_language,
        ),
        post_(
            "/staff/profile/password",
            Staff(P::UseStaffApp),
            staff::profile::change_password,
        ),
        post_(
            "/staff/profile/recovery-codes",
            Staff(P::UseStaffApp),
            staff::second_factor::regenerate_recovery_codes,
        ),
        post_(
            "/staff/profile/tokens",
            Staff(P::UseStaffApp),
            staff::tokens::create,
        ),
        post_(
            "/staff/profile/tokens/{id}/revoke",
            Staff(P::UseStaffApp),
            staff::tokens::revoke,
        ),
        post_(
            "/staff/profile/sessions/{sid}/end",
            Staff(P::UseStaffApp),
            staff::profile::end_session,
        ),
        // Staff accounts.
        get_("/staff/users", Staff(P::ManageUsers), staff::users::list),
        get_(
            "/staff/users/new",
            Staff(P::ManageUsers),
            staff::users::new_form,
        ),
        post_(
            "/staff/users/new",
            Staff(P::ManageUsers),
            staff::users::create,
        ),
        get_(
            "/staff/users/{id}",
            Staff(P::ManageUsers),
            staff::users::show,
        ),
        post_(
            "/staff/users/{id}/roles",
            Staff(P::ManageUsers),
            staff::users::set_roles,
        ),
        post_(
            "/staff/users/{id}/disable",
            Staff(P::ManageUsers),
            staff::users::disable,
        ),
        post_(
            "/staff/users/{id}/enable",
            Staff(P::ManageUsers),
            staff::users::enable,
        ),
        post_(
            "/staff/users/{id}/reset-password",
            Staff(P::ManageUsers),
            staff::users::reset_password,
        ),
        post_(
            "/staff/users/{id}/reset-second-factor",
            Staff(P::ManageUsers),
            staff::users::reset_second_factor,
        ),
        post_(
            "/staff/users/{id}/unlock",
            Staff(P::ManageUsers),
            staff::users::unlock,
        ),
        post_(
            "/staff/users/{id}/sessions/{sid}/end",
            Staff(P::ManageUsers),
            staff::users::end_session,
        ),
        // The audit log.
        get_("/staff/audit", Staff(P::ViewAudit), staff::audit::list),
        post_(
            "/staff/audit/verify",
            Staff(P::ViewAudit),
            staff::audit::verify,
        ),
        // Institutions.
        get_(
            "/staff/institutions",
            Staff(P::ViewInstitutions),
            staff::institutions::list,
        ),
        // Cases.
        get_("/staff/cases", Staff(P::ViewCases), staff::cases::list),
        get_(
            "/staff/cases/new",
            Staff(P::EditCases),
            staff::cases::new_form,
        ),
        post_(
            "/staff/cases/new",
            Staff(P::EditCases),
            staff::cases::create,
        ),
        post_(
            "/staff/cases/from-contact",
            Staff(P::EditCases),
            staff::cases::from_contact,
        ),
        post_(
            "/staff/cases/link-contact",
            Staff(P::EditCases),
            staff::cases::link_contact_by_number,
        ),
        get_("/staff/cases/{id}", Staff(P::ViewCases), staff::cases::show),
        post_(
            "/staff/cases/{id}/details",
            Staff(P::EditCases),
            staff::cases::update_details,
        ),
        post_(
            "/staff/cases/{id}/team",
            Staff(P::EditCases),
            staff::cases::team,
        ),
        post_(
            "/staff/cases/{id}/status",
            Staff(P::EditCases),
            staff::cases::status,
        ),
        post_(
            "/staff/cases/{id}/closure/approve",
            Staff(P::ApproveClosure),
            staff::cases::approve_closure,
        ),
        post_(
            "/staff/cases/{id}/closure/reject",
            Staff(P::ApproveClosure),
            staff::cases::reject_closure,
        ),
        post_(
            "/staff/cases/{id}/notes",
            Staff(P::EditCases),
            staff::cases::add_note,
        ),
        post_(
            "/staff/cases/{id}/people",
            Staff(P::EditCases),
            staff::cases::add_person,
        ),
        post_(
            "/staff/cases/{id}/people/{pid}/remove",
            Staff(P::EditCases),
            staff::cases::remove_person,
        ),
        post_(
            "/staff/cases/{id}/services",
            Staff(P::EditCases),
            staff::cases::add_service,
        ),
        post_(
            "/staff/cases/{id}/services/{sid}",
            Staff(P::EditCases),
            staff::cases::update_service,
        ),
        post_(
            "/staff/cases/{id}/tasks",
            Staff(P::EditCases),
            staff::cases::add_task,
        ),
        post_(
            "/staff/cases/{id}/tasks/{tid}/done",
            Staff(P::EditCases),
            staff::cases::task_done,
        ),
        upload_(
            "/staff/cases/{id}/documents",
            Staff(P::EditCases),
            staff::documents::upload,
        ),
        get_(
            "/staff/cases/{id}/documents/{did}",
            Staff(P::ViewCases),
            staff::documents::download,
        ),
        post_(
            "/staff/cases/{id}/consents",
            Staff(P::EditCases),
            staff::cases::add_consent,
        ),
        post_(
            "/staff/cases/{id}/contacts",
            Staff(P::EditCases),
            staff::cases::link_contact,
        ),
        get_(
            "/staff/cases/{id}/break-glass",
            Staff(P::ViewCases),
            staff::cases::break_glass_form,
        ),
        post_(
            "/staff/cases/{id}/break-glass",
            Staff(P::ViewCases),
            staff::cases::break_glass,
        ),
        get_(
            "/staff/break-glass",
            Staff(P::ViewAudit),
            staff::cases::grants,
        ),
        get_(
            "/staff/people/{id}",
            Staff(P::ViewCases),
            staff::people::show,
        ),
        post_(
            "/staff/people/{id}",
            Staff(P::EditCases),
            staff::people::update,
        ),
        post_(
            "/staff/people/{id}/merge",
            Staff(P::EditCases),
            staff::people::merge,
        ),
        // JSON API.
        get_("/api/openapi.json", Public, api::openapi),
        get_("/api/v1/me", Staff(P::UseStaffApp), api::me),
        post_(
            "/api/v1/me/language",
            Staff(P::UseStaffApp),
            api::set_my_language,
        ),
        get_(
            "/api/v1/institutions",
            Staff(P::ViewInstitutions),
            api::institutions,
        ),
        get_("/api/v1/cases", Staff(P::ViewCases), api::cases),
        get_("/api/v1/cases/{id}", Staff(P::ViewCases), api::case),
        // Court proceedings and the advocacy figures.
        get_(
            "/staff/proceedings",
            Staff(P::ViewProceedings),
            staff::court::list,
        ),
        get_(
            "/staff/proceedings/new",
            Staff(P::EditProceedings),
            staff::court::new_form,
        ),
        post_(
            "/staff/proceedings/new",
            Staff(P::EditProceedings),
            staff::court::create,
        ),
        get_(
            "/staff/proceedings/{id}",
            Staff(P::ViewProceedings),
            staff::court::show,
        ),
        post_(
            "/staff/proceedings/{id}/numbers",
            Staff(P::EditProceedings),
            staff::court::add_number,
        ),
        post_(
            "/staff/proceedings/{id}/cases",
            Staff(P::EditProceedings),
            staff::court::link_case,
        ),
        post_(
            "/staff/proceedings/{id}/defendants",
            Staff(P::EditProceedings),
            staff::court::add_defendant,
        ),
        post_(
            "/staff/proceedings/{id}/charges",
            Staff(P::EditProceedings),
            staff::court::add_charge,
        ),
        post_(
            "/staff/proceedings/{id}/events",
            Staff(P::EditProceedings),
            staff::court::add_event,
        ),
        post_(
            "/staff/proceedings/{id}/claims",
            Staff(P::EditProceedings),
            staff::court::add_claim,
        ),
        post_(
            "/staff/proceedings/{id}/claims/decision",
            Staff(P::EditProceedings),
            staff::court::decide_claim,
        ),
        post_(
            "/staff/proceedings/{id}/awards",
            Staff(P::EditProceedings),
            staff::court::add_award,
        ),
        post_(
            "/staff/proceedings/{id}/payments",
            Staff(P::EditProceedings),
            staff::court::add_payment,
        ),
        post_(
            "/staff/proceedings/{id}/enforcement",
            Staff(P::EditProceedings),
            staff::court::add_step,
        ),
        post_(
            "/staff/proceedings/{id}/fund",
            Staff(P::EditProceedings),
            staff::court::add_fund,
        ),
        post_(
            "/staff/court/offences",
            Staff(P::EditProceedings),
            staff::court::add_offence,
        ),
        get_(
            "/staff/court/figures",
            Staff(P::ViewCourtFigures),
            staff::court::figures,
        ),
        get_(
            "/staff/court/figures.csv",
            Staff(P::ViewCourtFigures),
            staff::court::figures_csv,
        ),
        get_(
            "/staff/court/figures/proceedings",
            Staff(P::ViewProceedings),
            staff::court::figure_proceedings,
        ),
        get_(
            "/api/v1/proceedings",
            Staff(P::ViewProceedings),
            api::proceedings,
        ),
        get_(
            "/api/v1/court/figures",
            Staff(P::ViewCourtFigures),
            api::court_figures,
        ),
        // The hotline desk.
        get_("/staff/desk", Staff(P::ViewContacts), staff::desk::inbox),
        post_(
            "/staff/desk/handover",
            Staff(P::EditContacts),
            staff::desk::handover,
        ),
        get_(
            "/staff/desk/new",
            Staff(P::EditContacts),
            staff::desk::new_form,
        ),
        post_(
            "/staff/desk/new",
            Staff(P::EditContacts),
            staff::desk::create,
        ),
        post_(
            "/staff/desk/draft",
            Staff(P::EditContacts),
            staff::desk::autosave,
        ),
        post_(
            "/staff/desk/lookup",
            Staff(P::ViewContacts),
            staff::desk::lookup_fragment,
        ),
        get_(
            "/staff/desk/contacts",
            Staff(P::ViewContacts),
            staff::desk::search,
        ),
        post_(
            "/staff/desk/search",
            Staff(P::ViewContacts),
            staff::desk::search_post,
        ),
        post_(
            "/staff/desk/export",
            Staff(P::ExportContacts),
            staff::desk::export,
        ),
        get_(
            "/staff/desk/contacts/{id}",
            Staff(P::ViewContacts),
            staff::desk::show,
        ),
        get_(
            "/staff/desk/contacts/{id}/edit",
            Staff(P::EditContacts),
            staff::desk::edit_form,
        ),
        post_(
            "/staff/desk/contacts/{id}",
            Staff(P::EditContacts),
            staff::desk::update,
        ),
        post_(
            "/staff/desk/contacts/{id}/void",
            Staff(P::EditContacts),
            staff::desk::void,
        ),
        post_(
            "/staff/desk/contacts/{id}/checks",
            Staff(P::EditContacts),
            staff::desk::tick,
        ),
        post_(
            "/staff/desk/contacts/{id}/flags",
            Staff(P::EditContacts),
            staff::desk::flag,
        ),
        post_(
            "/staff/desk/contacts/{id}/tasks",
            Staff(P::EditContacts),
            staff::desk::add_task,
        ),
        post_(
            "/staff/desk/contacts/{id}/tasks/{tid}/done",
            Staff(P::EditContacts),
            staff::desk::task_done,
        ),
        post_(
            "/staff/desk/contacts/{id}/assign",
            Staff(P::EditContacts),
            staff::desk::assign,
        ),
        post_(
            "/staff/desk/contacts/{id}/person",
            Staff(P::EditContacts),
            staff::desk::set_person,
        ),
        post_("/api/v1/contacts", Staff(P::EditContacts), api_desk::create),
        post_(
            "/api/v1/contacts/search",
            Staff(P::ViewContacts),
            api_desk::search,
        ),
        get_(
            "/api/v1/contacts/{id}",
            Staff(P::ViewContacts),
            api_desk::get,
        ),
        post_(
            "/api/v1/contacts/{id}",
            Staff(P::EditContacts),
            api_desk::update,
        ),
        post_(
            "/api/v1/contacts/{id}/void",
            Staff(P::EditContacts),
            api_desk::void,
        ),
        // Written notifications and referrals, letter templates, and the reply link.
        get_(
            "/staff/notifications",
            Staff(P::ViewNotifications),
            staff::referrals::list,
        ),
        get_(
            "/staff/notifications/new",
            Staff(P::WriteNotifications),
            staff::referrals::new_form,
        ),
        post_(
            "/staff/notifications/new",
            Staff(P::WriteNotifications),
            staff::referrals::create,
        ),
        get_(
            "/staff/notifications/{id}",
            Staff(P::ViewNotifications),
            staff::referrals::show,
        ),
        get_(
            "/staff/notifications/{id}/letter.pdf",
            Staff(P::ViewNotifications),
            staff::referrals::pdf,
        ),
        post_(
            "/staff/notifications/{id}/submit",
            Staff(P::WriteNotifications),
            staff::referrals::submit,
        ),
        post_(
            "/staff/notifications/{id}/approve",
            Staff(P::ApproveNotifications),
            staff::referrals::approve,
        ),
        post_(
            "/staff/notifications/{id}/reject",
            Staff(P::ApproveNotifications),
            staff::referrals::reject,
        ),
        post_(
            "/staff/notifications/{id}/send",
            Staff(P::WriteNotifications),
            staff::referrals::send,
        ),
        post_(
            "/staff/notifications/{id}/outcome",
            Staff(P::WriteNotifications),
            staff::referrals::outcome,
        ),
        get_(
            "/staff/letter-templates",
            Staff(P::ApproveNotifications),
            staff::referrals::templates,
        ),
        post_(
            "/staff/letter-templates",
            Staff(P::ApproveNotifications),
            staff::referrals::save_template,
        ),
        get_(
            "/staff/institutions/import",
            Staff(P::ManageInstitutions),
            staff::institutions::import_form,
        ),
        post_(
            "/staff/institutions/import",
            Staff(P::ManageInstitutions),
            staff::institutions::import,
        ),
        get_(
            "/staff/institutions/{id}",
            Staff(P::ManageInstitutions),
            staff::institutions::edit_form,
        ),
        post_(
            "/staff/institutions/{id}",
            Staff(P::ManageInstitutions),
            staff::institutions::update,
        ),
        get_("/reply/{token}", Public, staff::referrals::reply_form),
        upload_("/reply/{token}", Public, staff::referrals::reply_submit),
        // The public portal (no session, no cookie; see `portal`).
        get_("/exit", Public, portal::exit),
        get_("/{lang}", Public, portal::home),
        get_("/{lang}/page/{slug}", Public, portal::page),
        get_(portal::SEND_ROUTE, Public, portal::form),
        upload_(portal::SEND_ROUTE, Public, portal::send),
        get_("/{lang}/self-check", Public, portal::self_check_start),
        post_("/{lang}/self-check", Public, portal::self_check_next),
        get_("/{lang}/follow-up", Public, portal::follow_up_form),
        post_("/{lang}/follow-up", Public, portal::follow_up),
        // The portal seen from the desk: answering a visitor, reading what they sent.
        post_(
            "/staff/desk/contacts/{id}/portal-answer",
            Staff(P::EditContacts),
            staff::desk::portal_answer,
        ),
        get_(
            "/staff/desk/contacts/{id}/portal-files/{fid}",
            Staff(P::ViewContacts),
            staff::desk::portal_file,
        ),
        get_("/{lang}/news", Public, portal::news),
        get_("/{lang}/news.atom", Public, portal::news_feed),
        // The portal's editors.
        get_("/staff/portal", Staff(P::EditPortal), staff::portal::pages),
        get_(
            "/staff/portal/new",
            Staff(P::EditPortal),
            staff::portal::new_page,
        ),
        get_(
            "/staff/portal/pages/{slug}/{lang}",
            Staff(P::EditPortal),
            staff::portal::edit,
        ),
        post_(
            "/staff/portal/pages/{slug}/{lang}",
            Staff(P::EditPortal),
            staff::portal::save,
        ),
        // Correcting and withdrawing what was recorded about a proceeding.
        get_(
            "/staff/proceedings/{id}/corrections/{kind}/{tid}",
            Staff(P::EditProceedings),
            staff::court::correct_form,
        ),
        post_(
            "/staff/proceedings/{id}/corrections/{kind}/{tid}",
            Staff(P::EditProceedings),
            staff::court::correct,
        ),
        post_(
            "/staff/proceedings/{id}/withdrawals/{kind}/{tid}",
            Staff(P::EditProceedings),
            staff::court::withdraw,
        ),
        // Agencies and job-offer reports; the portal's agency check.
        get_(
            "/staff/agencies",
            Staff(P::ViewAgencies),
            staff::agencies::list,
        ),
        post_(
            "/staff/agencies/search",
            Staff(P::ViewAgencies),
            staff::agencies::search,
        ),
        get_(
            "/staff/agencies/new",
            Staff(P::EditAgencies),
            staff::agencies::new_form,
        ),
        post_(
            "/staff/agencies/new",
            Staff(P::EditAgencies),
            staff::agencies::create,
        ),
        get_(
            "/staff/agencies/reports/new",
            Staff(P::EditAgencies),
            staff::agencies::report_form_page,
        ),
        post_(
            "/staff/agencies/reports",
            Staff(P::EditAgencies),
            staff::agencies::report,
        ),
        get_(
            "/staff/agencies/{id}",
            Staff(P::ViewAgencies),
            staff::agencies::show,
        ),
        get_(
            "/staff/agencies/{id}/edit",
            Staff(P::EditAgencies),
            staff::agencies::edit_form,
        ),
        post_(
            "/staff/agencies/{id}/edit",
            Staff(P::EditAgencies),
            staff::agencies::update,
        ),
        post_(
            "/staff/agencies/{id}/aliases",
            Staff(P::EditAgencies),
            staff::agencies::add_alias,
        ),
        post_(
            "/staff/agencies/{id}/aliases/{did}/remove",
            Staff(P::EditAgencies),
            staff::agencies::remove_alias,
        ),
        post_(
            "/staff/agencies/{id}/channels",
            Staff(P::EditAgencies),
            staff::agencies::add_channel,
        ),
        post_(
            "/staff/agencies/{id}/channels/{did}/remove",
            Staff(P::EditAgencies),
            staff::agencies::remove_channel,
        ),
        post_(
            "/staff/agencies/{id}/actions",
            Staff(P::EditAgencies),
            staff::agencies::add_action,
        ),
        post_(
            "/staff/agencies/{id}/warning",
            Staff(P::PublishAgencyWarnings),
            staff::agencies::warning,
        ),
        upload_(
            "/staff/agencies/{id}/reports/{rid}/screenshot",
            Staff(P::EditAgencies),
            staff::agencies::add_report_screenshot,
        ),
        get_(
            "/staff/agencies/{id}/screenshots/{fid}",
            Staff(P::ViewAgencies),
            staff::agencies::screenshot,
        ),
        get_(
            "/api/v1/agencies",
            Staff(P::ViewAgencies),
            api_agencies::list,
        ),
        post_(
            "/api/v1/agencies",
            Staff(P::EditAgencies),
            api_agencies::create,
        ),
        post_(
            "/api/v1/agencies/search",
            Staff(P::ViewAgencies),
            api_agencies::search,
        ),
        get_(
            "/api/v1/agencies/{id}",
            Staff(P::ViewAgencies),
            api_agencies::get,
        ),
        post_(
            "/api/v1/agencies/{id}/reports",
            Staff(P::EditAgencies),
            api_agencies::report,
        ),
        get_("/{lang}/agency-check", Public, portal::agency_check_form),
        post_("/{lang}/agency-check", Public, portal::agency_check),
        // The official register of licensed agencies.
        get_(
            "/staff/agencies/register",
            Staff(P::ImportRegister),
            staff::register::index,
        ),
        upload_(
            "/staff/agencies/register",
            Staff(P::ImportRegister),
            staff::register::upload,
        ),
        get_(
            "/staff/agencies/register/imports/{id}",
            Staff(P::ImportRegister),
            staff::register::show,
        ),
        post_(
            "/staff/agencies/register/imports/{id}/mapping",
            Staff(P::ImportRegister),
            staff::register::save_mapping,
        ),
        post_(
            "/staff/agencies/register/imports/{id}/confirm",
            Staff(P::ImportRegister),
            staff::register::confirm,
        ),
        // The files institutions attach to their replies (issue 6).
        get_(
            "/staff/notifications/{id}/reply-files/{fid}",
            Staff(P::ViewNotifications),
            staff::referrals::reply_file,
        ),
        // The notification settings: protocol numbers, approval, letterhead and signature.
        get_(
            "/staff/notifications/settings",
            Staff(P::ApproveNotifications),
            staff::referrals::settings_form,
        ),
        post_(
            "/staff/notifications/settings",
            Staff(P::ApproveNotifications),
            staff::referrals::save_settings,
        ),
    ]
}

/// Every route's contract.
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|r| r.spec).collect()
}
