package spawn

import (
	"strings"
	"syscall"

	"github.com/initd/initd/internal/exitstatus"
)

// execFunc tries to execute one candidate of a search. It returns 0 when
// the command runs (then the search is over) or the errno execve(2) gave.
type execFunc func(path string) syscall.Errno

// search runs name the way execvp(3) in glibc does: a name with a slash is
// executed as it is; otherwise each PATH entry is tried in turn, an empty
// entry meaning the working directory. The search goes on after the errors
// that say "no usable file here" (ENOENT, ENOTDIR, ESTALE, ENODEV,
// ETIMEDOUT, and EACCES, which is remembered) and stops at any other one,
// which means a file was found but could not run. execvp's fallback of
// running a file without a #! line through /bin/sh is left out on purpose:
// initd reports such a file instead.
//
// Two choices differ from glibc, for messages rather than behaviour: a
// PATH that is set but empty searches nothing (glibc searches the working
// directory, which a container rarely means), and a name too long for the
// file system is "not found", as no file can have it.
//
// When nothing runs, the error is the most telling one: permission denied
// (the errno execvp reports) over a file that exists but cannot run (a
// missing interpreter gives ENOENT too) over "not found".
func search(name string, env []string, try execFunc) error {
	if name == "" {
		return &Error{exitstatus.NotFound, "the command name is empty"}
	}
	if strings.IndexByte(name, '/') >= 0 {
		if errno := try(name); errno != 0 {
			return explain(name, errno)
		}
		return nil
	}
	path, set := defaultPath, false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			// getenv returns the first; a duplicate PATH does not win.
			path, set = v, true
			break
		}
	}
	if set && path == "" {
		return &Error{exitstatus.NotFound, name + ": not found (PATH is empty)"}
	}
	var denied, broken string
	var brokenErr syscall.Errno
	for dir := range strings.SplitSeq(path, ":") {
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		errno := try(p)
		switch errno {
		case 0:
			return nil
		case syscall.EACCES:
			if denied == "" {
				denied = p
			}
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ESTALE, syscall.ENODEV, syscall.ETIMEDOUT:
			// ENOENT and ENOTDIR on a file that exists come from its
			// interpreter; remember the first such file.
			if broken == "" && exists(p) {
				broken, brokenErr = p, errno
			}
		case syscall.ENAMETOOLONG:
		default:
			return explain(p, errno)
		}
	}
	switch {
	case denied != "":
		return explain(denied, syscall.EACCES)
	case broken != "":
		return explain(broken, brokenErr)
	}
	return &Error{exitstatus.NotFound, name + ": not found in PATH"}
}
