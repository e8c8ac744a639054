#![no_main]
//! See `sluice::fuzz::binlog` for what this target feeds and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzz::binlog(data));
