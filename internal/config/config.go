// Package config turns initd's command line and environment into a Config.
//
// # Syntax
//
// Options are parsed getopt-style and stop at the first word that is not an
// option, so "initd ./app -c x" passes "-c x" to the app; "--" ends the
// options explicitly. Short options combine ("-vvv", "-sg") and take their
// value attached or as the next word ("-rTERM:QUIT", "-r TERM:QUIT"); long
// options take it after "=" or as the next word. Every option of tini and
// dumb-init is accepted with its meaning, so initd can replace either.
//
// # Environment
//
// Variables configure images whose entrypoint cannot be edited. They are read
// first and a flag always wins over its variable; for the repeatable options
// (rewrite, remap) any flag replaces the whole list from the variable.
// Unset and empty variables are the same. initd passes its environment to
// the child as it got it, but for LISTEN_PID under socket activation
// (package spawn) and a missing HOME under --user (package user).
//
// # Errors
//
// Parse never exits and never prints. Every error names the option or
// variable and the value that was wrong; cmd/initd reports it with the usage
// hint and exits with exitstatus.Usage.
package config

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/reaper"
	"github.com/initd/initd/internal/user"
)

// DefaultGrace is how long leftovers get after the main child exits.
const DefaultGrace = 5 * time.Second

// Action is what the command line asks initd to do.
type Action int

const (
	Run Action = iota
	Help
	Version
	License
)

// Config is everything initd was asked to do.
type Config struct {
	Action  Action
	Command []string // the child's argv; empty only with Pause

	SingleChild bool             // signal the child only, not its process group
	Rewrite     forward.Rules    // signal rewrites applied before forwarding
	Remap       exitstatus.Remap // exit-status rewrites applied last
	Grace       time.Duration    // time leftovers get after the main child exits
	KillAfter   time.Duration    // SIGKILL this long after a forwarded stop signal; 0 is off
	StopDelay   time.Duration    // hold a received stop signal this long before forwarding it
	Stop        forward.Set      // received signals that mean "stop"
	ReportShell bool             // report a shell main child's own status
	Shell       string           // the comm of Command if it is a shell running a -c command string
	Reap        reaper.ReapMode
	Pdeath      syscall.Signal
	Pause       bool
	User        string // --user USER[:GROUP]; "" runs the child as initd's own user
	Verbosity   int
	WarnReap    bool // -w: log every reaped zombie
}

// Usage is printed by --help and, in short, after a usage error.
const Usage = `usage: initd [options] [--] command [args...]
       initd --pause [options]

Runs command as its only child, forwards signals to the child's process
group, reaps every zombie and exits with the child's status (128+n when
the child was killed by signal n).

options:
  -c, --single-child       forward signals to the child only, not its group
  -g                       forward signals to the child's group (the default)
  -r, --rewrite FROM:TO    rewrite signal FROM to TO before forwarding; TO of 0
                           drops it; names (TERM, SIGRTMIN+3) or numbers;
                           repeatable
  -e, --remap-exit CODE[:TO]
                           report exit status CODE as TO (default 0);
                           repeatable
  -t, --grace DURATION     after the main child exits, time the remaining
                           processes get before SIGKILL (default 5s; 0 exits
                           at once)
  -k, --kill-after DURATION
                           SIGKILL the child's group (the child alone
                           with -c) DURATION after a forwarded stop
                           signal if the child is still alive (default
                           off)
      --stop-delay DURATION
                           hold a stop signal DURATION before forwarding it
                           (the app keeps serving while a load balancer
                           lets go of it); a second stop signal is
                           forwarded at once (default 0)
      --stop-signals LIST  the received signals that mean "stop"
                           (comma-separated; default TERM,INT): only they
                           start --kill-after and spare a process initd's
                           own SIGTERM later
      --report-shell       report the main child's own status even when it
                           is a shell that died of the stop signal while
                           waiting for its one command (default: report
                           the command's status)
      --reap MODE          auto, kernel (the kernel releases orphans: no
                           zombie ever exists; Linux 6.15+) or wait
                           (SIGCHLD and wait4); auto is kernel where the
                           kernel supports it and -w is not given
  -s, --subreaper          register as child subreaper (automatic when not
                           PID 1)
  -p, --pdeath SIGNAL      receive SIGNAL when initd's parent dies
  -P, --pause              run no child: reap zombies, exit 0 on INT or TERM
  -u, --user USER[:GROUP]  run the command as USER (a name or uid) and GROUP,
                           looked up in the container's /etc/passwd and
                           /etc/group; initd itself stays root
  -v, --verbose            more messages; repeat for more
  -w, --warn-reap          log every zombie reaped
  -V, --version            print the version
  -h, --help               print this help
  -l, --license            print the license

environment (a flag wins over its variable):
  INITD_SINGLE_CHILD, INITD_REWRITE (comma-separated), INITD_REMAP_EXIT
  (comma-separated), INITD_GRACE, INITD_KILL_AFTER, INITD_STOP_SIGNALS,
  INITD_STOP_DELAY,
  INITD_REPORT_SHELL, INITD_REAP, INITD_VERBOSITY,
  INITD_USER;
  tini's TINI_SUBREAPER, TINI_VERBOSITY, TINI_KILL_PROCESS_GROUP and
  dumb-init's DUMB_INIT_SETSID=0 are honoured too.

exit status: the child's; 126 command not executable; 127 command not
found; 2 usage error; 125 initd could not start the child (or not as
--user).
`

// An option is one entry of the option table. Long names are empty for
// tini's flags that never had one.
type option struct {
	short rune
	long  string
	value bool // takes a value
	apply func(c *Config, v string) error
}

func setFlag(f func(c *Config)) func(*Config, string) error {
	return func(c *Config, _ string) error { f(c); return nil }
}

var options = []option{
	{'c', "single-child", false, setFlag(func(c *Config) { c.SingleChild = true })},
	{'g', "", false, setFlag(func(c *Config) { c.SingleChild = false })},
	{'r', "rewrite", true, func(c *Config, v string) error { return addRewrite(&c.Rewrite, v) }},
	{'e', "remap-exit", true, func(c *Config, v string) error { return addRemap(&c.Remap, v) }},
	{'t', "grace", true, func(c *Config, v string) (err error) { c.Grace, err = ParseDuration(v); return }},
	{'k', "kill-after", true, func(c *Config, v string) (err error) { c.KillAfter, err = ParseDuration(v); return }},
	{0, "stop-signals", true, func(c *Config, v string) (err error) { c.Stop, err = parseStopSignals(v); return }},
	{0, "stop-delay", true, func(c *Config, v string) (err error) { c.StopDelay, err = ParseDuration(v); return }},
	{0, "report-shell", false, setFlag(func(c *Config) { c.ReportShell = true })},
	{0, "reap", true, func(c *Config, v string) (err error) { c.Reap, err = parseReap(v); return }},
	// tini's -s: initd registers as a subreaper whenever it is not PID 1.
	{'s', "subreaper", false, setFlag(func(c *Config) {})},
	{'p', "pdeath", true, func(c *Config, v string) (err error) { c.Pdeath, err = forward.Parse(v); return }},
	{'P', "pause", false, setFlag(func(c *Config) { c.Pause = true })},
	{'u', "user", true, func(c *Config, v string) error { c.User = v; return user.CheckSpec(v) }},
	{'v', "verbose", false, setFlag(func(c *Config) { c.Verbosity++ })},
	{'w', "warn-reap", false, setFlag(func(c *Config) { c.WarnReap = true })},
	{'V', "version", false, setFlag(func(c *Config) { c.Action = Version })},
	{'h', "help", false, setFlag(func(c *Config) { c.Action = Help })},
	{'l', "license", false, setFlag(func(c *Config) { c.Action = License })},
}

// Parse reads the arguments after the program name and the environment
// through getenv. It never has side effects.
func Parse(args []string, getenv func(string) string) (*Config, error) {
	c := &Config{Grace: DefaultGrace, Stop: forward.DefaultStop}
	if err := c.fromEnv(getenv); err != nil {
		return nil, err
	}
	// Flags replace, not extend, the lists that came from the environment.
	var rewriteSeen, remapSeen bool

	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break // first non-option word: the command starts here
		}
		var opt *option
		var val string
		var hasVal bool
		if strings.HasPrefix(a, "--") {
			name := a[2:]
			if eq := strings.IndexByte(name, '='); eq >= 0 {
				name, val, hasVal = name[:eq], name[eq+1:], true
			}
			opt = findLong(name)
			if opt == nil {
				return nil, errors.New("unknown option --" + name)
			}
			if !opt.value && hasVal {
				return nil, errors.New("option --" + name + " takes no value")
			}
		} else {
			// A group of short options; the first one that takes a value
			// consumes the rest of the word or the next word.
			for j := 1; j < len(a); j++ {
				r := rune(a[j])
				opt = findShort(r)
				if opt == nil {
					return nil, errors.New("unknown option -" + quoteRune(a[j:]))
				}
				if !opt.value {
					if err := opt.apply(c, ""); err != nil {
						return nil, err
					}
					opt = nil
					continue
				}
				if j+1 < len(a) {
					val, hasVal = a[j+1:], true
				}
				break
			}
			if opt == nil {
				continue
			}
		}
		if opt.value && !hasVal {
			if i+1 >= len(args) {
				return nil, errors.New("option " + optName(opt) + " needs a value")
			}
			i++
			val = args[i]
		}
		if opt.short == 'r' && !rewriteSeen {
			rewriteSeen, c.Rewrite = true, forward.Rules{}
		}
		if opt.short == 'e' && !remapSeen {
			remapSeen, c.Remap = true, exitstatus.Remap{}
		}
		if err := opt.apply(c, val); err != nil {
			if opt.short == 'r' {
				// The error names the rule: "--rewrite TTIN:TERM: ...".
				return nil, errors.New(optName(opt) + " " + err.Error())
			}
			return nil, errors.New(optName(opt) + ": " + err.Error())
		}
	}
	c.Command = args[i:]
	c.Shell = shellC(c.Command)

	if c.Action != Run {
		return c, nil
	}
	switch {
	case c.Pause && len(c.Command) > 0:
		return nil, errors.New("--pause runs no command, but one was given: " + strconv.Quote(c.Command[0]))
	case c.Pause && c.User != "":
		return nil, errors.New("--pause runs no command, so --user has none to run as " + strconv.Quote(c.User))
	case c.Pause:
	case len(c.Command) == 0:
		return nil, errors.New("no command given")
	case c.Command[0] == "":
		return nil, errors.New("the command name is empty")
	}
	return c, nil
}

// shellC returns the name the kernel gives the process of argv (its comm:
// the file name, cut to 15 bytes) when argv runs a shell on a -c command
// string, and "" otherwise: a Dockerfile's shell form ("/bin/sh -c CMD")
// and its relatives are the only main children whose status initd may take
// from the command they run. The shell is known by its file name; its
// options come before the command string, "-o NAME" included. The name
// lets initd see that the shell is still a shell, not a command it exec'd.
func shellC(argv []string) string {
	if len(argv) < 3 {
		return ""
	}
	comm := argv[0][strings.LastIndexByte(argv[0], '/')+1:]
	name, args := comm, argv[1:]
	if name == "busybox" {
		name, args = args[0], args[1:]
	}
	switch name {
	case "sh", "ash", "dash", "bash", "ksh", "mksh", "posh", "yash", "zsh":
	default:
		return ""
	}
	for i := 0; i < len(args)-1; i++ {
		a := args[i]
		switch {
		case a == "-o" || a == "+o":
			i++
		case len(a) < 2 || a[0] != '-' && a[0] != '+' || a == "--":
			return ""
		case a[0] == '-' && a[1] != '-' && strings.IndexByte(a, 'c') > 0:
			return comm[:min(len(comm), 15)]
		}
	}
	return ""
}

func (c *Config) fromEnv(getenv func(string) string) error {
	type envVar struct {
		name  string
		apply func(v string) error
	}
	// The peers' variables come first so that initd's own win.
	vars := []envVar{
		{"DUMB_INIT_SETSID", func(v string) error {
			// dumb-init's "do not start a new session" means signals go
			// to the child alone.
			setsid, err := parseBool(v)
			if err == nil && !setsid {
				c.SingleChild = true
			}
			return err
		}},
		{"TINI_KILL_PROCESS_GROUP", func(v string) error { c.SingleChild = false; return nil }},
		{"TINI_SUBREAPER", func(v string) error { return nil }}, // as -s
		{"TINI_VERBOSITY", func(v string) (err error) {
			// tini's default level is 1 (warnings), initd's is 0.
			c.Verbosity, err = parseVerbosity(v)
			c.Verbosity = max(c.Verbosity-1, 0)
			return
		}},
		{"INITD_SINGLE_CHILD", func(v string) (err error) { c.SingleChild, err = parseBool(v); return }},
		{"INITD_REWRITE", func(v string) error { return eachItem(v, func(s string) error { return addRewrite(&c.Rewrite, s) }) }},
		{"INITD_REMAP_EXIT", func(v string) error { return eachItem(v, func(s string) error { return addRemap(&c.Remap, s) }) }},
		{"INITD_GRACE", func(v string) (err error) { c.Grace, err = ParseDuration(v); return }},
		{"INITD_KILL_AFTER", func(v string) (err error) { c.KillAfter, err = ParseDuration(v); return }},
		{"INITD_STOP_SIGNALS", func(v string) (err error) { c.Stop, err = parseStopSignals(v); return }},
		{"INITD_STOP_DELAY", func(v string) (err error) { c.StopDelay, err = ParseDuration(v); return }},
		{"INITD_REPORT_SHELL", func(v string) (err error) { c.ReportShell, err = parseBool(v); return }},
		{"INITD_REAP", func(v string) (err error) { c.Reap, err = parseReap(v); return }},
		{"INITD_VERBOSITY", func(v string) (err error) { c.Verbosity, err = parseVerbosity(v); return }},
		{"INITD_USER", func(v string) error { c.User = v; return user.CheckSpec(v) }},
	}
	for _, e := range vars {
		if v := getenv(e.name); v != "" {
			if err := e.apply(v); err != nil {
				return errors.New(e.name + "=" + strconv.Quote(v) + ": " + err.Error())
			}
		}
	}
	return nil
}

func findLong(name string) *option {
	for i := range options {
		if options[i].long != "" && options[i].long == name {
			return &options[i]
		}
	}
	return nil
}

func findShort(r rune) *option {
	for i := range options {
		if options[i].short == r {
			return &options[i]
		}
	}
	return nil
}

func optName(o *option) string {
	if o.long != "" {
		return "--" + o.long
	}
	return "-" + string(o.short)
}

// quoteRune returns the first byte of s, quoted if it is not printable.
func quoteRune(s string) string {
	if c := s[0]; c > ' ' && c < 0x7f {
		return s[:1]
	}
	return strconv.QuoteToASCII(s[:1])
}

func eachItem(list string, f func(string) error) error {
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if err := f(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// addRewrite adds the rule v to r. Its errors start with the rule, so that
// a list of them (INITD_REWRITE) says which one is wrong.
func addRewrite(r *forward.Rules, v string) error {
	if err := setRewrite(r, v); err != nil {
		return errors.New(v + ": " + err.Error())
	}
	return nil
}

func setRewrite(r *forward.Rules, v string) error {
	from, to, ok := strings.Cut(v, ":")
	if !ok {
		return errors.New("want FROM:TO")
	}
	f, err := forward.Parse(from)
	if err != nil {
		return err
	}
	var t syscall.Signal
	if to != "0" {
		if t, err = forward.Parse(to); err != nil {
			return err
		}
	}
	return r.Set(f, t)
}

// parseStopSignals reads a comma-separated list of signals that initd
// forwards; a stop signal it never receives or forwards could never apply.
func parseStopSignals(v string) (forward.Set, error) {
	var set forward.Set
	err := eachItem(v, func(s string) error {
		sig, err := forward.Parse(s)
		if err != nil {
			return err
		}
		if c := forward.ClassOf(sig); c != forward.Forwarded && c != forward.Preempt {
			return errors.New(forward.Name(sig) + " cannot be a stop signal: initd never forwards it")
		}
		set.Add(sig)
		return nil
	})
	if err == nil && set == 0 {
		err = errors.New("no stop signal given")
	}
	return set, err
}

func parseReap(v string) (reaper.ReapMode, error) {
	m, ok := reaper.ParseMode(v)
	if !ok {
		return 0, errors.New("want auto, kernel or wait, got " + strconv.Quote(v))
	}
	return m, nil
}

func addRemap(r *exitstatus.Remap, v string) error {
	from, to, hasTo := strings.Cut(v, ":")
	f, err := parseStatus(from)
	if err != nil {
		return err
	}
	t := uint8(0)
	if hasTo {
		if t, err = parseStatus(to); err != nil {
			return err
		}
	}
	r.Set(f, t)
	return nil
}

func parseStatus(s string) (uint8, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, errors.New("exit status " + strconv.Quote(s) + " is not a number from 0 to 255")
	}
	return uint8(n), nil
}

// ParseDuration accepts Go durations ("1.5s", "300ms") and plain numbers of
// seconds ("10", "0.5"), as docker stop -t does. Negative durations are
// refused. Plain numbers go through time.ParseDuration too, which keeps
// strconv's float parser (about 40 kB) out of the binary.
func ParseDuration(s string) (time.Duration, error) {
	in := s
	if isDecimal(s) {
		s += "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if isDecimal(in) {
			return 0, errors.New("duration " + strconv.Quote(in) + " is out of range")
		}
		return 0, errors.New("duration " + strconv.Quote(in) + " is not a number of seconds or a duration such as 1.5s or 300ms")
	}
	if d < 0 {
		return 0, errors.New("duration " + strconv.Quote(in) + " is negative")
	}
	return d, nil
}

// isDecimal reports whether s is digits with at most one '.', optionally
// signed.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func parseBool(s string) (bool, error) {
	switch forward.Upper(s) {
	case "1", "TRUE", "YES", "ON":
		return true, nil
	case "0", "FALSE", "NO", "OFF":
		return false, nil
	}
	return false, errors.New("want 1 or 0, got " + strconv.Quote(s))
}

func parseVerbosity(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 10 {
		return 0, errors.New("verbosity " + strconv.Quote(s) + " is not a number from 0 to 10")
	}
	return n, nil
}
