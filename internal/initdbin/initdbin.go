// Package initdbin finds the initd binary that the tests, the benchmarks
// and the soak run: the one "make build" makes, so that there is a single
// build recipe (the Makefile's link flags and stamps) and no harness runs
// a build nobody ships. The init itself never imports it.
package initdbin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Path returns $INITD_BIN when it is set (the Makefile exports it), as an
// absolute path to an executable file; otherwise it runs
// "make -s -C <module root> build" and returns <module root>/bin/initd.
func Path() (string, error) {
	if bin := os.Getenv("INITD_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("INITD_BIN=%s is not an executable file (%v); run \"make build\" or unset INITD_BIN", bin, err)
		}
		return abs, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("make", "-s", "-C", root, "build").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("INITD_BIN is unset and \"make -s -C %s build\" failed: %v\n%s", root, err, out)
	}
	return filepath.Join(root, "bin", "initd"), nil
}

// ModuleRoot is the directory of the initd module's go.mod, found from the
// working directory.
func ModuleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the initd module: run from its tree, or set INITD_BIN")
	}
	return filepath.Dir(mod), nil
}
