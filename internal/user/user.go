// Package user turns --user USER[:GROUP] into the ids initd's child runs
// with, read from the container's own /etc/passwd and /etc/group as gosu
// and su-exec read them, without cgo and without os/user (whose pure-Go
// path is the same parse with more weight).
//
// # Resolution
//
// USER and GROUP are names, or numbers, which are always ids even where a
// name is made of digits. The first entry that matches wins.
//
//   - A user found in /etc/passwd, by name or uid: its uid, its gid and
//     its home; the supplementary groups are its gid and every group whose
//     member list in /etc/group names the user, as initgroups(3) gives them
//     to login, su and su-exec (gosu leaves out the gid, which changes
//     nothing: the process has it as its gid anyway).
//   - A uid with no entry: that uid, initd's own gid (0 as root, as under
//     gosu, su-exec and "docker run --user": images made to run under any
//     uid rely on group 0), no supplementary group, and home "/".
//   - With GROUP: that group's gid replaces the user's and is the one
//     supplementary group, since a group given by hand is meant to replace
//     the user's memberships (su-exec; gosu sets none). A number with no
//     entry is taken as it is.
//
// An empty home is "/". HOME is the one variable that changes, and only
// when the environment has none (ID.Environ).
//
// # Errors
//
// Every error is one line that starts with the user as given. An unknown
// name, a file that cannot be read (a missing one has no entries), and a
// malformed line in a file that is read are errors: initd never guesses
// an id. Blank lines and lines starting with '#' are skipped, as by glibc.
package user

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ID is whom the child runs as.
type ID struct {
	Spec     string // as given, for messages
	Uid, Gid uint32
	Groups   []uint32 // the supplementary groups; empty means none
	Home     string   // for HOME when the environment has none
}

// CheckSpec checks the syntax of USER[:GROUP] without reading a file.
func CheckSpec(spec string) error {
	name, group, hasGroup := strings.Cut(spec, ":")
	if name == "" || hasGroup && (group == "" || strings.Contains(group, ":")) {
		return errors.New("want USER or USER:GROUP, got " + strconv.Quote(spec))
	}
	return nil
}

// Resolve resolves spec from /etc/passwd and /etc/group.
func Resolve(spec string) (*ID, error) {
	id, err := resolve(spec, load, uint32(unix.Getgid()))
	if err != nil {
		return nil, errors.New("user " + strconv.Quote(spec) + ": " + err.Error())
	}
	return id, nil
}

// resolve resolves spec with the files load gives; gid is the gid of a
// uid that has no entry.
func resolve(spec string, load func(path string, fields int) ([][]string, error), gid uint32) (*ID, error) {
	if err := CheckSpec(spec); err != nil {
		return nil, err
	}
	name, gname, _ := strings.Cut(spec, ":")
	id := &ID{Spec: spec, Gid: gid, Home: "/"}
	users, err := load("/etc/passwd", 7)
	if err != nil {
		return nil, err
	}
	u := find(users, name)
	switch {
	case u != nil:
		id.Uid, _ = number(u[2])
		id.Gid, _ = number(u[3])
		if u[5] != "" {
			id.Home = u[5]
		}
	case isNumber(name):
		id.Uid, _ = number(name)
	default:
		return nil, errors.New("no such user in /etc/passwd")
	}
	if gname == "" && u == nil {
		return id, nil
	}
	var groups [][]string
	if gname == "" || !isNumber(gname) {
		if groups, err = load("/etc/group", 4); err != nil {
			return nil, err
		}
	}
	if gname != "" {
		g := find(groups, gname)
		switch {
		case g != nil:
			id.Gid, _ = number(g[2])
		case isNumber(gname):
			id.Gid, _ = number(gname)
		default:
			return nil, errors.New("no group " + strconv.Quote(gname) + " in /etc/group")
		}
		id.Groups = []uint32{id.Gid}
		return id, nil
	}
	id.Groups = []uint32{id.Gid}
	for _, g := range groups {
		n, _ := number(g[2])
		for m := range strings.SplitSeq(g[3], ",") {
			if m == u[0] && !has(id.Groups, n) {
				id.Groups = append(id.Groups, n)
			}
		}
	}
	return id, nil
}

// find returns the first entry named key, or, when key is a number, the
// first whose id (the third field) is that number.
func find(entries [][]string, key string) []string {
	n, numeric := number(key)
	for _, e := range entries {
		if m, _ := number(e[2]); numeric && m == n || !numeric && e[0] == key {
			return e
		}
	}
	return nil
}

// load reads a passwd or group file into the fields of its entries. Every
// entry must have n fields, the third and, with 7, the fourth being ids.
func load(path string, n int) ([][]string, error) {
	data, err := readFile(path)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, errors.New("cannot read " + path + ": " + err.Error())
	}
	var entries [][]string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != n || !isNumber(f[2]) || n == 7 && !isNumber(f[3]) {
			return nil, errors.New(path + " line " + strconv.Itoa(i+1) + " is malformed: " + strconv.Quote(line))
		}
		entries = append(entries, f)
	}
	return entries, nil
}

func isNumber(s string) bool { _, ok := number(s); return ok }

// number parses an id: decimal, at most 2^32-2 (2^32-1 is the -1 that
// setuid(2) and setgid(2) take for "no change").
func number(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil && n < 1<<32-1
}

func has(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Environ returns env with HOME set to the user's home when env has none
// or an empty one, as gosu does: the first HOME, the one getenv(3) finds,
// is replaced in place, or one is added at the end. Nothing else changes.
func (id *ID) Environ(env []string) []string {
	i := 0
	for i < len(env) && !strings.HasPrefix(env[i], "HOME=") {
		i++
	}
	if i < len(env) && env[i] != "HOME=" {
		return env
	}
	out := make([]string, len(env), len(env)+1)
	copy(out, env)
	if i == len(env) {
		return append(out, "HOME="+id.Home)
	}
	out[i] = "HOME=" + id.Home
	return out
}

// readFile reads a whole file with raw system calls: os.ReadFile would
// start the netpoller for nothing.
func readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return b, err
		}
		b = append(b, buf[:n]...)
	}
}
