package daemon

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

// childNofileEnv makes TestLimitedCounterdProcess a counterd under that file limit.
const childNofileEnv = "COUNTERD_TEST_CHILD_NOFILE"

// floodNofile is the file limit of the flooded counterd, as `ulimit -n 256`.
const floodNofile = 256

// TestLimitedCounterdProcess is not a test: it is the counterd that the flood
// tests start as a subprocess (this test binary, run again) with a low file
// limit, configured by $COUNTERD_* as counterd itself is.
func TestLimitedCounterdProcess(t *testing.T) {
	nofile := os.Getenv(childNofileEnv)
	if nofile == "" {
		return // started by go test, not by a flood test
	}
	n, err := strconv.ParseUint(nofile, 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "$%s: %v\n", childNofileEnv, err)
		os.Exit(2)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintf(os.Stderr, "set the file limit to %d: %v\n", n, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, nil, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "counterd:", err)
		os.Exit(1)
	}
	// A clean end returns: the testing package makes os.Exit(0) in a test a failure.
}

// limitedCounterd is a counterd subprocess under a file limit.
type limitedCounterd struct {
	base   string // its URL, without the final slash
	addr   string // host:port of its listener
	client *http.Client
	logs   *testutil.Buffer
	exited chan struct{}
}

// startLimitedCounterd runs counterd as a subprocess with RLIMIT_NOFILE nofile,
// reading r, with env (COUNTERD_*=...) added; it is stopped (SIGTERM) when the
// test ends. roots trusts its certificate when env gives it one.
func startLimitedCounterd(t *testing.T, nofile int, r *redistest.Server, roots *x509.CertPool, env ...string) *limitedCounterd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLimitedCounterdProcess$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COUNTERD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childNofileEnv+"="+strconv.Itoa(nofile), "COUNTERD_LISTEN=127.0.0.1:0",
		"COUNTERD_REDIS="+r.URL(), "COUNTERD_LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, env...)
	c := &limitedCounterd{logs: &testutil.Buffer{}, exited: make(chan struct{}), client: &http.Client{Timeout: 2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: roots}}}}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start counterd: %v", err)
	}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
			if waitErr != nil {
				t.Errorf("counterd after SIGTERM: %v, want a clean exit; its log:\n%s", waitErr, c.logs)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("counterd (pid %d) still running 15s after SIGTERM, killing it", cmd.Process.Pid)
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	testutil.Poll(t, 10*time.Second, "counterd logs its URL", func(context.Context) error {
		select {
		case <-c.exited:
			t.Fatalf("counterd exited at start: %s", c.logs)
		default:
		}
		for _, line := range strings.Split(c.logs.String(), "\n") {
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "serving" {
				continue
			}
			u, err := url.Parse(rec.URL)
			if err != nil {
				t.Fatalf("counterd logged the URL %q: %v", rec.URL, err)
			}
			c.base, c.addr = strings.TrimSuffix(rec.URL, "/"), u.Host
			return nil
		}
		return errors.New(c.logs.String())
	})
	testutil.Poll(t, 10*time.Second, "counterd ready", c.answers("/readyz"))
	return c
}

// answers reports whether path answers 200 on a new connection.
func (c *limitedCounterd) answers(path string) func(context.Context) error {
	return func(context.Context) error {
		resp, err := c.client.Get(c.base + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("last: %s %s", resp.Status, b)
		}
		return nil
	}
}

func (c *limitedCounterd) running(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
		t.Fatalf("counterd exited; its log:\n%s", c.logs)
	default:
	}
}

// More connections than the file limit allows (accept fails with EMFILE) must
// not stop counterd, on either listener: once they close, it serves again.
func TestConnectionFloodDoesNotStopCounterd(t *testing.T) {
	certFile, keyFile, pool := certFiles(t)
	r := redistest.Start(t)
	for _, st := range []struct {
		name  string
		roots *x509.CertPool
		env   []string
	}{
		{"fasthttp", nil, nil},
		{"net-http-tls", pool, []string{"COUNTERD_TLS_CERT=" + certFile, "COUNTERD_TLS_KEY=" + keyFile}},
	} {
		t.Run(st.name, func(t *testing.T) {
			c := startLimitedCounterd(t, floodNofile, r, st.roots, append(st.env, "COUNTERD_MAX_CONNS_PER_IP=0")...)
			flood(t, c)
		})
	}
}

// flood opens more connections than c's file limit, closes them, and checks that c serves again.
func flood(t *testing.T, c *limitedCounterd) {
	var conns []net.Conn
	defer func() {
		for _, fc := range conns {
			fc.Close()
		}
	}()
	for i := range floodNofile + 44 {
		fc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, fc)
	}
	testutil.Eventually(t, 10*time.Second, "counterd runs out of file descriptors", func() bool {
		return strings.Contains(c.logs.String(), "too many open files")
	})
	for _, fc := range conns {
		fc.Close()
	}
	conns = nil
	testutil.Poll(t, 10*time.Second, "/getvalue answers after the flood", c.answers("/getvalue"))
	testutil.Poll(t, 10*time.Second, "/healthz answers after the flood", c.answers("/healthz"))
	c.running(t)
	for _, line := range strings.Split(c.logs.String(), "\n") {
		if strings.Contains(line, "accept") {
			t.Log(line)
		}
	}
}

// Event streams are capped below the file limit: past the cap counterd refuses
// a stream (503) instead of running out of descriptors, and still serves the rest.
func TestEventStreamsStayWithinTheFileLimit(t *testing.T) {
	c := startLimitedCounterd(t, floodNofile, redistest.Start(t), nil, "COUNTERD_MAX_CONNS_PER_IP=0")
	var streams []net.Conn
	defer func() {
		for _, s := range streams {
			s.Close()
		}
	}()
	refused := false
	for i := 0; i < floodNofile && !refused; i++ {
		s, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		streams = append(streams, s)
		_ = s.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(s, "GET /events HTTP/1.1\r\nHost: example.com\r\n\r\n"); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(s), nil)
		if err != nil {
			t.Fatalf("stream %d: neither served nor refused (counterd out of descriptors?): %v", i, err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			_ = s.SetDeadline(time.Time{})
		case http.StatusServiceUnavailable:
			refused = true
		default:
			t.Fatalf("stream %d: %s, want 200 or 503", i, resp.Status)
		}
	}
	if !refused {
		t.Fatalf("%d streams open under a file limit of %d, none refused", len(streams), floodNofile)
	}
	t.Logf("stream %d refused under a file limit of %d", len(streams), floodNofile)
	testutil.Poll(t, 10*time.Second, "/healthz answers with the streams at their cap", c.answers("/healthz"))
	testutil.Poll(t, 10*time.Second, "/getvalue answers with the streams at their cap", c.answers("/getvalue"))
	if strings.Contains(c.logs.String(), "too many open files") {
		t.Errorf("counterd ran out of descriptors under the stream cap:\n%s", c.logs)
	}
	c.running(t)
}

// One address holds at most --max-conns-per-ip connections, on both listeners;
// others are still served, and a closed connection frees its place.
func TestConnectionCapPerAddress(t *testing.T) {
	const perAddr = 3
	certFile, keyFile, pool := certFiles(t)
	for _, st := range []struct {
		name string
		tls  bool
	}{{"fasthttp", false}, {"net-http-tls", true}} {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.MaxConnsPerIP = perAddr
				if st.tls {
					c.TLSCert, c.TLSKey = certFile, keyFile
				}
			})
			d, _ := serveDaemon(t, f.srv, f.srv.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			// open opens a connection from the address from and asks for path on
			// it (an event stream stays open).
			open := func(from, path string) (net.Conn, error) {
				dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
				c, err := dialer.Dial("tcp", d.Addr().String())
				if err != nil {
					return nil, err
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if st.tls {
					c = tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
				}
				if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: example.com\r\n\r\n"); err != nil {
					c.Close()
					return nil, err
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					c.Close()
					return nil, err
				}
				if resp.StatusCode != http.StatusOK {
					c.Close()
					return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
				}
				_ = c.SetDeadline(time.Time{})
				return c, nil
			}
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			// An event stream counts as the connection it holds.
			for i, path := range []string{"/events", "/getvalue", "/getvalue"}[:perAddr] {
				c, err := open("127.0.0.1", path)
				if err != nil {
					t.Fatalf("connection %d of %d from 127.0.0.1, %s: %v", i+1, perAddr, path, err)
				}
				held = append(held, c)
			}
			if c, err := open("127.0.0.1", "/getvalue"); err == nil {
				c.Close()
				t.Fatalf("connection %d from 127.0.0.1 served, want it closed (--max-conns-per-ip %d)", perAddr+1, perAddr)
			}
			other, err := open("127.0.0.2", "/getvalue")
			if err != nil {
				t.Fatalf("127.0.0.2 while 127.0.0.1 is at its cap: %v", err)
			}
			other.Close()
			held[0].Close() // the event stream: the hub sees the hang-up and closes its end
			testutil.Poll(t, 10*time.Second, "127.0.0.1 served again after closing its event stream", func(context.Context) error {
				c, err := open("127.0.0.1", "/getvalue")
				if err != nil {
					return err
				}
				held[0] = c
				return nil
			})
		})
	}
}

func TestEventStreamCap(t *testing.T) {
	tests := []struct {
		nofile uint64
		want   int
	}{
		{64, 0},           // nothing to spare
		{256, 192},        // ulimit -n 256: a quarter kept
		{1024, 768},       // a shell's usual soft limit
		{65536, 30_000},   // counterd.service's LimitNOFILE: the ceiling
		{1 << 20, 30_000}, // a large hard limit
	}
	for _, tt := range tests {
		if got := eventStreamCap(tt.nofile); got != tt.want {
			t.Errorf("eventStreamCap(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
}
