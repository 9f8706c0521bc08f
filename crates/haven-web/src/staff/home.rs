//! The staff home page: what this person can do, and what needs them.

use askama::Template;
use axum::response::Response;
use haven_domain::policy::Permission;
use haven_store::{sessions, users};

use crate::error::AppResult;

use crate::ui::{Ctx, Page, render};

#[derive(Template)]
#[template(path = "staff/home.html")]
struct Home<'a> {
    page: Page<'a>,
    greeting: String,
    roles: Vec<String>,
    org_name: String,
    my_sessions: usize,
    staff_count: Option<i64>,
    invited_count: Option<usize>,
    locked_count: usize,
    can_institutions: bool,
    can_users: bool,
    cases: Option<Dashboard>,
    can_court_figures: bool,
}

/// The case work that needs this person, for the home page.
pub struct Dashboard {
    my_cases: Vec<super::cases::CaseRow>,
    tasks: Vec<DueTask>,
    quiet: Vec<super::cases::CaseRow>,
    quiet_days: u32,
    missing: Vec<super::cases::CaseRow>,
    closures: Vec<super::cases::CaseRow>,
    overdue: Vec<super::referrals::NotificationListRow>,
    /// Notifications institutions answered or acknowledged since this person last opened them.
    replies: Vec<super::referrals::NotificationListRow>,
}

/// A task due, as the home page shows it.
pub struct DueTask {
    case_id: String,
    number: String,
    title: String,
    due: String,
    urgency: &'static str,
}

async fn dashboard(ctx: &Ctx) -> AppResult<Dashboard> {
    use haven_domain::cases::Urgency;
    use haven_store::cases::{self, CaseFilter};
    let me = ctx.user()?;
    let db = &ctx.state.db;
    let now = ctx.state.now();
    let org = me.org();
    let mine = cases::list(
        db,
        org,
        &CaseFilter {
            open_only: true,
            advisor: Some(me.user.id),
            ..CaseFilter::default()
        },
        100,
    )
    .await?;
    let days = ctx.state.settings.cases.inactive_after_days;
    let since = now - chrono::TimeDelta::days(i64::from(days));
    let supervisor = me.actor().can(Permission::ApproveClosure);
    let quiet = cases::list(
        db,
        org,
        &CaseFilter {
            open_only: true,
            inactive_since: Some(since),
            advisor: (!supervisor).then_some(me.user.id),
            ..CaseFilter::default()
        },
        50,
    )
    .await?;
    let missing = cases::list(
        db,
        org,
        &CaseFilter {
            open_only: true,
            still_missing: true,
            ..CaseFilter::default()
        },
        100,
    )
    .await?;
    let closures: Vec<_> = if supervisor {
        cases::list(
            db,
            org,
            &CaseFilter {
                open_only: true,
                ..CaseFilter::default()
            },
            500,
        )
        .await?
        .into_iter()
        .filter(|c| c.closure_request.is_some())
        .collect()
    } else {
        Vec::new()
    };
    let ring = ctx.state.keys.get(org).await?;
    let granted = cases::granted_cases(db, org, me.user.id, now).await?;
    let mut tasks = Vec::new();
    for t in cases::tasks_due(
        db,
        &ring,
        org,
        me.user.id,
        now + chrono::TimeDelta::hours(24),
        50,
    )
    .await?
    {
        let Some(s) = cases::summary(db, org, t.case_id).await? else {
            continue;
        };
        if !haven_domain::policy::case_access(&me.actor(), &s.facts(), granted.contains(&s.id))
            .allowed()
        {
            continue;
        }
        tasks.push(DueTask {
            case_id: s.id.to_string(),
            number: s.number,
            title: t.title,
            due: t.due_at.map(|d| ctx.time(d)).unwrap_or_default(),
            urgency: t
                .due_at
                .map(|d| Urgency::of(d, now, chrono::TimeDelta::hours(4)).code())
                .unwrap_or("ok"),
        });
    }
    Ok(Dashboard {
        my_cases: super::cases::case_rows(ctx, mine).await?,
        tasks,
        quiet: super::cases::case_rows(ctx, quiet).await?,
        quiet_days: days,
        missing: super::cases::case_rows(ctx, missing).await?,
        closures: super::cases::case_rows(ctx, closures).await?,
        overdue: super::referrals::overdue_rows(ctx).await?,
        replies: super::referrals::unseen_rows(ctx).await?,
    })
}

/// GET /staff/.
pub async fn home(ctx: Ctx) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let state = &ctx.state;
    let now = state.now();
    let idle_since =
        now - chrono::TimeDelta::minutes(i64::from(state.settings.session.idle_timeout_minutes));
    let my_sessions = sessions::list_open(&state.db, me.org(), Some(me.user.id), now, idle_since)
        .await?
        .len();
    let actor = me.actor();
    let locked_count = if actor.can(Permission::ManageUsers) {
        users::locked(&state.db, me.org(), now).await?.len()
    } else {
        0
    };
    let (staff_count, invited_count) = if actor.can(Permission::ManageUsers) {
        let all = users::list(&state.db, me.org()).await?;
        let invited = all
            .iter()
            .filter(|u| u.status == users::UserStatus::Invited)
            .count();
        (Some(all.len() as i64), Some(invited))
    } else {
        (None, None)
    };
    let org_name = haven_store::orgs::get(&state.db, me.org())
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    render(&Home {
        page: ctx.page("home-title"),
        greeting: tr.t1("home-greeting", "name", me.user.display_name.clone()),
        roles: me
            .user
            .roles
            .iter()
            .map(|r| tr.t(&format!("role-{}", r.code())))
            .collect(),
        org_name,
        my_sessions,
        staff_count,
        invited_count,
        locked_count,
        can_institutions: actor.can(Permission::ViewInstitutions),
        can_users: actor.can(Permission::ManageUsers),
        cases: if actor.can(Permission::ViewCases) {
            Some(dashboard(&ctx).await?)
        } else {
            None
        },
        can_court_figures: actor.can(Permission::ViewCourtFigures),
    })
}
