//! `eval --report`: one self-contained HTML page (inline SVG and CSS, nothing fetched)
//! with the figures, the confusion matrix as a heat map and the precision-coverage curve.

use std::fmt::Write;

use super::evaluate::Evaluation;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The confusion matrix, each cell shaded by its share of the true label's row.
fn heat_map(evaluation: &Evaluation) -> String {
    let n = evaluation.labels.len();
    let (cell, left, top) = (44.0, 170.0, 150.0);
    let size = (left + cell * n as f64 + 10.0, top + cell * n as f64 + 10.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="confusion matrix">"#,
        size.0, size.1
    );
    for (i, label) in evaluation.labels.iter().enumerate() {
        let y = top + cell * i as f64 + cell / 2.0;
        let x = left + cell * i as f64 + cell / 2.0;
        let name = escape(&label.label);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{y}" text-anchor="end" dominant-baseline="middle">{name}</text><text transform="translate({x},{}) rotate(-60)">{name}</text>"#,
            left - 6.0,
            top - 6.0
        );
        let total: usize = evaluation.confusion[i].iter().sum();
        for (j, count) in evaluation.confusion[i].iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                *count as f64 / total as f64
            };
            let light = 97.0 - 60.0 * share;
            let ink = if share > 0.5 { "#fff" } else { "#000" };
            let (cx, cy) = (left + cell * j as f64, top + cell * i as f64);
            let _ = write!(
                svg,
                r#"<rect x="{cx}" y="{cy}" width="{cell}" height="{cell}" fill="hsl(215,70%,{light:.0}%)"><title>{name} as {}: {count}</title></rect><text x="{}" y="{}" text-anchor="middle" dominant-baseline="middle" fill="{ink}" font-size="11">{count}</text>"#,
                escape(&evaluation.labels[j].label),
                cx + cell / 2.0,
                cy + cell / 2.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Precision of the most confident share of tickets, against that share.
fn curve(evaluation: &Evaluation) -> String {
    let (width, height, pad) = (480.0, 300.0, 40.0);
    let low = evaluation
        .curve
        .iter()
        .map(|(_, p)| *p)
        .fold(1.0f64, f64::min)
        .clamp(0.0, 0.9);
    let x = |c: f64| pad + c * (width - 2.0 * pad);
    let y = |p: f64| height - pad - (p - low) / (1.0 - low).max(1e-9) * (height - 2.0 * pad);
    let points: Vec<String> = evaluation
        .curve
        .iter()
        .map(|(c, p)| format!("{:.1},{:.1}", x(*c), y(*p)))
        .collect();
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="precision against coverage"><line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="#555"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="#555"/><text x="{mid}" y="{t}" text-anchor="middle">coverage (most confident first)</text><text x="4" y="{pad}" font-size="11">{:.2}</text><text x="4" y="{b}" font-size="11">{low:.2}</text><polyline fill="none" stroke="hsl(215,70%,40%)" stroke-width="2" points="{}"/>"##,
        1.0,
        points.join(" "),
        b = height - pad,
        r = width - pad,
        mid = width / 2.0,
        t = height - 8.0,
    );
    for c in &evaluation.coverage {
        let _ = write!(
            svg,
            r##"<line x1="{pad}" y1="{py:.1}" x2="{r}" y2="{py:.1}" stroke="#c33" stroke-dasharray="4 3"/><text x="{r}" y="{ty:.1}" text-anchor="end" font-size="11" fill="#c33">precision {:.2}: {:.1}%</text>"##,
            c.precision,
            100.0 * c.coverage,
            py = y(c.precision),
            ty = y(c.precision) - 3.0,
            r = width - pad,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The whole page for `model_name` on `data_name`.
pub fn html(evaluation: &Evaluation, model_name: &str, data_name: &str) -> String {
    let mut rows = String::new();
    for l in &evaluation.labels {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
            escape(&l.label),
            l.precision,
            l.recall,
            l.f1,
            l.support
        );
    }
    let coverage: Vec<String> = evaluation
        .coverage
        .iter()
        .map(|c| {
            format!(
                "<li>at precision {:.2}: <strong>{:.1}%</strong> of tickets (confidence &ge; {:.3})</li>",
                c.precision,
                100.0 * c.coverage,
                c.threshold
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Model evaluation: {model}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}table{{border-collapse:collapse}}td,th{{padding:.2rem .6rem;text-align:right}}th[scope=row]{{text-align:left}}svg text{{font-size:12px}}</style></head>
<body><h1>Model evaluation</h1><p>Model <code>{model}</code> on <code>{data}</code>: {n} tickets.</p>
<p>Macro-F1 <strong>{f1:.4}</strong>, accuracy {acc:.4}, expected calibration error {ece:.4}.</p>
<h2>Coverage</h2><ul>{coverage}</ul>
<h2>Precision against coverage</h2>{curve}
<h2>Per label</h2><table><thead><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Confusion matrix</h2><p>Rows: the true label; columns: the model's; shade: share of the row.</p>{heat}
</body></html>
"#,
        model = escape(model_name),
        data = escape(data_name),
        n = evaluation.examples,
        f1 = evaluation.macro_f1,
        acc = evaluation.accuracy,
        ece = evaluation.calibration_error,
        coverage = coverage.join(""),
        curve = curve(evaluation),
        heat = heat_map(evaluation),
    )
}
