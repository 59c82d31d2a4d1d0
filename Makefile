# The quick start: "make demo" runs the talk's comparison, "make test" the
# tests. Everything else is for developers and releases.

GO      ?= go
# The runtime's default GODEBUG. Asynchronous preemption off: the runtime
# then never sends itself SIGURG, so initd can forward the SIGURGs it
# receives (see internal/forward). No cgroup-aware GOMAXPROCS: initd sets
# GOMAXPROCS(1) itself, and the runtime would otherwise keep two cgroup
# files open for good, which a low descriptor limit cannot spare. The same
# default is stamped into package initd, which cannot read the runtime's
# copy. scripts/release builds with the same flags.
GODEBUG_DEFAULT := asyncpreemptoff=1,containermaxprocs=0,updatemaxprocs=0
COMMIT  := $(shell git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X=runtime.godebugDefault=$(GODEBUG_DEFAULT) \
	-X=github.com/initd/initd.linkedGodebug=$(GODEBUG_DEFAULT) \
	-X=github.com/initd/initd.commit=$(COMMIT)
BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'

.PHONY: all build demo kube test check lint bench behaviour release reproducible clean

# Every harness (the tests, the examples, the benchmarks, the soak) runs
# the binary "make build" made, never a build of its own: they find it in
# INITD_BIN.
export INITD_BIN := $(CURDIR)/bin/initd

all: build

build:
	$(BUILD) -o bin/initd ./cmd/initd

# The least a Go PID 1 must do (bench/floor), with initd's flags, so that
# bench/perf can tell what is Go's from what is initd's; floor-early
# subscribes in its first package's init, for bench/firstms.
.PHONY: floor
floor:
	$(BUILD) -o bin/floor ./bench/floor
	$(BUILD) -tags early -o bin/floor-early ./bench/floor

demo: build
	cd examples && $(GO) run ./demo -initd $(INITD_BIN)

# The private Kubernetes node's binaries (kube-apiserver, kubelet, kubectl,
# kine, containerd), built once per release into a cache directory (about
# 15 minutes on two cores the first time; at once afterwards). "make demo"
# then prints the kubelet's table, and the tests build them if missing.
kube:
	GO=$(GO) tools/kube/build

# staticcheck comes from the module proxy at a pinned version, run
# through "go run" so that no go.mod of the project names it.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	cd examples && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd examples && $(GO) run $(STATICCHECK) ./...

# The checks that need neither root nor namespaces.
check: lint build
	$(GO) test -race -count=1 ./internal/... .

# The PID-1 tests run twice: in the reap mode this kernel picks (kernel
# where it can) and in wait mode, which every kernel has. Under -race the
# PID-1 package takes a few minutes on two idle cores, and more beside
# other work: the default ten-minute limit is too close.
test: lint build
	$(GO) test -race -count=1 -timeout 30m ./...
	INITD_REAP=wait $(GO) test -race -count=1 -timeout 30m ./cmd/initd
	cd examples && $(GO) test -count=1 -timeout 30m ./...

# Static binaries for every architecture, with SHA256SUMS, into dist/,
# and an OCI image of each (FROM scratch, /initd alone).
release:
	scripts/release
	scripts/image

reproducible:
	scripts/check-reproducible

# The comparison with tini, dumb-init and catatonit (root): the benchmark
# (about 10 minutes; -quick about one) and the behaviour table.
bench: build
	$(GO) run ./bench/perf

behaviour: build
	$(GO) run ./bench/behaviour

clean:
	rm -rf bin dist
