package spawn

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/initd/initd/internal/exitstatus"
)

// fakeExec answers each candidate path from a table, as execve would, and
// records the order in which they were tried. A path not in the table
// does not exist.
type fakeExec struct {
	errs  map[string]syscall.Errno
	tried []string
}

func (f *fakeExec) try(path string) syscall.Errno {
	f.tried = append(f.tried, path)
	if errno, ok := f.errs[path]; ok {
		return errno
	}
	return syscall.ENOENT
}

// The search goes on after exactly the errors execvp(3) goes on after and
// stops at the first candidate that runs or fails for another reason.
func TestSearchOrderAndStops(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	path := "PATH=" + a + ":" + b + ":" + c
	for _, tt := range []struct {
		name  string
		first syscall.Errno // what a/foo gives
		tried int           // how many candidates are tried
		ok    bool          // b/foo, which runs, is reached
	}{
		{"not found", syscall.ENOENT, 2, true},
		{"not a directory", syscall.ENOTDIR, 2, true},
		{"stale NFS handle", syscall.ESTALE, 2, true},
		{"no device", syscall.ENODEV, 2, true},
		{"timed out", syscall.ETIMEDOUT, 2, true},
		{"permission denied", syscall.EACCES, 2, true},
		{"name too long", syscall.ENAMETOOLONG, 2, true},
		{"no #! line", syscall.ENOEXEC, 1, false},
		{"argument list too long", syscall.E2BIG, 1, false},
		{"text file busy", syscall.ETXTBSY, 1, false},
		{"I/O error", syscall.EIO, 1, false},
		{"no memory", syscall.ENOMEM, 1, false},
		{"no process", syscall.EAGAIN, 1, false},
		{"too many files", syscall.EMFILE, 1, false},
	} {
		f := &fakeExec{errs: map[string]syscall.Errno{a + "/foo": tt.first, b + "/foo": 0}}
		err := search("foo", []string{path}, f.try)
		if (err == nil) != tt.ok || len(f.tried) != tt.tried {
			t.Errorf("%s at %s/foo: error %v after trying %q; want ok=%v after %d", tt.name, a, err, f.tried, tt.ok, tt.tried)
		}
	}
}

func TestSearchPath(t *testing.T) {
	for _, tt := range []struct {
		env   []string
		name  string
		tried []string
	}{
		// A name with a slash is not searched.
		{[]string{"PATH=/a:/b"}, "./foo", []string{"./foo"}},
		{[]string{"PATH=/a:/b"}, "x/foo", []string{"x/foo"}},
		// An empty entry, anywhere, is the working directory.
		{[]string{"PATH=/a::/b"}, "foo", []string{"/a/foo", "foo", "/b/foo"}},
		{[]string{"PATH=:/a"}, "foo", []string{"foo", "/a/foo"}},
		{[]string{"PATH=/a:"}, "foo", []string{"/a/foo", "foo"}},
		// The first PATH counts, as for getenv.
		{[]string{"PATH=/a", "PATH=/b"}, "foo", []string{"/a/foo"}},
		// No PATH: the container default.
		{[]string{"HOME=/"}, "foo", strings.Split(strings.ReplaceAll(defaultPath+":", ":", "/foo:"), ":")[:6]},
		// A PATH that is set but empty searches nothing.
		{[]string{"PATH="}, "foo", nil},
	} {
		f := &fakeExec{}
		search(tt.name, tt.env, f.try)
		if strings.Join(f.tried, " ") != strings.Join(tt.tried, " ") {
			t.Errorf("search(%q) with %q tried %q, want %q", tt.name, tt.env, f.tried, tt.tried)
		}
	}
}

// When nothing runs, the error is the most telling one: permission denied
// over a file that exists but cannot run over "not found"; among equals,
// the first in PATH. Each case is a PATH of p0 to p3 holding the files
// given, and execve answers as the kernel would for them.
func TestSearchReportsTheMostMeaningfulError(t *testing.T) {
	const (
		badInterp = "#!/no/such/interpreter\n"
		good      = "#!/bin/sh\n"
	)
	type file struct {
		body string
		mode os.FileMode
	}
	for _, tt := range []struct {
		name  string
		files map[string]file // PATH entry -> its foo
		code  int
		msg   string // with {D} for the directory of the tree
	}{
		{"nothing anywhere", nil, exitstatus.NotFound, "foo: not found in PATH"},
		{"missing interpreters", map[string]file{"p1": {badInterp, 0o755}, "p2": {"#!/no/such/other\n", 0o755}},
			exitstatus.NoExec, `{D}/p1/foo: cannot execute: bad interpreter "/no/such/interpreter": no such file`},
		{"a missing interpreter beats not found", map[string]file{"p2": {badInterp, 0o755}},
			exitstatus.NoExec, `{D}/p2/foo: cannot execute: bad interpreter "/no/such/interpreter": no such file`},
		{"permission beats a missing interpreter", map[string]file{"p1": {badInterp, 0o755}, "p3": {good, 0o644}},
			exitstatus.NoExec, "{D}/p3/foo: cannot execute: permission denied (not executable)"},
		{"the first of two denials", map[string]file{"p2": {good, 0o644}, "p3": {good, 0o600}},
			exitstatus.NoExec, "{D}/p2/foo: cannot execute: permission denied (not executable)"},
		{"a file that cannot run stops the search", map[string]file{"p1": {badInterp, 0o755}, "p2": {"plain\n", 0o755}, "p3": {good, 0o644}},
			exitstatus.NoExec, "{D}/p2/foo: cannot execute: not a binary for this machine and no #! line"},
	} {
		dir := t.TempDir()
		f := &fakeExec{errs: map[string]syscall.Errno{}}
		for d, fl := range tt.files {
			os.Mkdir(filepath.Join(dir, d), 0o755)
			p := filepath.Join(dir, d, "foo")
			if err := os.WriteFile(p, []byte(fl.body), fl.mode); err != nil {
				t.Fatal(err)
			}
			switch {
			case fl.mode&0o100 == 0:
				f.errs[p] = syscall.EACCES
			case fl.body == badInterp || strings.HasPrefix(fl.body, "#!/no/"):
				f.errs[p] = syscall.ENOENT
			case !strings.HasPrefix(fl.body, "#!"):
				f.errs[p] = syscall.ENOEXEC
			}
		}
		var entries []string
		for _, d := range []string{"p0", "p1", "p2", "p3"} {
			entries = append(entries, filepath.Join(dir, d))
		}
		err := search("foo", []string{"PATH=" + strings.Join(entries, ":")}, f.try)
		e, _ := err.(*Error)
		if want := strings.ReplaceAll(tt.msg, "{D}", dir); e == nil || e.Code != tt.code || e.Msg != want {
			t.Errorf("%s: %#v; want %d %q", tt.name, err, tt.code, want)
		}
	}
}

// Every failure has its message and status; setup failures that are not
// the command's are 125, never 126.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	script := file("script", "#!/no/such/sh -e\n", 0o755)
	crlf := file("crlf", "#!/bin/sh\r\necho\r\n", 0o755)
	noexec := file("noexec", "#!/bin/sh\n", 0o644)
	plain := file("plain", "echo\n", 0o755)
	for _, tt := range []struct {
		path  string
		errno syscall.Errno
		code  int
		msg   string
	}{
		{"/no/such/file", syscall.ENOENT, 127, "/no/such/file: not found"},
		{script, syscall.ENOENT, 126, script + `: cannot execute: bad interpreter "/no/such/sh": no such file`},
		{crlf, syscall.ENOENT, 126, crlf + `: cannot execute: bad interpreter "/bin/sh": the #! line ends with CRLF (a DOS line ending)`},
		{plain, syscall.ENOENT, 126, plain + ": cannot execute: interpreter not found"},
		{dir, syscall.EACCES, 126, dir + ": cannot execute: is a directory"},
		{noexec, syscall.EACCES, 126, noexec + ": cannot execute: permission denied (not executable)"},
		{plain, syscall.EACCES, 126, plain + ": cannot execute: permission denied"},
		{plain, syscall.ENOEXEC, 126, plain + ": cannot execute: not a binary for this machine and no #! line"},
		{plain, syscall.E2BIG, 126, plain + ": cannot execute: argument list too long"},
		{"/" + strings.Repeat("x", 100), syscall.ENAMETOOLONG, 127, "/" + strings.Repeat("x", 63) + "...: file name too long"},
		{plain, syscall.ETXTBSY, 126, plain + ": cannot execute: " + syscall.ETXTBSY.Error()},
		{plain, syscall.EAGAIN, 125, "cannot start " + plain + ": fork: " + syscall.EAGAIN.Error()},
		{plain, syscall.ENOMEM, 125, "cannot start " + plain + ": fork: " + syscall.ENOMEM.Error()},
		{plain, syscall.EMFILE, 125, "cannot start " + plain + ": " + syscall.EMFILE.Error() + " (RLIMIT_NOFILE "},
		{plain, syscall.ENFILE, 125, "cannot start " + plain + ": " + syscall.ENFILE.Error() + " (RLIMIT_NOFILE "},
	} {
		e := explain(tt.path, tt.errno).(*Error)
		if e.Code != tt.code || !strings.HasPrefix(e.Msg, tt.msg) {
			t.Errorf("explain(%q, %v) = %d %q; want %d %q", tt.path, tt.errno, e.Code, e.Msg, tt.code, tt.msg)
		}
	}
}
