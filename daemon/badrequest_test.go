package daemon

import (
	"bufio"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

// maxRefusalLogLine bounds the log line of one refused request, whatever the client sent.
const maxRefusalLogLine = 2 << 10

// netHTTPCanned is net/http's own answer to a request it cannot parse, written
// before any handler runs: it has no hook to add headers (net/http/server.go).
const netHTTPCanned = "400 Bad Request"

// A request line that cannot be parsed, or a CONNECT, gets 400 with the security
// headers on both stacks, and what it makes counterd log stays short. The one
// exception is net/http's own answer (TLS) to a target it cannot parse: 400
// with a fixed body, but without our headers.
func TestMalformedRequestLine(t *testing.T) {
	certFile, keyFile, pool := certFiles(t)
	long := "/%zz" + strings.Repeat("a", maxHeaderBytes-200) // fits the header buffer, fails to parse
	requests := []struct {
		name, line string
		canned     bool // net/http answers it itself, without our headers
		ours       bool // refused by counterd, not by fasthttp's parser: logged at debug
	}{
		{"bad escape", "GET /%zz HTTP/1.1", true, true},
		{"long bad escape", "GET " + long + " HTTP/1.1", true, true},
		{"bad escape, POST", "POST /%zz HTTP/1.1", true, true},
		{"bad escape, absolute", "GET http://%zz/ HTTP/1.1", true, false},
		{"control byte", "GET /\x01 HTTP/1.1", true, false},
		{"NUL in the method", "G\x00T / HTTP/1.1", true, false},
		{"space in the target", "GET /a b HTTP/1.1", true, false},
		{"no target", "GET", true, false},
		{"asterisk", "GET * HTTP/1.1", false, false},
		{"CONNECT to a name", "CONNECT example.com:443 HTTP/1.1", false, true},
		{"CONNECT to an address", "CONNECT 127.0.0.1:443 HTTP/1.1", false, true},
	}
	stacks := []struct {
		name string
		tls  bool
	}{{"fasthttp", false}, {"net-http-tls", true}}
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if st.tls {
					c.TLSCert, c.TLSKey = certFile, keyFile
				}
				c.LogLevel = slog.LevelDebug // the refusal must be bounded even when logged
			})
			var logs testutil.Buffer
			d, _ := serveDaemon(t, f.srv, f.srv.cfg, newLogger(f.srv.cfg, &logs))
			dial := func() (net.Conn, error) {
				c, err := net.DialTimeout("tcp", d.Addr().String(), 5*time.Second)
				if err != nil || !st.tls {
					return c, err
				}
				tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
				return tc, tc.Handshake()
			}
			for _, rq := range requests {
				t.Run(rq.name, func(t *testing.T) {
					before := len(logs.String())
					c, err := dial()
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err := c.Write([]byte(rq.line + "\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n")); err != nil {
						t.Fatal(err)
					}
					resp, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err != nil {
						t.Fatalf("read the answer: %v", err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatalf("read the body: %v", err)
					}
					if resp.StatusCode != http.StatusBadRequest {
						t.Errorf("%.40q: %s, want 400", rq.line, resp.Status)
					}
					if st.tls && rq.canned {
						if !strings.HasPrefix(string(body), netHTTPCanned) {
							t.Errorf("%.40q: body %q, want net/http's %q", rq.line, body, netHTTPCanned)
						}
						return
					}
					for k := range f.srv.headers {
						if resp.Header.Get(k) == "" {
							t.Errorf("%.40q: answer lacks the security header %s (has %v)", rq.line, k, resp.Header)
						}
					}
					// Whatever was logged for this request: each line under the cap.
					logged := logs.String()[before:]
					for _, line := range strings.Split(logged, "\n") {
						if len(line) > maxRefusalLogLine {
							t.Errorf("%.40q: a %d-byte log line, want at most %d: %.200s...", rq.line, len(line), maxRefusalLogLine, line)
						}
					}
					// fasthttp's refusal is logged (at debug), the target cut and marked.
					if !st.tls && rq.ours {
						if !strings.Contains(logged, `msg="bad request"`) {
							t.Errorf("%.40q: no debug line for the refusal in %q", rq.line, logged)
						}
						if len(rq.line) > maxLoggedText && !strings.Contains(logged, "more bytes]") {
							t.Errorf("%.40q: the logged target is not marked as cut: %q", rq.line, logged)
						}
					}
				})
			}
		})
	}
}

func TestCapText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"short", "abc", 4, "abc"},
		{"exact", "abcd", 4, "abcd"},
		{"cut", "abcdef", 4, "abcd…[2 more bytes]"},
		{"cut before a split rune", "abcé", 4, "abc…[2 more bytes]"},
	}
	for _, tt := range tests {
		if got := capText(tt.in, tt.max); got != tt.want {
			t.Errorf("%s: capText(%q, %d) = %q, want %q", tt.name, tt.in, tt.max, got, tt.want)
		}
	}
}

// The servers' own messages quote what clients sent: each is capped, except a
// handler's panic, whose stack is needed whole; a client's failed connection is debug.
func TestServerLogCapsMessages(t *testing.T) {
	var logs testutil.Buffer
	l := serverLog(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("cannot parse requestURI %q", strings.Repeat("x", 10_000))
	if n := len(logs.String()); n > maxServerLogLength+200 || !strings.Contains(logs.String(), "more bytes]") {
		t.Errorf("a 10 KB message logged as %d bytes, want it cut to about %d and marked", n, maxServerLogLength)
	}
	for _, msg := range []string{
		`error when serving connection "127.0.0.1:80"<->"127.0.0.1:1": error when reading request headers: ...`,
		"http: TLS handshake error from 127.0.0.1:1: EOF",
	} {
		logs = testutil.Buffer{}
		l.Print(msg)
		if !strings.Contains(logs.String(), "level=DEBUG") {
			t.Errorf("a client's failed connection logged as %q, want debug (one line per hostile connection)", logs.String())
		}
	}
	logs = testutil.Buffer{}
	stack := strings.Repeat("goroutine 1 [running]:\n", 100)
	l.Printf("http: panic serving 127.0.0.1:1: boom\n%s", stack)
	if !strings.Contains(logs.String(), "boom") || strings.Contains(logs.String(), "more bytes]") {
		t.Errorf("a panic's stack was cut: %.300q", logs.String())
	}
}
