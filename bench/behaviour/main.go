// Command behaviour runs the same scenarios against initd and each peer
// init (tini, dumb-init, catatonit, in their default and process-group
// modes), each as PID 1 of a fresh PID namespace with its own /proc, and
// prints a markdown table; it also writes it to bench/results/behaviour.md.
//
//	go run ./bench/behaviour [-initd bin/initd] [-idle 10s] [-o file]
//
// It needs root (or another way to create PID and mount namespaces). The
// children are this binary in helper roles; see package harness.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/initd/initd/bench/internal/harness"
)

func main() {
	harness.RunHelper()
	initdPath := flag.String("initd", "", "initd binary to test (default: $INITD_BIN, else what make build makes)")
	out := flag.String("o", "", "also write the table here (default bench/results/behaviour.md in the module)")
	flag.DurationVar(&IdleWindow, "idle", IdleWindow, "how long the idle wake-up row watches")
	flag.Parse()

	if err := harness.Namespaces(); err != nil {
		fmt.Fprintln(os.Stderr, "behaviour: skipped:", err)
		os.Exit(0)
	}
	tmp, err := os.MkdirTemp("", "initd-behaviour-")
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
	inits := append([]harness.Init{harness.InitdInit(*initdPath)}, behaviourPeers()...)
	rows := Scenarios()

	// Columns run concurrently: every scenario waits on its own processes,
	// and the slow rows (the trap, the idle window) overlap instead of
	// adding up.
	cells := make([][]Result, len(rows))
	for r := range cells {
		cells[r] = make([]Result, len(inits))
	}
	run := func(r, c int) {
		dir, err := os.MkdirTemp(tmp, "s")
		if err != nil {
			cells[r][c] = Result{false, err.Error()}
			return
		}
		cells[r][c] = rows[r].Run(dir, inits[c])
	}
	var wg sync.WaitGroup
	for c := range inits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r, s := range rows {
				if !s.Serial {
					run(r, c)
				}
			}
		}()
	}
	wg.Wait()
	// The timing-sensitive rows last, one init at a time on a quiet
	// machine.
	for r, s := range rows {
		if s.Serial {
			for c := range inits {
				fmt.Fprintf(os.Stderr, "behaviour: %s: %s\n", inits[c].Name, s.Name)
				run(r, c)
			}
		}
	}

	table := Table(inits, rows, cells)
	os.Stdout.WriteString(table)
	toModule := *out == ""
	if toModule {
		root, err := harness.ModuleRoot()
		if err != nil {
			fatal(err)
		}
		*out = filepath.Join(root, "bench", "results", "behaviour.md")
	}
	if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
		fatal(err)
	}
	if toModule {
		if err := harness.UpdateDoc("behaviour", table); err != nil {
			fatal(err)
		}
	}
}

// behaviourPeers leaves out tini-static: the same program as tini, so the
// same behaviour; it only matters for start-up cost.
func behaviourPeers() []harness.Init {
	var p []harness.Init
	for _, i := range harness.Peers() {
		if i.Name != "tini-static" {
			p = append(p, i)
		}
	}
	return p
}

// Table renders the results with a note under it for every row where
// initd differs from a peer on purpose.
func Table(inits []harness.Init, rows []Scenario, cells [][]Result) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(&b, "Behaviour of each init as PID 1 of a new PID namespace (not-PID-1 row: a plain child), %s, Linux %s, %s. Reproduce: `go run ./bench/behaviour`.\n\n",
		time.Now().UTC().Format("2006-01-02"), strings.TrimSpace(string(kernel)), runtime.GOARCH)
	b.WriteString("| scenario |")
	for _, i := range inits {
		fmt.Fprintf(&b, " %s |", nameWithFlags(i))
	}
	b.WriteString("\n| --- |")
	for range inits {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	// Notes are numbered in one sequence: first the differences on
	// purpose, then the losses, each list in row order.
	var why, loss []string
	for r, s := range rows {
		switch {
		case s.Loss != "" && !cells[r][0].Pass:
			if !slices.Contains(loss, s.Loss) {
				loss = append(loss, s.Loss)
			}
		case s.Why != "" && differs(cells[r]):
			if !slices.Contains(why, s.Why) {
				why = append(why, s.Why)
			}
		}
	}
	notes := append(slices.Clone(why), loss...)
	for r, s := range rows {
		name := s.Name
		note := ""
		switch {
		case s.Loss != "" && !cells[r][0].Pass:
			note = s.Loss
		case s.Why != "" && differs(cells[r]):
			note = s.Why
		}
		if note != "" {
			name += fmt.Sprintf(" [%d]", slices.Index(notes, note)+1)
		}
		fmt.Fprintf(&b, "| %s |", name)
		for c := range inits {
			fmt.Fprintf(&b, " %s |", cells[r][c])
		}
		b.WriteString("\n")
	}
	if len(why) > 0 {
		b.WriteString("\nWhere initd differs on purpose:\n\n")
		for n, w := range why {
			fmt.Fprintf(&b, "%d. %s.\n", n+1, w)
		}
	}
	if len(loss) > 0 {
		b.WriteString("\nWhere initd loses, and why:\n\n")
		for n, w := range loss {
			fmt.Fprintf(&b, "%d. %s.\n", len(why)+n+1, w)
		}
	}
	return b.String()
}

func nameWithFlags(i harness.Init) string {
	n := strings.SplitN(i.Name, " ", 2)[0]
	argv := strings.Join(append([]string{n}, i.Flags...), " ")
	return "`" + argv + " --`"
}

// differs reports whether initd's cell (column 0) passes where a peer's
// does not, or the other way round.
func differs(row []Result) bool {
	for _, c := range row[1:] {
		if c.Pass != row[0].Pass {
			return true
		}
	}
	return false
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "behaviour:", err)
	os.Exit(1)
}
