# Every target that builds or tests first runs `deps`, which installs missing
# Debian packages (as root, with apt-get) and is a no-op when all are there.

GO        ?= go
BIN       := bin
# C libraries for cgo (Opus, VP8, H.264 through libavcodec, libyuv scaling) and the tools the tests use as independent
# checkers (Chromium for the browser test, simple-whip-client for WHIP, coturn as the external TURN server).
DEB_BUILD := gcc pkg-config libopus-dev libopusfile-dev libvpx-dev libavcodec-dev libavutil-dev libyuv-dev
DEB_TEST  := iproute2 chromium protobuf-compiler libprotobuf-dev simple-whip-client coturn ffmpeg nginx libnginx-mod-rtmp
ARGS      ?=
FUZZTIME  ?= 30s

.DEFAULT_GOAL := help

.PHONY: help deps deps-test build run test test-short fuzz soak bench bench-full bench-micro bench-audio bench-video bench-ladder bench-reach bench-record proto lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install missing Debian build packages (idempotent)
	@./scripts/apt-ensure $(DEB_BUILD)

deps-test: deps ## install missing Debian packages the tests need
	@./scripts/apt-ensure $(DEB_TEST)

build: deps ## build bin/mcu
	$(GO) build -o $(BIN)/mcu ./cmd/mcu

run: build ## start the MCU on :8080 (web page at http://localhost:8080/); ARGS= passes flags
	./$(BIN)/mcu $(ARGS)

# -p 1: the end-to-end tests run real-time media (20 ms clocks, Opus at real
# pace); on a 2-core machine, other packages' tests running alongside would
# starve them and measure the machine instead of the MCU.
test: deps-test ## all tests with the race detector, end-to-end and browser tests included
	$(GO) test -race -p 1 -count=1 -timeout 15m ./...
	# the pure-Go scaling kernel, the fallback of builds without libyuv (the
	# default cgo build composes with libyuv, checked against it above)
	$(GO) test -race -count=1 -tags nolibyuv ./compositor/

test-short: deps ## unit tests only (no WebRTC end-to-end or browser)
	$(GO) test -race -short -count=1 ./...

# Each Fuzz target of the module in turn (go test -fuzz takes one target of
# one package): listed per package by go test -list, whose "ok <package>"
# line follows the package's names. A failure does not stop the others; the
# crasher lands in the package's testdata/fuzz/, where plain go test replays
# it as a seed. Minimizing a new input is bounded (go's default is 60 s):
# where each run costs milliseconds (a real WebRTC negotiation in FuzzJoin)
# it took a 20 s budget whole.
fuzz: deps ## run every fuzz target in the module for FUZZTIME each (default 30s)
	@failed=; \
	for t in $$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ {n[++k] = $$1} /^ok/ {for (i = 1; i <= k; i++) print $$2 ":" n[i]; k = 0}'); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || failed="$$failed $$pkg:$$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz targets that failed:$$failed"; exit 1; fi

# Not part of test: it runs for minutes and measures the whole process, so
# it wants the machine to itself. One malloc arena: the test trims the C
# heap before reading RSS, and with glibc's many per-thread arenas what
# the trim cannot give back varies by megabytes from run to run (see
# measure in cmd/mcu/soak_test.go).
soak: deps ## 1,000 join/leave cycles of every kind beside a talking room; checks goroutines, fds, RSS, the room's audio and tick lateness p99
	GLIBC_TUNABLES=glibc.malloc.arena_max=1 MCU_SOAK=1 $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 30m ./cmd/mcu/

bench: deps ## scenario benchmarks and capacity searches, about 15 minutes: bench/results/<date>/report.md (mcu vs the codec floor, no profiles)
	$(GO) run ./bench/harness -pairs 2 -d 6s -profiles=false

bench-full: deps ## all scenarios, 5 pairs of 15 s, with Janus AudioBridge and GStreamer as references and perf's split of the mcu's CPU per scenario
	@./scripts/apt-ensure linux-perf
	$(GO) run ./bench/harness -pairs 5 -d 15s -refs janus,gst

bench-micro: deps ## micro-benchmarks (mixer, room tick, compositor, codecs, jitter buffer)
	$(GO) test -run '^$$' -bench . -benchmem ./mixer/ ./room/ ./compositor/ ./codec/... ./transport/jitter/

bench-ladder: deps-test ## the ladder over a tc-shaped link (root), 30 s holds: writes bench/results/ladder/ladder.svg, .csv; then CPU of 1, 2, 3 rungs
	MCU_LADDER_HOLD=30s MCU_LADDER_PLOT=$(CURDIR)/bench/results/ladder $(GO) test -count=1 -timeout 10m -run '^TestLadder$$' -v ./cmd/mcu/
	$(GO) test -run '^$$' -bench BenchmarkVideoLadder -benchtime 150x -count 3 ./room/

lint: deps ## gofmt and go vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt: ## rewrite sources with gofmt
	gofmt -w .

clean: ## remove build output
	rm -rf $(BIN)

bench-audio: build ## CPU of the mcu with N=20 audio participants for 30 s (separate load process); TALKERS=3 N=50 for a big room
	@./$(BIN)/mcu -http 127.0.0.1:18080 -admin-http 127.0.0.1:18081 -grpc '' -interfaces lo -include-loopback true -log-level warn -join-rate 0 -max-rooms 0 -max-server-participants 0 -drain-timeout 0 -cpu-target 0 -tick-target 0 & \
	pid=$$!; trap "kill $$pid" EXIT; sleep 1; \
	$(GO) run ./bench/roomload -url http://127.0.0.1:18080 -metrics-url http://127.0.0.1:18081 -n $${N:-20} -talkers $${TALKERS:--1} -d $${D:-30s} -pid $$pid

bench-video: build ## CPU of the mcu for one 4-person room (640x360 cameras, 1280x720@30 canvas) for 30 s; CODECS=VP8,H264 mixes codecs
	@./$(BIN)/mcu -http 127.0.0.1:18080 -admin-http 127.0.0.1:18081 -grpc '' -interfaces lo -include-loopback true -log-level warn -join-rate 0 -max-rooms 0 -max-server-participants 0 -drain-timeout 0 -cpu-target 0 -tick-target 0 -canvas $${CANVAS:-1280x720@30} & \
	pid=$$!; trap "kill $$pid" EXIT; sleep 1; \
	$(GO) run ./bench/roomload -url http://127.0.0.1:18080 -metrics-url http://127.0.0.1:18081 -n $${N:-4} -video $${CAMERA:-640x360} -codecs $${CODECS:-VP8} -d $${D:-30s} -pid $$pid

# The relay's cost: the same N participants join directly, then relayed by
# the mcu's embedded TURN server over UDP, then over TCP; the mcu's CPU in
# each window, side by side. Then each way of joining's time to the first
# composite frame.
bench-record: ## CPU of a recorded vs an unrecorded 4-person VP8 room (two mcu processes side by side, 30 s), and the WebM's size per minute
	MCU_BENCH_RECORD=1 $(GO) test -count=1 -run '^TestRecordCPU$$' -v ./cmd/mcu/

bench-reach: build ## CPU of the mcu for N=8 video participants direct vs relayed by its TURN (UDP, TCP), D=20s each; join-to-first-frame per transport
	@./$(BIN)/mcu -http 127.0.0.1:18080 -admin-http 127.0.0.1:18081 -grpc '' -interfaces lo -include-loopback true -log-level warn -join-rate 0 -max-rooms 0 -max-server-participants 0 -drain-timeout 0 -canvas 640x360@15 \
		-turn true -turn-port 0 -turn-listen 127.0.0.1 -turn-public-ip 127.0.0.1 -turn-allow-loopback true & \
	pid=$$!; trap "kill $$pid" EXIT; sleep 1; \
	for relay in none udp tcp; do \
		echo "== relayed: $$relay"; \
		$(GO) run ./bench/roomload -url http://127.0.0.1:18080 -metrics-url http://127.0.0.1:18081 -n $${N:-8} -video 320x240 -cheap-video -d $${D:-20s} -pid $$pid $$([ $$relay = none ] || echo -relay $$relay) || exit 1; \
	done
	$(GO) test -run '^$$' -bench JoinToFirstFrame -benchtime 20x ./cmd/mcu/

proto: ## regenerate the gRPC code from api/mcu/v1/*.proto (protoc from Debian, plugins pinned in go.mod)
	@./scripts/apt-ensure protobuf-compiler libprotobuf-dev
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	$(GO) build -o $(BIN)/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc \
		--go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative \
		api/mcu/v1/mcu.proto
