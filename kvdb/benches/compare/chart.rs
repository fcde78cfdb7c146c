//! The SVG charts of the report, from plain numbers (no bench types), so that
//! `kvdb/tests/charts.rs` can generate them and check that they are well-formed XML.

use std::fmt::Write as _;

/// One workload of the bar chart: its label, the note under it, and the three throughputs
/// relative to (a) (the first is 1.0).
pub(crate) struct Bars {
    pub(crate) label: String,
    pub(crate) note: String,
    pub(crate) values: [f64; 3],
}

/// A horizontal bar chart: each workload's throughput of (b) and (c) relative to (a) = 1.
pub(crate) fn bars(rows: &[Bars], subtitle: &str) -> String {
    let (label_w, bar_w, bar_h, gap, top) = (330.0, 520.0, 11.0, 14.0, 78.0);
    let scale_max = 1.2;
    let row_h = 3.0 * bar_h + gap;
    let height = top + row_h * rows.len() as f64 + 40.0;
    let width = label_w + bar_w + 90.0;
    let x_of = |v: f64| label_w + bar_w * (v.clamp(0.0, scale_max) / scale_max);
    let mut s = String::new();
    open(&mut s, width, height);
    title(
        &mut s,
        "kvdb typed API vs raw redis-rs: throughput relative to (a) raw bytes = 1.0",
        subtitle,
    );
    let colors = [
        ("#9e9e9e", "(a) raw redis-rs, pre-encoded bytes"),
        ("#4e79a7", "(b) hand-written serde_json layer"),
        ("#f28e2b", "(c) kvdb typed API"),
    ];
    legend(&mut s, &colors);
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = x_of(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle" fill="#555">{t:.2}</text>"##,
            top - 6.0,
            height - 30.0,
            height - 16.0
        );
    }
    for target in [0.95, 0.90] {
        let x = x_of(target);
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#c00" stroke-dasharray="3,3"/>"##,
            top - 6.0,
            height - 30.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" fill="#c00" text-anchor="middle">0.90 / 0.95</text>"##,
        x_of(0.925),
        height - 4.0
    );
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
            label_w - 8.0,
            y + 1.5 * bar_h + 4.0,
            xml(&row.label)
        );
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" fill="#777" font-size="10">{}</text>"##,
            label_w - 8.0,
            y + 2.5 * bar_h + 6.0,
            xml(&row.note)
        );
        for (j, v) in row.values.into_iter().enumerate() {
            let yb = y + j as f64 * bar_h;
            let _ = writeln!(
                s,
                r##"<rect x="{label_w}" y="{yb}" width="{:.1}" height="{}" fill="{}"/><text x="{}" y="{}" font-size="10">{v:.3}</text>"##,
                x_of(v) - label_w,
                bar_h - 1.0,
                colors[j].0,
                x_of(v) + 4.0,
                yb + bar_h - 2.0
            );
        }
    }
    let _ = writeln!(s, "</svg>");
    s
}

// The concurrency chart (throughput vs tasks) uses these.
#[allow(dead_code)]
/// One client's line of the line chart: its name and (x, y) points.
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
}

#[allow(dead_code)]
/// A line chart with a log2 x axis (tasks) and a linear y axis from 0 (throughput).
pub(crate) fn lines(title_text: &str, subtitle: &str, y_label: &str, series: &[Series]) -> String {
    let (left, top, plot_w, plot_h) = (70.0, 78.0, 600.0, 320.0);
    let (width, height) = (left + plot_w + 40.0, top + plot_h + 60.0);
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (x_min, x_max) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (x_min, x_max) = if x_min <= x_max {
        (x_min.max(1.0), x_max.max(2.0))
    } else {
        (1.0, 2.0)
    };
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let span = (x_max.log2() - x_min.log2()).max(1e-9);
    let x_of = |x: f64| left + plot_w * (x.max(x_min).log2() - x_min.log2()) / span;
    let y_of = |y: f64| top + plot_h * (1.0 - y.max(0.0) / y_max);
    let colors = [
        "#9e9e9e", "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    ];
    let mut s = String::new();
    open(&mut s, width, height);
    title(&mut s, title_text, subtitle);
    let names: Vec<(&str, &str)> = series
        .iter()
        .zip(colors.iter().cycle())
        .map(|(x, c)| (*c, x.name.as_str()))
        .collect();
    legend(&mut s, &names);
    for i in 0..=4 {
        let v = y_max / 1.1 * f64::from(i) / 4.0;
        let y = y_of(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" fill="#555">{}</text>"##,
            left + plot_w,
            left - 6.0,
            y + 4.0,
            compact(v)
        );
    }
    let mut x = x_min;
    while x <= x_max * 1.0001 {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">{x}</text>"##,
            x_of(x),
            top + plot_h + 16.0
        );
        x *= 2.0;
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">tasks (log scale)</text><text x="14" y="{}" fill="#555" transform="rotate(-90 14 {})">{}</text>"##,
        left + plot_w / 2.0,
        top + plot_h + 36.0,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        xml(y_label)
    );
    for (series, color) in series.iter().zip(colors.iter().cycle()) {
        let points: Vec<String> = series
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", x_of(x), y_of(y)))
            .collect();
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"##,
            points.join(" ")
        );
        for &(x, y) in &series.points {
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"##,
                x_of(x),
                y_of(y)
            );
        }
    }
    let _ = writeln!(s, "</svg>");
    s
}

fn open(s: &mut String, width: f64, height: f64) {
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
}

fn title(s: &mut String, title: &str, subtitle: &str) {
    let _ = writeln!(
        s,
        r##"<text x="12" y="22" font-size="16" font-weight="bold">{}</text>"##,
        xml(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="12" y="40" fill="#555">{}</text>"##,
        xml(subtitle)
    );
}

fn legend(s: &mut String, entries: &[(&str, &str)]) {
    let step = (900.0 / entries.len().max(1) as f64).min(270.0);
    for (i, (c, name)) in entries.iter().enumerate() {
        let x = 12.0 + i as f64 * step;
        let _ = writeln!(
            s,
            r##"<rect x="{x}" y="50" width="12" height="12" fill="{c}"/><text x="{}" y="60">{}</text>"##,
            x + 16.0,
            xml(name)
        );
    }
}

#[allow(dead_code)]
fn compact(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// `s` as XML text: `&`, `<`, `>` and quotes escaped.
pub(crate) fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
