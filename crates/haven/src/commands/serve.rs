//! `haven serve`: migrate, then serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use haven_web::Settings;

/// Runs the server.
pub async fn run(mut settings: Settings) -> Result<ExitCode, String> {
    let listen = settings.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    // With port 0 the system chooses; links must name the port it chose.
    settings.listen = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let listen = settings.listen;
    let haven = super::open(settings).await?;
    let state = haven.state.clone();
    let setup_link = haven_web::bootstrap::ensure_setup_link(&state)
        .await
        .map_err(|e| e.to_string())?;
    let base = state.settings.public_base_url();
    println!("Haven is running at {base}/staff/");
    if let Some(link) = setup_link {
        println!();
        println!("No administrator yet. Open this one-time link to create the first one");
        println!(
            "(it works once and expires in {} hours; restarting Haven makes a new one):",
            state.settings.session.link_lifetime_hours
        );
        println!();
        println!("    {link}");
        println!();
    }
    println!("Stop it with Ctrl-C (or SIGTERM); requests in flight finish first.");
    tracing::info!(address = %listen, backend = state.db.backend().name(), "listening");
    let router = haven_web::router(state.clone());
    let reencryption =
        haven_web::keys::spawn_reencryption(state.clone(), haven_web::keys::REENCRYPT_EVERY);
    let sequencer =
        haven_store::audit::spawn_sequencer(state.db.clone(), haven_web::AUDIT_SEQUENCE_EVERY);
    let served = haven_web::serve(listener, router, shutdown_signal()).await;
    reencryption.abort();
    sequencer.abort();
    served.map_err(|e| format!("the server stopped: {e}"))?;
    state.db.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
