//! Every chart of the performance report is well-formed XML with one `<svg>` element and
//! nothing else at the top level (no stray text from the generator, which renderers would
//! silently skip): the charts checked in under `docs/perf/`, and the generator's output for
//! made-up numbers, labels that need escaping included.

#![allow(clippy::unwrap_used, dead_code)]

#[path = "../benches/compare/chart.rs"]
mod chart;

use std::path::Path;

/// Panics unless `text` is one `<svg>` element with only elements at its top level.
fn check_svg(name: &str, text: &str) {
    let doc = roxmltree::Document::parse(text)
        .unwrap_or_else(|e| panic!("{name} is not well-formed XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{name}: the root");
    for node in root.children() {
        match node.node_type() {
            roxmltree::NodeType::Element => {}
            roxmltree::NodeType::Text => assert!(
                node.text().unwrap_or_default().trim().is_empty(),
                "{name}: text outside any element: {:?}",
                node.text()
            ),
            other => panic!("{name}: a {other:?} node at the top level"),
        }
    }
    assert!(
        root.children().any(|n| n.is_element()),
        "{name}: empty chart"
    );
}

#[test]
fn generated_charts_are_xml_with_only_elements_at_the_top() {
    let bars = chart::bars(
        &[
            chart::Bars {
                label: "sync: set+get <JSON> & \"none\"".into(),
                note: "(a) 8.1 kpair/s".into(),
                values: [1.0, 0.93, 0.91],
            },
            chart::Bars {
                label: "async: 64 tasks".into(),
                note: String::new(),
                values: [1.0, 2.5, f64::NAN],
            },
        ],
        "AMD EPYC; load 1.20 → 0.97 <quiet>",
    );
    check_svg("bars", &bars);
    let lines = chart::lines(
        "throughput vs tasks",
        "load 1.0",
        "pairs/s",
        &[
            chart::Series {
                name: "raw".into(),
                points: vec![(1.0, 8000.0), (4.0, 30000.0), (256.0, 150000.0)],
            },
            chart::Series {
                name: "kvdb-py & <friends>".into(),
                points: vec![(1.0, 2000.0), (256.0, 9000.0)],
            },
            chart::Series {
                name: "empty".into(),
                points: Vec::new(),
            },
        ],
    );
    check_svg("lines", &lines);
    check_svg("no series", &chart::lines("t", "s", "y", &[]));
}

#[test]
fn checked_in_charts_are_xml_with_only_elements_at_the_top() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/perf");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "svg") {
            check_svg(
                &path.display().to_string(),
                &std::fs::read_to_string(&path).unwrap(),
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no chart found in {}", dir.display());
}
