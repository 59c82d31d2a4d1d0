// Package exitstatus holds the statuses initd exits with: the child's,
// decoded from its wait status the way a shell reports it, initd's own
// failure codes, and the --remap-exit rules applied last.
package exitstatus

import "syscall"

// Exit statuses of initd's own failures. The child's status passes through
// unchanged, so these can collide with a child that exits with the same
// code; they follow the shell's conventions so that the common cases read
// naturally in "docker ps -a".
const (
	Usage    = 2   // bad option, bad value, no command
	Setup    = 125 // initd could not set itself up or start the child
	NoExec   = 126 // the command was found but could not be executed
	NotFound = 127 // the command was not found
)

// Remap rewrites exit statuses. The zero value rewrites nothing.
type Remap struct {
	set [256]bool
	to  [256]uint8
}

// Set makes status from be reported as to.
func (r *Remap) Set(from, to uint8) { r.set[from], r.to[from] = true, to }

// Apply returns the status to report for code.
func (r *Remap) Apply(code int) int {
	if code >= 0 && code < 256 && r.set[code] {
		return int(r.to[code])
	}
	return code
}

// Of converts a wait status into a shell-style exit code: the exit status,
// or 128+n for a process killed by signal n.
func Of(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	// Stopped or continued statuses are never asked for (no WUNTRACED),
	// so this is unreachable short of a kernel change.
	return 128 + int(ws.StopSignal())
}
