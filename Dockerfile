# Builds the fabric-ai binary (with its bundled librdkafka) and ships it on a slim base.
FROM rust:1.85-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake libssl-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin fabric-ai

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/fabric-ai /usr/local/bin/fabric-ai
COPY config/fabric-ai.toml /etc/fabric-ai/fabric-ai.toml
ENTRYPOINT ["fabric-ai"]
CMD ["run", "--config", "/etc/fabric-ai/fabric-ai.toml"]
