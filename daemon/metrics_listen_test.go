package daemon

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getOver fetches url with client and returns the status and body.
func getOver(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// TestMetricsOnlyOnTheirOwnListener: /metrics (Go version, open files, Redis
// errors) is not answered on the public listeners, plain or TLS; the
// --metrics-listen address serves it, and nothing else.
func TestMetricsOnlyOnTheirOwnListener(t *testing.T) {
	certFile, keyFile, pool := certFiles(t)
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"plain", false}, {"tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if tc.tls {
					c.TLSCert, c.TLSKey = certFile, keyFile
				}
				c.Listen = "127.0.0.1:0"
				c.MetricsListen = "127.0.0.1:0"
			})
			d, err := Listen(f.srv.cfg, f.srv.log)
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- d.Serve(t.Context(), f.srv) }()
			t.Cleanup(func() { <-errc })
			client := &http.Client{Timeout: 10 * time.Second,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

			if code, _ := getOver(t, client, d.URL()+"getvalue"); code != http.StatusOK {
				t.Fatalf("GET /getvalue on the public listener = %d, want 200", code)
			}
			if code, body := getOver(t, client, d.URL()+"metrics"); code != http.StatusNotFound {
				t.Errorf("GET /metrics on the public listener = %d %.80q, want 404", code, body)
			}
			if d.MetricsAddr() == nil {
				t.Fatal("MetricsAddr() = nil with --metrics-listen set")
			}
			metrics := "http://" + d.MetricsAddr().String()
			code, body := getOver(t, client, metrics+"/metrics")
			if code != http.StatusOK || !strings.Contains(body, `counterd_http_requests_total{code="200",route="getvalue"} 1`) ||
				!strings.Contains(body, "go_goroutines") {
				t.Errorf("GET /metrics on the metrics listener = %d, want 200 with the counters:\n%.400s", code, body)
			}
			if code, _ := getOver(t, client, metrics+"/getvalue"); code != http.StatusNotFound {
				t.Errorf("GET /getvalue on the metrics listener = %d, want 404: it serves /metrics only", code)
			}
		})
	}
}
