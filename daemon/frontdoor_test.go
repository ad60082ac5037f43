package daemon

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// frontDoor serves a fixture the way a provisioned node does: HTTPS on one
// listener, the plain-HTTP redirect on another, both on 127.0.0.1:0, with
// the node name set.
func frontDoor(t testing.TB, node string) (d *Daemon, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool := certFiles(t)
	f := newFixture(t, func(c *Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.HTTPRedirectAddr = "127.0.0.1:0"
		c.NodeName = node
	})
	d, _ = serveDaemon(t, f.srv, f.srv.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return d, pool
}

// handshake dials addr with TLS, sends one HTTP/1.1 GET / and reads the
// answer (TLS 1.3 session tickets arrive after the handshake, with the first
// data), and returns the connection's state.
func handshake(t testing.TB, addr string, cfg *tls.Config) tls.ConnectionState {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if c.ConnectionState().NegotiatedProtocol == "h2" {
		return c.ConnectionState() // no HTTP/1.1 to speak; enough for ALPN
	}
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer over TLS: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c.ConnectionState()
}

func TestHTTPSNegotiatesHTTP2ByALPN(t *testing.T) {
	d, pool := frontDoor(t, "eu-1")
	st := handshake(t, d.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}})
	if st.NegotiatedProtocol != "h2" {
		t.Errorf("ALPN offering h2 and http/1.1 chose %q, want h2", st.NegotiatedProtocol)
	}
	if st.Version != tls.VersionTLS13 {
		t.Errorf("TLS version %x, want TLS 1.3 (%x)", st.Version, tls.VersionTLS13)
	}
	st = handshake(t, d.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if st.NegotiatedProtocol != "http/1.1" {
		t.Errorf("ALPN offering http/1.1 only chose %q, want http/1.1", st.NegotiatedProtocol)
	}
}

func TestHTTPSResumesSessions(t *testing.T) {
	d, pool := frontDoor(t, "eu-1")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: v, MaxVersion: v,
				ClientSessionCache: tls.NewLRUClientSessionCache(8), NextProtos: []string{"http/1.1"}}
			if first := handshake(t, d.Addr().String(), cfg); first.DidResume {
				t.Fatal("first handshake resumed: the cache was not empty")
			}
			if second := handshake(t, d.Addr().String(), cfg); !second.DidResume {
				t.Error("second handshake with the session cache did not resume")
			}
		})
	}
}

func TestCounterNodeOnEveryAnswer(t *testing.T) {
	d, pool := frontDoor(t, "eu-1")
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	plain := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tlsBase, redirectBase := d.URL(), "http://"+d.RedirectAddr().String()+"/"
	_, tlsPort, _ := net.SplitHostPort(d.Addr().String())
	tests := []struct {
		name         string
		client       *http.Client
		url          string
		wantCode     int
		wantProto    int
		wantLocation string
	}{
		{"page over h2", tlsClient, tlsBase, 200, 2, ""},
		{"value over h2", tlsClient, tlsBase + "getvalue", 200, 2, ""},
		{"not found over h2", tlsClient, tlsBase + "nope", 404, 2, ""},
		{"redirect of the page", plain, redirectBase + "?x=1", http.StatusPermanentRedirect, 1, "https://127.0.0.1:" + tlsPort + "/?x=1"},
		{"redirect of the api", plain, redirectBase + "getvalue", http.StatusPermanentRedirect, 1, "https://127.0.0.1:" + tlsPort + "/getvalue"},
		{"healthz on the redirect port", plain, redirectBase + "healthz", 200, 1, ""},
		{"readyz on the redirect port", plain, redirectBase + "readyz", 200, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.client.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || resp.ProtoMajor != tt.wantProto || resp.Header.Get("Location") != tt.wantLocation {
				t.Errorf("GET %s = %d HTTP/%d Location %q, want %d HTTP/%d %q", tt.url, resp.StatusCode, resp.ProtoMajor,
					resp.Header.Get("Location"), tt.wantCode, tt.wantProto, tt.wantLocation)
			}
			if got := resp.Header.Get("Counter-Node"); got != "eu-1" {
				t.Errorf("GET %s: Counter-Node = %q, want eu-1", tt.url, got)
			}
		})
	}
}

// The plain-HTTP stack (fasthttp) and the hijacked event stream write their
// own heads: they name the node too.
func TestCounterNodeOverPlainHTTP(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.NodeName = "na" })
	base, _ := startDaemon(t, f, f.srv.cfg)
	for _, path := range []string{"/", "/getvalue", "/healthz", "/readyz", "/nope"} {
		w := doOver(t, base, req{method: "GET", path: path})
		if got := w.Header().Get("Counter-Node"); got != "na" {
			t.Errorf("GET %s over fasthttp (%d): Counter-Node = %q, want na", path, w.Code, got)
		}
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Counter-Node"); got != "na" {
		t.Errorf("GET /events: Counter-Node = %q, want na", got)
	}
}

func TestNodeNameValidated(t *testing.T) {
	tests := []struct {
		name, node string
		wantErr    bool
	}{
		{"label", "eu-1", false},
		{"dotted", "eu-1.nodes.counter.example.net", false},
		{"space", "eu 1", true},
		{"newline", "eu\r\nSet-Cookie: x=1", true},
		{"too long", strings.Repeat("a", 254), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig([]string{"--node-name", tt.node}, func(string) string { return "" }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Errorf("--node-name %q: %v, want error %v", tt.node, err, tt.wantErr)
			}
		})
	}
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.NodeName == "" {
		t.Errorf("no --node-name: %q, %v; want the host name", cfg.NodeName, err)
	}
}

// BenchmarkTLSHandshake compares a full TLS 1.3 handshake with a resumed
// one (session ticket) on loopback: TCP connect and handshake, no request.
// go test -run '^$' -bench TLSHandshake -benchtime 2s -count 5 ./daemon/
func BenchmarkTLSHandshake(b *testing.B) {
	d, pool := frontDoor(b, "bench")
	base := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}}
	dial := func(b *testing.B, cfg *tls.Config) tls.ConnectionState {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", d.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState()
	}
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if dial(b, base).DidResume {
				b.Fatal("resumed without a session cache")
			}
		}
	})
	b.Run("resumed", func(b *testing.B) {
		cfg := base.Clone()
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		handshake(b, d.Addr().String(), cfg) // a request, so the ticket arrives
		for b.Loop() {
			if !dial(b, cfg).DidResume {
				b.Fatal("did not resume")
			}
		}
	})
}
