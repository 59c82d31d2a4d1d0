// Package procfs reads the few things initd needs from /proc: the
// processes of its PID namespace, the numeric entries of a directory, and
// a thread's id in initd's own namespace. It reads with raw system calls
// (os.Open would start the netpoller for nothing) and never writes.
package procfs

import (
	"bytes"
	"strconv"

	"golang.org/x/sys/unix"
)

// Proc is one process as /proc shows it.
type Proc struct {
	Pid, Ppid, Pgrp int
}

// List lists the processes of initd's PID namespace other than initd,
// with ids as initd's system calls take them. ok is false when /proc is
// missing or shows an unrelated namespace, whose pids are not initd's:
// signalling them could hit processes outside initd's tree.
//
// A /proc of an ancestor namespace (a container started with a new PID
// namespace but the host's /proc) is understood: each process's ids in
// initd's namespace are read from the NSpid and NSpgid lines of its
// status, and only processes of initd's namespace are listed.
func List(self int) (ps []Proc, ok bool) {
	if !Ours(self) {
		return listAncestor(self)
	}
	pids, _, err := Numbers("/proc")
	if err != nil {
		return nil, false
	}
	stat := make([]byte, 512)
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
		outer int
		st    status
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
		// long; only the namespace link tells them apart.
		if link, err := readlink(dir + "/ns/pid"); err != nil || link != ns {
			continue
		}
		local[pid] = st.nspid[depth-1]
		ours = append(ours, entry{pid, st})
	}
	ps := make([]Proc, 0, len(ours))
	for _, e := range ours {
		ps = append(ps, Proc{Pid: e.st.nspid[depth-1], Ppid: local[e.st.ppid], Pgrp: e.st.nspgid[depth-1]})
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
	// After ')': state ppid pgrp ...
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 {
		return Proc{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil {
		return Proc{}, false
	}
	return Proc{pid, ppid, pgrp}, true
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
