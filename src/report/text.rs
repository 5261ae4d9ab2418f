//! The report as `halo-triage report` prints it: a table per field, then what to act on.

use std::fmt::Write;

use super::Report;

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn value(v: Option<&str>) -> String {
    v.map_or("(empty)".into(), |v| format!("'{v}'"))
}

/// One line of the field table: the heading and each field share its widths.
fn row(out: &mut String, cells: [String; 8]) {
    let [field, compared, agreed, agreement, untouched, review, live, rate] = cells;
    let _ = writeln!(
        out,
        "{field:<14} {compared:>8} {agreed:>7} {agreement:>9} {untouched:>9} {review:>7} {live:>11} {rate:>9}"
    );
}

/// The report as text for a terminal.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let since = report
        .since
        .as_deref()
        .map_or(String::new(), |s| format!(" since {s}"));
    let _ = writeln!(
        out,
        "Agreement with the people working the tickets{since}: {} decisions read back, {} waiting to settle\n",
        report.decisions_read_back, report.decisions_pending
    );
    if report.fields.is_empty() {
        out.push_str("Nothing read back yet: decisions are read back report.settle_secs after they are made, or when their ticket is closed.\n");
        return out;
    }
    row(
        &mut out,
        [
            "field",
            "compared",
            "agreed",
            "agreement",
            "untouched",
            "review",
            "live kept",
            "override",
        ]
        .map(String::from),
    );
    for f in &report.fields {
        let cells = [
            f.field.to_string(),
            f.compared.to_string(),
            f.agreed.to_string(),
            percent(f.agreement),
            f.untouched.to_string(),
            f.review.to_string(),
            format!("{}/{}", f.live.kept, f.live.compared),
            percent(f.live.override_rate),
        ];
        row(&mut out, cells);
    }
    out.push('\n');
    for f in &report.fields {
        let sources: Vec<String> = f
            .by_source
            .iter()
            .filter(|s| s.compared > 0)
            .map(|s| {
                let who = match s.name.is_empty() {
                    true => s.source.clone(),
                    false => format!("{} '{}'", s.source, s.name),
                };
                format!(
                    "{who} {}/{} ({})",
                    s.agreed,
                    s.compared,
                    percent(s.agreement)
                )
            })
            .collect();
        if !sources.is_empty() {
            let _ = writeln!(out, "{} by source: {}", f.field, sources.join(", "));
        }
        if f.review > 0 {
            let _ = writeln!(
                out,
                "{}: {} left for review, {} of them filled in by a person",
                f.field, f.review, f.review_filled
            );
        }
        if f.unread > 0 {
            let _ = writeln!(
                out,
                "{}: {} not in Halo's ticket list (not compared; see the README)",
                f.field, f.unread
            );
        }
    }
    let ready = match report.ready.is_empty() {
        true => "none yet".to_string(),
        false => report.ready.join(", "),
    };
    let _ = writeln!(
        out,
        "\nReady to go live (agreement >= {:.0}% over at least {} tickets): {ready}",
        report.ready_agreement * 100.0,
        report.ready_min
    );
    if !report.worst_rules.is_empty() {
        out.push_str("\nRules people overrode most:\n");
        for r in &report.worst_rules {
            let _ = writeln!(
                out,
                "  '{}' on {}: {} of {} changed ({} kept)",
                r.rule,
                r.field,
                r.overridden,
                r.compared,
                percent(r.agreement)
            );
        }
    }
    if !report.disagreements.is_empty() {
        out.push_str("\nTop disagreements:\n");
        for d in &report.disagreements {
            let tickets: Vec<String> = d.tickets.iter().map(|t| format!("#{t}")).collect();
            let _ = writeln!(
                out,
                "  {}: we said '{}', people set {}: {} ticket{} (latest {})",
                d.field,
                d.ours,
                value(d.theirs.as_deref()),
                d.count,
                if d.count == 1 { "" } else { "s" },
                tickets.join(", ")
            );
        }
    }
    if !report.corrections.is_empty() {
        out.push_str("\nCorrections read back since each model was trained:\n");
        for c in &report.corrections {
            let _ = writeln!(
                out,
                "  {} (trained {}): {}",
                c.field, c.trained_at, c.corrections
            );
        }
    }
    out
}
