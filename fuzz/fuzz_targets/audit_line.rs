#![no_main]
// See testimony::fuzzing::audit_line for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| testimony::fuzzing::audit_line(data));
