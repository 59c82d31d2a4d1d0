// Command perf measures initd in both reap modes (--reap=kernel and
// --reap=wait) beside the floor (bench/floor: the least a Go PID 1 must do,
// built with initd's flags), tini, tini-static, dumb-init, catatonit and a
// direct run of the child (the limit), interleaved in one run so that
// machine noise hits all alike, and writes bench/results/perf.{json,md,svg}.
//
//	go run ./bench/perf          # full: 3 runs, idle window at least 2 min
//	go run ./bench/perf -quick   # about a minute
//
// Every figure is a median over the runs of a per-run median (or total);
// "noise" is the spread of the per-run values, (max-min)/median. Ratios
// are each initd mode against the floor and against the best C peer of the
// same run: the first says what initd adds to Go's own cost, the second
// what a user pays for choosing a Go init. For start-up and shutdown they
// are ratios of overheads (the init's time minus the direct run's). It
// needs root for PID namespaces.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/initd/initd/bench/internal/harness"
)

// defaultOut is set when results go to the module's bench/results; only
// then is docs/bench.md updated too.
var defaultOut string

type config struct {
	Quick      bool
	Runs       int
	Startup    int // iterations per subject and mode
	Signals    int // round trips per subject
	Orphans    int // per init and run
	Shutdowns  int // per subject and run
	Memory     int // memory and thread samples per subject and run
	IdleWindow time.Duration
}

func main() {
	harness.RunHelper()
	quick := flag.Bool("quick", false, "fewer iterations and a shorter idle window: under a minute")
	runs := flag.Int("runs", 0, "runs (default 3, quick 2)")
	initdPath := flag.String("initd", "", "initd binary (default: $INITD_BIN, else what make build makes)")
	floorPath := flag.String("floor", "", "floor binary (default: what make floor makes)")
	outDir := flag.String("o", "", "results directory (default bench/results in the module)")
	flag.Parse()

	cfg := config{Runs: 3, Startup: 400, Signals: 2000, Orphans: 10000, Shutdowns: 40, Memory: 7, IdleWindow: 120 * time.Second}
	if *quick {
		cfg = config{Quick: true, Runs: 2, Startup: 80, Signals: 300, Orphans: 2000, Shutdowns: 10, Memory: 3, IdleWindow: 15 * time.Second}
	}
	if *runs > 0 {
		cfg.Runs = *runs
	}
	if err := harness.Namespaces(); err != nil {
		fatal(err)
	}
	tmp, err := os.MkdirTemp("", "initd-perf-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	if *initdPath == "" {
		if *initdPath, err = harness.InitdBinary(); err != nil {
			fatal(err)
		}
	} else if *initdPath, err = filepath.Abs(*initdPath); err != nil {
		fatal(err)
	}
	if *floorPath == "" {
		if *floorPath, _, err = harness.FloorBinaries(); err != nil {
			fatal(err)
		}
	} else if *floorPath, err = filepath.Abs(*floorPath); err != nil {
		fatal(err)
	}
	if *outDir == "" {
		root, err := harness.ModuleRoot()
		if err != nil {
			fatal(err)
		}
		*outDir = filepath.Join(root, "bench", "results")
		defaultOut = *outDir
	}

	// initd in both reap modes; every other init as it is normally used:
	// initd and dumb-init forward to the group by default, tini and
	// catatonit to the child only.
	if err := exec.Command(*initdPath, "--reap=kernel", "--", "/bin/true").Run(); err != nil {
		fatal(fmt.Errorf("%s --reap=kernel -- /bin/true: %v (kernel reaping needs Linux 6.15+)", *initdPath, err))
	}
	subjects := []harness.Init{harness.Direct,
		{Name: initdKernel, Path: *initdPath, Flags: []string{"--reap=kernel"}},
		{Name: initdWait, Path: *initdPath, Flags: []string{"--reap=wait"}},
		harness.FloorInit(*floorPath),
	}
	for _, p := range harness.Peers() {
		if len(p.Flags) == 0 {
			subjects = append(subjects, p)
		}
	}
	inits := subjects[1:]
	r := newReport(cfg, subjects)

	logf("idle window opens (%s minimum); runs: %d", cfg.IdleWindow, cfg.Runs)
	id, err := startIdle(subjects)
	if err != nil {
		fatal(err)
	}
	for _, s := range subjects {
		if !s.IsDirect() {
			if st, err := os.Stat(s.Path); err == nil {
				r.add("size", s.Name, float64(st.Size()))
			}
		}
	}

	for run := 0; run < cfg.Runs; run++ {
		// Rotate which subject goes first in the serial measurements too.
		rot := append(slices.Clone(subjects[run%len(subjects):]), subjects[:run%len(subjects)]...)
		logf("run %d: start-up", run+1)
		r.addMedians("startup", startup(rot, cfg.Startup, harness.Plain))
		r.addMedians("startup_pid1", startup(rot, cfg.Startup, harness.PID1))
		r.addMedians("startup_pid1proc", startup(rot, cfg.Startup, harness.PID1Proc))

		logf("run %d: memory and threads", run+1)
		mem := memory(rot, cfg.Memory)
		for _, k := range []struct {
			key string
			of  func(harness.Memory) int64
		}{
			{"rss", func(m harness.Memory) int64 { return m.RSS }},
			{"anon", func(m harness.Memory) int64 { return m.Anon }},
			{"pss", func(m harness.Memory) int64 { return m.PSS }},
			{"threads", func(m harness.Memory) int64 { return int64(m.Threads) }},
		} {
			for name, ms := range mem {
				var v []float64
				for _, m := range ms {
					v = append(v, float64(k.of(m)))
				}
				r.add(k.key, name, percentile(v, 50))
			}
		}

		logf("run %d: signal round trip", run+1)
		dir, _ := os.MkdirTemp(tmp, "rt")
		lat, cpu, err := roundTrip(dir, rot, cfg.Signals)
		if err != nil {
			logf("round trip: %v", err)
		} else {
			for name, v := range lat {
				r.add("rtt_p50", name, percentile(v, 50))
				r.add("rtt_p99", name, percentile(v, 99))
			}
			for name, v := range cpu {
				if name != harness.Direct.Name {
					r.add("sig_cpu", name, v)
				}
			}
		}

		logf("run %d: reaping %d orphans", run+1, cfg.Orphans)
		irot := append(slices.Clone(inits[run%len(inits):]), inits[:run%len(inits)]...)
		for _, s := range irot {
			o, err := orphans(tmp, s, cfg.Orphans)
			if err != nil {
				logf("orphans: %v", err)
				continue
			}
			r.add("orphan_cpu", s.Name, o.CPUPerOrphan)
			r.add("orphan_peak", s.Name, float64(o.PeakZombies))
			r.add("orphan_wall", s.Name, o.Wall)
		}

		logf("run %d: shutdown", run+1)
		r.addMedians("shutdown", shutdown(rot, cfg.Shutdowns, true))
		r.addMedians("shutdown_hostproc", shutdown(rot, cfg.Shutdowns, false))

		logf("run %d: instructions (valgrind)", run+1)
		for _, s := range rot {
			n, err := instructions(s)
			if err != nil {
				logf("instructions: %v", err)
				continue
			}
			r.add("instr", s.Name, n)
		}
	}

	if rest := cfg.IdleWindow - time.Since(id.t0); rest > 0 {
		logf("waiting %s for the idle window to close", rest.Round(time.Second))
		time.Sleep(rest)
	}
	w, vol, d := id.wakeups()
	for i, s := range subjects {
		r.add("wakeups_n", s.Name, w[i]*d.Minutes())
		r.add("wakeups", s.Name, w[i])
		r.add("wakeups_vol", s.Name, vol[i])
	}
	id.stop()
	r.IdleWindowS = d.Seconds()
	r.LoadEnd = loadAvg()

	r.finish()
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		fatal(err)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	write(filepath.Join(*outDir, "perf.json"), append(b, '\n'))
	md := r.markdown()
	write(filepath.Join(*outDir, "perf.md"), []byte(md))
	write(filepath.Join(*outDir, "perf.svg"), []byte(r.svg()))
	os.Stdout.WriteString(md)
	if *outDir == defaultOut {
		if err := harness.UpdateDoc("perf", md); err != nil {
			fatal(err)
		}
	}
}

func write(path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fatal(err)
	}
}

// machine describes where the numbers come from.
type machine struct {
	Nproc  int
	Kernel string
	CPU    string
	Go     string
	Peers  map[string]string // versions as the packages report them
}

func describe() machine {
	m := machine{Nproc: runtime.NumCPU(), Go: runtime.Version(), Peers: map[string]string{}}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	for _, p := range []string{"tini", "dumb-init", "catatonit"} {
		if b, err := exec.Command("dpkg-query", "-W", "-f=${Version}", p).Output(); err == nil {
			m.Peers[p] = string(b)
		}
	}
	return m
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "perf: "+format+"\n", a...)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "perf:", err)
	os.Exit(1)
}
