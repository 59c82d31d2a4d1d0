package initd

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestAsyncPreemptOff(t *testing.T) {
	defer func(s string) { linkedGodebug = s }(linkedGodebug)
	for _, tt := range []struct {
		linked, env string
		want        bool
	}{
		{"", "", false},
		{"", "asyncpreemptoff=1", true},
		{"asyncpreemptoff=1", "", true},
		{"asyncpreemptoff=1", "asyncpreemptoff=0", false},
		{"asyncpreemptoff=1", "gctrace=1, asyncpreemptoff=0,madvdontneed=1", false},
		{"asyncpreemptoff=1", "asyncpreemptoff=0,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1", "asyncpreemptoff=x", true}, // the runtime ignores what it cannot parse
		{"asyncpreemptoff=0", "", false},
		{"asyncpreemptoff=1,containermaxprocs=0,updatemaxprocs=0", "", true},
		{"asyncpreemptoff=1,containermaxprocs=0,updatemaxprocs=0", "containermaxprocs=1", true},
		{"containermaxprocs=0,asyncpreemptoff=1", "updatemaxprocs=1,asyncpreemptoff=0", false},
	} {
		linkedGodebug = tt.linked
		if got := AsyncPreemptOff(tt.env); got != tt.want {
			t.Errorf("linked %q, GODEBUG %q: %v, want %v", tt.linked, tt.env, got, tt.want)
		}
	}
}

// The Makefile and the release script link one runtime default, and it
// keeps the runtime from opening cgroup files (containermaxprocs=0) and
// from re-reading them (updatemaxprocs=0) as well as from preempting with
// SIGURG.
func TestLinkedGodebugIsOneValue(t *testing.T) {
	read := func(path, re string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(re).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s: no match for %s", path, re)
		}
		return string(m[1])
	}
	mk := read("Makefile", `(?m)^GODEBUG_DEFAULT\s*:=\s*(\S+)$`)
	rel := read("scripts/release", `(?m)^godebug=(\S+)$`)
	if mk != rel {
		t.Errorf("Makefile links GODEBUG %q, scripts/release %q", mk, rel)
	}
	for _, want := range []string{"asyncpreemptoff=1", "containermaxprocs=0", "updatemaxprocs=0"} {
		if !strings.Contains(","+mk+",", ","+want+",") {
			t.Errorf("linked GODEBUG %q lacks %s", mk, want)
		}
	}
	for _, ldflag := range []string{"-X=runtime.godebugDefault=", "-X=github.com/initd/initd.linkedGodebug="} {
		b, _ := os.ReadFile("Makefile")
		if !strings.Contains(string(b), ldflag+"$(GODEBUG_DEFAULT)") {
			t.Errorf("Makefile: %s is not $(GODEBUG_DEFAULT)", ldflag)
		}
		b, _ = os.ReadFile("scripts/release")
		if !strings.Contains(string(b), ldflag+"$godebug") {
			t.Errorf("scripts/release: %s is not $godebug", ldflag)
		}
	}
	defer func(s string) { linkedGodebug = s }(linkedGodebug)
	linkedGodebug = mk
	if !AsyncPreemptOff("") {
		t.Errorf("AsyncPreemptOff with the linked %q is false", mk)
	}
}
