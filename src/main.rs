//! The binary: everything lives in the library; this only passes argv and the exit code.

fn main() {
    ecr_xacct::diag::init();
    std::process::exit(ecr_xacct::cli::run(std::env::args_os().collect()));
}
