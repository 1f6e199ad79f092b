//! Command-line entry: argv to a command, each command to its module, and the exit code.

use crate::docker_config::{self, Change};
use crate::error::Error;
use crate::lookup::Context;
use crate::protocol::{self, Verb};
use crate::registry;
use clap::{ArgAction, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// The one-line usage Docker's helpers print for a bad verb.
pub const USAGE: &str =
    "Usage: docker-credential-ecr-xacct <get|store|erase|list|version|configure-docker|kubelet|doctor|policy> (see --help)";

#[derive(Parser, Debug)]
#[command(
    name = "docker-credential-ecr-xacct",
    version,
    disable_version_flag = true,
    about = "Docker credential helper for Amazon ECR across AWS accounts",
    long_about = "Docker credential helper for Amazon ECR across AWS accounts.\n\n\
        Docker runs it as `docker-credential-ecr-xacct get` with a registry host on stdin; \
        it answers with a token for the owner account named in the host, using the AWS \
        identity the config file maps to that registry, and caches it on disk."
)]
struct Cli {
    /// Print the version.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    _version: Option<bool>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Docker protocol: read a server URL on stdin, print its credentials as JSON.
    Get,
    /// Docker protocol: accept credentials from `docker login` (validated, not kept).
    Store,
    /// Docker protocol: forget the cached token(s) for the server URL on stdin.
    Erase,
    /// Docker protocol: print the registries that have a valid cached token.
    List,
    /// Print the version.
    Version,
    /// Map registry hosts to this helper in Docker's config.json (credHelpers).
    ConfigureDocker {
        /// Registry hosts, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com.
        #[arg(required = true)]
        hosts: Vec<String>,
        /// The config.json to edit (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Kubernetes kubelet image credential provider: a CredentialProviderRequest on stdin.
    Kubelet,
    /// Diagnose a cross-account setup for a registry host or image reference.
    Doctor {
        /// A registry host or image, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.0.
        reference: String,
    },
    /// Print the owner's repository policy or the consumer's IAM policy for cross-account pulls.
    Policy(crate::policy::Args),
}

/// Runs the program with `args` (argv including the program name); returns the exit code.
pub fn run(args: Vec<std::ffi::OsString>) -> i32 {
    // Docker's four verbs take no options: answer them without building clap's parser, which
    // cost 8% of a cache hit. Anything else (`get --help` too) goes through clap.
    if let [_, verb] = args.as_slice() {
        if let Some(verb) = verb.to_str().and_then(Verb::from_name) {
            return protocol::run(
                verb,
                &mut std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
            );
        }
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            println!("{USAGE}");
            let _ = write!(std::io::stderr(), "{e}");
            return 1;
        }
    };
    let verb = match cli.command {
        Command::Get => Verb::Get,
        Command::Store => Verb::Store,
        Command::Erase => Verb::Erase,
        Command::List => Verb::List,
        Command::Version => {
            println!("docker-credential-ecr-xacct {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Command::ConfigureDocker { hosts, file } => return configure_docker(&hosts, file),
        Command::Kubelet => {
            return crate::kubelet::run(
                &mut std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )
        }
        Command::Doctor { reference } => {
            return crate::doctor::run(&reference, &mut std::io::stdout().lock())
        }
        Command::Policy(args) => {
            return crate::policy::run(
                &args,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )
        }
    };
    protocol::run(
        verb,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    )
}

fn configure_docker(hosts: &[String], file: Option<PathBuf>) -> i32 {
    let result = (|| {
        let ctx = Context::from_env()?;
        let mut normalised = Vec::new();
        for host in hosts {
            let key = ctx
                .registry(host)
                .and_then(|_| registry::server_key(host))
                .ok_or_else(|| {
                    Error::failed(
                        format!("configure-docker {host}"),
                        "not an ECR registry host (nor a custom host in the config file)",
                        "use the form <account>.dkr.ecr.<region>.amazonaws.com, or public.ecr.aws",
                    )
                })?;
            // Docker looks credHelpers up by host[:port] exactly, so the port stays.
            normalised.push(key);
        }
        let path = file.or_else(docker_config::default_path).ok_or_else(|| {
            Error::failed(
                "configure-docker",
                "no home directory",
                "set DOCKER_CONFIG or pass --file",
            )
        })?;
        let changes = docker_config::configure(&path, &normalised, docker_config::HELPER_NAME)?;
        Ok::<_, Error>((path, changes))
    })();
    match result {
        Ok((path, changes)) => {
            for change in changes {
                match change {
                    Change::Added(h) => println!("{h}: added"),
                    Change::Replaced(h, prev) => {
                        println!("{h}: now {} (was {prev})", docker_config::HELPER_NAME)
                    }
                    Change::Unchanged(h) => println!("{h}: already set"),
                }
            }
            println!("Docker config: {}", path.display());
            0
        }
        Err(e) => {
            println!("{e}");
            1
        }
    }
}
