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

// BuildInitd runs "make build" in the checkout at repo and returns the
// binary it made, bin/initd. The examples never build initd their own way:
// the binary they run is the one the Makefile builds (and exports to every
// recipe as INITD_BIN), with its link flags and its commit stamp.
func BuildInitd(repo string) (string, error) {
	makeTool, err := exec.LookPath("make")
	if err != nil {
		return "", errors.New("make not found in PATH; run make build and pass bin/initd (INITD_BIN or -initd)")
	}
	cmd := exec.Command(makeTool, "-C", repo, "build")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make -C %s build: %v\n%s", repo, err, b)
	}
	out := filepath.Join(repo, "bin", "initd")
	if !fileExists(out) {
		return "", fmt.Errorf("make -C %s build made no %s", repo, out)
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
