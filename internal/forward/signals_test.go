package forward

import (
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want syscall.Signal
	}{
		{"15", syscall.SIGTERM},
		{"TERM", syscall.SIGTERM},
		{"SIGTERM", syscall.SIGTERM},
		{"sigterm", syscall.SIGTERM},
		{"Term", syscall.SIGTERM},
		{"1", syscall.SIGHUP},
		{"64", 64},
		{"RTMIN", 34},
		{"SIGRTMIN+3", 37},
		{"rtmin+1", 35},
		{"RTMAX", 64},
		{"RTMAX-1", 63},
		{"SIGRTMAX-30", 34},
		{"IOT", syscall.SIGABRT},
		{"CLD", syscall.SIGCHLD},
		{"POLL", syscall.SIGIO},
		{"WINCH", syscall.SIGWINCH},
		{"SIGSTKFLT", 16},
	} {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "0", "65", "-1", "100000000000000000000", "NOPE", "SIG", "SIGNOPE",
		"RTMIN+31", "RTMAX-31", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN3", "RTMIN+-3",
		"RTMIN++3", "15x", " 15", "TERM ",
	} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, got)
		}
	}
}

// Every signal's name parses back to the same signal, so the names initd
// prints can be fed back into --rewrite.
func TestNameRoundTrip(t *testing.T) {
	for n := syscall.Signal(1); n < NSig; n++ {
		name := Name(n)
		if n == 32 || n == 33 {
			if name != "signal 32" && name != "signal 33" {
				t.Errorf("Name(%d) = %q", n, name)
			}
			continue
		}
		got, err := Parse(name)
		if err != nil || got != n {
			t.Errorf("Parse(Name(%d) = %q) = %d, %v", n, name, got, err)
		}
	}
}

func TestClass(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		want Class
	}{
		{syscall.SIGTERM, Forwarded},
		{syscall.SIGSEGV, Forwarded},
		{syscall.SIGPIPE, Forwarded},
		{syscall.SIGTSTP, Forwarded},
		{syscall.SIGCHLD, Reap},
		{syscall.SIGTTIN, Dropped},
		{syscall.SIGTTOU, Dropped},
		{syscall.SIGURG, Preempt},
		{syscall.SIGKILL, Uncatchable},
		{syscall.SIGSTOP, Uncatchable},
		{syscall.SIGPROF, Runtime},
		{32, Runtime},
		{33, Runtime},
		{34, Runtime},
		{35, Forwarded},
		{64, Forwarded},
	} {
		if got := ClassOf(tt.sig); got != tt.want {
			t.Errorf("ClassOf(%s) = %d, want %d", Name(tt.sig), got, tt.want)
		}
	}
}

func TestRules(t *testing.T) {
	var r Rules
	if err := r.Set(syscall.SIGTERM, syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(syscall.SIGUSR1, 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		in, out syscall.Signal
		ok      bool
	}{
		{syscall.SIGTERM, syscall.SIGQUIT, true},
		{syscall.SIGUSR1, 0, false},
		{syscall.SIGUSR2, syscall.SIGUSR2, true},
		{syscall.SIGQUIT, syscall.SIGQUIT, true}, // rules do not chain
	} {
		if out, ok := r.Apply(tt.in); out != tt.out || ok != tt.ok {
			t.Errorf("Apply(%s) = %s, %v; want %s, %v", Name(tt.in), Name(out), ok, Name(tt.out), tt.ok)
		}
	}
	for _, bad := range [][2]syscall.Signal{
		{syscall.SIGKILL, syscall.SIGTERM},
		{syscall.SIGSTOP, syscall.SIGTERM},
		{syscall.SIGCHLD, syscall.SIGTERM},
		{syscall.SIGPROF, syscall.SIGTERM},
		{34, syscall.SIGTERM},
		{0, syscall.SIGTERM},
		{syscall.SIGTERM, 65},
	} {
		if err := r.Set(bad[0], bad[1]); err == nil {
			t.Errorf("Set(%d, %d) succeeded, want an error", bad[0], bad[1])
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "15", "SIGRTMIN+3", "RTMAX-2", "sigusr1", "0", "65", "RTMIN+-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err != nil {
			return
		}
		if sig < 1 || sig >= NSig {
			t.Fatalf("Parse(%q) = %d, outside 1..64", s, sig)
		}
		if n := Name(sig); n != "signal 32" && n != "signal 33" {
			if back, err := Parse(n); err != nil || back != sig {
				t.Fatalf("Parse(%q) = %d, but its name %q parses to %d, %v", s, sig, n, back, err)
			}
		}
	})
}

// Name is on the forwarding path (initd's -vv log line and its failure
// messages): it must not allocate, or a signal storm leaves garbage behind.
func TestNameAllocatesNothing(t *testing.T) {
	for n := syscall.Signal(1); n < NSig; n++ {
		if n == 32 || n == 33 {
			continue
		}
		if a := testing.AllocsPerRun(10, func() { _ = Name(n) }); a != 0 {
			t.Errorf("Name(%d) allocates %v times", n, a)
		}
	}
}
