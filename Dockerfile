# swift-batch: the `swiftbatch` worker / CLI in a slim Debian image.
#
#   docker build -t swiftbatch .
#   docker run --rm swiftbatch --help
#   docker compose up --build --scale worker=4      (see docker-compose.yml)
#
# Two stages: a Swift toolchain image builds a release binary with the Swift runtime and Foundation linked in
# statically (--static-swift-stdlib); the runtime stage is debian:bookworm-slim with only the C libraries the
# binary loads: libpq (PostgreSQL) and librabbitmq (AMQP), plus CA certificates for TLS connections.

# Swift 6.1 or later is required (Package.swift declares swift-tools-version 6.1). The default is the toolchain the
# project's tests run on; override with `--build-arg SWIFT_TAG=6.1`. Both stages are Debian 12 (bookworm), so
# the C libraries linked at build time are the ones installed at run time.
ARG SWIFT_TAG=6.3

# ---------------------------------------------------------------------------------------------------------------------
FROM swift:${SWIFT_TAG}-bookworm AS build

# Headers and pkg-config files of the two system libraries (the CLibPQ and CRabbitMQ system-library targets find
# them through pkg-config).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libpq-dev librabbitmq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# The manifest alone first: dependency resolution gets its own layer, rebuilt only when Package.swift changes.
# Package.resolved is not copied (it is not committed: see .gitignore and .dockerignore), so the dependencies
# resolve to the newest versions that Package.swift allows.
COPY Package.swift ./
RUN swift package resolve

# Then the sources: the whole context, which .dockerignore keeps to what the manifest's targets point at (test
# targets must be there for the manifest to load, even though only `swiftbatch` is built). The .build
# folder of the resolve step stays: the context has none.
COPY . .

RUN swift build -c release --product swiftbatch --static-swift-stdlib \
    && mkdir -p /staging \
    && cp "$(swift build -c release --show-bin-path)/swiftbatch" /staging/ \
    && cp -R "$(swift build -c release --show-bin-path)/swift-batch_BatchServer.resources" /staging/

# ---------------------------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# What the binary still loads (its NEEDED entries): libpq.so.5 and librabbitmq.so.4, which bring libssl3 and the
# Kerberos / LDAP client libraries as their own dependencies, and libstdc++6, libgcc-s1 and glibc, which the base
# image has. With --static-swift-stdlib the Swift runtime, Foundation and its ICU data are inside the binary; libcurl4
# and libxml2 would only be needed by FoundationNetworking and FoundationXML, which swift-batch does not import.
# ca-certificates lets sslmode=verify-full and amqps verify their servers; tzdata gives Foundation real time zones.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libpq5 librabbitmq4 libstdc++6 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user (numeric in USER, for runAsNonRoot checks); /data is where the daily-accounting demo writes its transactions files (BATCH_DATA_DIR),
# owned by that user so that a named volume mounted there starts out writable.
RUN groupadd --gid 10001 swiftbatch \
    && useradd --uid 10001 --gid swiftbatch --no-create-home --home-dir /data --shell /usr/sbin/nologin swiftbatch \
    && mkdir -p /data \
    && chown swiftbatch:swiftbatch /data

# The binary and, beside it, the resources `swiftbatch server` serves (the dashboard's files and openapi.json).
COPY --from=build /staging/ /usr/local/bin/

ENV BATCH_DATA_DIR=/data
WORKDIR /data
USER 10001:10001

# The worker exits 0 after a graceful stop on SIGTERM (its --grace, 30 s by default): give it longer than that
# (`docker stop -t 40`, compose's stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["swiftbatch"]
CMD ["worker"]
