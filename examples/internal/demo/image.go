package demo

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ImageName reads the name an OCI archive made by scripts/image gives
// its image (the annotation containerd imports it under).
func ImageName(archive string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return "", fmt.Errorf("%s: no index.json: %v", archive, err)
		}
		if filepath.Clean(h.Name) != "index.json" {
			continue
		}
		var index struct {
			Manifests []struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		if err := json.NewDecoder(tr).Decode(&index); err != nil {
			return "", fmt.Errorf("%s: index.json: %v", archive, err)
		}
		for _, m := range index.Manifests {
			if n := m.Annotations["io.containerd.image.name"]; n != "" {
				return n, nil
			}
		}
		return "", fmt.Errorf("%s: index.json names no image", archive)
	}
}

// InitdImage writes the initd image of the binary initd for this
// machine's architecture into dir with scripts/image, the script "make
// release" makes the released images with, and returns the archive.
func InitdImage(ctx context.Context, repo, initd, dir string) (string, error) {
	arch := runtime.GOARCH
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "scripts", "image"), "-f", initd, "-o", dir, arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/image: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, "initd-oci-"+arch+".tar"), nil
}
