//! Diagnostics on stderr: warnings always, traces only when `ECR_XACCT_LOG` asks.
//! Nothing here ever receives a secret; callers pass names, codes and timings.

/// Environment variable selecting the trace level (`error`, `warn`, `info`, `debug`).
pub const LOG_ENV: &str = "ECR_XACCT_LOG";

/// Turns tracing on if `ECR_XACCT_LOG` is set; costs nothing otherwise.
pub fn init() {
    if let Ok(level) = std::env::var(LOG_ENV) {
        if !level.is_empty() {
            // Our own records only: the SDK's internals could print request details.
            let filter = format!("off,ecr_xacct={level},docker_credential_ecr_xacct={level}");
            let _ = env_logger::Builder::new()
                .parse_filters(&filter)
                .format_timestamp(None)
                .target(env_logger::Target::Stderr)
                .try_init();
        }
    }
}

/// A warning the user should see even when tracing is off. Error lines already carry the
/// `ecr-xacct: ` prefix; it is not doubled.
pub fn warn(message: impl std::fmt::Display) {
    let text = message.to_string();
    let text = text.strip_prefix("ecr-xacct: ").unwrap_or(&text);
    eprintln!("ecr-xacct: warning: {text}");
}
