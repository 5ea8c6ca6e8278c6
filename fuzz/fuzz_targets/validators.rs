#![no_main]
//! See crates/core/tests/fuzz_targets/mod.rs for what this target checks.

#[path = "../../crates/core/tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::validators(data));
