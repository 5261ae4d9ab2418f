//! One authenticated 1 MiB delivery, whatever its shape, costs the service a bounded amount
//! of memory (the review saw about 1 GB for a batch of half a million elements): measured
//! on the real binary, its peak resident set after every shape below, each sent four times
//! at once.

use crate::common::{binary, Served, TOKEN};
use crate::hostile_bodies::one_mebibyte_shapes;

#[tokio::test]
async fn a_one_mebibyte_delivery_of_any_shape_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        binary()
            .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
            .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
            .env("HALO_TRIAGE__STORE__PATH", dir.path().join("memory.db")),
    );
    for (shape, body) in one_mebibyte_shapes() {
        assert!(body.len() < 1_048_576, "{shape}: {} bytes", body.len());
        // The review's worst case: the same body four times at once.
        let statuses = tokio::join!(
            served.deliver(body.clone()),
            served.deliver(body.clone()),
            served.deliver(body.clone()),
            served.deliver(body),
        );
        for response in [statuses.0, statuses.1, statuses.2, statuses.3] {
            let status = response.status().as_u16();
            assert!(
                [202, 400, 413].contains(&status),
                "{shape}: answered {status}"
            );
        }
        let peak = served.peak_rss_kib();
        assert!(peak < 100 * 1024, "{shape}: peak RSS {} MiB", peak / 1024);
    }
    served.kill();
}
