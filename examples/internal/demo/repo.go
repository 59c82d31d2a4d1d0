package demo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// FindRepo walks up from dir to the checkout's root: the directory that
// holds Dockerfile.initd and examples/trap.sh.
func FindRepo(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "Dockerfile.initd")) && fileExists(filepath.Join(d, "examples", "trap.sh")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no initd checkout (Dockerfile.initd and examples/trap.sh) at or above %s", dir)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// BuildInitd builds cmd/initd of the checkout at repo into dir, with the
// flags of "make build", and returns the binary's path.
func BuildInitd(repo, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go not found in PATH; build initd with make build and pass its path")
	}
	out := filepath.Join(dir, "initd")
	cmd := exec.Command(goTool, "build", "-trimpath",
		"-ldflags", "-s -w -X=runtime.godebugDefault=asyncpreemptoff=1",
		"-o", out, "./cmd/initd")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building initd: %v\n%s", err, b)
	}
	return out, nil
}

// Peer is another init the demo compares initd with, when it is installed.
type Peer struct {
	Name string
	Bins []string // candidates, best first: a static build works in any image
	Argv []string // what follows the binary to run "sh -c ./trap.sh"
}

// Peers are the inits people reach for instead of initd.
var Peers = []Peer{
	{"tini", []string{"tini-static", "tini"}, []string{"--", "/bin/sh", "-c", "./trap.sh"}},
	{"dumb-init", []string{"dumb-init"}, []string{"/bin/sh", "-c", "./trap.sh"}},
	{"catatonit", []string{"catatonit"}, []string{"--", "/bin/sh", "-c", "./trap.sh"}},
}

// Find returns the path of the first installed candidate, or "".
func (p Peer) Find() string {
	for _, b := range p.Bins {
		if path, err := exec.LookPath(b); err == nil {
			return path
		}
	}
	return ""
}
