package demo

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestOutcome(t *testing.T) {
	const start = "Iniciando o processo (PID 7)...\n"
	for _, tc := range []struct {
		name, out                string
		complete, startOnly      bool
		trapped, verdictContains string
	}{
		{"graceful", start + "Trapped: TERM\nEncerrando o processo graciosamente...\nProcesso encerrado\n", true, false, "TERM", "graceful"},
		{"tty echo", start + "^CTrapped: INT\r\nEncerrando o processo graciosamente...\r\nProcesso encerrado\r\n", true, false, "INT", "graceful"},
		// dash reports trap.sh's own sleep, killed by the group's
		// SIGTERM, on stderr among trap.sh's lines.
		{"dash's Terminated", start + "Terminated\nTrapped: TERM\nEncerrando o processo graciosamente...\nProcesso encerrado\n", true, false, "TERM", "graceful"},
		{"cut off", start + "Trapped: TERM\nEncerrando o processo graciosamente...\n", false, false, "TERM", "cut off"},
		{"killed", start, false, true, "", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Outcome{Output: tc.out, PID: ParsePID(tc.out)}
			if o.PID != 7 {
				t.Errorf("PID = %d, want 7", o.PID)
			}
			if o.Complete() != tc.complete || o.StartOnly() != tc.startOnly || o.Trapped() != tc.trapped {
				t.Errorf("Complete %v StartOnly %v Trapped %q, want %v %v %q", o.Complete(), o.StartOnly(), o.Trapped(), tc.complete, tc.startOnly, tc.trapped)
			}
			if !strings.Contains(o.Verdict(), tc.verdictContains) {
				t.Errorf("Verdict %q lacks %q", o.Verdict(), tc.verdictContains)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, []Outcome{{Variant: "exec form", PID: 1, Stop: 1040 * time.Millisecond, Output: "Iniciando o processo (PID 1)...\nTrapped: TERM\nEncerrando o processo graciosamente...\nProcesso encerrado\n"}})
	want := "| exec form | 1 | 1.0 s | 0 | graceful: Trapped TERM ... Processo encerrado |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table:\n%s\nwant a row %q", b.String(), want)
	}
}
