#![no_main]
//! See `sluice::fuzz::config` for what this target feeds and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzz::config(data));
