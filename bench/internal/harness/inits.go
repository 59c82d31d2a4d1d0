// Package harness is what the behaviour table and the benchmark share: the
// inits under comparison, how each is started (plainly or as PID 1 of a new
// PID namespace), the helper children the bench binaries impersonate, and
// readers for the kernel's per-process accounting in /proc.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/initd/initd/internal/initdbin"
)

// Init is one init under comparison, started the way its documentation
// tells users to start it.
type Init struct {
	Name  string   // column heading, e.g. "tini -g"
	Path  string   // absolute path of the binary; empty for Direct
	Flags []string // put before "--" and the child's command
	C     bool     // a C peer: ratios are taken against the best of these
}

// Direct is not an init: the child runs on its own. It is the limit every
// init is measured against.
var Direct = Init{Name: "direct"}

// IsDirect reports whether i runs the child without an init.
func (i Init) IsDirect() bool { return i.Path == "" }

// Argv is the command line that runs child under i.
func (i Init) Argv(child ...string) []string {
	if i.IsDirect() {
		return child
	}
	argv := append([]string{i.Path}, i.Flags...)
	argv = append(argv, "--")
	return append(argv, child...)
}

// Peers are the C inits from Debian's packages, in their default mode and
// in their process-group mode where they have one. tini-static is the same
// program as tini, linked statically; it matters for start-up cost only.
func Peers() []Init {
	all := []Init{
		{Name: "tini", Path: "tini", C: true},
		{Name: "tini -g", Path: "tini", Flags: []string{"-g"}, C: true},
		{Name: "tini-static", Path: "tini-static", C: true},
		{Name: "dumb-init", Path: "dumb-init", C: true},
		{Name: "catatonit", Path: "catatonit", C: true},
		{Name: "catatonit -g", Path: "catatonit", Flags: []string{"-g"}, C: true},
	}
	var found []Init
	for _, i := range all {
		if p, err := exec.LookPath(i.Path); err == nil {
			i.Path = p
			found = append(found, i)
		}
	}
	return found
}

// InitdBinary is the initd every harness measures; see package initdbin.
func InitdBinary() (string, error) { return initdbin.Path() }

// ModuleRoot is the directory of the main module's go.mod.
func ModuleRoot() (string, error) { return initdbin.ModuleRoot() }

// InitdInit is initd as it is normally used: group forwarding is its
// default, so it needs no flags.
func InitdInit(path string) Init { return Init{Name: "initd", Path: path} }

// UpdateDoc replaces what lies between the lines "<!-- NAME:begin -->" and
// "<!-- NAME:end -->" in the module's docs/bench.md with text, so that the
// page always shows the last run of the command. A page without the
// markers is left alone.
func UpdateDoc(name, text string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "docs", "bench.md")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return nil
	}
	s = s[:i+len(begin)] + "\n" + text + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}

// FloorBinaries are the floor (bench/floor: the least a Go PID 1 must do)
// and its early-subscribing build, as "make floor" makes them with the
// flags "make build" gives initd: it runs every time, as initdbin's
// "make build" does, so that the floor is never older than its source.
func FloorBinaries() (floor, early string, err error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", "", err
	}
	out, err := exec.Command("make", "-s", "-C", root, "floor").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("\"make -s -C %s floor\" failed: %v\n%s", root, err, out)
	}
	return filepath.Join(root, "bin", "floor"), filepath.Join(root, "bin", "floor-early"), nil
}

// FloorInit is the floor as a subject: it takes no flags.
func FloorInit(path string) Init { return Init{Name: "floor", Path: path} }
