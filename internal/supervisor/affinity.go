package supervisor

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/procfs"
)

// Subscribing to a signal (signal.Notify of a new one) is a hand-off with
// the Go runtime's signal-mask thread, and initd subscribes to 58 before
// it starts the child. When the two threads sit on different CPUs each
// hand-off is a cross-CPU wake-up, which costs tens of microseconds on a
// virtual machine; on one CPU it is a plain context switch. So initd keeps
// its threads on one CPU while it subscribes, then gives them, and the
// child, back the CPU set it was started with. The figures are in
// docs/bench.md (the start-up item of "What limits each figure").

// cpuPin is initd's CPU set while its threads are pinned. The zero value
// does nothing.
type cpuPin struct {
	orig unix.CPUSet
	ok   bool
}

// pinThreads moves initd's threads onto the first CPU of its allowed set.
// Threads the runtime starts from then on inherit that set from their
// creator. A failure (a seccomp profile that forbids sched_setaffinity)
// leaves initd as it was.
func pinThreads() cpuPin {
	var p cpuPin
	if unix.SchedGetaffinity(0, &p.orig) != nil || p.orig.Count() < 2 {
		return p
	}
	var one unix.CPUSet
	for cpu := 0; cpu < len(p.orig)*64; cpu++ {
		if p.orig.IsSet(cpu) {
			one.Set(cpu)
			break
		}
	}
	p.ok = unix.SchedSetaffinity(0, &one) == nil
	if p.ok {
		p.setAll(&one)
	}
	return p
}

// restore gives every thread of initd its original CPU set back.
func (p cpuPin) restore() {
	if p.ok {
		p.setAll(&p.orig)
	}
}

// spawn restores the CPU sets and runs start on a thread that certainly
// has the original set, since the child inherits the set of the thread
// that forks it.
func (p cpuPin) spawn(start func()) {
	if !p.ok {
		start()
		return
	}
	p.restore()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	unix.SchedSetaffinity(0, &p.orig)
	start()
}

// setAll sets the CPU set of every thread of initd. The threads are found
// in /proc/self/task. Under a /proc of an ancestor PID namespace (a new
// namespace whose runtime did not mount its own /proc) those are the
// ancestor's ids, and each thread's own id is the last field of NSpid in
// its status; under any other /proc, or none, only the calling thread and
// the threads it starts are pinned, which saves less, and they then keep
// their single CPU, which costs initd nothing measurable.
func (p cpuPin) setAll(set *unix.CPUSet) {
	tids, _, err := procfs.Numbers("/proc/self/task")
	if err != nil {
		return
	}
	ours := procfs.Ours(os.Getpid())
	buf := make([]byte, 4096)
	for _, tid := range tids {
		if !ours {
			if tid = procfs.NsTid(tid, buf); tid == 0 {
				continue
			}
		}
		unix.SchedSetaffinity(tid, set)
	}
}
