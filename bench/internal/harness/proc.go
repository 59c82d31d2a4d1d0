package harness

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Usage is what the kernel has accounted to every live thread of a process.
type Usage struct {
	CPUNs    int64 // se.sum_exec_runtime: exact CPU time, not tick samples
	Switches int64 // voluntary + involuntary context switches: wake-ups
	// Voluntary switches alone: a thread that wakes, works and sleeps again
	// adds exactly one, so this counts wake-ups; a preemption while it runs
	// adds an involuntary one on top.
	Voluntary int64
	Threads   int
}

// ReadUsage sums /proc/PID/task/*/sched. That file has the scheduler's
// exact run time in nanoseconds (utime and stime in /proc/PID/stat are
// 10 ms tick samples, far too coarse for microseconds per signal). Threads
// that have exited are no longer counted; Go's threads live as long as the
// process, and the C inits have one.
func ReadUsage(pid int) (u Usage, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return u, false
	}
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/sched")
		if err != nil {
			continue
		}
		u.Threads++
		for _, line := range strings.Split(string(b), "\n") {
			k, v, found := strings.Cut(line, ":")
			if !found {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "se.sum_exec_runtime":
				// milliseconds with six decimals
				ms, frac, _ := strings.Cut(v, ".")
				a, _ := strconv.ParseInt(ms, 10, 64)
				frac = (frac + "000000")[:6]
				b, _ := strconv.ParseInt(frac, 10, 64)
				u.CPUNs += a*1e6 + b
			case "nr_voluntary_switches", "nr_involuntary_switches":
				n, _ := strconv.ParseInt(v, 10, 64)
				u.Switches += n
				if k == "nr_voluntary_switches" {
					u.Voluntary += n
				}
			}
		}
	}
	return u, u.Threads > 0
}

// Memory is a process's resident memory in bytes.
type Memory struct {
	RSS, Anon, PSS int64
	Threads        int
}

// ReadMemory reads VmRSS, RssAnon and Threads from /proc/PID/status and Pss
// from /proc/PID/smaps_rollup. Anonymous RSS is what the process costs
// beyond the pages of its binary and libraries, which are shared.
func ReadMemory(pid int) (m Memory, ok bool) {
	p := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(p + "/status")
	if err != nil {
		return m, false
	}
	m.RSS = kb(b, "VmRSS:")
	m.Anon = kb(b, "RssAnon:")
	m.Threads = int(field(b, "Threads:"))
	if b, err := os.ReadFile(p + "/smaps_rollup"); err == nil {
		m.PSS = kb(b, "Pss:")
	}
	return m, true
}

func kb(b []byte, key string) int64 { return field(b, key) * 1024 }

func field(b []byte, key string) int64 {
	i := bytes.Index(b, []byte("\n"+key))
	if i < 0 {
		if !bytes.HasPrefix(b, []byte(key)) {
			return 0
		}
		i = -1
	}
	rest := b[i+1+len(key):]
	f := bytes.Fields(rest)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n
}

// Stat is what /proc/PID/stat says about a process's place in the tree.
type Stat struct {
	Pid, PPid, Pgrp int
	State           byte
	Comm            string
}

// ReadStat parses /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func ReadStat(pid int) (s Stat, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return s, false
	}
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return s, false
	}
	f := bytes.Fields(b[j+1:])
	if len(f) < 3 {
		return s, false
	}
	s.Pid = pid
	s.Comm = string(b[i+1 : j])
	s.State = f[0][0]
	s.PPid, _ = strconv.Atoi(string(f[1]))
	s.Pgrp, _ = strconv.Atoi(string(f[2]))
	return s, true
}

// Processes lists every process in the bench's /proc. The kernel here has
// no /proc/PID/task/TID/children, so finding a process's children means
// a scan.
func Processes() []Stat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var ps []Stat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, ok := ReadStat(pid); ok {
			ps = append(ps, s)
		}
	}
	return ps
}

// Children lists the children of pid, zombies included.
func Children(pid int) []Stat {
	var c []Stat
	for _, s := range Processes() {
		if s.PPid == pid {
			c = append(c, s)
		}
	}
	return c
}

// Zombies counts the unreaped children of pid. Each zombie that
// /proc/PID/stat shows is confirmed by ZombieOf, because stat reads the
// state before the parent: a zombie of one of pid's children, read as
// "Z" and then re-parented (and at once released, when pid ignores
// SIGCHLD) before its parent is read, looks like a zombie of pid that
// never was one.
func Zombies(pid int) int {
	n := 0
	for _, s := range Children(pid) {
		if s.State == 'Z' && ZombieOf(s.Pid, pid) {
			n++
		}
	}
	return n
}

// ZombieOf reports whether /proc/PID/status shows a zombie child of
// parent. status reads the parent first and the state after it, so a
// process re-parented while it is read shows its new parent with the
// state it has there.
func ZombieOf(pid, parent int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	return err == nil && field(b, "PPid:") == int64(parent) && bytes.Contains(b, []byte("\nState:\tZ"))
}

// ChildExeced reports whether pid has a child whose command name is comm:
// the init has started its child and the child has exec'd.
func ChildExeced(pid int, comm string) bool {
	for _, s := range Children(pid) {
		if s.Comm == comm {
			return true
		}
	}
	return false
}
