//! The report's plots, as PNG: latency distributions, the CPU and latency of
//! each way of streaming, the audience round trip by leg. Text uses the font
//! egui ships, so no system font is needed (it has no arrows: labels say "to").

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::report::{ProbeResult, THREE_WAYS, WAYS};

/// A plot could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("plot {file}: {message}")]
pub struct PlotError {
    file: String,
    message: String,
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is valid (egui's own); an error would only mean no text.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Draws every plot the results allow into `dir`; the files written.
pub fn all(dir: &Path, results: &[ProbeResult]) -> Result<Vec<String>, PlotError> {
    register_font();
    let mut written = Vec::new();
    let mut draw = |file: &str, plot: &dyn Fn(&Path) -> Result<(), String>| {
        plot(&dir.join(file)).map_err(|message| PlotError {
            file: file.into(),
            message,
        })?;
        written.push(file.to_owned());
        Ok::<(), PlotError>(())
    };
    let latency = samples_of(results, "latency", "latency_ms");
    if !latency.is_empty() {
        let caption = format!(
            "capture-to-ingest latency, 1280x720@30 ({} frames)",
            latency.len()
        );
        draw("latency.png", &|path| histogram(path, &caption, &latency))?;
    }
    let bars = cpu_bars(results);
    if !bars.is_empty() {
        let caption = "encoder process CPU per stream at 30 fps (cores)";
        let budget = Some((0.35, "budget, one 720p30 stream: 0.35"));
        draw("cpu.png", &|path| {
            bar_chart(path, caption, "cores", &bars, budget)
        })?;
    }
    let bars = three_ways_latency_bars(results);
    if !bars.is_empty() {
        let caption = "game frame to decoded from the ingest, 640x360 window (ms)";
        draw("three-ways-latency.png", &|path| {
            bar_chart(path, caption, "ms", &bars, None)
        })?;
    }
    let round_trips = samples_of(results, "audience round trip", "round_trip_ms");
    if !round_trips.is_empty() {
        let caption = format!(
            "viewer's gift to its reaction decoded from the ingest ({} gifts)",
            round_trips.len()
        );
        draw("round-trip.png", &|path| {
            histogram(path, &caption, &round_trips)
        })?;
    }
    let bars = round_trip_leg_bars(results);
    if !bars.is_empty() {
        let caption = "the audience round trip by leg, median (ms)";
        draw("round-trip-legs.png", &|path| {
            bar_chart(path, caption, "ms", &bars, None)
        })?;
    }
    Ok(written)
}

/// The samples under `key` of every probe whose name starts with `probe`.
fn samples_of(results: &[ProbeResult], probe: &str, key: &str) -> Vec<f64> {
    results
        .iter()
        .filter(|r| r.name.starts_with(probe))
        .flat_map(|r| r.samples(key))
        .collect()
}

/// Median cores of each encoder process measured, labelled.
fn cpu_bars(results: &[ProbeResult]) -> Vec<(String, f64)> {
    let mut bars = Vec::new();
    for result in results {
        if let Some(size) = result.name.strip_prefix("host ") {
            if let Some(summary) = result.summary("host_cores") {
                bars.push((format!("{size} host"), summary.median));
            }
        } else if result.name == THREE_WAYS {
            for (prefix, label) in WAYS {
                if let Some(summary) = result.summary(&format!("{prefix}encoder_cores")) {
                    bars.push((format!("640x360 {label}"), summary.median));
                }
            }
        }
    }
    bars
}

/// Median p50 and p95 latency of each way of the `three ways` probe.
fn three_ways_latency_bars(results: &[ProbeResult]) -> Vec<(String, f64)> {
    let Some(result) = results.iter().find(|r| r.name == THREE_WAYS) else {
        return Vec::new();
    };
    WAYS.iter()
        .flat_map(|(prefix, label)| {
            ["p50", "p95"].into_iter().filter_map(move |q| {
                let summary = result.summary(&format!("{prefix}latency_{q}_ms"))?;
                Some((format!("{label} {q}"), summary.median))
            })
        })
        .collect()
}

/// The audience round trip's legs (median ms), in the order they happen.
fn round_trip_leg_bars(results: &[ProbeResult]) -> Vec<(String, f64)> {
    let Some(result) = results.iter().find(|r| r.name == "audience round trip") else {
        return Vec::new();
    };
    [
        ("room_to_host", "post to host"),
        ("host_to_game", "host to game"),
        ("game_to_viewer", "game to decoded"),
        ("round_trip", "total"),
    ]
    .into_iter()
    .filter_map(|(leg, label)| {
        let summary = result.summary(&format!("{leg}_p50_ms"))?;
        Some((label.to_owned(), summary.median))
    })
    .collect()
}

/// A histogram of `values` (ms) in about 30 bins.
fn histogram(path: &Path, caption: &str, values: &[f64]) -> Result<(), String> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let hi = values.iter().copied().fold(0.0, f64::max).ceil() + 1.0;
    let width = ((hi - lo) / 30.0).max(0.5);
    let mut counts = vec![0u32; ((hi - lo) / width).ceil() as usize + 1];
    for v in values {
        counts[((v - lo) / width) as usize] += 1;
    }
    let top = f64::from(counts.iter().copied().max().unwrap_or(1)) * 1.1;
    let root = BitMapBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi.max(lo + width), 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("ms")
        .y_desc("count")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &count)| {
            let x0 = lo + i as f64 * width;
            Rectangle::new(
                [(x0, 0.0), (x0 + width * 0.9, f64::from(count))],
                BLUE.mix(0.7).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Labelled bars, with an optional horizontal budget line.
fn bar_chart(
    path: &Path,
    caption: &str,
    unit: &str,
    bars: &[(String, f64)],
    budget: Option<(f64, &str)>,
) -> Result<(), String> {
    let highest = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    let top = highest.max(budget.map_or(0.0, |b| b.0)) * 1.2 + f64::EPSILON;
    let root = BitMapBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(10)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..bars.len() as f64, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc(unit)
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
            let x = i as f64;
            Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, *value)],
                BLUE.mix(0.7).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (label, value))| {
            Text::new(
                format!("{label}: {}", crate::report::number(*value)),
                (i as f64 + 0.15, value + top * 0.03),
                ("sans-serif", 15),
            )
        }))
        .map_err(|e| e.to_string())?;
    if let Some((limit, label)) = budget {
        chart
            .draw_series(LineSeries::new(
                [(0.0, limit), (bars.len() as f64, limit)],
                RED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Measured;

    fn probe(name: &str, figures: &[(&str, f64)], samples: Option<Vec<f64>>) -> ProbeResult {
        let mut run = Measured::default();
        for (figure, value) in figures {
            run.set(figure, *value);
        }
        if let Some(samples) = samples {
            run.samples.insert("latency_ms".into(), samples);
        }
        ProbeResult {
            name: name.into(),
            what: String::new(),
            runs: vec![run],
            errors: vec![],
        }
    }

    #[test]
    fn plots_are_written_as_png() {
        let dir = tempfile::tempdir().unwrap();
        let results = vec![
            probe(
                "latency 1280x720",
                &[],
                Some((0..300).map(|i| 70.0 + f64::from(i % 17)).collect()),
            ),
            probe("host 1280x720", &[("host_cores", 0.32)], None),
            probe(
                "three ways",
                &[
                    ("ours_encoder_cores", 0.12),
                    ("obs_encoder_cores", 0.3),
                    ("screen_encoder_cores", 0.05),
                    ("ours_latency_p50_ms", 118.0),
                    ("obs_latency_p50_ms", 150.0),
                ],
                None,
            ),
        ];
        let written = all(dir.path(), &results).unwrap();
        assert_eq!(
            written,
            ["latency.png", "cpu.png", "three-ways-latency.png"]
        );
        for file in written {
            let bytes = std::fs::read(dir.path().join(file)).unwrap();
            assert_eq!(&bytes[1..4], b"PNG");
        }
        assert_eq!(cpu_bars(&results).len(), 4);
        assert_eq!(three_ways_latency_bars(&results).len(), 2);
    }

    #[test]
    fn the_round_trip_is_plotted_whole_and_by_leg() {
        let dir = tempfile::tempdir().unwrap();
        let mut result = probe(
            "audience round trip",
            &[
                ("room_to_host_p50_ms", 20.0),
                ("host_to_game_p50_ms", 30.0),
                ("game_to_viewer_p50_ms", 120.0),
                ("round_trip_p50_ms", 170.0),
            ],
            None,
        );
        result.runs[0]
            .samples
            .insert("round_trip_ms".into(), vec![160.0, 170.0, 190.0]);
        let results = [result];
        let written = all(dir.path(), &results).unwrap();
        assert_eq!(written, ["round-trip.png", "round-trip-legs.png"]);
        let labels: Vec<String> = round_trip_leg_bars(&results)
            .into_iter()
            .map(|(label, _)| label)
            .collect();
        assert_eq!(
            labels,
            ["post to host", "host to game", "game to decoded", "total"]
        );
    }
}
