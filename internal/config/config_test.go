package config

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/reaper"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseCommand(t *testing.T) {
	for _, tt := range []struct {
		args []string
		cmd  []string
	}{
		{[]string{"app"}, []string{"app"}},
		{[]string{"--", "app", "-c", "x"}, []string{"app", "-c", "x"}},
		{[]string{"app", "-c", "x"}, []string{"app", "-c", "x"}}, // stops at the first non-flag
		{[]string{"-v", "app", "-v"}, []string{"app", "-v"}},
		{[]string{"-s", "--", "--", "x"}, []string{"--", "x"}},
		{[]string{"-", "x"}, []string{"-", "x"}}, // a lone dash is a word
		{[]string{"-r", "TERM:QUIT", "app"}, []string{"app"}},
		{[]string{"-rTERM:QUIT", "app"}, []string{"app"}},
		{[]string{"--rewrite=TERM:QUIT", "app"}, []string{"app"}},
		{[]string{"--rewrite", "TERM:QUIT", "app"}, []string{"app"}},
		{[]string{"-vr", "TERM:QUIT", "app"}, []string{"app"}},
		{[]string{"-t", "1s", "--", "app", "--grace"}, []string{"app", "--grace"}},
	} {
		c, err := Parse(tt.args, env())
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.args, err)
			continue
		}
		if strings.Join(c.Command, "|") != strings.Join(tt.cmd, "|") {
			t.Errorf("Parse(%q).Command = %q, want %q", tt.args, c.Command, tt.cmd)
		}
	}
}

func TestParseOptions(t *testing.T) {
	c, err := Parse(strings.Fields("-cvvvw -s -e 143 -e 2:3 -t 2.5 -k 300ms -p SIGKILL -r TERM:QUIT -r USR1:0 -- app"), env())
	if err != nil {
		t.Fatal(err)
	}
	if !c.SingleChild || c.Verbosity != 3 || !c.WarnReap {
		t.Errorf("flags: %+v", c)
	}
	if c.Remap.Apply(143) != 0 || c.Remap.Apply(2) != 3 || c.Remap.Apply(1) != 1 {
		t.Errorf("remap: 143->%d 2->%d 1->%d", c.Remap.Apply(143), c.Remap.Apply(2), c.Remap.Apply(1))
	}
	if c.Grace != 2500*time.Millisecond || c.KillAfter != 300*time.Millisecond {
		t.Errorf("grace %v kill-after %v", c.Grace, c.KillAfter)
	}
	if c.Pdeath != syscall.SIGKILL {
		t.Errorf("pdeath %d", c.Pdeath)
	}
	if s, ok := c.Rewrite.Apply(syscall.SIGTERM); !ok || s != syscall.SIGQUIT {
		t.Errorf("rewrite TERM -> %d %v", s, ok)
	}
	if _, ok := c.Rewrite.Apply(syscall.SIGUSR1); ok {
		t.Errorf("rewrite USR1:0 did not drop")
	}

	// -g after -c restores group forwarding, as in tini scripts.
	if c, err := Parse([]string{"-c", "-g", "app"}, env()); err != nil || c.SingleChild {
		t.Errorf("-c -g: %+v %v", c, err)
	}
	if c, err := Parse([]string{"app"}, env()); err != nil || c.Grace != DefaultGrace || c.KillAfter != 0 {
		t.Errorf("defaults: %+v %v", c, err)
	}
}

func TestParseActions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want Action
	}{
		{[]string{"--version"}, Version},
		{[]string{"-V"}, Version},
		{[]string{"-h"}, Help},
		{[]string{"--help"}, Help},
		{[]string{"-l"}, License},
		{[]string{"--license"}, License},
		{[]string{"--pause"}, Run},
	} {
		c, err := Parse(tt.args, env())
		if err != nil || c.Action != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want action %d", tt.args, c, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // part of the message
	}{
		{nil, "no command"},
		{[]string{"--"}, "no command"},
		{[]string{"-v"}, "no command"},
		{[]string{""}, "empty"},
		{[]string{"--", ""}, "empty"},
		{[]string{"-x", "app"}, "unknown option -x"},
		{[]string{"-vx", "app"}, "unknown option -x"},
		{[]string{"--nope", "app"}, "unknown option --nope"},
		{[]string{"--single-child=1", "app"}, "takes no value"},
		{[]string{"-e"}, "needs a value"},
		{[]string{"-e", "256", "app"}, `"256"`},
		{[]string{"-e", "-1", "app"}, `"-1"`},
		{[]string{"-e", "x", "app"}, `"x"`},
		{[]string{"-e", "1:256", "app"}, `"256"`},
		{[]string{"--rewrite", "TERM", "app"}, "FROM:TO"},
		{[]string{"--rewrite", "NOPE:1", "app"}, `"NOPE"`},
		{[]string{"--rewrite", "15:65", "app"}, `"65"`},
		{[]string{"--rewrite", "KILL:TERM", "app"}, "SIGKILL"},
		{[]string{"--rewrite", "CHLD:TERM", "app"}, "SIGCHLD"},
		{[]string{"--grace", "-1s", "app"}, "negative"},
		{[]string{"--grace", "-1", "app"}, "negative"},
		{[]string{"--grace", "5parsecs", "app"}, `"5parsecs"`},
		{[]string{"--grace", "NaN", "app"}, `"NaN"`},
		{[]string{"--kill-after", "99999999999", "app"}, "out of range"},
		{[]string{"--kill-after", "1e3", "app"}, `"1e3"`},
		{[]string{"-p", "SIGNOPE", "app"}, `"SIGNOPE"`},
		{[]string{"--pause", "app"}, "--pause runs no command"},
	} {
		_, err := Parse(tt.args, env())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	c, err := Parse([]string{"app"}, env(
		"INITD_SINGLE_CHILD", "1",
		"INITD_REWRITE", "TERM:QUIT, USR1:0",
		"INITD_REMAP_EXIT", "143,1:2",
		"INITD_GRACE", "3s",
		"INITD_KILL_AFTER", "7",
		"INITD_VERBOSITY", "2",
	))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SingleChild || c.Grace != 3*time.Second || c.KillAfter != 7*time.Second || c.Verbosity != 2 {
		t.Errorf("env: %+v", c)
	}
	if s, _ := c.Rewrite.Apply(syscall.SIGTERM); s != syscall.SIGQUIT {
		t.Errorf("INITD_REWRITE TERM -> %d", s)
	}
	if c.Remap.Apply(143) != 0 || c.Remap.Apply(1) != 2 {
		t.Errorf("INITD_REMAP_EXIT")
	}

	// A flag wins over its variable; a list flag replaces the whole list.
	c, err = Parse([]string{"-g", "-t", "1s", "-r", "INT:HUP", "-e", "5", "app"}, env(
		"INITD_SINGLE_CHILD", "1", "INITD_GRACE", "3s",
		"INITD_REWRITE", "TERM:QUIT", "INITD_REMAP_EXIT", "143"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SingleChild || c.Grace != time.Second {
		t.Errorf("flags did not win: %+v", c)
	}
	if s, _ := c.Rewrite.Apply(syscall.SIGTERM); s != syscall.SIGTERM {
		t.Errorf("-r did not replace INITD_REWRITE")
	}
	if c.Remap.Apply(143) != 143 || c.Remap.Apply(5) != 0 {
		t.Errorf("-e did not replace INITD_REMAP_EXIT")
	}

	// The peers' variables.
	c, _ = Parse([]string{"app"}, env("DUMB_INIT_SETSID", "0", "TINI_SUBREAPER", "1", "TINI_VERBOSITY", "3"))
	if !c.SingleChild || c.Verbosity != 2 {
		t.Errorf("peer variables: %+v", c)
	}
	c, _ = Parse([]string{"app"}, env("DUMB_INIT_SETSID", "0", "TINI_KILL_PROCESS_GROUP", "1"))
	if c.SingleChild {
		t.Errorf("TINI_KILL_PROCESS_GROUP did not select the group")
	}
	c, _ = Parse([]string{"app"}, env("INITD_SINGLE_CHILD", "1", "TINI_KILL_PROCESS_GROUP", "1"))
	if !c.SingleChild {
		t.Errorf("a peer's variable won over initd's own")
	}
}

func TestEnvironmentErrors(t *testing.T) {
	for _, kv := range [][2]string{
		{"INITD_SINGLE_CHILD", "maybe"},
		{"INITD_REWRITE", "TERM"},
		{"INITD_REWRITE", "TERM:QUIT,NOPE:1"},
		{"INITD_REMAP_EXIT", "256"},
		{"INITD_GRACE", "-1s"},
		{"INITD_KILL_AFTER", "soon"},
		{"INITD_VERBOSITY", "loud"},
		{"TINI_VERBOSITY", "-1"},
		{"DUMB_INIT_SETSID", "2"},
	} {
		_, err := Parse([]string{"app"}, env(kv[0], kv[1]))
		if err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%q: error %v, want one naming the variable", kv[0], kv[1], err)
		}
	}
}

// Usage lists every option, so --help cannot fall behind the parser.
func TestUsageListsEveryOption(t *testing.T) {
	for _, o := range options {
		if o.short != 0 && !strings.Contains(Usage, "-"+string(o.short)) {
			t.Errorf("Usage lacks -%c", o.short)
		}
		if o.long != "" && !strings.Contains(Usage, "--"+o.long) {
			t.Errorf("Usage lacks --%s", o.long)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"app", "-vvv\x00--\x00app", "-rTERM:QUIT\x00app", "--grace=1s\x00app",
		"-e\x00256", "--pause", "-t\x00", "--rewrite\x0015:65\x00x", "-\x00x",
	} {
		f.Add(s, "")
	}
	f.Add("app", "TERM:QUIT,USR1:0")
	f.Fuzz(func(t *testing.T, joined, rewriteEnv string) {
		args := strings.Split(joined, "\x00")
		c, err := Parse(args, env("INITD_REWRITE", rewriteEnv))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if c.Action == Run && !c.Pause && (len(c.Command) == 0 || c.Command[0] == "") {
			t.Fatalf("Parse(%q) accepted an empty command", args)
		}
		if c.Grace < 0 || c.KillAfter < 0 {
			t.Fatalf("negative duration from %q", args)
		}
		// The command is always a suffix of the arguments, untouched.
		if len(c.Command) > 0 {
			tail := args[len(args)-len(c.Command):]
			if strings.Join(tail, "\x00") != strings.Join(c.Command, "\x00") {
				t.Fatalf("command %q is not the tail of %q", c.Command, args)
			}
		}
	})
}

func TestStopSignalsAndReap(t *testing.T) {
	c, err := Parse([]string{"app"}, func(string) string { return "" })
	if err != nil || c.Stop != forward.DefaultStop || c.Reap != reaper.Auto || c.ReportShell {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	env := map[string]string{"INITD_STOP_SIGNALS": "QUIT", "INITD_REAP": "wait", "INITD_REPORT_SHELL": "1"}
	c, err = Parse([]string{"app"}, func(k string) string { return env[k] })
	if err != nil || c.Stop != forward.SetOf(syscall.SIGQUIT) || c.Reap != reaper.Wait || !c.ReportShell {
		t.Fatalf("environment: %+v, %v", c, err)
	}
	c, err = Parse([]string{"--stop-signals", "TERM,SIGUSR2", "--reap=kernel", "--report-shell", "app"}, func(k string) string { return env[k] })
	if err != nil || c.Stop != forward.SetOf(syscall.SIGTERM, syscall.SIGUSR2) || c.Reap != reaper.Kernel {
		t.Fatalf("flags over environment: %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"--stop-signals", "CHLD", "app"},
		{"--stop-signals", "KILL", "app"},
		{"--stop-signals", "TTIN", "app"},
		{"--stop-signals", ",", "app"},
		{"--stop-signals", "NOPE", "app"},
		{"--reap", "sometimes", "app"},
	} {
		if _, err := Parse(bad, func(string) string { return "" }); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
}

func TestStopDelay(t *testing.T) {
	none := func(string) string { return "" }
	c, err := Parse([]string{"app"}, none)
	if err != nil || c.StopDelay != 0 {
		t.Fatalf("default: %v, %v", c.StopDelay, err)
	}
	env := map[string]string{"INITD_STOP_DELAY": "5"}
	c, err = Parse([]string{"app"}, func(k string) string { return env[k] })
	if err != nil || c.StopDelay != 5*time.Second {
		t.Fatalf("INITD_STOP_DELAY=5: %v, %v", c.StopDelay, err)
	}
	c, err = Parse([]string{"--stop-delay=1500ms", "app"}, func(k string) string { return env[k] })
	if err != nil || c.StopDelay != 1500*time.Millisecond {
		t.Fatalf("the flag over the variable: %v, %v", c.StopDelay, err)
	}
	for _, bad := range []string{"-1", "soon", ""} {
		_, err := Parse([]string{"--stop-delay", bad, "app"}, none)
		if err == nil || !strings.HasPrefix(err.Error(), "--stop-delay: ") {
			t.Errorf("--stop-delay %q: %v, want an error naming --stop-delay", bad, err)
		}
	}
}

// The shell's status rule applies only to a shell running a -c command
// string; everything else reports the main child's own status.
func TestShellC(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"/bin/sh", "-c", "./app"}, "sh"},
		{[]string{"sh", "-c", "./app", "arg0"}, "sh"},
		{[]string{"/usr/bin/dash", "-ec", "./app"}, "dash"},
		{[]string{"bash", "--norc", "-o", "pipefail", "-c", "./app"}, "bash"},
		{[]string{"/bin/busybox", "sh", "-c", "./app"}, "busybox"},
		{[]string{"/bin/sh", "./script.sh"}, ""},
		{[]string{"/bin/sh", "-c"}, ""},
		{[]string{"/bin/sh", "-e", "./script.sh", "-c", "x"}, ""},
		{[]string{"perl", "-e", "fork; sleep 9"}, ""},
		{[]string{"/usr/bin/python3", "-c", "import os"}, ""},
		{[]string{"./app", "-c", "x"}, ""},
		{[]string{"bash", "--", "-c", "x"}, ""},
	} {
		c, err := Parse(tt.argv, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if c.Shell != tt.want {
			t.Errorf("%q: Shell = %q, want %q", tt.argv, c.Shell, tt.want)
		}
	}
}

func TestUser(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"app"}, nil, ""},
		{[]string{"--user", "app", "x"}, nil, "app"},
		{[]string{"--user=1000:1000", "x"}, nil, "1000:1000"},
		{[]string{"-u", "app:staff", "x"}, nil, "app:staff"},
		{[]string{"-vuapp", "x"}, nil, "app"},
		{[]string{"x"}, map[string]string{"INITD_USER": "1000"}, "1000"},
		// The flag wins over the variable.
		{[]string{"-u", "app", "x"}, map[string]string{"INITD_USER": "1000"}, "app"},
	} {
		c, err := Parse(tt.args, func(k string) string { return tt.env[k] })
		if err != nil || c.User != tt.want {
			t.Errorf("Parse(%q, %v): user %q, %v; want %q", tt.args, tt.env, c.User, err, tt.want)
		}
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--user", "", "x"}, nil, `--user: want USER or USER:GROUP, got ""`},
		{[]string{"--user", ":staff", "x"}, nil, `--user: want USER or USER:GROUP, got ":staff"`},
		{[]string{"-u", "app:", "x"}, nil, `--user: want USER or USER:GROUP, got "app:"`},
		{[]string{"-u", "a:b:c", "x"}, nil, `--user: want USER or USER:GROUP, got "a:b:c"`},
		{[]string{"--user"}, nil, "option --user needs a value"},
		{[]string{"x"}, map[string]string{"INITD_USER": "app:"}, `INITD_USER="app:": want USER or USER:GROUP, got "app:"`},
		{[]string{"--pause", "-u", "app"}, nil, `--pause runs no command, so --user has none to run as "app"`},
		{[]string{"--pause"}, map[string]string{"INITD_USER": "app"}, `--pause runs no command, so --user has none to run as "app"`},
	} {
		_, err := Parse(tt.args, func(k string) string { return tt.env[k] })
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q, %v): %v; want the error %q", tt.args, tt.env, err, tt.want)
		}
	}
}
