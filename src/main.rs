//! The binary: everything lives in the library; this only passes argv and the exit code.
//!
//! `no_main`: std's start-up (stack-guard probing through /proc/self/maps, signal handlers)
//! cost a sixth of a cache hit, for nothing a credential helper needs.
#![no_main]

use std::ffi::{c_char, c_int};
use std::io::Write;

/// The C entry point; std still sees argv on Linux.
#[no_mangle]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // As std's runtime does: a closed pipe or socket is an error to handle, not a kill.
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    ecr_xacct::diag::init();
    let code = ecr_xacct::cli::run(std::env::args_os().collect());
    // Without std's runtime nothing flushes stdout at exit.
    let _ = std::io::stdout().flush();
    code
}
