//! `haven user`: staff accounts from the command line.

use std::process::ExitCode;

use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{Language, Role};
use haven_store::audit::{self, AuditActor, AuditEvent, Outcome};
use haven_store::links::LinkPurpose;
use haven_store::users::{self, NewUser, UserStatus};
use haven_store::{StoreError, sessions};
use haven_web::Settings;

/// What to do with staff accounts.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Invite a staff member: creates the account and prints a one-time link with which they
    /// choose a password.
    Add {
        /// Their e-mail address (the sign-in name).
        #[arg(long)]
        email: String,
        /// The name colleagues see.
        #[arg(long)]
        name: String,
        /// A role; repeat for several: admin, supervisor, counsellor, case_worker, lawyer,
        /// fundraiser, analyst, portal_editor.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// sr-latn, sr-cyrl or en [default: the organisation's]
        #[arg(long)]
        language: Option<String>,
    },
    /// List staff accounts.
    List,
    /// Disable an account: it can no longer sign in and its sessions end.
    Disable {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Remove an account's second factor and recovery codes (for someone who lost both) and end
    /// its sessions; at the next sign-in, after the password, the person sets it up again.
    ResetSecondFactor {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
}

/// Runs a user command.
pub async fn run(settings: Settings, cmd: UserCommand) -> Result<ExitCode, String> {
    let haven = super::open(settings).await?;
    let state = haven.state;
    let org = state.default_org;
    let now = state.now();
    let result = match cmd {
        UserCommand::Add {
            email,
            name,
            roles,
            language,
        } => {
            let email = EmailAddress::parse("email", &email)
                .map_err(|_| "--email is not an e-mail address".to_owned())?;
            let name = DisplayName::parse("name", &name)
                .map_err(|_| "--name must be 1 to 120 characters".to_owned())?;
            let mut parsed = Vec::new();
            for r in &roles {
                parsed.push(r.parse::<Role>().map_err(|e| e.to_string())?);
            }
            parsed.sort();
            parsed.dedup();
            let language = match language {
                Some(l) => l.parse::<Language>().map_err(|e| e.to_string())?,
                None => state.settings.org.language,
            };
            let id = state.ids().id();
            let mut tx = state.db.begin().await.map_err(|e| e.to_string())?;
            let new = NewUser {
                org_id: org,
                id,
                email,
                display_name: name,
                language,
                roles: parsed,
                status: UserStatus::Invited,
                password_hash: None,
                now,
            };
            match users::insert(&mut tx, &new).await {
                Ok(()) => {}
                Err(StoreError::Duplicate(_)) => {
                    return Err("an account with this e-mail address already exists".into());
                }
                Err(e) => return Err(e.to_string()),
            }
            let link = haven_web::staff::access::issue_link(
                &state,
                &mut tx,
                org,
                LinkPurpose::Invite,
                Some(id),
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            println!(
                "Invited {}. Give them this one-time link (it expires in {} hours):",
                new.email, state.settings.session.link_lifetime_hours
            );
            println!("    {link}");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List => {
            let all = users::list(&state.db, org)
                .await
                .map_err(|e| e.to_string())?;
            if all.is_empty() {
                println!(
                    "No staff accounts yet. Start Haven and open the setup link, or run `haven user add`."
                );
            }
            for u in all {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.code()).collect();
                println!(
                    "{:<40} {:<9} {:<30} {}",
                    u.email,
                    u.status.code(),
                    u.display_name,
                    roles.join(",")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Disable { email } => {
            let creds = users::by_email(&state.db, org, &email)
                .await
                .map_err(|e| e.to_string())?;
            let Some(c) = creds else {
                return Err(format!("no account with the e-mail address {email}"));
            };
            let mut tx = state.db.begin().await.map_err(|e| e.to_string())?;
            users::set_status(&mut tx, org, c.user.id, UserStatus::Disabled, now)
                .await
                .map_err(|e| e.to_string())?;
            let ended =
                sessions::end_all_for_user(&mut tx, org, c.user.id, None, "account_disabled", now)
                    .await
                    .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            println!("Disabled {}; {} session(s) ended.", c.user.email, ended);
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::ResetSecondFactor { email } => {
            let creds = users::by_email(&state.db, org, &email)
                .await
                .map_err(|e| e.to_string())?;
            let Some(c) = creds else {
                return Err(format!("no account with the e-mail address {email}"));
            };
            let mut tx = state.db.begin().await.map_err(|e| e.to_string())?;
            let ended = haven_web::staff::second_factor::reset(&mut tx, org, c.user.id, now)
                .await
                .map_err(|e| e.to_string())?;
            let ev = AuditEvent::new(AuditActor::System, "auth.second_factor_reset", Outcome::Ok)
                .target("user", c.user.id.0)
                .details(serde_json::json!({ "sessions_ended": ended, "by": "command_line" }));
            audit::append(&mut tx, org, state.ids().uuid(), now, &ev)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            println!(
                "Reset the second factor of {}; {} session(s) ended. They set it up again at their next sign-in, after their password.",
                c.user.email, ended
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    state.db.close().await;
    result
}
