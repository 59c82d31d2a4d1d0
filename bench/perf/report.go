package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/initd/initd/bench/internal/harness"
)

// metricDef says how one metric is shown and judged.
type metricDef struct {
	Key, Label, Unit string
	Scale            float64 // raw value / Scale = shown value
	// Overhead metrics are judged by the init's cost beyond the direct run
	// of the same run, not by the total.
	Overhead bool
	Target   *target // nil for none
	Chart    bool
}

// target is what initd must reach on a metric: at most Ratio times the
// best C peer, or at most Max in shown units (issue 10's targets); in the
// reap mode Only ("initd kernel") or, when Only is empty, in both. Floor,
// when set, is a second target in both modes: at most Floor times the
// floor (issue 19's), what initd may add to what any Go init costs.
type target struct {
	Ratio float64
	Max   float64
	IsMax bool
	Only  string
	Why   string // where the figure comes from, shown after it
	Floor float64
}

const (
	initdKernel = "initd kernel"
	initdWait   = "initd wait"
	floorName   = "floor"
)

// nearFloor is issue 19's bound on what initd adds to the floor.
const nearFloor = 1.1

var defs = []metricDef{
	{Key: "startup", Label: "start-up + exit of `INIT -- /bin/true`", Unit: "ms", Scale: 1e6, Overhead: true, Chart: true,
		Target: &target{Ratio: 3.9, Why: "no worse than before", Floor: nearFloor}},
	{Key: "startup_pid1", Label: "the same as PID 1 of a new PID namespace (the host's /proc)", Unit: "ms", Scale: 1e6, Overhead: true, Chart: true},
	{Key: "startup_pid1proc", Label: "the same as PID 1 with a /proc of its own (as in a container)", Unit: "ms", Scale: 1e6, Overhead: true},
	{Key: "instr", Label: "instructions the init executes for `INIT -- /bin/true` (valgrind lackey)", Unit: "M", Scale: 1e6},
	{Key: "rtt_p50", Label: "signal round trip p50 (one in flight)", Unit: "µs", Scale: 1e3, Overhead: true,
		Target: &target{Floor: nearFloor}},
	{Key: "rtt_p99", Label: "signal round trip p99", Unit: "µs", Scale: 1e3, Overhead: true},
	{Key: "sig_cpu", Label: "init CPU per forwarded signal", Unit: "µs", Scale: 1e3, Chart: true,
		Target: &target{Ratio: 3.3, Why: "no worse than before", Floor: nearFloor}},
	{Key: "orphan_cpu", Label: "init CPU per reaped orphan (as PID 1)", Unit: "µs", Scale: 1e3, Chart: true,
		Target: &target{Ratio: 0.5, Only: initdKernel}},
	{Key: "orphan_peak", Label: "peak unreaped zombies during the orphan storm (/proc sampled every 2 ms)", Unit: "", Scale: 1, Chart: true,
		Target: &target{IsMax: true, Max: 0, Only: initdKernel}},
	{Key: "orphan_wall", Label: "wall time to make and reap the orphans", Unit: "ms", Scale: 1e6},
	{Key: "shutdown", Label: "shutdown: SIGTERM to PID 1 until it is gone (own /proc, as in a container)", Unit: "ms", Scale: 1e6, Overhead: true, Chart: true,
		Target: &target{Ratio: 2, Floor: nearFloor}},
	{Key: "shutdown_hostproc", Label: "the same without a /proc of its own (the host's)", Unit: "ms", Scale: 1e6, Overhead: true},
	{Key: "wakeups_n", Label: "idle wake-ups over the whole idle window (context switches, all threads)", Unit: "", Scale: 1,
		Target: &target{IsMax: true, Max: 0}},
	{Key: "wakeups", Label: "idle wake-ups per minute", Unit: "/min", Scale: 1, Chart: true},
	{Key: "wakeups_vol", Label: "of which voluntary (one per wake-up)", Unit: "/min", Scale: 1},
	{Key: "rss", Label: "idle RSS", Unit: "MiB", Scale: 1 << 20, Chart: true},
	{Key: "anon", Label: "idle anonymous RSS", Unit: "MiB", Scale: 1 << 20,
		Target: &target{Floor: nearFloor}},
	{Key: "pss", Label: "idle PSS", Unit: "MiB", Scale: 1 << 20},
	{Key: "threads", Label: "threads", Unit: "", Scale: 1,
		Target: &target{Floor: nearFloor}},
	{Key: "size", Label: "binary size", Unit: "MB", Scale: 1e6, Chart: true,
		Target: &target{Floor: nearFloor}},
}

// isInitd reports whether a subject is one of initd's reap modes.
func isInitd(name string) bool { return strings.HasPrefix(name, "initd") }

// Metric is one row of results, in shown units.
type Metric struct {
	Key, Label, Unit string
	Overhead         bool
	Runs             map[string][]float64 `json:"runs"`             // per-run values
	Median           map[string]float64   `json:"median"`           // median of Runs
	OverheadMedian   map[string]float64   `json:"overhead_median"`  // median of per-run (value - direct)
	Noise            map[string]float64   `json:"noise"`            // (max-min)/median of Runs
	BestC            string               `json:"best_c,omitempty"` // best C peer
	// Ratio is each initd mode's value over the best C peer's, and
	// FloorRatio over the floor's (of overheads where Overhead).
	Ratio      map[string]float64 `json:"ratio,omitempty"`
	FloorRatio map[string]float64 `json:"ratio_floor,omitempty"`
	Target     string             `json:"target,omitempty"`
	Met        map[string]bool    `json:"met,omitempty"` // per initd mode the target applies to
	// FloorTarget and FloorMet are the same for the bound to the floor.
	FloorTarget string          `json:"target_floor,omitempty"`
	FloorMet    map[string]bool `json:"met_floor,omitempty"`
}

type report struct {
	Date        string
	Command     string
	Machine     machine
	Config      config
	Subjects    []subject
	IdleWindowS float64
	// Load averages (1 min) when the run began and ended: the machine's
	// other work, which the interleaving spreads over all subjects alike.
	LoadStart, LoadEnd string
	Metrics            []*Metric
	raw                map[string]map[string][]float64
	names              []string
}

type subject struct {
	Name, Argv string
	C          bool
}

func newReport(cfg config, subjects []harness.Init) *report {
	cmd := "go run ./bench/perf"
	if cfg.Quick {
		cmd += " -quick"
	}
	r := &report{
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Command: cmd,
		Machine: describe(), Config: cfg, raw: map[string]map[string][]float64{},
		LoadStart: loadAvg(),
	}
	for _, s := range subjects {
		argv := "CHILD"
		if !s.IsDirect() {
			argv = strings.Join(append([]string{strings.Fields(s.Name)[0]}, s.Flags...), " ") + " -- CHILD"
		}
		r.Subjects = append(r.Subjects, subject{s.Name, argv, s.C})
		r.names = append(r.names, s.Name)
	}
	return r
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func (r *report) add(key, name string, v float64) {
	if r.raw[key] == nil {
		r.raw[key] = map[string][]float64{}
	}
	r.raw[key][name] = append(r.raw[key][name], v)
}

func (r *report) addMedians(key string, m map[string][]float64) {
	for name, v := range m {
		r.add(key, name, percentile(v, 50))
	}
}

func (r *report) finish() {
	for _, d := range defs {
		m := &Metric{Key: d.Key, Label: d.Label, Unit: d.Unit, Overhead: d.Overhead,
			Runs: map[string][]float64{}, Median: map[string]float64{}, Noise: map[string]float64{}}
		raw := r.raw[d.Key]
		for name, v := range raw {
			s := make([]float64, len(v))
			for i := range v {
				s[i] = v[i] / d.Scale
			}
			m.Runs[name] = s
			m.Median[name] = percentile(s, 50)
			lo, hi := slices.Min(s), slices.Max(s)
			if med := m.Median[name]; med != 0 {
				m.Noise[name] = (hi - lo) / math.Abs(med)
			}
		}
		judged := m.Median
		if d.Overhead {
			m.OverheadMedian = map[string]float64{}
			direct := m.Runs[harness.Direct.Name]
			for name, s := range m.Runs {
				var o []float64
				for i := range s {
					if i < len(direct) {
						o = append(o, s[i]-direct[i])
					}
				}
				if len(o) > 0 {
					m.OverheadMedian[name] = percentile(o, 50)
				}
			}
			judged = m.OverheadMedian
		}
		best := math.Inf(1)
		for _, s := range r.Subjects {
			if v, ok := judged[s.Name]; ok && s.C && v < best {
				best, m.BestC = v, s.Name
			}
		}
		m.Ratio = map[string]float64{}
		m.FloorRatio = map[string]float64{}
		floor, hasFloor := judged[floorName]
		for _, s := range r.Subjects {
			iv, ok := judged[s.Name]
			if !ok || !isInitd(s.Name) {
				continue
			}
			if m.BestC != "" && best > 0 {
				m.Ratio[s.Name] = iv / best
			}
			if hasFloor && floor > 0 {
				m.FloorRatio[s.Name] = iv / floor
			}
		}
		if t := d.Target; t != nil && t.Floor > 0 {
			m.FloorTarget = fmt.Sprintf("≤ %gx floor", t.Floor)
			m.FloorMet = map[string]bool{}
			for n, ratio := range m.FloorRatio {
				m.FloorMet[n] = ratio <= t.Floor
			}
		}
		if t := d.Target; t != nil && (t.IsMax || t.Ratio > 0) {
			m.Met = map[string]bool{}
			switch {
			case t.IsMax:
				m.Target = fmt.Sprintf("≤ %g", t.Max)
				if d.Unit != "" {
					m.Target += " " + d.Unit
				}
			default:
				m.Target = fmt.Sprintf("≤ %gx best C", t.Ratio)
			}
			if t.Why != "" {
				m.Target += " (" + t.Why + ")"
			}
			if d.Key == "wakeups_n" && r.IdleWindowS < 120 {
				m.Target += fmt.Sprintf(" in 2 min; this window: %.0f s", r.IdleWindowS)
			}
			for _, s := range r.Subjects {
				if !isInitd(s.Name) || (t.Only != "" && s.Name != t.Only) {
					continue
				}
				if t.IsMax {
					if iv, ok := judged[s.Name]; ok {
						m.Met[s.Name] = iv <= t.Max
					}
				} else if ratio, ok := m.Ratio[s.Name]; ok {
					m.Met[s.Name] = ratio <= t.Ratio
				}
			}
		}
		r.Metrics = append(r.Metrics, m)
	}
}

func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Measured %s on %d CPUs (%s), Linux %s, %s; peers: tini %s, dumb-init %s, catatonit %s. %d runs; idle window %.0f s; load average %s at the start, %s at the end. initd kernel is `initd --reap=kernel`, initd wait `initd --reap=wait`; floor is bench/floor, the least a Go PID 1 must do, built with initd's flags. Reproduce: `%s`.\n\n",
		r.Date, m.Nproc, m.CPU, m.Kernel, m.Go, m.Peers["tini"], m.Peers["dumb-init"], m.Peers["catatonit"], r.Config.Runs, r.IdleWindowS, r.LoadStart, r.LoadEnd, r.Command)
	b.WriteString("| metric |")
	for _, s := range r.Subjects {
		fmt.Fprintf(&b, " `%s` |", s.Argv)
	}
	initds := r.initds()
	for _, n := range initds {
		n = strings.TrimPrefix(n, "initd ")
		fmt.Fprintf(&b, " %s ÷ floor | %s ÷ best C |", n, n)
	}
	b.WriteString(" target | noise (" + strings.Join(trimmed(initds), ", ") + ") |\n| --- |")
	for range r.Subjects {
		b.WriteString(" ---: |")
	}
	for range initds {
		b.WriteString(" ---: | ---: |")
	}
	b.WriteString(" --- | ---: |\n")
	for _, mt := range r.Metrics {
		unit := ""
		if mt.Unit != "" {
			unit = " (" + mt.Unit + ")"
		}
		fmt.Fprintf(&b, "| %s%s |", mt.Label, unit)
		for _, s := range r.Subjects {
			v, ok := mt.Median[s.Name]
			switch {
			case !ok:
				b.WriteString(" – |")
			case mt.Overhead && s.Name != harness.Direct.Name:
				fmt.Fprintf(&b, " %s (+%s) |", num(v), num(mt.OverheadMedian[s.Name]))
			default:
				fmt.Fprintf(&b, " %s |", num(v))
			}
		}
		for _, n := range initds {
			if ratio, ok := mt.FloorRatio[n]; ok {
				fmt.Fprintf(&b, " %.2fx |", ratio)
			} else {
				b.WriteString(" – |")
			}
			if ratio, ok := mt.Ratio[n]; ok {
				fmt.Fprintf(&b, " %.2fx (%s) |", ratio, mt.BestC)
			} else {
				b.WriteString(" – |")
			}
		}
		var targets []string
		for _, t := range []struct {
			text string
			met  map[string]bool
		}{{mt.Target, mt.Met}, {mt.FloorTarget, mt.FloorMet}} {
			if t.text == "" {
				continue
			}
			var v []string
			for _, n := range initds {
				if met, ok := t.met[n]; ok {
					mark := "❌"
					if met {
						mark = "✅"
					}
					v = append(v, mark+" "+strings.TrimPrefix(n, "initd "))
				}
			}
			if len(v) > 0 {
				targets = append(targets, strings.Join(v, ", ")+": "+t.text)
			} else {
				targets = append(targets, t.text)
			}
		}
		target := strings.Join(targets, "; ")
		var noise []string
		for _, n := range initds {
			noise = append(noise, fmt.Sprintf("%.0f%%", 100*mt.Noise[n]))
		}
		fmt.Fprintf(&b, " %s | %s |\n", target, strings.Join(noise, ", "))
	}
	b.WriteString("\nOverheads (+) are the init's time minus the direct run's in the same run; ratios for those rows compare overheads. " +
		"÷ floor is initd over the floor, the part of the figure that is initd's and not Go's; ÷ best C is initd over the best C peer of the row. " +
		"Noise is the spread of the per-run values, (max−min)/median. CPU is the scheduler's exact run time of all the init's threads (/proc/PID/task/*/sched). " +
		"The direct run has no init: its round trip is a signal sent to the child itself, its shutdown is `sleep` outside a PID namespace (as PID 1 it would ignore SIGTERM; in a mount namespace with its own /proc for the first shutdown row), and it reaps no orphans.\n")
	return b.String()
}

// initds are the initd subjects, in column order.
func (r *report) initds() []string {
	var n []string
	for _, s := range r.Subjects {
		if isInitd(s.Name) {
			n = append(n, s.Name)
		}
	}
	return n
}

func trimmed(names []string) []string {
	var t []string
	for _, n := range names {
		t = append(t, strings.TrimPrefix(n, "initd "))
	}
	return t
}

// num prints a value with three significant digits.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e6:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// svg draws one small bar chart per targeted metric: each subject's value
// (overhead where judged by overhead), initd highlighted, and the target as
// a dashed line.
func (r *report) svg() string {
	var charts []*Metric
	for i, d := range defs {
		if d.Chart {
			charts = append(charts, r.Metrics[i])
		}
	}
	const (
		panelW, barH, gap, labelW, top = 440, 16, 4, 90, 34
		cols                           = 2
	)
	n := len(r.Subjects)
	panelH := top + n*(barH+gap) + 16
	rows := (len(charts) + cols - 1) / cols
	W, H := cols*panelW+20, rows*panelH+50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">initd and its peers, %s (%d CPUs, Linux %s); lower is better</text>`+"\n",
		html.EscapeString(r.Date), r.Machine.Nproc, html.EscapeString(r.Machine.Kernel))
	fmt.Fprintf(&b, `<text x="10" y="36" fill="#555">initd kernel: --reap=kernel; initd wait: --reap=wait; floor: the least a Go PID 1 must do; dashed line: initd's target; + marks an overhead over the direct run. Reproduce: %s</text>`+"\n", html.EscapeString(r.Command))
	for ci, mt := range charts {
		d := defs[slices.IndexFunc(defs, func(d metricDef) bool { return d.Key == mt.Key })]
		x0, y0 := 10+(ci%cols)*panelW, 50+(ci/cols)*panelH
		vals := mt.Median
		title := mt.Label
		if mt.Overhead {
			vals, title = mt.OverheadMedian, "+ "+title
		}
		target := 0.0
		if t := d.Target; t != nil && !t.IsMax && mt.BestC != "" {
			target = t.Ratio * vals[mt.BestC]
		} else if t != nil && t.IsMax {
			target = t.Max
		}
		maxV := target
		for _, v := range vals {
			maxV = math.Max(maxV, v)
		}
		if maxV <= 0 {
			maxV = 1
		}
		barMax := float64(panelW - labelW - 70)
		if mt.Unit != "" {
			title += " (" + mt.Unit + ")"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, y0+14, html.EscapeString(strings.ReplaceAll(title, "`", "")))
		for si, s := range r.Subjects {
			y := y0 + top - 10 + si*(barH+gap)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", x0+labelW-4, y+12, html.EscapeString(s.Name))
			v, ok := vals[s.Name]
			if !ok {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#999">n/a</text>`+"\n", x0+labelW+2, y+12)
				continue
			}
			color := "#9aa5b1"
			switch {
			case s.Name == initdKernel:
				color = "#1f6feb"
			case s.Name == floorName:
				color = "#bf8700"
			case isInitd(s.Name):
				color = "#6ea8fe"
			case !s.C:
				color = "#d0d7de"
			}
			w := math.Max(0, v) / maxV * barMax
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0+labelW, y, w, barH, color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(x0+labelW)+w+4, y+12, num(v))
		}
		if target > 0 {
			tx := float64(x0+labelW) + target/maxV*barMax
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#cf222e" stroke-dasharray="4 3"/>`+"\n",
				tx, y0+top-14, tx, y0+top-10+n*(barH+gap))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// percentile of v (nearest rank on a sorted copy); 50 is the median.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if p == 50 && len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
