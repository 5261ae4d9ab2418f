//! Loading and validating settings: defaults, env overrides, errors that name the key, secrets.

use super::*;
use std::time::Duration;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load_with_env(None, env(pairs))
}

const TOKEN: (&str, &str) = (
    "HALO_TRIAGE__WEBHOOK__TOKEN",
    "s3cret-token-value-0123456789",
);

#[test]
fn defaults_refuse_to_serve_without_webhook_auth() {
    let settings = load(&[]).unwrap();
    let err = settings.validate_for_serving().unwrap_err().to_string();
    assert!(err.contains("webhook.allow_unauthenticated"), "{err}");
    let open = load(&[("HALO_TRIAGE__WEBHOOK__ALLOW_UNAUTHENTICATED", "true")]).unwrap();
    assert!(open.validate_for_serving().is_ok());
    assert!(load(&[TOKEN]).unwrap().validate_for_serving().is_ok());
}

#[test]
fn serving_needs_long_and_distinct_tokens() {
    let short = load(&[("HALO_TRIAGE__WEBHOOK__TOKEN", "t")]).unwrap();
    let err = short.validate_for_serving().unwrap_err().to_string();
    assert!(err.contains("webhook.token") && err.contains("24"), "{err}");
    let admin = load(&[TOKEN, ("HALO_TRIAGE__ADMIN__TOKEN", "a")]).unwrap();
    let err = admin.validate_for_serving().unwrap_err().to_string();
    assert!(err.contains("admin.token"), "{err}");
    let same = load(&[TOKEN, ("HALO_TRIAGE__ADMIN__TOKEN", TOKEN.1)]).unwrap();
    let err = same.validate_for_serving().unwrap_err().to_string();
    assert!(err.contains("must differ from webhook.token"), "{err}");
}

#[test]
fn env_overrides_nested_keys_and_lists() {
    let settings = load(&[
        TOKEN,
        ("HALO_TRIAGE__WEBHOOK__MAX_BODY_BYTES", "2048"),
        (
            "HALO_TRIAGE__WEBHOOK__EVENTS",
            "New Ticket Logged,Ticket Updated",
        ),
        ("HALO_TRIAGE__SERVER__LISTEN", "0.0.0.0:9000"),
    ])
    .unwrap();
    assert_eq!(settings.webhook.max_body_bytes, 2048);
    assert_eq!(
        settings.webhook.events,
        vec!["New Ticket Logged", "Ticket Updated"]
    );
    assert_eq!(settings.listen_addr().unwrap().port(), 9000);
    let settings = load(&[TOKEN, ("HALO_TRIAGE__LEARN__FIELDS", "team, category_1")]).unwrap();
    assert_eq!(settings.learn.fields, ["team", "category_1"]);
}

#[test]
fn without_credentials_live_mode_falls_back_to_shadow() {
    let settings = load(&[TOKEN, ("HALO_TRIAGE__MODE", "live")]).unwrap();
    assert_eq!(settings.mode, Mode::Live);
    assert_eq!(settings.effective_mode(), Mode::Shadow);
}

#[test]
fn live_mode_with_ack_requires_an_outcome() {
    let err = load(&[
        TOKEN,
        ("HALO_TRIAGE__MODE", "live"),
        ("HALO_TRIAGE__HALO__BASE_URL", "https://acme.halopsa.com"),
        ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
        ("HALO_TRIAGE__HALO__CLIENT_SECRET", "secret"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("ack.outcome_id"), "{err}");
}

#[test]
fn errors_name_the_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[TOKEN, ("HALO_TRIAGE__SERVER__LISTEN", "nowhere")],
            "server.listen",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WEBHOOK__PATH", "hooks")],
            "webhook.path",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WEBHOOK__USERNAME", "halo")],
            "webhook.password",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__HALO__CLIENT_ID", "id")],
            "halo.client_secret",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__HALO__BASE_URL", "acme"),
                ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
                ("HALO_TRIAGE__HALO__CLIENT_SECRET", "x"),
            ],
            "halo.base_url",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ACK__BODY", "no marker")],
            "ack.body",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__STORE__RETENTION_DAYS", "999999999999"),
            ],
            "store.retention_days",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__RECONCILE__OVERLAP_SECS", "99999999999"),
            ],
            "reconcile.overlap_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__RECONCILE__PAGE_SIZE", "500")],
            "reconcile.page_size",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__REPORT__PAGE_SIZE", "0")],
            "report.page_size",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__REPORT__MAX_REQUESTS_PER_PASS", "0")],
            "report.max_requests_per_pass",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__REPORT__SETTLE_SECS", "99999999")],
            "report.settle_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__REPORT__READY_AGREEMENT", "1.5")],
            "report.ready_agreement",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__REPORT__READY_MIN", "0")],
            "report.ready_min",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ADMIN__SESSION_HOURS", "0")],
            "admin.session_hours",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ADMIN__SESSION_HOURS", "721")],
            "admin.session_hours",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ADMIN__TICKET_LINK", "/tickets")],
            "admin.ticket_link",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WORKER__OUTAGE_PAUSE_SECS", "0")],
            "worker.outage_pause_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WORKER__OUTAGE_MAX_PAUSE_SECS", "5")],
            "worker.outage_max_pause_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WEBHOOK__IGNORE_AGENT_IDS", "7, api")],
            "ignore_agent_ids",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WORKER__MAX_ATTEMPTS", "0")],
            "worker.max_attempts",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WORKER__LEASE_SECS", "20")],
            "worker.lease_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WORKER__LEASE_RENEW_SECS", "0")],
            "worker.lease_renew_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__WEBHOOK__MAX_BATCH", "0")],
            "webhook.max_batch",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__SERVER__HEADER_READ_TIMEOUT_SECS", "0"),
            ],
            "server.header_read_timeout_secs",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__SERVER__REQUEST_BODY_TIMEOUT_SECS", "0"),
            ],
            "server.request_body_timeout_secs",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__SERVER__MAX_CONNECTIONS", "0")],
            "server.max_connections",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__SERVER__AUTH_FAILURES_PER_MINUTE", "0"),
            ],
            "server.auth_failures_per_minute",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ADMIN__LISTEN", "nowhere")],
            "admin.listen",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ADMIN__PROTECT_METRICS", "true")],
            "admin.protect_metrics",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__ACK__SUBJECT", "{{ oops")],
            "ack.subject",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__LLM__ENABLED", "true"),
                ("HALO_TRIAGE__LLM__MAX_CONCURRENCY", "0"),
            ],
            "llm.max_concurrency",
        ),
        (
            &[
                TOKEN,
                ("HALO_TRIAGE__LLM__ENABLED", "true"),
                ("HALO_TRIAGE__LLM__MAX_INPUT_CHARS", "0"),
            ],
            "llm.max_input_chars",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__HALO__BATCH_MAX", "0")],
            "halo.batch_max",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__HALO__BATCH_MAX", "101")],
            "halo.batch_max",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__MODEL__FILL_THRESHOLD", "1.5")],
            "model.fill_threshold",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__MODEL__THRESHOLDS__AGENT", "0.9")],
            "model.thresholds",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__MODEL__THRESHOLDS__TEAM", "2")],
            "model.thresholds",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__LEARN__FIELDS", "team,status")],
            "learn.fields",
        ),
        (
            &[TOKEN, ("HALO_TRIAGE__LEARN__MONTHS", "0")],
            "learn.months",
        ),
    ];
    for (pairs, key) in cases {
        let err = load(pairs).unwrap_err().to_string();
        assert!(err.contains(key), "expected {key} in: {err}");
    }
}

#[test]
fn durations_keep_the_unit_their_key_names() {
    let settings = load(&[
        TOKEN,
        ("HALO_TRIAGE__WORKER__POLL_INTERVAL_MS", "250"),
        ("HALO_TRIAGE__WORKER__LEASE_SECS", "900"),
        ("HALO_TRIAGE__STORE__RETENTION_DAYS", "2"),
    ])
    .unwrap();
    assert_eq!(settings.worker.poll_interval, Duration::from_millis(250));
    assert_eq!(settings.worker.lease, Duration::from_secs(900));
    assert_eq!(settings.store.retention, Duration::from_secs(2 * 86_400));
    assert_eq!(settings.halo.retry_base, Duration::from_millis(500));
}

#[test]
fn numeric_and_boolean_looking_secrets_stay_text() {
    let settings = load(&[
        ("HALO_TRIAGE__WEBHOOK__USERNAME", "1234"),
        ("HALO_TRIAGE__WEBHOOK__PASSWORD", "000123"),
        ("HALO_TRIAGE__WEBHOOK__TOKEN", "true"),
    ])
    .unwrap();
    assert_eq!(settings.webhook.username.as_deref(), Some("1234"));
    let password = settings.webhook.password.unwrap();
    assert_eq!(password.expose_secret(), "000123");
    assert_eq!(settings.webhook.token.unwrap().expose_secret(), "true");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let settings = load(&[
        ("HALO_TRIAGE__WEBHOOK__USERNAME", "halo"),
        ("HALO_TRIAGE__WEBHOOK__PASSWORD", "hunter2-webhook"),
        TOKEN,
        ("HALO_TRIAGE__HALO__BASE_URL", "https://acme.halopsa.com"),
        ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
        ("HALO_TRIAGE__HALO__CLIENT_SECRET", "client-secret-value"),
    ])
    .unwrap();
    let debug = format!("{settings:?} {:?}", settings.halo_credentials().unwrap());
    for secret in [
        "hunter2-webhook",
        "s3cret-token-value-0123456789",
        "client-secret-value",
    ] {
        assert!(!debug.contains(secret), "secret {secret} leaked: {debug}");
    }
}

const HALO: [(&str, &str); 3] = [
    ("HALO_TRIAGE__HALO__BASE_URL", "https://acme.halopsa.com"),
    ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
    ("HALO_TRIAGE__HALO__CLIENT_SECRET", "client-secret-value"),
];

#[test]
fn halo_urls_must_be_https_unless_allowed() {
    let mut pairs = vec![TOKEN];
    pairs.extend(HALO);
    pairs.push(("HALO_TRIAGE__HALO__BASE_URL", "http://acme.example"));
    let err = load(&pairs).unwrap_err().to_string();
    assert!(
        err.contains("halo.base_url") && err.contains("http://"),
        "{err}"
    );
    pairs.push(("HALO_TRIAGE__HALO__AUTH_URL", "http://acme.example/auth"));
    pairs.push(("HALO_TRIAGE__HALO__ALLOW_INSECURE_HTTP", "true"));
    assert!(load(&pairs).unwrap().halo_credentials().unwrap().is_some());

    let mut pairs = vec![TOKEN];
    pairs.extend(HALO);
    pairs.push(("HALO_TRIAGE__HALO__AUTH_URL", "http://acme.example/auth"));
    let err = load(&pairs).unwrap_err().to_string();
    assert!(err.contains("halo.auth_url"), "{err}");
}

#[test]
fn halo_urls_carry_no_credentials_and_errors_do_not_repeat_them() {
    for url in [
        "https://admin:hunter2-in-url@acme.halopsa.com",
        "https://admin:hunter2-in-url@[not a host",
    ] {
        let mut pairs = vec![TOKEN];
        pairs.extend(HALO);
        pairs.push(("HALO_TRIAGE__HALO__BASE_URL", url));
        let err = load(&pairs).unwrap_err().to_string();
        assert!(err.contains("halo.base_url"), "{err}");
        assert!(
            !err.contains("hunter2-in-url"),
            "the password leaked: {err}"
        );
    }
}

#[test]
fn halo_credentials_debug_shows_no_secret() {
    let mut pairs = vec![TOKEN];
    pairs.extend(HALO);
    let credentials = load(&pairs).unwrap().halo_credentials().unwrap().unwrap();
    let debug = format!("{credentials:?}");
    assert!(!debug.contains("client-secret-value"), "{debug}");
    assert!(debug.contains("https://acme.halopsa.com"), "{debug}");
}

#[test]
fn the_store_is_the_path_unless_a_url_names_one() {
    let default = load(&[]).unwrap();
    assert!(
        matches!(&default.store.database, Database::Sqlite(p) if p.as_os_str() == "data/halo-triage.db")
    );
    let file = load(&[("HALO_TRIAGE__STORE__URL", "sqlite://other/place.db")]).unwrap();
    assert!(
        matches!(&file.store.database, Database::Sqlite(p) if p.as_os_str() == "other/place.db")
    );
    let server = load(&[("HALO_TRIAGE__STORE__URL", "postgres://triage@db:5432/halo")]).unwrap();
    assert!(matches!(server.store.database, Database::Postgres(_)));
    let none = load(&[("HALO_TRIAGE__STORE__MAX_CONNECTIONS", "0")]).unwrap_err();
    assert!(none.to_string().contains("store.max_connections"), "{none}");
    for (url, says) in [
        (
            "mysql://db/halo",
            "must start with sqlite:// (a file) or postgres://",
        ),
        ("sqlite://", "needs a file"),
        ("postgres://[bad", "is not a URL"),
    ] {
        let err = load(&[("HALO_TRIAGE__STORE__URL", url)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("store.url") && err.contains(says),
            "{url}: {err}"
        );
    }
}

#[test]
fn the_postgres_password_comes_from_the_environment_or_a_file_and_is_never_shown() {
    let url = ("HALO_TRIAGE__STORE__URL", "postgres://triage@db:5432/halo");
    let with = |pairs: &[(&str, &str)]| match load(pairs).unwrap().store.database {
        Database::Postgres(url) => url.expose_secret().to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        with(&[url, ("HALO_TRIAGE__STORE__PASSWORD", "p@ss:word")]),
        "postgres://triage:p%40ss%3Aword@db:5432/halo"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg-password");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let file = file.display().to_string();
    assert_eq!(
        with(&[url, ("HALO_TRIAGE__STORE__PASSWORD_FILE", &file)]),
        "postgres://triage:from-a-file@db:5432/halo"
    );
    let both = load(&[
        url,
        ("HALO_TRIAGE__STORE__PASSWORD", "x"),
        ("HALO_TRIAGE__STORE__PASSWORD_FILE", &file),
    ]);
    assert!(both.unwrap_err().to_string().contains("not both"));
    let missing = load(&[
        url,
        ("HALO_TRIAGE__STORE__PASSWORD_FILE", "/nonexistent/pw"),
    ]);
    assert!(missing
        .unwrap_err()
        .to_string()
        .contains("cannot read /nonexistent/pw"));

    let settings = load(&[url, ("HALO_TRIAGE__STORE__PASSWORD", "hunter2-secret")]).unwrap();
    assert_eq!(
        settings.store.database.display(),
        "postgres://triage:********@db:5432/halo"
    );
    let debug = format!("{settings:?}");
    assert!(!debug.contains("hunter2-secret"), "{debug}");
}
