# syntax=docker/dockerfile:1
# Build stage: Go plus the C headers the cgo codecs need.
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libopus-dev libopusfile-dev libvpx-dev libavcodec-dev libavutil-dev libyuv-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/mcu ./cmd/mcu

# Runtime stage: only the shared libraries the binary links against.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0 libopusfile0 libvpx7 libavcodec59 libavutil57 libyuv0 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --uid 10001 mcu
COPY --from=build /out/mcu /usr/local/bin/mcu
USER mcu
# HTTP (join API, web page), gRPC (which listens beyond loopback only with
# -grpc-token; metrics stay on the container's loopback unless -admin-http
# says otherwise), all WebRTC media on -udp-port 7882, and
# ICE-TCP on -ice-tcp-port 7881 for clients whose UDP is blocked. With
# -turn true -turn-public-ip IP, the embedded TURN server on 3478 UDP and
# TCP and its relay ports (-turn-relay-ports). Plain-RTP legs take ports
# from -udp-port-range (publish that range).
EXPOSE 8080/tcp 9090/tcp 7882/udp 7881/tcp 3478/udp 3478/tcp 49160-49399/udp
ENTRYPOINT ["/usr/local/bin/mcu"]
CMD ["-udp-port", "7882", "-ice-tcp-port", "7881"]
