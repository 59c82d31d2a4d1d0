// Package demo runs the talk's comparison: trap.sh started in the exec
// form, the shell form, the shell form under initd and under its peers,
// then stopped the way "docker stop" stops a container (SIGTERM to PID 1,
// SIGKILL after a timeout), on a private Docker engine or in plain Linux
// PID namespaces. The demo command and the tests share it.
package demo

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The lines trap.sh prints, in order.
const (
	LineStart    = "Iniciando o processo (PID "
	LineTrapped  = "Trapped: "
	LineStopping = "Encerrando o processo graciosamente..."
	LineDone     = "Processo encerrado"
)

var startRE = regexp.MustCompile(`Iniciando o processo \(PID (\d+)\)`)

// Outcome is what one variant showed when it was stopped.
type Outcome struct {
	Variant string        // row label
	PID     int           // trap.sh's PID as it printed it; 0 if it never started
	Stop    time.Duration // from the stop request until PID 1 was gone
	Exit    int           // PID 1's exit status (128+n for signal n)
	Output  string        // everything the container or namespace printed
	Err     error         // the variant could not be run or stopped
}

// Trapped is the signal name trap.sh reported, "" if its handler never ran.
func (o Outcome) Trapped() string {
	// Search inside lines: under a terminal, the echoed "^C" shares the
	// line with the handler's first output.
	for _, l := range strings.Split(o.Output, "\n") {
		if _, s, ok := strings.Cut(l, LineTrapped); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func (o Outcome) has(line string) bool {
	for _, l := range strings.Split(o.Output, "\n") {
		if strings.Contains(l, line) {
			return true
		}
	}
	return false
}

// Complete reports whether trap.sh ran its whole cleanup: the handler
// started and the last line appeared.
func (o Outcome) Complete() bool {
	return o.Trapped() != "" && o.has(LineStopping) && o.has(LineDone)
}

// StartOnly reports whether trap.sh started and then printed nothing else:
// the stop never reached it, or SIGKILL came first.
func (o Outcome) StartOnly() bool {
	return o.PID != 0 && o.Trapped() == "" && !o.has(LineStopping) && !o.has(LineDone)
}

// Verdict is the table's last column: which of trap.sh's lines appeared.
func (o Outcome) Verdict() string {
	switch {
	case o.Err != nil:
		return "error: " + o.Err.Error()
	case o.Complete():
		return "graceful: Trapped " + o.Trapped() + " ... Processo encerrado"
	case o.Trapped() != "":
		return "cut off: Trapped " + o.Trapped() + ", cleanup never finished"
	case o.StartOnly():
		return "none: start line only, no cleanup ran"
	default:
		return "no output"
	}
}

// ParsePID returns the PID trap.sh printed in its first line, or 0.
func ParsePID(out string) int {
	m := startRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// WriteTable prints the outcomes as a Markdown table, so it can be pasted
// into documentation as it is.
func WriteTable(w io.Writer, rows []Outcome) {
	fmt.Fprintln(w, "| variant | PID of trap.sh | stop | exit | trap.sh output |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, r := range rows {
		pid, stop, exit := "-", "-", "-"
		if r.PID != 0 {
			pid = strconv.Itoa(r.PID)
		}
		if r.Err == nil {
			stop = fmt.Sprintf("%.1f s", r.Stop.Seconds())
			exit = strconv.Itoa(r.Exit)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.Variant, pid, stop, exit, r.Verdict())
	}
}
