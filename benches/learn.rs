//! The learned classifier's speed: training on a labelled export and predicting one
//! ticket. Data: `HALO_TRIAGE_BENCH_DATA` (a CSV with `Document` and `Topic_group`, e.g.
//! the 38k-ticket public set), else the 480-ticket sample in tests/fixtures. Figures:
//! docs/learning.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use halo_triage::learning::{read, train, Example};

fn examples() -> Vec<Example> {
    let path = std::env::var("HALO_TRIAGE_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/it-tickets-sample.csv")
        });
    read(&path, &["Document".to_string()], Some("Topic_group"))
        .expect("the bench data")
        .into_iter()
        .filter_map(|row| {
            Some(Example {
                text: row.text,
                label: row.label.filter(|l| !l.is_empty())?,
            })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let examples = examples();
    let mut group = c.benchmark_group("learn");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function(format!("train {} tickets", examples.len()), |b| {
        b.iter(|| train(black_box(&examples), "category_1", serde_json::Value::Null))
    });
    group.finish();
    let model = train(&examples, "category_1", serde_json::Value::Null);
    let texts: Vec<&str> = examples
        .iter()
        .map(|e| e.text.as_str())
        .take(1000)
        .collect();
    // Per ticket, as an operator meets them: the median and the slowest 1% of single
    // predictions over the first 1,000 tickets (long tickets cost more than short ones).
    let mut times: Vec<Duration> = texts
        .iter()
        .map(|text| {
            let started = std::time::Instant::now();
            black_box(model.predict(black_box(text)));
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "predict, one ticket at a time over {} tickets: median {:.1} µs, p99 {:.1} µs",
        times.len(),
        times[times.len() / 2].as_secs_f64() * 1e6,
        times[times.len() * 99 / 100].as_secs_f64() * 1e6
    );
    let mut next = 0;
    c.bench_function("predict one ticket", |b| {
        b.iter(|| {
            next = (next + 1) % texts.len();
            black_box(model.predict(black_box(texts[next])))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
