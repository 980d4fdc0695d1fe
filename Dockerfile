# syntax=docker/dockerfile:1
# Paraphe: multi-stage build. cgo is required (github.com/miekg/pkcs11 loads the PKCS#11
# module with dlopen). The runtime image carries SoftHSM2 for the embedded default; a
# production HSM's PKCS#11 module is mounted at run time and named in the config
# (hsm.module), e.g. -v /opt/hsm/lib:/opt/hsm/lib:ro.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/paraphe ./cmd/paraphe \
 && CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/paraphe-device ./cmd/paraphe-device

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/paraphe --create-home paraphe
COPY --from=build /out/paraphe /out/paraphe-device /usr/local/bin/
COPY configs/paraphe.example.yaml /etc/paraphe/paraphe.example.yaml
USER paraphe
WORKDIR /var/lib/paraphe
ENV PARAPHE_LISTEN=0.0.0.0:8080
# Containers sit behind a TLS-terminating proxy or ingress; set it to false with a
# tls: section in the configuration to serve HTTPS directly.
ENV PARAPHE_BEHIND_TLS_PROXY=true
EXPOSE 8080
VOLUME ["/var/lib/paraphe"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/paraphe"]
CMD ["serve", "--data", "/var/lib/paraphe/data"]
