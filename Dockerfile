# Production image: build in the full Rust image, run as a non-root user in a slim one.
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
RUN cargo build --release --locked --bin seedport

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/seedport --create-home seedport
COPY --from=build /src/target/release/seedport /usr/local/bin/seedport
USER seedport
WORKDIR /var/lib/seedport
ENV SEEDPORT_MODE=production SEEDPORT_BIND=0.0.0.0:8080 SEEDPORT_DATA_DIR=/var/lib/seedport
EXPOSE 8080
ENTRYPOINT ["seedport"]
CMD ["serve"]
