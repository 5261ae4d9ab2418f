//! `halo-triage learn` and `eval` on a sample of the public IT-ticket data set (CC0,
//! tests/fixtures/it-tickets-sample.csv: 60 tickets for each of 8 topics), run as an
//! operator would, in the exact command forms the README gives.

use std::path::Path;

use serde_json::Value;

use crate::common::binary;

const SAMPLE: &str = "tests/fixtures/it-tickets-sample.csv";

fn run(args: &[&str]) -> (bool, String, String) {
    let output = binary().args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The share of `text` after "macro-F1 ", as a number.
fn macro_f1(text: &str) -> f64 {
    let at = text.find("macro-F1 ").expect("a macro-F1 figure") + "macro-F1 ".len();
    text[at..at + 6].parse().unwrap()
}

#[test]
fn learn_holds_out_a_fifth_reports_it_and_writes_a_model_that_eval_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("models/category_1.model");
    let (ok, stdout, stderr) = run(&[
        "learn",
        "--from",
        SAMPLE,
        "--text",
        "Document",
        "--label",
        "Topic_group",
        "--field",
        "category_1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("480 tickets read"), "{stdout}");
    // 20% of each label's 60 tickets.
    assert!(stdout.contains("96 tickets: macro-F1"), "{stdout}");
    for expected in [
        "label                    precision",
        "confusion (rows: true label",
        "at precision 0.95:",
        "calibration: expected calibration error",
        "trained on all 480 tickets",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // Eight topics and 48 tickets each to learn from: far better than chance (0.125).
    assert!(macro_f1(&stdout) > 0.5, "{stdout}");
    assert!(out.exists());

    let predictions = dir.path().join("p.jsonl");
    let report = dir.path().join("r.html");
    let (ok, stdout, stderr) = run(&[
        "eval",
        "--model",
        out.to_str().unwrap(),
        "--from",
        SAMPLE,
        "--text",
        "Document",
        "--label",
        "Topic_group",
        "--predictions",
        predictions.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("480 tickets: macro-F1"), "{stdout}");
    // Tickets it was trained on: nearly all right.
    assert!(macro_f1(&stdout) > 0.9, "{stdout}");
    let lines: Vec<Value> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 480, "one line per input row");
    let rows: Vec<String> = csv_labels(Path::new(SAMPLE));
    let agree = lines
        .iter()
        .zip(&rows)
        .filter(|(p, label)| p["predicted"] == label.as_str())
        .count();
    assert!(agree > 430, "{agree} of 480 in input order");
    for line in &lines {
        let confidence = line["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence), "{line}");
        assert_eq!(line.as_object().unwrap().len(), 2, "{line}");
    }
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.matches("<svg").count() >= 2, "heat map and curve");
    assert!(page.contains("Administrative rights"));
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "nothing fetched"
    );
}

fn csv_labels(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn learn_and_eval_say_what_is_wrong_with_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.model");
    let out = out.to_str().unwrap();
    let learn = |from: &str, text: &str| {
        let args = [
            "learn",
            "--from",
            from,
            "--text",
            text,
            "--label",
            "Topic_group",
        ];
        run(&[&args[..], &["--field", "team", "--out", out]].concat())
    };
    let (ok, _, stderr) = learn(SAMPLE, "Body");
    assert!(!ok);
    assert!(
        stderr.contains("has no column 'Body'; its columns: Document, Topic_group"),
        "{stderr}"
    );
    let one_label = dir.path().join("one.csv");
    std::fs::write(
        &one_label,
        "Document,Topic_group\nnew toner,Hardware\nprinter jam,Hardware\n",
    )
    .unwrap();
    let (ok, _, stderr) = learn(one_label.to_str().unwrap(), "Document");
    assert!(!ok);
    assert!(
        stderr.contains("2 labelled tickets with 1 distinct labels"),
        "{stderr}"
    );

    let corrupt = dir.path().join("corrupt.model");
    std::fs::write(
        &corrupt,
        b"HTMODEL1 and then nothing that checks out at all, really",
    )
    .unwrap();
    let eval = |model: &str, from: &str| {
        let args = [
            "eval", "--model", model, "--from", from, "--text", "Document",
        ];
        run(&[&args[..], &["--label", "Topic_group"]].concat())
    };
    let (ok, _, stderr) = eval(corrupt.to_str().unwrap(), SAMPLE);
    assert!(!ok);
    assert!(
        stderr.contains("is damaged: its checksum does not match"),
        "{stderr}"
    );

    // A model to judge, and data without a single label to judge it on.
    let (ok, _, stderr) = learn(SAMPLE, "Document");
    assert!(ok, "{stderr}");
    let unlabelled = dir.path().join("unlabelled.csv");
    std::fs::write(&unlabelled, "Document,Topic_group\nnew toner please,\n").unwrap();
    let (ok, _, stderr) = eval(out, unlabelled.to_str().unwrap());
    assert!(!ok);
    assert!(
        stderr.contains("no row has a label in 'Topic_group' to compare with"),
        "{stderr}"
    );
}
