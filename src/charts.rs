//! Charts as inline SVG, drawn on the server: nothing to fetch and no script to run, so
//! they show offline and without JavaScript. Shared by `eval --report` and the console.
//! Each chart has a text title per mark, read by screen readers and shown on hover.

use maud::{html, Markup};

const INK: &str = "hsl(215,70%,40%)";

/// A shade of the accent for a share from 0 to 1 (darker is more).
fn shade(share: f64) -> String {
    format!("hsl(215,70%,{:.0}%)", 97.0 - 60.0 * share.clamp(0.0, 1.0))
}

/// A count matrix as a heat map: `counts[row][column]`, each cell shaded by its share of
/// its row. Rows are what was true, columns what was said.
pub fn heat_map(rows: &[String], columns: &[String], counts: &[Vec<i64>], label: &str) -> Markup {
    let (cell, left, top) = (44.0, 170.0, 150.0);
    let width = left + cell * columns.len() as f64 + 10.0;
    let height = top + cell * rows.len() as f64 + 10.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) role="img" aria-label=(label) {
            @for (j, name) in columns.iter().enumerate() {
                text transform={ "translate(" (left + cell * j as f64 + cell / 2.0) "," (top - 6.0) ") rotate(-60)" } { (name) }
            }
            @for (i, name) in rows.iter().enumerate() {
                @let y = top + cell * i as f64;
                text x=(left - 6.0) y=(y + cell / 2.0) text-anchor="end" dominant-baseline="middle" { (name) }
                @let row = counts.get(i).map(Vec::as_slice).unwrap_or_default();
                @let total: i64 = row.iter().sum();
                @for (j, count) in row.iter().enumerate() {
                    @let share = if total == 0 { 0.0 } else { *count as f64 / total as f64 };
                    @let x = left + cell * j as f64;
                    rect x=(x) y=(y) width=(cell) height=(cell) fill=(shade(share)) {
                        title { (name) " as " (columns.get(j).map_or("", String::as_str)) ": " (count) }
                    }
                    text x=(x + cell / 2.0) y=(y + cell / 2.0) text-anchor="middle" dominant-baseline="middle"
                        fill=(if share > 0.5 { "#fff" } else { "#000" }) font-size="11" { (count) }
                }
            }
        }
    }
}

/// Precision against coverage: `points` are (coverage, precision) of the most confident
/// share of tickets; `marks` are (precision, coverage) lines drawn across.
pub fn precision_curve(points: &[(f64, f64)], marks: &[(f64, f64)]) -> Markup {
    let (width, height, pad) = (480.0, 300.0, 40.0);
    let low = points
        .iter()
        .map(|(_, p)| *p)
        .fold(1.0f64, f64::min)
        .clamp(0.0, 0.9);
    let x = |c: f64| pad + c * (width - 2.0 * pad);
    let y = |p: f64| height - pad - (p - low) / (1.0 - low).max(1e-9) * (height - 2.0 * pad);
    let line: Vec<String> = points
        .iter()
        .map(|(c, p)| format!("{:.1},{:.1}", x(*c), y(*p)))
        .collect();
    let (bottom, right) = (height - pad, width - pad);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) role="img" aria-label="precision against coverage" {
            line x1=(pad) y1=(bottom) x2=(right) y2=(bottom) stroke="#555" {}
            line x1=(pad) y1=(pad) x2=(pad) y2=(bottom) stroke="#555" {}
            text x=(width / 2.0) y=(height - 8.0) text-anchor="middle" { "coverage (most confident first)" }
            text x="4" y=(pad) font-size="11" { "1.00" }
            text x="4" y=(bottom) font-size="11" { (format!("{low:.2}")) }
            polyline fill="none" stroke=(INK) stroke-width="2" points=(line.join(" ")) {}
            @for (precision, coverage) in marks {
                @let py = format!("{:.1}", y(*precision));
                line x1=(pad) y1=(py) x2=(right) y2=(py) stroke="#c33" stroke-dasharray="4 3" {}
                text x=(right) y=(format!("{:.1}", y(*precision) - 3.0)) text-anchor="end" font-size="11" fill="#c33" {
                    (format!("precision {precision:.2}: {:.1}%", 100.0 * coverage))
                }
            }
        }
    }
}

/// One horizontal bar per item: (label, share from 0 to 1 or none, text beside the bar).
pub fn bars(items: &[(String, Option<f64>, String)], label: &str) -> Markup {
    let (row, left, span) = (24.0, 130.0, 300.0);
    let height = row * items.len() as f64 + 4.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(left + span + 190.0) height=(height) role="img" aria-label=(label) {
            @for (i, (name, share, note)) in items.iter().enumerate() {
                @let y = row * i as f64 + 2.0;
                text x=(left - 6.0) y=(y + row / 2.0) text-anchor="end" dominant-baseline="middle" { (name) }
                rect x=(left) y=(y + 3.0) width=(span) height=(row - 6.0) fill="#eee" {}
                @if let Some(share) = share {
                    rect x=(left) y=(y + 3.0) width=(format!("{:.1}", span * share.clamp(0.0, 1.0))) height=(row - 6.0) fill=(INK) {
                        title { (name) ": " (note) }
                    }
                }
                text x=(left + span + 6.0) y=(y + row / 2.0) dominant-baseline="middle" font-size="12" { (note) }
            }
        }
    }
}

/// Columns over time, each stacked from `series` (name, colour): `slots[t][series]`,
/// the oldest first, one slot per hour.
pub fn stacked_columns(series: &[(&str, &str)], slots: &[Vec<i64>], label: &str) -> Markup {
    let (column, plot, left) = (14.0, 70.0, 32.0);
    let top = slots
        .iter()
        .map(|slot| slot.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let width = left + column * slots.len() as f64 + 8.0;
    let mut marks = Vec::new();
    for (t, slot) in slots.iter().enumerate() {
        let mut below = 0.0;
        for ((name, colour), count) in series.iter().zip(slot) {
            let tall = plot * *count as f64 / top;
            if *count > 0 {
                let age = slots.len() - t - 1;
                let title = format!("{count} {name}, {age} to {} h ago", age + 1);
                marks.push((
                    left + column * t as f64,
                    plot - below - tall,
                    tall,
                    *colour,
                    title,
                ));
            }
            below += tall;
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(plot + 40.0) role="img" aria-label=(label) {
            text x="0" y="10" font-size="11" { (top) }
            line x1=(left - 2.0) y1=(plot) x2=(width) y2=(plot) stroke="#555" {}
            @for (x, y, tall, colour, title) in &marks {
                rect x=(x) y=(format!("{y:.1}")) width=(column - 2.0) height=(format!("{tall:.1}")) fill=(colour) {
                    title { (title) }
                }
            }
            text x=(left) y=(plot + 13.0) font-size="11" { (slots.len()) " h ago" }
            text x=(width) y=(plot + 13.0) font-size="11" text-anchor="end" { "now" }
            @for (i, (name, colour)) in series.iter().enumerate() {
                rect x=(left + 90.0 * i as f64) y=(plot + 22.0) width="10" height="10" fill=(colour) {}
                text x=(left + 14.0 + 90.0 * i as f64) y=(plot + 31.0) font-size="11" { (name) }
            }
        }
    }
}
