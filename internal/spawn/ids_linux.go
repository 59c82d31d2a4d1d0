//go:build !386 && !arm

package spawn

import "golang.org/x/sys/unix"

// The system calls that take 32-bit ids; 386 and arm have older 16-bit
// ones under these names.
const (
	sysSetgroups = unix.SYS_SETGROUPS
	sysSetgid    = unix.SYS_SETGID
	sysSetuid    = unix.SYS_SETUID
)
