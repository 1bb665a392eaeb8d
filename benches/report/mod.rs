//! What every benchmark reports for the summary table: one line per
//! measure, `ROW` then tab-separated fields, which `scripts/bench` gathers
//! into `target/bench/report.md`. Each bench also prints its own detail.
#![allow(dead_code)]

/// One measure beside its reference. `ratio` reads "testimony's figure
/// as a share or multiple of the reference's", in whatever sense the
/// measure has (it says so); `target` is the figure we hold ourselves to.
pub fn row(what: &str, ours: &str, reference: &str, ratio: &str, target: &str) {
    for field in [what, ours, reference, ratio, target] {
        assert!(!field.contains(['\t', '\n']), "a report field holds a tab or a new line: {field:?}");
    }
    println!("ROW\t{what}\t{ours}\t{reference}\t{ratio}\t{target}");
}

/// The process's peak resident memory so far, in MiB.
pub fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// The process's resident memory now, in MiB.
pub fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}
