#![no_main]
//! See `sluice::fuzz::host_reads` for what this target feeds and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzz::host_reads(data));
