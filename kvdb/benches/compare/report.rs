//! The report: markdown tables of medians and ratios, and an SVG chart.

use std::fmt::Write as _;

use crate::stats::Rounds;

/// What a row is held to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// Nothing: reported for information.
    None,
    /// Throughput of (c) at least this fraction of (a)'s.
    VsA(f64),
    /// Throughput of (c) at least this fraction of (b)'s.
    VsB(f64),
    /// Throughput of (c) at least this fraction of (b)'s, and (c) at most this many µs per unit.
    VsBAndMicros(f64, f64),
    /// Time of (c) at most this multiple of (a)'s.
    TimeVsA(f64),
}

pub(crate) struct Row {
    pub(crate) group: &'static str,
    pub(crate) name: String,
    pub(crate) unit: &'static str,
    pub(crate) clients: [&'static str; 3],
    pub(crate) rounds: Rounds,
    pub(crate) targets: Vec<Target>,
}

fn us(ns: f64) -> String {
    if ns >= 100_000.0 {
        format!("{:.0}", ns / 1000.0)
    } else if ns >= 10_000.0 {
        format!("{:.1}", ns / 1000.0)
    } else if ns >= 100.0 {
        format!("{:.2}", ns / 1000.0)
    } else {
        format!("{:.3}", ns / 1000.0)
    }
}

impl Row {
    /// Each target as (text, measured, met).
    pub(crate) fn verdicts(&self) -> Vec<(String, String, bool)> {
        let r = &self.rounds;
        self.targets
            .iter()
            .filter_map(|t| match *t {
                Target::None => None,
                Target::VsA(x) => Some((
                    format!("c/a ≥ {x:.2}×"),
                    format!("{:.3}×", r.ratio(0)),
                    r.ratio(0) >= x,
                )),
                Target::VsB(x) => Some((
                    format!("c/b ≥ {x:.2}×"),
                    format!("{:.3}×", r.ratio(1)),
                    r.ratio(1) >= x,
                )),
                Target::VsBAndMicros(x, max) => Some((
                    format!("c/b ≥ {x:.2}×, c ≤ {max} µs/{}", self.unit),
                    format!("{:.3}×, {} µs", r.ratio(1), us(r.wall(2))),
                    r.ratio(1) >= x && r.wall(2) <= max * 1000.0,
                )),
                Target::TimeVsA(x) => Some((
                    format!("time c/a ≤ {x:.2}×"),
                    format!("{:.3}×", 1.0 / r.ratio(0)),
                    1.0 / r.ratio(0) <= x,
                )),
            })
            .collect()
    }

    /// One line for the progress log.
    pub(crate) fn summary(&self) -> String {
        let r = &self.rounds;
        format!(
            "{} µs/{}: a {} | b {} | c {} | c/a {:.3}× | c/b {:.3}×",
            self.name,
            self.unit,
            us(r.wall(0)),
            us(r.wall(1)),
            us(r.wall(2)),
            r.ratio(0),
            r.ratio(1)
        )
    }
}

/// The markdown tables.
pub(crate) fn markdown(rows: &[Row], memory: &[(&str, u64, u64)], size: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| group | workload | unit | (a) | (b) | (c) kvdb | c/a | c/b | target | measured | met |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let r = &row.rounds;
        let verdicts = row.verdicts();
        let (t, m, ok) = if verdicts.is_empty() {
            ("—".to_owned(), "—".to_owned(), "—".to_owned())
        } else {
            (
                verdicts
                    .iter()
                    .map(|v| v.0.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                verdicts
                    .iter()
                    .map(|v| v.1.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                if verdicts.iter().all(|v| v.2) {
                    "yes"
                } else {
                    "**no**"
                }
                .to_owned(),
            )
        };
        let _ = writeln!(
            s,
            "| {} | {} | µs/{} | {} {} | {} {} | {} | {:.3}× | {:.3}× | {t} | {m} | {ok} |",
            row.group,
            row.name,
            row.unit,
            us(r.wall(0)),
            row.clients[0],
            us(r.wall(1)),
            row.clients[1],
            us(r.wall(2)),
            r.ratio(0),
            r.ratio(1),
        );
    }
    let cpu_rows: Vec<&Row> = rows
        .iter()
        .filter(|r| r.rounds.cpu(2).is_some() && r.group == "sync")
        .collect();
    if !cpu_rows.is_empty() {
        let _ = writeln!(
            s,
            "\nClient CPU time per unit (this thread's `schedstat`), median of rounds; the last column is kvdb's own CPU per typed operation beyond serde (half the pair's c − b), target ≤ 0.5 µs:\n"
        );
        let _ = writeln!(
            s,
            "| workload | unit | CPU (a) µs | CPU (b) µs | CPU (c) µs | (c − b) per op µs | met |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        for row in cpu_rows {
            let r = &row.rounds;
            let per_op =
                r.cpu_extra(1).unwrap_or(f64::NAN) / if row.unit == "pair" { 2.0 } else { 1.0 };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.name,
                row.unit,
                us(r.cpu(0).unwrap_or(f64::NAN)),
                us(r.cpu(1).unwrap_or(f64::NAN)),
                us(r.cpu(2).unwrap_or(f64::NAN)),
                us(per_op),
                if per_op <= 500.0 { "yes" } else { "**no**" }
            );
        }
    }
    if !memory.is_empty() {
        let _ = writeln!(
            s,
            "\nPeak memory of a {} MiB value's round trip (set, drop the value, get back), one process per case: `VmHWM` minus the RSS before the value was built; target ≤ 3× the value for kvdb:\n",
            size >> 20
        );
        let _ = writeln!(
            s,
            "| case | stored bytes | peak above baseline | × value | met |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        for (name, peak, stored) in memory {
            let x = *peak as f64 / size as f64;
            let met = if name.starts_with("kvdb") {
                if x <= 3.0 { "yes" } else { "**no**" }
            } else {
                "—"
            };
            let _ = writeln!(
                s,
                "| {name} | {:.1} MiB | {:.0} MiB | {x:.2}× | {met} |",
                *stored as f64 / 1048576.0,
                *peak as f64 / 1048576.0
            );
        }
    }
    s
}

/// The bar chart of every workload but the codec's: throughput relative to (a).
pub(crate) fn svg(rows: &[Row], subtitle: &str) -> String {
    let bars: Vec<crate::chart::Bars> = rows
        .iter()
        .filter(|r| r.group != "codec")
        .map(|row| {
            let r = &row.rounds;
            crate::chart::Bars {
                label: format!("{}: {}", row.group, row.name),
                note: format!("(a) {:.1} k{}/s", 1e6 / r.wall(0), row.unit),
                values: [1.0, r.ratio_between(1, 0), r.ratio(0)],
            }
        })
        .collect();
    crate::chart::bars(&bars, subtitle)
}

/// The targets, one line each, from the rows that measure them.
pub(crate) fn targets(rows: &[Row], memory: &[(&str, u64, u64)], size: usize) -> String {
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    let mut s = String::new();
    let _ = writeln!(s, "| measure | target | measured | met |");
    let _ = writeln!(s, "|---|---|---|---|");
    let mut line = |measure: &str, target: &str, measured: String, met: Option<bool>| {
        let met = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(s, "| {measure} | {target} | {measured} | {met} |");
    };
    if let Some(r) = find("set_model+get_model JSON, none") {
        let x = r.rounds.ratio(1);
        line(
            "sync `set_model`+`get_model` vs (b) serde_json on redis-rs",
            "≥ 0.97× throughput",
            format!("{x:.3}×"),
            Some(x >= 0.97),
        );
    }
    // Against raw bytes, the hand-written layer's own ratio is the floor serde sets.
    for (name, what) in [
        (
            "set+get JSON, none",
            "sync typed `set`+`get` vs (a) raw bytes",
        ),
        (
            "set_model+get_model JSON, none",
            "sync `set_model`+`get_model` vs (a) raw bytes",
        ),
    ] {
        if let Some(r) = find(name) {
            let x = r.rounds.ratio(0);
            let floor = r.rounds.ratio_between(1, 0);
            line(
                what,
                "≥ 0.95×",
                format!("{x:.3}× (the serde_json layer (b): {floor:.3}×)"),
                Some(x >= 0.95),
            );
        }
    }
    for flavor in ["multi-thread", "current-thread"] {
        for (suffix, vs) in [
            ("", "(b) serde_json on a MultiplexedConnection"),
            (
                ", vs ConnectionManager",
                "(b) serde_json on a ConnectionManager",
            ),
        ] {
            if let Some(r) = find(&format!("set+get JSON, 64 tasks, {flavor}{suffix}")) {
                let x = r.rounds.ratio(1);
                line(
                    &format!("async 64 tasks ({flavor}) typed vs {vs}"),
                    "≥ 0.97×",
                    format!("{x:.3}×"),
                    Some(x >= 0.97),
                );
            }
        }
    }
    for (name, what, max) in [
        (
            "set_models of 100 vs pipelined SETs",
            "`set_models` of 100 vs (b) pipeline",
            2.1,
        ),
        (
            "get_models of 100 vs MGET",
            "`get_models` of 100 vs (b) MGET",
            3.2,
        ),
    ] {
        if let Some(r) = find(name) {
            let x = r.rounds.ratio(1);
            let us = r.rounds.wall(2) / 1000.0;
            line(
                what,
                &format!("≥ 0.90× and ≤ {max} µs per key"),
                format!("{x:.3}×, {us:.2} µs per key"),
                Some(x >= 0.90 && us <= max),
            );
        }
    }
    if let Some(r) = find("envelope encode+decode (no I/O)") {
        let x = 1.0 / r.rounds.ratio(0);
        line(
            "envelope encode+decode vs bare serde_json",
            "≤ 1.10× time",
            format!("{x:.3}×"),
            Some(x <= 1.10),
        );
    }
    for name in ["set+get JSON, none", "set_model+get_model JSON, none"] {
        if let Some(extra) = find(name).and_then(|r| r.rounds.cpu_extra(1)) {
            let per_op = extra / 2.0 / 1000.0;
            line(
                &format!(
                    "kvdb's own CPU per typed op beyond serde ({name}; client thread CPU, c − b)"
                ),
                "≤ 0.5 µs",
                format!("{per_op:.2} µs"),
                Some(per_op <= 0.5),
            );
        }
    }
    for (name, peak, _) in memory.iter().filter(|m| m.0.starts_with("kvdb")) {
        let x = *peak as f64 / size as f64;
        line(
            &format!("peak memory, 64 MiB value round trip ({name})"),
            "≤ 3× the value",
            format!("{x:.2}×"),
            Some(x <= 3.0),
        );
    }
    s
}
