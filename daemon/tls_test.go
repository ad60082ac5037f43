package daemon

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

// certFiles writes a certificate for 127.0.0.1 from a throwaway CA, and its
// key, returning their paths and a pool trusting the CA.
func certFiles(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c := testutil.NewTLS(t)
	return c.CertFile, c.KeyFile, c.Pool()
}

func TestTLSWithRedirectListener(t *testing.T) {
	certFile, keyFile, pool := certFiles(t)
	f := newFixture(t, func(c *Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.HTTPRedirectAddr = "127.0.0.1:0"
	})
	cfg := f.srv.cfg
	cfg.Listen = "127.0.0.1:0"
	d, err := Listen(cfg, f.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	errc := make(chan error, 1)
	go func() { errc <- d.Serve(ctx, f.srv) }()
	t.Cleanup(func() { <-errc })

	if !strings.HasPrefix(d.URL(), "https://127.0.0.1:") {
		t.Errorf("URL = %q, want https://127.0.0.1:port/", d.URL())
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Post(d.URL(), "application/x-www-form-urlencoded",
		strings.NewReader(creds("alice", "alice-password").Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("login over TLS = %d over HTTP/%d, want 200 over HTTP/2", resp.StatusCode, resp.ProtoMajor)
	}
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			secure = c.Secure && c.HttpOnly
		}
	}
	if !secure {
		t.Errorf("session cookie under TLS not Secure+HttpOnly: %q", resp.Header.Values("Set-Cookie"))
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header under TLS")
	}

	// Over HTTP/2 the stream cannot be hijacked: it takes the streaming path.
	stream, err := client.Get(d.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.ProtoMajor != 2 || stream.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events over TLS: HTTP/%d %q", stream.ProtoMajor, stream.Header.Get("Content-Type"))
	}
	events := bufio.NewReader(stream.Body)
	if got := readEvent(t, events); got != "42" {
		t.Fatalf("first event over HTTP/2 = %q, want 42", got)
	}
	f.srv.hub.Publish(77)
	if got := readEvent(t, events); got != "77" {
		t.Fatalf("event over HTTP/2 = %q, want 77", got)
	}
	f.setConfirmed(time.Minute)
	if got := readStale(t, events); got != "1" {
		t.Fatalf("stale event over HTTP/2 = %q, want 1", got)
	}
	f.setConfirmed(0)

	plain := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, tlsPort, _ := net.SplitHostPort(d.Addr().String())
	redirect := "http://" + d.RedirectAddr().String()
	tests := []struct {
		name, path   string
		wantCode     int
		wantLocation string
	}{
		{"page redirects", "/?a=b", http.StatusPermanentRedirect, "https://127.0.0.1:" + tlsPort + "/?a=b"},
		{"api redirects", "/getvalue", http.StatusPermanentRedirect, "https://127.0.0.1:" + tlsPort + "/getvalue"},
		{"healthz answers", "/healthz", 200, ""},
		{"readyz answers", "/readyz", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := plain.Get(redirect + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || resp.Header.Get("Location") != tt.wantLocation {
				t.Errorf("GET %s = %d Location %q, want %d %q", tt.path, resp.StatusCode,
					resp.Header.Get("Location"), tt.wantCode, tt.wantLocation)
			}
		})
	}
}

func TestListenErrorsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.Listen = ln.Addr().String()
	if _, err := Listen(cfg, newLogger(cfg, os.Stderr)); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Listen on a taken port = %v, want a listen error", err)
	}
	cfg.Listen, cfg.TLSCert, cfg.TLSKey = "127.0.0.1:0", "/nonexistent.pem", "/nonexistent.key"
	if _, err := Listen(cfg, newLogger(cfg, os.Stderr)); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("Listen with a missing certificate = %v, want a tls error", err)
	}
}

func TestMetricsCountRoutesAndCodes(t *testing.T) {
	for name, stack := range stacks {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			do := stack(t, f)
			do(req{method: "GET", path: "/"})
			do(req{method: "GET", path: "/getvalue"})
			do(req{method: "GET", path: "/healthz"})
			do(req{method: "POST", path: "/inc", cookie: "tok1"})
			do(req{method: "POST", path: "/inc", cookie: "tok1"})
			f.srv.metrics.RedisError("ping", nil)
			// Read where Prometheus does: the --metrics-listen routes.
			mw := httptest.NewRecorder()
			f.srv.metricsRoutes().ServeHTTP(mw, httptest.NewRequest("GET", "/metrics", nil))
			body := mw.Body.String()
			for _, want := range []string{
				`counterd_http_requests_total{code="200",route="page"} 1`,
				`counterd_http_requests_total{code="200",route="getvalue"} 1`,
				`counterd_http_requests_total{code="200",route="healthz"} 1`,
				`counterd_http_requests_total{code="200",route="inc"} 1`,
				`counterd_http_requests_total{code="429",route="inc"} 1`,
				`counterd_increments_total 1`,
				`counterd_redis_errors_total{op="ping"} 1`,
				`counterd_value_age_seconds 0`,
				`counterd_http_request_duration_seconds_bucket{route="page",le=`,
				`go_goroutines`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}

func TestCertificateReloadsWhenRenewed(t *testing.T) {
	certFile, keyFile, _ := certFiles(t)
	c, err := newCertReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := c.getCertificate(nil)

	newCert, newKey, _ := certFiles(t)
	later := time.Now().Add(time.Hour)
	for src, dst := range map[string]string{newCert: certFile, newKey: keyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dst, later, later); err != nil {
			t.Fatal(err)
		}
	}
	renewed, _ := c.getCertificate(nil)
	if string(renewed.Certificate[0]) == string(first.Certificate[0]) {
		t.Fatal("certificate not reloaded after the files changed")
	}

	// A broken renewal keeps the last good certificate.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(keyFile, later.Add(time.Hour), later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	kept, err := c.getCertificate(nil)
	if err != nil || string(kept.Certificate[0]) != string(renewed.Certificate[0]) {
		t.Errorf("after a broken renewal: %v, want the previous certificate", err)
	}
}
