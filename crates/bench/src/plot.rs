//! The report's plots, as PNG: the latency distribution and the CPU each way
//! of streaming costs. Text uses the font egui ships, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::report::ProbeResult;

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
    let latency: Vec<f64> = results
        .iter()
        .filter(|r| r.name.starts_with("latency"))
        .flat_map(|r| r.samples("latency_ms"))
        .collect();
    if !latency.is_empty() {
        draw("latency.png", &|path| latency_histogram(path, &latency))?;
    }
    let bars = cpu_bars(results);
    if !bars.is_empty() {
        draw("cpu.png", &|path| cpu_chart(path, &bars))?;
    }
    Ok(written)
}

/// Median cores of each encoder process measured, labelled.
fn cpu_bars(results: &[ProbeResult]) -> Vec<(String, f64)> {
    let mut bars = Vec::new();
    for result in results {
        let figures: &[(&str, &str)] = if let Some(size) = result.name.strip_prefix("host ") {
            &[("host_cores", size)]
        } else if result.name == "screen recording" {
            &[
                ("ours_encoder_cores", "640x360 host (window)"),
                ("screen_encoder_cores", "640x360 ffmpeg x11grab"),
            ]
        } else {
            &[]
        };
        for (figure, label) in figures {
            if let Some(summary) = result.summary(figure) {
                let label = if result.name.starts_with("host ") {
                    format!("{label} host")
                } else {
                    (*label).to_owned()
                };
                bars.push((label, summary.median));
            }
        }
    }
    bars
}

fn latency_histogram(path: &Path, latencies: &[f64]) -> Result<(), String> {
    let lo = latencies
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .floor();
    let hi = latencies.iter().copied().fold(0.0, f64::max).ceil() + 1.0;
    let width = ((hi - lo) / 30.0).max(0.5);
    let mut counts = vec![0u32; ((hi - lo) / width).ceil() as usize + 1];
    for v in latencies {
        counts[((v - lo) / width) as usize] += 1;
    }
    let top = f64::from(counts.iter().copied().max().unwrap_or(1)) * 1.1;
    let root = BitMapBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "capture → ingest latency, 1280x720@30 ({} frames)",
                latencies.len()
            ),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi.max(lo + width), 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("ms")
        .y_desc("frames")
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

fn cpu_chart(path: &Path, bars: &[(String, f64)]) -> Result<(), String> {
    let top = bars.iter().map(|b| b.1).fold(0.4, f64::max) * 1.2;
    let root = BitMapBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "encoder process CPU per stream at 30 fps (cores)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(10)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..bars.len() as f64, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc("cores")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, cores))| {
            let x = i as f64;
            Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, *cores)],
                BLUE.mix(0.7).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (label, cores))| {
            Text::new(
                format!("{label}: {cores:.2}"),
                (i as f64 + 0.15, cores + top * 0.03),
                ("sans-serif", 15),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.35), (bars.len() as f64, 0.35)],
            RED.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?
        .label("budget, one 720p30 stream: 0.35")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
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
                "screen recording",
                &[("ours_encoder_cores", 0.12), ("screen_encoder_cores", 0.05)],
                None,
            ),
        ];
        let written = all(dir.path(), &results).unwrap();
        assert_eq!(written, ["latency.png", "cpu.png"]);
        for file in written {
            let bytes = std::fs::read(dir.path().join(file)).unwrap();
            assert_eq!(&bytes[1..4], b"PNG");
        }
        assert_eq!(cpu_bars(&results).len(), 3);
    }
}
