// Command soak runs initd for a long time under mixed load and prints its
// resident memory, threads and open descriptors once a minute, so that a
// leak shows as a line that climbs. It is not part of CI:
//
//	go run ./tools/soak -duration 1h
//
// The load, all at once for the whole run:
//   - the child is a shell loop that restarts short-lived sub-processes
//     (a new sh every iteration, some exiting non-zero, some killed);
//   - every -orphan-every, the loop makes -orphans orphans that initd must
//     adopt and reap;
//   - a goroutine sends initd bursts of signals (USR1, USR2, WINCH, HUP)
//     that it forwards to the shell's process group.
//
// As root, initd runs as PID 1 of a new PID and mount namespace with its
// own /proc, as in a container; otherwise (or with -pid1=false) as a child
// subreaper. At the end initd gets SIGTERM and must exit with 143 (the
// shell's status: it does not trap TERM) with no zombie left behind.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/initd/initd/internal/initdbin"
	"github.com/initd/initd/internal/sigclean"
)

func main() {
	if os.Getenv("SOAK_PID1_WRAPPER") == "1" {
		pid1Wrapper()
	}
	// initd starts with every signal at its default and none blocked, even
	// when soak runs under nohup (see package sigclean): the HUP bursts
	// must measure forwarding, not an inherited ignore.
	sigclean.Launcher()
	duration := flag.Duration("duration", time.Hour, "how long to run")
	every := flag.Duration("every", time.Minute, "how often to print a line")
	bin := flag.String("initd", "", "initd binary to soak (default: $INITD_BIN, else what make build makes)")
	pid1 := flag.Bool("pid1", os.Geteuid() == 0, "run initd as PID 1 of a new PID namespace (needs root)")
	orphans := flag.Int("orphans", 200, "orphans made per round")
	orphanEvery := flag.Duration("orphan-every", time.Second, "time between rounds of orphans")
	burst := flag.Int("burst", 2000, "signals per burst")
	burstEvery := flag.Duration("burst-every", 500*time.Millisecond, "time between bursts")
	flag.Parse()

	if *bin == "" {
		var err error
		*bin, err = initdbin.Path()
		check(err)
	} else {
		var err error
		*bin, err = filepath.Abs(*bin)
		check(err)
	}

	// The loop's own stderr is dropped: its sub-processes die of the
	// forwarded signals they do not trap, and the shell reports each.
	loop := fmt.Sprintf(`exec 2>/dev/null
trap ':' USR1 USR2 WINCH HUP
n=0
last=0
while :; do
  sh -c 'exit $(( $1 %% 4 ))' sh $n            # a sub-process that exits 0..3
  sh -c 'kill -KILL $$'                         # one that is killed
  ( sleep 0.01 & )                              # an orphan that lives a little
  now=$(date +%%s%%N)
  if [ $(( (now - last) / 1000000 )) -ge %d ]; then
    i=0; while [ $i -lt %d ]; do ( true & ); i=$((i+1)); done
    last=$now
  fi
  n=$((n+1))
done`, orphanEvery.Milliseconds(), *orphans)

	var cmd *exec.Cmd
	if *pid1 {
		self, err := os.Executable()
		check(err)
		cmd = exec.Command(self, *bin, "--", "/bin/sh", "-c", loop)
		cmd.Env = append(os.Environ(), "SOAK_PID1_WRAPPER=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	} else {
		cmd = exec.Command(*bin, "--", "/bin/sh", "-c", loop)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	check(cmd.Start())
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()

	// Stop cleanly on Ctrl-C too.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)

	var sent atomic.Int64
	stop := make(chan struct{})
	go func() {
		sigs := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGHUP}
		tick := time.NewTicker(*burstEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for i := 0; i < *burst; i++ {
				if syscall.Kill(pid, sigs[i%len(sigs)]) == nil {
					sent.Add(1)
				}
			}
		}
	}()

	mode := "not PID 1 (subreaper)"
	if *pid1 {
		mode = "PID 1 of a new PID namespace"
	}
	fmt.Printf("soak: initd %s, pid %d, %s, %d orphans every %v, %d signals every %v\n",
		mode, pid, *duration, *orphans, *orphanEvery, *burst, *burstEvery)
	fmt.Printf("%8s %9s %7s %4s %7s %8s %11s\n", "elapsed", "rss_kB", "threads", "fds", "zombies", "children", "signals")
	begin := time.Now()
	report := func() {
		st := status(pid)
		fmt.Printf("%8s %9s %7s %4d %7d %8d %11d\n", time.Since(begin).Round(time.Second),
			st["VmRSS"], st["Threads"], fds(pid), zombies(pid), len(children(pid)), sent.Load())
	}
	time.Sleep(2 * time.Second)
	report()
	tick := time.NewTicker(*every)
	end := time.After(*duration)
wait:
	for {
		select {
		case <-tick.C:
			report()
		case <-end:
			break wait
		case <-interrupt:
			break wait
		case <-done:
			fmt.Printf("soak: FAIL: initd exited early: %v\n%s", cmd.ProcessState, tail(stderr.String()))
			os.Exit(1)
		}
	}
	close(stop)
	report()
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		fmt.Println("soak: FAIL: initd did not exit within 30s of SIGTERM")
		os.Exit(1)
	}
	code := cmd.ProcessState.ExitCode()
	fmt.Printf("soak: initd exited %d after SIGTERM (want 143); stderr %q\n", code, tail(stderr.String()))
	if code != 143 {
		os.Exit(1)
	}
}

// pid1Wrapper runs as PID 1 of the new namespaces: it mounts the
// namespace's own /proc, as a container runtime does, and becomes initd.
func pid1Wrapper() {
	check(syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""))
	check(syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""))
	os.Unsetenv("SOAK_PID1_WRAPPER")
	check(syscall.Exec(os.Args[1], os.Args[1:], os.Environ()))
}

func status(pid int) map[string]string {
	m := map[string]string{}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSuffix(strings.TrimSpace(v), " kB")
		}
	}
	return m
}

func fds(pid int) int {
	d, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(d)
}

// children lists pid's direct children with their states.
func children(pid int) map[int]byte {
	out := map[int]byte{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out[p] = f[0][0]
		}
	}
	return out
}

func zombies(pid int) int {
	n := 0
	for _, st := range children(pid) {
		if st == 'Z' {
			n++
		}
	}
	return n
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}
