# podgate's container image. Everything comes from Debian 12's packages, as in
# scripts/install-deps.sh: the build stage has the compiler and -dev packages, the image only the
# shared libraries podgate links and the CA certificates the image rules use to reach registries.
# It runs as uid/gid 65532, the user the Helm chart's securityContext asks for.
#
#   docker build -t podgate:dev .
#   docker run --rm podgate:dev version
#
# The chart runs `podgate serve --config /etc/podgate/config/podgate.yaml` (its args), with the
# config, the TLS Secret and the scan-cache volume mounted; the root filesystem stays read-only.

FROM debian:bookworm AS build
# The build dependencies of scripts/install-deps.sh, without the test and benchmark tools.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      rapidjson-dev libsimdjson-dev libssl-dev prometheus-cpp-dev \
      libboost-dev libboost-system-dev libyaml-cpp-dev libcli11-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# scripts/build.sh configures build/ only when it has no configuration yet, so configuring it first
# leaves out the tests and benchmarks (Catch2, and time the image does not need); the build itself
# is the project's own.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPODGATE_BUILD_TESTS=OFF -DPODGATE_BUILD_BENCH=OFF \
 && bash scripts/build.sh default \
 && strip --strip-debug -o /podgate build/podgate

FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libssl3 libsqlite3-0 libyaml-cpp0.7 libsimdjson14 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/podgate \
 && chown 65532:65532 /var/lib/podgate
COPY --from=build /podgate /usr/local/bin/podgate
# The documentation `podgate --help` points at: where `cmake --install` puts it (its default prefix).
COPY --from=build /src/README.md /src/docs/ /usr/local/share/doc/podgate/
# Fails the build if a shared library is missing from the list above.
RUN podgate version
# Numeric, so the kubelet can check runAsNonRoot without a passwd entry.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/usr/local/bin/podgate"]
CMD ["serve"]
