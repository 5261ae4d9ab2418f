# halo-triage: one container. Build: docker build -t halo-triage .  (or see compose.yaml)
# Run, in shadow mode (decisions are recorded, nothing is written to Halo):
#   docker run -p 8080:8080 -v halo-triage-data:/data \
#     -e HALO_TRIAGE__MODE=shadow -e HALO_TRIAGE__WEBHOOK__TOKEN=... \
#     -e HALO_TRIAGE__WEBHOOK__IGNORE_AGENT_IDS=<API agent id> halo-triage
# webhook.ignore_agent_ids is the loop guard: it must hold the id of the Halo agent the API
# application writes as, so our own ticket updates trigger no more triage (comma-separated).

FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not rebuild them. Cargo.toml declares the bench
# `rules`, so Cargo cannot load the manifest without benches/rules.rs (examples/ and tests/
# are only auto-discovered and `cargo build` does not need them).
# .ci/container-files-build checks that these COPY lines are enough to build.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked && rm -rf src
COPY src src
COPY migrations migrations
COPY config config
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
# ca-certificates: TLS to Halo verifies against the system roots.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin triage \
    && mkdir -p /data && chown triage /data
WORKDIR /app
COPY --from=build /src/target/release/halo-triage /usr/local/bin/halo-triage
# The shipped rules and the documented defaults, but not the example per-client overlay
# (config/rules.d/globex.toml): mount your own overlays at /app/config/rules.d.
COPY config/default.toml config/rules.toml config/rules.schema.json config/
ENV HALO_TRIAGE__SERVER__LISTEN=0.0.0.0:8080 \
    HALO_TRIAGE__STORE__PATH=/data/halo-triage.db \
    HALO_TRIAGE__RULES__PATH=/app/config/rules.toml
USER triage
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["halo-triage", "health"]
ENTRYPOINT ["halo-triage"]
CMD ["serve"]
