// Package procfs reads the few things initd needs from /proc: the
// processes of its PID namespace, the numeric entries of a directory, and
// a thread's id in initd's own namespace. It reads with raw system calls
// (os.Open would start the netpoller for nothing) and never writes.
//
// Under a /proc of an ancestor PID namespace (a container started with a
// new PID namespace but the host's /proc), List finds initd's processes
// from what any user may read, so neither the processes' user nor
// CAP_SYS_PTRACE matters: the NSpid and NSpgid lines of /proc/PID/status
// give an entry's ids in initd's namespace, and a pidfd that initd opens
// by that id shows in its fdinfo which /proc entry it is. An entry listed
// is the process initd's own id names; one of a sibling namespace at the
// same depth is left out, and so is one that exits while it is read,
// rather than being taken for whatever reuses its ids. Processes of
// namespaces nested in initd's are listed with their ids in initd's, as a
// /proc of initd's own would list them.
//
// Where pidfd_open fails (Linux before 5.3, a seccomp filter that refuses
// it, no descriptor to spare), only the entry's /proc/PID/ns/pid link
// tells it apart, and reading that needs ptrace access: without
// CAP_SYS_PTRACE, which Docker's default set lacks, List then leaves out
// every process of another user and every non-dumpable one (one that
// changed its ids without exec'ing since), as well as those of nested
// namespaces. Such a process is reached only as part of a process group
// initd signals or, as PID 1, by a signal to every process.
package procfs

import (
	"bytes"
	"strconv"

	"golang.org/x/sys/unix"
)

// Proc is one process as /proc shows it.
type Proc struct {
	Pid, Ppid, Pgrp int
	Comm            string // the name /proc/PID/stat shows in parentheses
	// Start is the process's start time in clock ticks after boot: with
	// Pid, it names one process, whatever reuses the pid later.
	Start uint64
	// Ignored has bit n-1 set for each signal n from 1 to 31 that the
	// process ignores (SIG_IGN). /proc/PID/stat, which is readable by
	// anyone, shows no more; real-time signals never appear ignored.
	Ignored uint32
}

// List lists the processes of initd's PID namespace other than initd,
// with ids as initd's system calls take them. ok is false when /proc is
// missing or shows an unrelated namespace, whose pids are not initd's:
// signalling them could hit processes outside initd's tree.
//
// A /proc of an ancestor namespace is understood, within the limits the
// package doc states.
func List(self int) (ps []Proc, ok bool) {
	if !Ours(self) {
		return listAncestor(self)
	}
	pids, _, err := Numbers("/proc")
	if err != nil {
		return nil, false
	}
	stat := make([]byte, 1024)
	for _, pid := range pids {
		if pid == self {
			continue
		}
		if p, ok := readStat(pid, stat); ok {
			ps = append(ps, p)
		}
	}
	return ps, true
}

// listAncestor is List under a /proc of an ancestor PID namespace.
func listAncestor(self int) ([]Proc, bool) {
	buf := make([]byte, 4096)
	me, ok := readStatus("/proc/self", buf)
	depth := len(me.nspid)
	if !ok || depth < 2 || me.nspid[depth-1] != self {
		return nil, false
	}
	ns, err := readlink("/proc/self/ns/pid")
	if err != nil {
		return nil, false
	}
	pids, _, err := Numbers("/proc")
	if err != nil {
		return nil, false
	}
	type entry struct {
		st   status
		stat Proc // ids in /proc's namespace; the rest is the same in every one
	}
	var ours []entry
	local := map[int]int{me.nspid[0]: self} // /proc's pid -> initd's
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		st, ok := readStatus(dir, buf)
		if !ok || len(st.nspid) < depth || len(st.nspgid) < depth || pid == me.nspid[0] {
			continue
		}
		// A sibling namespace at the same depth has NSpid lines just as
		// long: only the process itself tells them apart.
		if !isLocal(pid, st.nspid[depth-1], dir, ns, buf) {
			continue
		}
		stat, ok := readStat(pid, buf)
		if !ok {
			continue
		}
		local[pid] = st.nspid[depth-1]
		ours = append(ours, entry{st, stat})
	}
	ps := make([]Proc, 0, len(ours))
	for _, e := range ours {
		p := e.stat
		p.Pid, p.Ppid, p.Pgrp = e.st.nspid[depth-1], local[e.st.ppid], e.st.nspgid[depth-1]
		ps = append(ps, p)
	}
	return ps, true
}

// status is what listAncestor needs of /proc/PID/status.
type status struct {
	ppid          int
	nspid, nspgid []int
}

func readStatus(dir string, buf []byte) (status, bool) {
	var st status
	fd, err := unix.Open(dir+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, false
	}
	n, _ := unix.Read(fd, buf)
	unix.Close(fd)
	for _, line := range bytes.Split(buf[:max(n, 0)], []byte{'\n'}) {
		key, val, _ := bytes.Cut(line, []byte{':'})
		switch string(key) {
		case "PPid":
			st.ppid, _ = strconv.Atoi(string(bytes.TrimSpace(val)))
		case "NSpid":
			st.nspid = fields(val)
		case "NSpgid":
			st.nspgid = fields(val)
		}
	}
	return st, len(st.nspid) > 0
}

func fields(b []byte) []int {
	var ns []int
	for _, f := range bytes.Fields(b) {
		n, err := strconv.Atoi(string(f))
		if err != nil {
			return nil
		}
		ns = append(ns, n)
	}
	return ns
}

// Ours reports whether /proc is mounted and shows initd's own PID
// namespace, so that the ids in it are the ones initd's system calls take.
func Ours(self int) bool {
	link, err := readlink("/proc/self")
	return err == nil && link == strconv.Itoa(self)
}

// Numbers lists the numeric entries of a /proc directory (pids, thread
// ids, descriptors) with raw system calls: os.Open would start the
// netpoller for nothing. dirfd is the descriptor it read through, already
// closed, which a listing of /proc/self/fd contains.
func Numbers(dir string) (nums []int, dirfd int, err error) {
	d, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(d)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(d, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	for _, name := range names {
		if n, err := strconv.Atoi(name); err == nil {
			nums = append(nums, n)
		}
	}
	return nums, d, nil
}

// readStat parses ppid and pgrp from /proc/PID/stat. The command name may
// contain spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int, buf []byte) (Proc, bool) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Proc{}, false // exited meanwhile
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || n <= 0 {
		return Proc{}, false
	}
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Proc{}, false
	}
	// After ')', counting from 0: state ppid pgrp ..., starttime at 19,
	// sigignore at 30 (proc(5) numbers them 22 and 33, from pid).
	f := bytes.Fields(b[i+1:])
	if len(f) < 31 {
		return Proc{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	start, err3 := strconv.ParseUint(string(f[19]), 10, 64)
	ign, err4 := strconv.ParseUint(string(f[30]), 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return Proc{}, false
	}
	comm := ""
	if j := bytes.IndexByte(b, '('); j >= 0 && j < i {
		comm = string(b[j+1 : i])
	}
	return Proc{Pid: pid, Ppid: ppid, Pgrp: pgrp, Comm: comm, Start: start, Ignored: uint32(ign)}, true
}

func readlink(path string) (string, error) {
	buf := make([]byte, 64)
	n, err := unix.Readlink(path, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// NsTid returns the id in initd's own PID namespace of the thread that
// /proc/self/task lists as tid, or 0.
func NsTid(tid int, buf []byte) int {
	fd, err := unix.Open("/proc/self/task/"+strconv.Itoa(tid)+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	n, _ := unix.Read(fd, buf)
	unix.Close(fd)
	_, rest, ok := bytes.Cut(buf[:max(n, 0)], []byte("\nNSpid:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 2 { // one field: /proc is not an ancestor's
		return 0
	}
	id, _ := strconv.Atoi(string(f[len(f)-1]))
	return id
}
