#![no_main]
// See testimony::fuzzing::backup for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| testimony::fuzzing::backup(data));
