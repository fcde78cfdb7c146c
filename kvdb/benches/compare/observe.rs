//! What the harness measures of kvdb's observability (docs/observability.md): built with
//! `--features tracing,metrics`, every kvdb operation opens a span and records metrics; with
//! `KVDB_BENCH_OBSERVE=tracing` (a subscriber), `metrics` (a recorder) or `1` (both) they are
//! really recorded rather than dropped by the facades.

/// Installs what `KVDB_BENCH_OBSERVE` asks for; returns what the run measures.
pub(crate) fn install() -> String {
    let features = [
        cfg!(feature = "tracing").then_some("tracing"),
        cfg!(feature = "metrics").then_some("metrics"),
    ];
    let features: Vec<&str> = features.into_iter().flatten().collect();
    if features.is_empty() {
        return "observability features off".into();
    }
    let asked = std::env::var("KVDB_BENCH_OBSERVE").unwrap_or_default();
    #[allow(unused_mut)]
    let mut installed: Vec<&str> = Vec::new();
    #[cfg(feature = "tracing")]
    if asked == "1" || asked == "tracing" {
        // A registry keeps every span's data, as any real subscriber does.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        installed.push("a tracing subscriber (registry)");
    }
    #[cfg(feature = "metrics")]
    if asked == "1" || asked == "metrics" {
        let _ = metrics_util::debugging::DebuggingRecorder::new().install();
        installed.push("a metrics recorder (metrics-util debugging)");
    }
    let _ = asked;
    format!(
        "features {} on, {}",
        features.join("+"),
        if installed.is_empty() {
            "no subscriber or recorder installed".to_owned()
        } else {
            format!("with {} installed", installed.join(" and "))
        }
    )
}
