package ctl

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/internal/testutil"
)

// fakeBird answers BIRD's control protocol on a Unix socket and records
// the commands it gets (the real BIRD is in provisioning/anycast's tests).
type fakeBird struct {
	mu   sync.Mutex
	cmds []string
}

func (f *fakeBird) serve(t *testing.T, sock string) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("0001 BIRD fake ready.\n"))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				f.mu.Lock()
				f.cmds = append(f.cmds, strings.TrimSpace(line))
				f.mu.Unlock()
				_, _ = c.Write([]byte("0011-anycast: enabled\n0000 \n"))
			}()
		}
	}()
}

func (f *fakeBird) saw(cmd string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cmds {
		if c == cmd {
			return true
		}
	}
	return false
}

func TestNodeAnycastEnablesTheProtocolWhenReady(t *testing.T) {
	readyz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(readyz.Close)
	sock := filepath.Join(t.TempDir(), "bird.ctl")
	bird := &fakeBird{}
	bird.serve(t, sock)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"node", "anycast", "--readyz", readyz.URL + "/readyz",
			"--bird-socket", sock, "--protocol", "anycast", "--rise", "2", "--interval", "50ms"}, &stdout, &stderr)
	}()
	testutil.Eventually(t, 10*time.Second, "the announcer enables protocol anycast", func() bool { return bird.saw("enable anycast") })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("node anycast exited %d after its context ended: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "announce=true") {
		t.Errorf("the log does not say it announced: %q", stderr.String())
	}
}

func TestNodeAnycastRefusesBadCounts(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), []string{"node", "anycast", "--fall", "0"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "fall 0") {
		t.Errorf("node anycast --fall 0 = %d %q, want an error naming fall 0", code, stderr.String())
	}
}
