//! The report: each probe's figures summarised over its runs (min / median /
//! max), checked against the brief's budgets (§6), as JSON and as a table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What one run of a probe measured.
#[derive(Debug, Default, Clone)]
pub struct Measured {
    /// Named figures (one number each per run).
    pub figures: BTreeMap<String, f64>,
    /// Raw samples kept for plots (e.g. every frame's latency).
    pub samples: BTreeMap<String, Vec<f64>>,
    /// What a figure depends on that is not a number (e.g. the render
    /// adapter the game drew with), so a report says what it measured.
    pub notes: BTreeMap<String, String>,
}

impl Measured {
    /// Records a figure.
    pub fn set(&mut self, name: &str, value: f64) {
        self.figures.insert(name.to_owned(), value);
    }

    /// Records a note.
    pub fn note(&mut self, name: &str, text: impl Into<String>) {
        self.notes.insert(name.to_owned(), text.into());
    }
}

/// Minimum, median and maximum of one figure over the runs that produced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Smallest value.
    pub min: f64,
    /// Middle value (the mean of the middle two for an even count).
    pub median: f64,
    /// Largest value.
    pub max: f64,
    /// How many runs produced the figure.
    pub runs: usize,
}

impl Summary {
    /// Summarises `values`; `None` when there are none (NaNs are ignored).
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Self {
            min: sorted[0],
            median,
            max: sorted[n - 1],
            runs: n,
        })
    }
}

/// A probe's runs: what each measured, and the runs that failed.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// The probe's name, e.g. `host 1280x720`.
    pub name: String,
    /// One line on what it measures and how.
    pub what: String,
    /// Successful runs.
    pub runs: Vec<Measured>,
    /// Why the other runs failed.
    pub errors: Vec<String>,
}

impl ProbeResult {
    /// A figure summarised over the runs.
    pub fn summary(&self, figure: &str) -> Option<Summary> {
        let values: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|run| run.figures.get(figure).copied())
            .collect();
        Summary::of(&values)
    }

    /// Every figure's name, in order.
    pub fn figure_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .runs
            .iter()
            .flat_map(|run| run.figures.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Each note's distinct texts over the runs, in the order first seen.
    pub fn notes(&self) -> BTreeMap<String, Vec<String>> {
        let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, text) in self.runs.iter().flat_map(|run| &run.notes) {
            let texts = notes.entry(name.clone()).or_default();
            if !texts.contains(text) {
                texts.push(text.clone());
            }
        }
        notes
    }

    /// The samples of every run under `key`, joined.
    pub fn samples(&self, key: &str) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|run| run.samples.get(key))
            .flatten()
            .copied()
            .collect()
    }
}

/// Which side of a limit is within budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// The figure must not exceed this.
    AtMost(f64),
    /// The figure must reach this.
    AtLeast(f64),
}

impl Limit {
    fn allows(self, value: f64) -> bool {
        match self {
            Self::AtMost(limit) => value <= limit,
            Self::AtLeast(limit) => value >= limit,
        }
    }

    /// How far `value` is on the wrong side (0 when within).
    fn excess(self, value: f64) -> f64 {
        match self {
            Self::AtMost(limit) => (value - limit).max(0.0),
            Self::AtLeast(limit) => (limit - value).max(0.0),
        }
    }
}

/// One budget of the brief, and the figure that measures it.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The budget as the brief states it.
    pub what: &'static str,
    /// The probe measuring it.
    pub probe: &'static str,
    /// The figure of that probe.
    pub figure: &'static str,
    /// The bound.
    pub limit: Limit,
}

/// The brief's budgets (§6), each tied to the figure that measures it.
pub const BUDGETS: &[Budget] = &[
    Budget {
        what: "game frame time streaming on / off, 640x360",
        probe: "capture 640x360",
        figure: "ratio_on_off",
        limit: Limit::AtMost(1.05),
    },
    Budget {
        what: "game frame time streaming on / off, 1280x720",
        probe: "capture 1280x720",
        figure: "ratio_on_off",
        limit: Limit::AtMost(1.05),
    },
    Budget {
        what: "bytes per captured pixel on the socket",
        probe: "capture 640x360",
        figure: "bytes_per_pixel",
        limit: Limit::AtMost(1.5),
    },
    Budget {
        what: "IPC throughput for 720p frames / memcpy",
        probe: "ipc",
        figure: "720p_i420_to_memcpy_ram",
        limit: Limit::AtLeast(0.5),
    },
    Budget {
        what: "host CPU, one 720p30 stream with audio and mux (cores)",
        probe: "host 1280x720",
        figure: "host_cores",
        limit: Limit::AtMost(0.35),
    },
    Budget {
        what: "capture → FLV at the ingest, p95 (ms; the 100 ms budget is for a GPU)",
        probe: "latency 1280x720",
        figure: "p95_ms",
        limit: Limit::AtMost(100.0),
    },
    Budget {
        what: "switch: output frames missing",
        probe: "switch 1280x720",
        figure: "output_frames_missing",
        limit: Limit::AtMost(0.0),
    },
    Budget {
        what: "switch: new game's picture on the stream (ms, slowest switch)",
        probe: "switch 1280x720",
        figure: "switch_to_picture_ms_max",
        limit: Limit::AtMost(100.0),
    },
    Budget {
        what: "A/V offset in the output (ms, largest either way)",
        probe: "av offset",
        figure: "worst_abs_offset_ms",
        limit: Limit::AtMost(20.0),
    },
    Budget {
        what: "frames dropped, steady state (%)",
        probe: "drops",
        figure: "dropped_percent",
        limit: Limit::AtMost(0.1),
    },
];

/// How a budget fared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Every run within budget.
    Met,
    /// The median within budget, the worst run not.
    MetInMedian,
    /// The median outside the budget, by this much.
    Missed(f64),
    /// No run produced the figure.
    NotMeasured,
}

impl Verdict {
    /// Judges a figure's summary against a limit.
    pub fn of(limit: Limit, summary: Option<Summary>) -> Self {
        let Some(summary) = summary else {
            return Self::NotMeasured;
        };
        let worst = match limit {
            Limit::AtMost(_) => summary.max,
            Limit::AtLeast(_) => summary.min,
        };
        if !limit.allows(summary.median) {
            Self::Missed(limit.excess(summary.median))
        } else if limit.allows(worst) {
            Self::Met
        } else {
            Self::MetInMedian
        }
    }

    fn label(self) -> String {
        match self {
            Self::Met => "met".into(),
            Self::MetInMedian => "met in the median (not every run)".into(),
            Self::Missed(by) => format!("MISSED by {}", number(by)),
            Self::NotMeasured => "not measured".into(),
        }
    }
}

/// A number with precision that suits its size.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if value.is_nan() {
        "–".into()
    } else if magnitude == 0.0 || magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 0.1 {
        format!("{value:.3}")
    } else {
        format!("{value:.4}")
    }
}

fn limit_text(limit: Limit) -> String {
    match limit {
        Limit::AtMost(v) => format!("≤ {}", number(v)),
        Limit::AtLeast(v) => format!("≥ {}", number(v)),
    }
}

fn summary_json(summary: Summary) -> serde_json::Value {
    serde_json::json!({
        "min": summary.min, "median": summary.median, "max": summary.max, "runs": summary.runs,
    })
}

/// The whole report as JSON: machine, every probe's figures, the budgets.
pub fn to_json(machine: &serde_json::Value, results: &[ProbeResult]) -> serde_json::Value {
    let probes: serde_json::Map<String, serde_json::Value> = results
        .iter()
        .map(|result| {
            let figures: serde_json::Map<String, serde_json::Value> = result
                .figure_names()
                .into_iter()
                .filter_map(|name| Some((name.clone(), summary_json(result.summary(&name)?))))
                .collect();
            let value = serde_json::json!({
                "what": result.what,
                "runs": result.runs.len(),
                "errors": result.errors,
                "figures": figures,
                "notes": result.notes(),
            });
            (result.name.clone(), value)
        })
        .collect();
    let budgets: Vec<serde_json::Value> = BUDGETS
        .iter()
        .map(|budget| {
            let summary = find(results, budget);
            serde_json::json!({
                "budget": budget.what,
                "limit": limit_text(budget.limit),
                "measured": summary.map(summary_json),
                "verdict": Verdict::of(budget.limit, summary).label(),
            })
        })
        .collect();
    serde_json::json!({ "machine": machine, "budgets": budgets, "probes": probes })
}

fn find(results: &[ProbeResult], budget: &Budget) -> Option<Summary> {
    results
        .iter()
        .find(|r| r.name == budget.probe)?
        .summary(budget.figure)
}

/// The probe that streams one game each way of [`WAYS`].
pub const THREE_WAYS: &str = "three ways";

/// Figures a probe measured several ways: `ours_NAME` against `obs_NAME`
/// and `screen_NAME`, each way's prefix with its title.
pub const WAYS: [(&str, &str); 3] = [
    ("ours_", "bevy_livestream"),
    ("obs_", "OBS Studio"),
    ("screen_", "screen recording"),
];

/// The comparison as a Markdown table: a row per figure we measured
/// (median, with min–max), `bevy_livestream`'s column beside the other ways'.
fn side_by_side(results: &[ProbeResult]) -> String {
    let mut out = String::new();
    let cell = |s: Option<Summary>| {
        s.map_or("–".to_owned(), |s| {
            format!("{} ({}–{})", number(s.median), number(s.min), number(s.max))
        })
    };
    for result in results {
        for name in result.figure_names() {
            let Some(figure) = name.strip_prefix(WAYS[0].0) else {
                continue;
            };
            if out.is_empty() {
                let titles: Vec<&str> = WAYS.iter().map(|(_, title)| *title).collect();
                let _ = writeln!(out, "\n| figure | {} |", titles.join(" | "));
                out.push_str("|---|---|---|---|\n");
            }
            let cells: Vec<String> = WAYS
                .iter()
                .map(|(prefix, _)| cell(result.summary(&format!("{prefix}{figure}"))))
                .collect();
            let _ = writeln!(out, "| {} {figure} | {} |", result.name, cells.join(" | "));
        }
    }
    out
}

/// The report as Markdown tables: the budgets, then the side-by-side
/// comparison with OBS and screen recording, then every figure.
pub fn table(results: &[ProbeResult]) -> String {
    let mut out = String::new();
    out.push_str("| budget | limit | min | median | max | runs | verdict |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for budget in BUDGETS {
        let summary = find(results, budget);
        let cells = summary.map_or(
            ["–".to_owned(), "–".into(), "–".into(), "0".into()],
            |s| {
                [
                    number(s.min),
                    number(s.median),
                    number(s.max),
                    s.runs.to_string(),
                ]
            },
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            budget.what,
            limit_text(budget.limit),
            cells.join(" | "),
            Verdict::of(budget.limit, summary).label()
        );
    }
    out.push_str(&side_by_side(results));
    out.push_str("\n| probe | figure | min | median | max | runs |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for result in results {
        for name in result.figure_names() {
            if let Some(s) = result.summary(&name) {
                let _ = writeln!(
                    out,
                    "| {} | {name} | {} | {} | {} | {} |",
                    result.name,
                    number(s.min),
                    number(s.median),
                    number(s.max),
                    s.runs
                );
            }
        }
        for (name, texts) in result.notes() {
            let _ = writeln!(
                out,
                "| {} | {name} | {} | | | |",
                result.name,
                texts.join("; ")
            );
        }
        for error in &result.errors {
            let _ = writeln!(out, "| {} | failed run | {error} | | | |", result.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, figure: &str, values: &[f64]) -> ProbeResult {
        ProbeResult {
            name: name.into(),
            what: "test".into(),
            runs: values
                .iter()
                .map(|&v| {
                    let mut m = Measured::default();
                    m.set(figure, v);
                    m
                })
                .collect(),
            errors: vec![],
        }
    }

    #[test]
    fn summaries_take_the_middle_and_ignore_nan() {
        let s = Summary::of(&[3.0, 1.0, f64::NAN, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.runs), (1.0, 2.0, 3.0, 3));
        assert_eq!(Summary::of(&[1.0, 4.0]).unwrap().median, 2.5);
        assert_eq!(Summary::of(&[f64::NAN]), None);
    }

    #[test]
    fn verdicts_follow_the_median_and_flag_the_worst_run() {
        let s = |v: &[f64]| Summary::of(v);
        assert_eq!(
            Verdict::of(Limit::AtMost(1.05), s(&[1.01, 1.02, 1.03])),
            Verdict::Met
        );
        assert_eq!(
            Verdict::of(Limit::AtMost(1.05), s(&[1.01, 1.02, 1.09])),
            Verdict::MetInMedian
        );
        let Verdict::Missed(by) = Verdict::of(Limit::AtLeast(0.5), s(&[0.3, 0.4, 0.6])) else {
            panic!("below the floor in the median");
        };
        assert!((by - 0.1).abs() < 1e-9);
        assert_eq!(Verdict::of(Limit::AtMost(0.0), None), Verdict::NotMeasured);
    }

    #[test]
    fn the_table_lists_every_budget_and_figure() {
        let results = vec![
            result("host 1280x720", "host_cores", &[0.30, 0.33, 0.40]),
            result("drops", "dropped_percent", &[0.5]),
        ];
        let table = table(&results);
        assert_eq!(table.matches("\n| ").count(), BUDGETS.len() + 2 + 1);
        assert!(table.contains(
            "| host CPU, one 720p30 stream with audio and mux (cores) | ≤ 0.350 | 0.300 | 0.330 | 0.400 | 3 | met in the median (not every run) |"
        ));
        assert!(table.contains("MISSED by 0.400"));
        assert!(table.contains("| A/V offset in the output (ms, largest either way) | ≤ 20.0 | – | – | – | 0 | not measured |"));
        let json = to_json(&serde_json::json!({}), &results);
        assert_eq!(
            json["probes"]["host 1280x720"]["figures"]["host_cores"]["median"],
            0.33
        );
        assert_eq!(json["budgets"].as_array().unwrap().len(), BUDGETS.len());
    }

    #[test]
    fn notes_are_reported_once_per_distinct_text() {
        let mut capture = result("capture 640x360", "ratio_on_off", &[1.01, 1.02, 1.03]);
        for (run, adapter) in capture
            .runs
            .iter_mut()
            .zip(["lavapipe", "lavapipe", "H100"])
        {
            run.note("render_adapter", adapter);
        }
        let json = to_json(&serde_json::json!({}), std::slice::from_ref(&capture));
        assert_eq!(
            json["probes"]["capture 640x360"]["notes"]["render_adapter"],
            serde_json::json!(["lavapipe", "H100"])
        );
        assert!(
            table(&[capture])
                .contains("| capture 640x360 | render_adapter | lavapipe; H100 | | | |")
        );
    }

    #[test]
    fn figures_measured_each_way_sit_side_by_side() {
        let mut comparison = result("three ways", "ours_encoder_cores", &[0.1, 0.2]);
        for (run, value) in comparison.runs.iter_mut().zip([0.05, 0.07]) {
            run.set("screen_encoder_cores", value);
            run.set("obs_encoder_cores", 3.0 * value);
            run.set("ours_only", 1.0);
        }
        let table = side_by_side(&[comparison]);
        assert!(
            table.contains("| figure | bevy_livestream | OBS Studio | screen recording |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| three ways encoder_cores | 0.150 (0.100–0.200) | 0.180 (0.150–0.210) | 0.0600 (0.0500–0.0700) |"
            ),
            "{table}"
        );
        assert!(table.contains("| three ways only | 1.000 (1.000–1.000) | – | – |"));
        assert_eq!(
            side_by_side(&[result("drops", "dropped_percent", &[0.5])]),
            ""
        );
    }
}
