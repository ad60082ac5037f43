package raid

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// fixtureSource answers Check from recorded outputs under testdata/.
type fixtureSource struct {
	files map[string]string // path on the node -> testdata file
	cmds  map[string]string // "program arg ..." -> testdata file
	ran   []string
}

var _ Source = (*fixtureSource)(nil)

func (f *fixtureSource) ReadFile(name string) ([]byte, error) {
	file, ok := f.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return os.ReadFile(filepath.Join("testdata", file))
}

func (f *fixtureSource) LookPath(name string) (string, error) {
	for cmd := range f.cmds {
		if strings.HasPrefix(cmd, name+" ") {
			return "/usr/sbin/" + name, nil
		}
	}
	return "", fmt.Errorf("look up %s: %w", name, exec.ErrNotFound)
}

func (f *fixtureSource) Run(_ context.Context, _ time.Duration, path string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{filepath.Base(path)}, args...), " ")
	f.ran = append(f.ran, key)
	file, ok := f.cmds[key]
	if !ok {
		return nil, fmt.Errorf("%s: no recording", key)
	}
	return os.ReadFile(filepath.Join("testdata", file))
}
