package testutil

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what a helper reports instead of
// failing the test that checks the helper.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	panic(r) // stop the helper as runtime.Goexit would
}

// run calls f with a recorder and returns what it reported.
func run(t *testing.T, f func(tb testing.TB)) (r *recorder) {
	r = &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	f(r)
	return r
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	port := FreePort(t)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on FreePort() = %d: %v", port, err)
	}
	ln.Close()
}

func TestWait(t *testing.T) {
	calls := 0
	if err := Wait(10*time.Second, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || calls != 3 {
		t.Errorf("Wait = %v after %d calls, want nil after 3", err, calls)
	}

	err := Wait(50*time.Millisecond, func(context.Context) error { return errors.New("still down") })
	if err == nil || !strings.Contains(err.Error(), "not within 50ms: still down") {
		t.Errorf("Wait on a condition that stays false = %v, want the deadline and the last error", err)
	}

	calls = 0
	exited := errors.New("exited")
	err = Wait(time.Hour, func(context.Context) error { calls++; return Stop(exited) })
	if err != exited || calls != 1 {
		t.Errorf("Wait on Stop(err) = %v after %d calls, want %v after 1", err, calls, exited)
	}

	calls = 0
	err = WaitEvery(time.Hour, time.Hour, func(context.Context) error {
		if calls++; calls == 1 {
			return nil
		}
		return errors.New("asked again")
	})
	if err != nil || calls != 1 {
		t.Errorf("WaitEvery on a true condition = %v after %d calls, want nil after 1 (no wait for the interval)", err, calls)
	}

	err = Wait(50*time.Millisecond, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait whose condition blocks = %v, want its context to end at the deadline", err)
	}
}

func TestPollAndEventuallyFailWithWhat(t *testing.T) {
	r := run(t, func(tb testing.TB) {
		Poll(tb, 30*time.Millisecond, "replica in sync", func(context.Context) error { return errors.New("offset 3 of 7") })
	})
	if !r.fatal || len(r.errors) != 1 || !strings.Contains(r.errors[0], "replica in sync: not within 30ms: offset 3 of 7") {
		t.Errorf("Poll reported %q (fatal %v), want what, the deadline and the last error", r.errors, r.fatal)
	}
	r = run(t, func(tb testing.TB) {
		Eventually(tb, 30*time.Millisecond, "socket exists", func() bool { return false })
	})
	if !r.fatal || len(r.errors) != 1 || !strings.HasPrefix(r.errors[0], "socket exists: not within 30ms") {
		t.Errorf("Eventually reported %q (fatal %v), want what and the deadline", r.errors, r.fatal)
	}
	r = run(t, func(tb testing.TB) { Eventually(tb, time.Second, "true", func() bool { return true }) })
	if r.fatal || len(r.errors) != 0 {
		t.Errorf("Eventually on a true condition reported %q", r.errors)
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "x.golden")
	r := run(t, func(tb testing.TB) { Golden(tb, path, []byte("a\n")) })
	if !r.fatal || !strings.Contains(r.errors[0], "go test -update writes it") {
		t.Errorf("Golden without the file reported %q, want how to write it", r.errors)
	}

	*update = true
	r = run(t, func(tb testing.TB) { Golden(tb, path, []byte("one\ntwo\n")) })
	*update = false
	if len(r.errors) != 0 {
		t.Fatalf("Golden -update reported %q", r.errors)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\ntwo\n" {
		t.Fatalf("after -update the file holds %q, %v; want the output", b, err)
	}

	if r := run(t, func(tb testing.TB) { Golden(tb, path, []byte("one\ntwo\n")) }); len(r.errors) != 0 {
		t.Errorf("Golden on equal output reported %q", r.errors)
	}
	r = run(t, func(tb testing.TB) { Golden(tb, path, []byte("one\nthree\n")) })
	if r.fatal || len(r.errors) != 1 || !strings.Contains(r.errors[0], "-two\n+three\n") ||
		!strings.Contains(r.errors[0], "go test -update rewrites it") {
		t.Errorf("Golden on other output reported %q (fatal %v), want a diff and how to rewrite", r.errors, r.fatal)
	}
}

// TestTLSHandshake: a server with the certificate and a client trusting
// the CA (and presenting the same certificate, as Redis nodes do) agree.
func TestTLSHandshake(t *testing.T) {
	c := NewTLS(t)
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: c.Pool(), ClientAuth: tls.RequireAndVerifyClientCert}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			err = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
		done <- err
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), c.ClientConfig(t))
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if other := NewTLS(t); other.CAFile == c.CAFile {
		t.Error("two NewTLS calls share a CA file")
	}
}

func TestNeedTool(t *testing.T) {
	if got := NeedTool(t, "sh", "dash"); !filepath.IsAbs(got) {
		t.Errorf("NeedTool(sh) = %q, want its absolute path", got)
	}
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		NeedTool(t, "ctr-no-such-tool", "ctr-no-such-package")
	})
	if !skipped {
		t.Error("NeedTool on a missing program did not skip")
	}
}

func TestWriteFileKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	WriteFile(t, path, []byte("x"), 0o666) // more than a usual umask lets through
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("mode = %v (%v), want 0666", fi.Mode().Perm(), err)
	}
	if got := ReadFile(t, path); string(got) != "x" {
		t.Errorf("ReadFile = %q, want x", got)
	}
}

// Run with -race: a writer goroutine and a reading test share the Buffer.
func TestBufferWriteWhileReading(t *testing.T) {
	var b Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			fmt.Fprint(&b, "x")
		}
	}()
	for range 100 {
		_ = b.String()
	}
	<-done
	if got := b.String(); got != strings.Repeat("x", 100) {
		t.Errorf("String() = %q, want 100 x", got)
	}
}
