package daemon

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCSPAllowsExactlyTheServedInlineCode(t *testing.T) {
	for _, mode := range []string{AuthCookie, AuthPerRequest} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.AuthMode = mode })
			w := f.do(t, req{method: "GET", path: "/"})
			csp := w.Header().Get("Content-Security-Policy")
			body := w.Body.String()
			for _, el := range []string{"script", "style"} {
				m := regexp.MustCompile(`(?s)<`+el+`>(.*?)</`+el+`>`).FindAllStringSubmatch(body, -1)
				if len(m) != 1 {
					t.Fatalf("page has %d inline <%s> elements, want 1", len(m), el)
				}
				if want := el + "-src " + cspHash(m[0][1]); !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q, the hash of the served %s", csp, want, el)
				}
			}
			for _, banned := range []string{"unsafe-inline", "unsafe-eval", "*"} {
				if strings.Contains(csp, banned) {
					t.Errorf("CSP %q contains %q", csp, banned)
				}
			}
			if !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q lacks frame-ancestors 'none'", csp)
			}
		})
	}
}

func TestPageEscapesEverything(t *testing.T) {
	// Only numbers and the auth mode reach the page; a hostile mode must come out inert.
	p := newPages(`"><script>alert(1)</script>`, time.Second)
	now := time.Now()
	got := string(p.html(7, now, now).body)
	if strings.Contains(got, "<script>alert") {
		t.Errorf("page holds an unescaped attribute value:\n%s", got)
	}
	var b strings.Builder
	if err := errorPage.Execute(&b, "<b>x</b>"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("error page = %q, want the message escaped", b.String())
	}
}

func TestPageStaleness(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		age       time.Duration
		wantStale bool
	}{
		{"fresh", 500 * time.Millisecond, false},
		{"at the limit", 2 * time.Second, false},
		{"old", 2*time.Second + time.Millisecond, true},
		{"never confirmed", now.Sub(time.Time{}), true},
	}
	p := newPages(AuthCookie, 2*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := string(p.html(5, now.Add(-tt.age), now).body)
			if got := strings.Contains(body, `<p id="stale">This value may be old`); got != tt.wantStale {
				t.Errorf("age %v: page says old = %v, want %v", tt.age, got, tt.wantStale)
			}
		})
	}
}

func TestPageRerendersOnlyOnChange(t *testing.T) {
	p := newPages(AuthCookie, 2*time.Second)
	now := time.Now()
	a := p.html(1, now, now)
	if b := p.html(1, now, now); b != a {
		t.Error("same value rendered twice, want the cached bytes")
	}
	if c := p.html(2, now, now); c == a || !strings.Contains(string(c.body), ">2</div>") {
		t.Error("new value not rendered")
	}
	if d := p.text(9); string(d.body) != "9\n" || d.length[0] != "2" {
		t.Errorf("text(9) = %q (length %s), want \"9\\n\" (2)", d.body, d.length[0])
	}
}
