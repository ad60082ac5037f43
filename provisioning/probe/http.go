package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"counter/provisioning/inventory"
)

// HTTPAnswer is counterd's reply to /readyz.
type HTTPAnswer struct {
	Code int
	Body string // first line, trimmed
}

// maxBody bounds what is read of any answer; the page is a few KB.
const maxBody = 256 << 10

func (p *Prober) get(ctx context.Context, n inventory.Node, path string) (int, []byte, error) {
	u := "http://" + net.JoinHostPort(n.Address, strconv.Itoa(p.opts.HTTPPort)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return resp.StatusCode, b, nil
}

func (p *Prober) readyz(ctx context.Context, n inventory.Node) Fact[HTTPAnswer] {
	code, b, err := p.get(ctx, n, "/readyz")
	if err != nil {
		return Fact[HTTPAnswer]{Err: err}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return Fact[HTTPAnswer]{V: HTTPAnswer{Code: code, Body: line}}
}

// Value fetches the node's /getvalue now.
func (p *Prober) Value(ctx context.Context, n inventory.Node) Fact[int64] {
	code, b, err := p.get(ctx, n, "/getvalue")
	if err != nil {
		return Fact[int64]{Err: err}
	}
	if code != http.StatusOK {
		return Fact[int64]{Err: fmt.Errorf("/getvalue: HTTP %d", code)}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return Fact[int64]{Err: fmt.Errorf("/getvalue: not a number: %.40q", b)}
	}
	return Fact[int64]{V: v}
}

var counterRE = regexp.MustCompile(`<div id="counter">(-?[0-9]+)</div>`)

// Page fetches the node's page now and returns the value it shows.
func (p *Prober) Page(ctx context.Context, n inventory.Node) Fact[int64] {
	code, b, err := p.get(ctx, n, "/")
	if err != nil {
		return Fact[int64]{Err: err}
	}
	if code != http.StatusOK {
		return Fact[int64]{Err: fmt.Errorf("page: HTTP %d", code)}
	}
	m := counterRE.FindSubmatch(b)
	if m == nil {
		return Fact[int64]{Err: fmt.Errorf(`page: no <div id="counter">N</div>`)}
	}
	v, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil {
		return Fact[int64]{Err: fmt.Errorf("page: %w", err)}
	}
	return Fact[int64]{V: v}
}
