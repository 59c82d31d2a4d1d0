package main

// Load with bounded resources. The full sizes (100,000 orphans, 1,000,000
// signals) run with INITD_LOAD_TESTS=1; the default run (CI) uses scaled
// down versions of the same tests.

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func loadTests() bool { return os.Getenv("INITD_LOAD_TESTS") == "1" }

func init() {
	// count counts the SIGUSR1s and SIGUSR2s it receives; on SIGTERM it
	// prints "counted N" and exits 7.
	registerHelper("count", func(args []string) {
		c := make(chan os.Signal, 4096)
		signal.Notify(c, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
		fmt.Println("counting")
		n := 0
		for s := range c {
			if s == syscall.SIGTERM {
				fmt.Println("counted", n)
				os.Exit(7)
			}
			n++
		}
	})
}

// Orphans made as fast as a few shells can fork: every one is reaped, no
// zombie is left, and the number waiting to be reaped stays bounded. The
// peak is sampled from /proc while the storm runs.
func TestHardeningOrphanStorm(t *testing.T) {
	total, shells := 5000, 2
	if loadTests() {
		total = 100000
	}
	per := total / shells
	script := `i=0; while [ $i -lt ` + strconv.Itoa(per) + ` ]; do ( true & ); i=$((i+1)); done`
	p := start(t, pid1, "-t", "1s", "--", "/bin/sh", "-c",
		`for s in $(seq `+strconv.Itoa(shells)+`); do sh -c '`+script+`' & done; wait; echo made; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done`)
	begin := time.Now()
	var peak, samples atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if z := int64(zombies(p.Pid())); z > peak.Load() {
				peak.Store(z)
			}
			samples.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	deadline := 60 * time.Second
	if loadTests() {
		deadline = 10 * time.Minute
	}
	for !p.has("made") {
		if time.Since(begin) > deadline {
			t.Fatalf("%d orphans not made within %v", total, deadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	if !waitFor(func() bool { return zombies(p.Pid()) == 0 }) {
		t.Errorf("%d zombies left under initd", zombies(p.Pid()))
	}
	close(stop)
	<-sampled
	t.Logf("%d orphans in %v; peak unreaped seen %d (%d samples of /proc)", total, elapsed.Round(time.Millisecond), peak.Load(), samples.Load())
	// Bounded: a reaper that fell behind would let thousands pile up.
	if bound := int64(total / 10); peak.Load() > bound {
		t.Errorf("peak of %d unreaped zombies, over the bound of %d", peak.Load(), bound)
	}
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d, want 0", got)
	}
}

// Signals sent to initd in bursts while the child counts them: initd does
// not crash, keeps up, its RSS after the storm is within 1 MiB of before,
// and the child's exit status comes through. Repeated signals merge (the
// kernel keeps one pending instance of each standard signal), so the
// child counts fewer than were sent, but at least one per burst.
func TestHardeningSignalStorm(t *testing.T) {
	total, burst := 50000, 5000
	if loadTests() {
		total, burst = 1000000, 10000
	}
	p := start(t, pid1, append([]string{"--"}, helper("count")...)...)
	p.expect("counting")
	before := rss(t, p.Pid())
	var first, last time.Duration
	for sent := 0; sent < total; sent += burst {
		b := time.Now()
		for i := 0; i < burst; i++ {
			sig := syscall.SIGUSR1
			if i%2 == 1 {
				sig = syscall.SIGUSR2
			}
			if err := syscall.Kill(p.Pid(), sig); err != nil {
				t.Fatalf("after %d signals: %v", sent+i, err)
			}
		}
		d := time.Since(b)
		if sent == 0 {
			first = d
		}
		last = d
		time.Sleep(10 * time.Millisecond) // a gap between bursts
	}
	time.Sleep(500 * time.Millisecond)
	after := rss(t, p.Pid())
	p.signal(syscall.SIGTERM)
	line := p.expect("counted")
	if got := p.wait(20 * time.Second); got != 7 {
		t.Errorf("status %d, want the child's 7", got)
	}
	t.Logf("%d signals in bursts of %d: RSS %d kB before, %d kB after; child counted %s; first burst %v, last %v",
		total, burst, before, after, line[len("counted "):], first.Round(time.Microsecond), last.Round(time.Microsecond))
	if after-before > 1024 {
		t.Errorf("RSS grew from %d kB to %d kB", before, after)
	}
	if n := fieldInt(t, line, 1); n < total/burst {
		t.Errorf("child counted %d signals, fewer than one per burst", n)
	}
}
