//! Timing: wall time and this thread's CPU time per operation, medians and per-round ratios.

use std::time::Instant;

/// The CPU time this thread has run, in ns (`/proc/thread-self/schedstat`), if available.
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// One client's measurement in one round.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// Wall time per operation unit (a pair, a batch key...), ns.
    pub(crate) wall_ns: f64,
    /// This thread's CPU time per unit, ns (sync workloads only).
    pub(crate) cpu_ns: Option<f64>,
}

/// Runs `f` (which performs `units` units of work) and measures it.
pub(crate) fn measure(units: u64, f: impl FnOnce()) -> Sample {
    let cpu0 = thread_cpu_ns();
    let t0 = Instant::now();
    f();
    let wall = t0.elapsed().as_nanos() as f64;
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a)) as f64 / units as f64),
        _ => None,
    };
    Sample {
        wall_ns: wall / units as f64,
        cpu_ns: cpu,
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The samples of the three clients, round by round.
#[derive(Default, Debug, Clone)]
pub(crate) struct Rounds {
    /// `[a, b, c]` per round.
    pub(crate) rounds: Vec<[Sample; 3]>,
}

impl Rounds {
    /// Median wall time per unit of client `i`, ns.
    pub(crate) fn wall(&self, i: usize) -> f64 {
        median(self.rounds.iter().map(|r| r[i].wall_ns).collect())
    }

    /// Median CPU time per unit of client `i`, ns.
    pub(crate) fn cpu(&self, i: usize) -> Option<f64> {
        let v: Option<Vec<f64>> = self.rounds.iter().map(|r| r[i].cpu_ns).collect();
        v.map(median)
    }

    /// Median over rounds of the throughput ratio `c / x` (= time of x / time of c), where x
    /// is client `i`: each round's clients ran back to back under the same load.
    pub(crate) fn ratio(&self, i: usize) -> f64 {
        median(
            self.rounds
                .iter()
                .map(|r| r[i].wall_ns / r[2].wall_ns)
                .collect(),
        )
    }

    /// Median over rounds of the extra CPU of c over client `i`, ns per unit.
    pub(crate) fn cpu_extra(&self, i: usize) -> Option<f64> {
        let v: Option<Vec<f64>> = self
            .rounds
            .iter()
            .map(|r| Some(r[2].cpu_ns? - r[i].cpu_ns?))
            .collect();
        v.map(median)
    }
}

/// The one client to run (`--client a|b|c`, for a profiler or `strace -c`), if any.
pub(crate) static ONLY_CLIENT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// Order of the clients in round `r`: rotated so that none always runs first. With
/// `--client`, only that one.
pub(crate) fn order(r: usize) -> Vec<usize> {
    let all = [[0, 1, 2], [1, 2, 0], [2, 0, 1]][r % 3];
    match ONLY_CLIENT.get().copied().flatten() {
        Some(only) => vec![only],
        None => all.to_vec(),
    }
}

impl Rounds {
    /// Median over rounds of the throughput ratio `x / y` for clients `x` and `y`.
    pub(crate) fn ratio_between(&self, x: usize, y: usize) -> f64 {
        median(
            self.rounds
                .iter()
                .map(|r| r[y].wall_ns / r[x].wall_ns)
                .collect(),
        )
    }
}
