//! cargo fuzz target: see `props::check_config` (tests/props/mod.rs) for the properties.
#![no_main]

#[path = "../../tests/props/mod.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::setup_offline();
    props::check_config(data);
});
