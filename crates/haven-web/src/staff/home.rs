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
    })
}
