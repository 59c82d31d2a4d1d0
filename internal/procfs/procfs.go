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

// List lists the processes in /proc. ok is false when /proc is missing
// or belongs to another PID namespace (a container started with a new PID
// namespace but the host's /proc): its pids would then not be initd's, and
// signalling them could hit processes outside initd's tree.
func List(self int) (ps []Proc, ok bool) {
	if !Ours(self) {
		return nil, false
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
