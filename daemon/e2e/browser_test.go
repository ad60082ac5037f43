// Package e2e drives counterd from Debian's headless chromium, as a visitor would.
package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"counter/daemon"
	"counter/internal/redistest"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts one headless chromium with its own profile, so two browsers share no cookies.
func browser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("SKIPPING BROWSER TEST: %s missing (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // CI runs as root, where chromium refuses its sandbox
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() }) // stops the chromium process it started
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// waitText polls until the element's trimmed text equals want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`((document.querySelector(%q)||{}).textContent||'').trim()===%q`, sel, want)
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(10*time.Second))
}

// waitContains polls until the element's text contains want.
func waitContains(sel, want string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`((document.querySelector(%q)||{}).textContent||'').includes(%q)`, sel, want)
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(10*time.Second))
}

func evalString(ctx context.Context, js string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

// text reads the element's text for a failure message. It evaluates script
// rather than querying the DOM, and gives up after a few seconds: a DOM query
// made just after a navigation can wait forever on the document it replaced
// (a CI run spent the whole test's two minutes in one).
func text(ctx context.Context, sel string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	js := fmt.Sprintf(`((document.querySelector(%q)||{}).textContent||'').trim()`, sel)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

func getValue(t *testing.T, base string) int64 {
	t.Helper()
	resp, err := http.Get(base + "/getvalue")
	if err != nil {
		t.Fatalf("GET /getvalue: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("GET /getvalue = %q: %v", b, err)
	}
	return v
}

func TestBrowserRegisterLoginIncrement(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a := browser(t, ctx)
	b := browser(t, ctx)

	rd := redistest.Start(t)
	rd.Do("SET", "counter:value", "41")
	cfg := daemon.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Redis = rd.URL()
	srv, err := daemon.Start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start counterd: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
	url := srv.URL()

	// The value is rendered on the server (the page's golden tests pin the
	// HTML); here the browser must show it.
	if err := chromedp.Do(a, chromedp.Navigate(url), waitText("#counter", "41")); err != nil {
		t.Fatalf("open page: %v (page shows %q, want 41; at %s: %.600s)", err, text(a, "#counter"), evalString(a, "location.href"), evalString(a, "document.documentElement.outerHTML"))
	}
	if err := chromedp.Do(b, chromedp.Navigate(url), waitText("#counter", "41")); err != nil {
		t.Fatalf("second browser: %v", err)
	}

	login := fmt.Sprintf("alice-%d", time.Now().UnixNano()%1e6)
	steps := []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"register", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(chromedp.CSS(`#auth input[name=login]`), login),
			chromedp.SendKeys(chromedp.CSS(`#auth input[name=password]`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#auth button[formaction="/register"]`)),
			waitContains("#msg", "registered"),
			waitContains("#who", login),
		}},
		{"log out", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS(`#out button`)),
			chromedp.WaitVisible(chromedp.CSS(`#auth`)),
		}},
		{"log in", []chromedp.Action[chromedp.Void]{
			chromedp.SetValue(chromedp.CSS(`#auth input[name=login]`), login),
			chromedp.SetValue(chromedp.CSS(`#auth input[name=password]`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#auth button:not([formaction])`)),
			waitContains("#who", login),
		}},
		{"press", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS(`#inc`)),
			waitText("#counter", "42"),
			// The page shows +1 at once and holds the button until the answer.
			chromedp.Poll[chromedp.Void](`!document.querySelector('#inc').disabled`, chromedp.WithPollingTimeout(10*time.Second)),
		}},
	}
	for _, s := range steps {
		if err := chromedp.Do(a, s.actions...); err != nil {
			t.Fatalf("%s: %v (page message %q)", s.name, err, text(a, "#msg"))
		}
	}
	// The other browser sees the click through /events, without reloading.
	// Checked before /getvalue: counterd holds a value before it sends it as
	// an event, while the press's answer may come before the PUBLISH does.
	if err := chromedp.Do(b, waitText("#counter", "42")); err != nil {
		t.Fatalf("second browser never showed 42 without a reload: %v", err)
	}
	if got := getValue(t, url); got != 42 {
		t.Fatalf("after the click the server holds %d, want 42", got)
	}

	// A second press within 24 hours is refused, and the page says so and
	// undoes its +1. counterd confirms a press just after answering it; until
	// then a second press gets the first one's answer again ("had counted"),
	// so the page is pressed again until the refusal comes.
	refused := `(document.querySelector('#msg').textContent||'').includes('24 hours')`
	earlier := `(document.querySelector('#msg').textContent||'').includes('had counted')`
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := chromedp.Do(a,
			chromedp.Click(chromedp.CSS(`#inc`)),
			chromedp.Poll[chromedp.Void](refused+`||`+earlier, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("second press: %v (page message %q)", err, text(a, "#msg"))
		}
		if strings.Contains(text(a, "#msg"), "24 hours") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second press still got the first one's answer after 10 s: %q", text(a, "#msg"))
		}
		if err := chromedp.Do(a, chromedp.Poll[chromedp.Void](`!document.querySelector('#inc').disabled`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("second press: button stays disabled: %v", err)
		}
	}
	if err := chromedp.Do(a, waitText("#counter", "42")); err != nil {
		t.Fatalf("after the refused press the page shows %q, want 42: %v", text(a, "#counter"), err)
	}
	if got := getValue(t, url); got != 42 {
		t.Fatalf("after the refused press the server holds %d, want 42", got)
	}
}
