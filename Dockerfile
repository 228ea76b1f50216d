# syntax=docker/dockerfile:1
# Build stage: Go plus the C headers the cgo codecs need.
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libopus-dev libopusfile-dev libvpx-dev libavcodec-dev libavutil-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/mcu ./cmd/mcu

# Runtime stage: only the shared libraries the binary links against.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0 libopusfile0 libvpx7 libavcodec59 libavutil57 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --uid 10001 mcu
COPY --from=build /out/mcu /usr/local/bin/mcu
USER mcu
# HTTP (join API, web page, metrics), gRPC, and, with -udp-port 3478, all WebRTC
# media. Plain-RTP legs take ports from -udp-port-range (publish that range).
EXPOSE 8080/tcp 9090/tcp 3478/udp
ENTRYPOINT ["/usr/local/bin/mcu"]
CMD ["-udp-port", "3478"]
