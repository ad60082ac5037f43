// Package geobench measures what a user on each continent of the lab gets:
// page loads on new, resumed and warm connections, presses, and how fast a
// press reaches the open pages of the other continents, against the
// physical floor of the lab's WAN matrix.
//
// A Probe runs inside one client namespace of the lab (counterctl
// geobench-client) and measures with that process's clock; Run starts one
// per continent and merges what they saw.
package geobench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProbeConfig is what one continent's probe does; Run sends it as JSON on
// the probe's stdin.
type ProbeConfig struct {
	Continent string `json:"continent"`
	Node      string `json:"node"`     // the node the continent's users reach (Counter-Node)
	BaseURL   string `json:"base_url"` // https://ADDRESS or https://NAME
	// Resolver is the DNS server (host:port) that resolves BaseURL's name
	// afresh for every first-time load; empty: BaseURL is an address.
	Resolver string   `json:"resolver,omitempty"`
	CAFile   string   `json:"ca_file"`
	NodeAddr string   `json:"node_addr"` // the node's address, for the lab's own round trip (ICMP echo)
	BgURLs   []string `json:"bg_urls"`   // base URLs of the nodes that take this probe's share of the reads
	BgRate   float64  `json:"bg_rate"`   // background GET / per second, over BgURLs

	Loads      int           `json:"loads"`   // page loads on new connections (also: resumed, warm)
	Presses    int           `json:"presses"` // each by a newly registered user
	PressEvery time.Duration `json:"press_every"`
	PingEvery  time.Duration `json:"ping_every"` // ICMP echo to NodeAddr all through the run; 0: none
	Login      string        `json:"login"`      // prefix of the users' logins (unique per run)
	StartAt    time.Time     `json:"start_at"`   // when every probe starts measuring
	Run        time.Duration `json:"run"`        // longest measuring time
	Grace      time.Duration `json:"grace"`      // event watching after the last press
}

// Press is one measured press: the value it produced and when it was sent.
type Press struct {
	Value  int64   `json:"value"`
	SentNS int64   `json:"sent_ns"` // wall clock, shared by every namespace of the host
	MS     float64 `json:"ms"`
}

// Event is one value an open /events page received, and when.
type Event struct {
	Value int64 `json:"value"`
	AtNS  int64 `json:"at_ns"`
}

// BgStats is what the background load did.
type BgStats struct {
	Sent, OK, Failed, Skipped int
	Seconds                   float64
}

// ProbeResult is everything one probe measured, in milliseconds.
type ProbeResult struct {
	Continent string         `json:"continent"`
	NewConn   []float64      `json:"new_conn"`
	Resumed   []float64      `json:"resumed"`
	Warm      []float64      `json:"warm"`
	Register  []float64      `json:"register"`
	Ping      []float64      `json:"ping"`      // the lab's own round trip to the node, the peer
	PingLost  int            `json:"ping_lost"` // echoes not answered within pingLost
	Presses   []Press        `json:"presses"`
	Events    []Event        `json:"events"`
	ResumedOK int            `json:"resumed_ok"` // loads whose TLS session was resumed
	Protocols map[string]int `json:"protocols"`  // of the measured answers
	Nodes     map[string]int `json:"nodes"`      // Counter-Node of the measured answers
	Bg        BgStats        `json:"bg"`
	Errors    []string       `json:"errors"` // the first few, with their count in Failures
	Failures  int            `json:"failures"`
}

// Probe is one continent's measuring client.
type Probe struct {
	cfg   ProbeConfig
	roots *x509.CertPool
	host  string // BaseURL's host, for TLS and Host

	mu  sync.Mutex
	res ProbeResult
}

// NewProbe checks cfg and loads the CA the nodes' certificates must chain to.
func NewProbe(cfg ProbeConfig) (*Probe, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want scheme://host", cfg.BaseURL)
	}
	p := &Probe{cfg: cfg, host: u.Hostname(), res: ProbeResult{Continent: cfg.Continent,
		Protocols: map[string]int{}, Nodes: map[string]int{}}}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		p.roots = x509.NewCertPool()
		if !p.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no certificate", cfg.CAFile)
		}
	}
	return p, nil
}

// transport is a browser's connection pool: TLS 1.3 only, verified against
// the lab CA, HTTP/2 by ALPN, with the given session cache (nil: none, a
// first-time visitor).
func (p *Probe) transport(cache tls.ClientSessionCache) *http.Transport {
	return &http.Transport{
		DialContext:         p.dialer().DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS13, ClientSessionCache: cache},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// dialer connects as a first visit does: the name is looked up afresh.
func (p *Probe) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if p.cfg.Resolver != "" {
		// Go's resolver keeps no cache: every lookup is a real query to the
		// lab's DNS server, as a first visit would make.
		d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, p.cfg.Resolver)
		}}
	}
	return d
}

// fail counts a failure and keeps the first few messages.
func (p *Probe) fail(what string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Failures++
	if len(p.res.Errors) < 10 {
		p.res.Errors = append(p.res.Errors, what+": "+err.Error())
	}
}

// get loads the page with c and returns how long it took to the last byte.
func (p *Probe) get(ctx context.Context, c *http.Client) (time.Duration, *http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.BaseURL+"/", nil)
	if err != nil {
		return 0, nil, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET / answered %s", resp.Status)
	}
	return took, resp, err
}

// note records the protocol and node of a measured answer.
func (p *Probe) note(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Protocols[resp.Proto]++
	p.res.Nodes[resp.Header.Get("Counter-Node")]++
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pace waits d or until ctx ends, reporting whether to go on.
func pace(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// loads measures first-time page loads: a new transport each (DNS when the
// probe resolves a name, TCP, a full TLS 1.3 handshake, GET /).
func (p *Probe) loads(ctx context.Context, gap time.Duration) {
	for i := 0; i < p.cfg.Loads && pace(ctx, gap); i++ {
		tr := p.transport(nil)
		took, resp, err := p.get(ctx, &http.Client{Transport: tr})
		tr.CloseIdleConnections()
		if err != nil {
			p.fail("new connection", err)
			continue
		}
		p.note(resp)
		p.mu.Lock()
		p.res.NewConn = append(p.res.NewConn, ms(took))
		p.mu.Unlock()
	}
}

// resumed measures loads on a new connection by a returning visitor, whose
// browser kept the TLS session ticket from an earlier visit, and whose
// resolver still holds the name's address from it (within the record's TTL):
// so no DNS query, as the floor of this figure says.
func (p *Probe) resumed(ctx context.Context, gap time.Duration) {
	cache := tls.NewLRUClientSessionCache(4)
	prime := p.transport(cache)
	var remote string
	prime.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := p.dialer().DialContext(ctx, network, addr)
		if err == nil {
			remote = c.RemoteAddr().String()
		}
		return c, err
	}
	if _, _, err := p.get(ctx, &http.Client{Transport: prime}); err != nil {
		p.fail("resumption first visit", err)
	}
	prime.CloseIdleConnections()
	for i := 0; i < p.cfg.Loads && pace(ctx, gap); i++ {
		tr := p.transport(cache)
		if remote != "" {
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return p.dialer().DialContext(ctx, network, remote)
			}
		}
		took, resp, err := p.get(ctx, &http.Client{Transport: tr})
		tr.CloseIdleConnections()
		if err != nil {
			p.fail("resumed connection", err)
			continue
		}
		p.note(resp)
		p.mu.Lock()
		p.res.Resumed = append(p.res.Resumed, ms(took))
		if resp.TLS != nil && resp.TLS.DidResume {
			p.res.ResumedOK++
		}
		p.mu.Unlock()
	}
}

// warm measures loads on one kept-alive connection.
func (p *Probe) warm(ctx context.Context, c *http.Client, gap time.Duration) {
	for i := 0; i < p.cfg.Loads && pace(ctx, gap); i++ {
		took, resp, err := p.get(ctx, c)
		if err != nil {
			p.fail("warm", err)
			continue
		}
		p.note(resp)
		p.mu.Lock()
		p.res.Warm = append(p.res.Warm, ms(took))
		p.mu.Unlock()
	}
}

// post sends a form as the page's script does and returns the answer's body.
func (p *Probe) post(ctx context.Context, c *http.Client, path string, form url.Values) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("POST %s answered %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), nil
}

// presses registers a new user every PressEvery on the warm connection, as
// a visitor does from the open page, and times that user's one press. The
// schedule is fixed from the start, so a far continent's slower answers do
// not thin out its presses.
func (p *Probe) presses(ctx context.Context, tr http.RoundTripper) {
	for i := 0; i < p.cfg.Presses && pace(ctx, time.Until(p.cfg.StartAt.Add(time.Duration(i+1)*p.cfg.PressEvery))); i++ {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Transport: tr, Jar: jar}
		login := fmt.Sprintf("%s-%s-%d", p.cfg.Login, p.cfg.Continent, i)
		start := time.Now()
		if _, err := p.post(ctx, c, "/register", url.Values{"login": {login}, "password": {"geobench-" + login}}); err != nil {
			p.fail("register", err)
			continue
		}
		reg := time.Since(start)
		sent := time.Now()
		body, err := p.post(ctx, c, "/inc", url.Values{})
		took := time.Since(sent)
		if err != nil {
			p.fail("press", err)
			continue
		}
		v, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			p.fail("press", fmt.Errorf("answer %q is not a value", body))
			continue
		}
		p.mu.Lock()
		p.res.Register = append(p.res.Register, ms(reg))
		p.res.Presses = append(p.res.Presses, Press{Value: v, SentNS: sent.UnixNano(), MS: ms(took)})
		p.mu.Unlock()
	}
}

// Run measures until every count is reached or the run time is over, then
// keeps the events page open for the grace time, and returns the result.
func (p *Probe) Run(ctx context.Context) ProbeResult {
	events, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	opened := make(chan error, 1)
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		p.watch(events, opened)
	}()
	if err := <-opened; err != nil {
		p.fail("events", err)
	}

	warmTr := p.transport(tls.NewLRUClientSessionCache(4))
	warmC := &http.Client{Transport: warmTr}
	if _, _, err := p.get(ctx, warmC); err != nil { // the page the visitor has open
		p.fail("warm first load", err)
	}
	if !pace(ctx, time.Until(p.cfg.StartAt)) {
		return p.result()
	}
	// Every probe measures over the same span and watches past it, so the
	// last presses of the slowest continent are seen by every other page
	// and the background load lasts as long as the slowest measurement.
	end := p.cfg.StartAt.Add(p.cfg.Run)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	bgDone := make(chan BgStats, 1)
	go func() { bgDone <- p.background(runCtx) }()

	// Spread each kind of load evenly over about half the run, so that all
	// of them overlap the background load and each other.
	span := p.cfg.Run / 2
	gap := func(n int) time.Duration { return span / time.Duration(max(n, 1)) }
	var wg sync.WaitGroup
	wg.Go(func() { p.loads(runCtx, gap(p.cfg.Loads)) })
	wg.Go(func() { p.resumed(runCtx, gap(p.cfg.Loads)) })
	wg.Go(func() { p.warm(runCtx, warmC, gap(p.cfg.Loads)) })
	wg.Go(func() { p.presses(runCtx, warmTr) })
	wg.Go(func() { p.ping(runCtx, p.cfg.PingEvery) })
	wg.Wait()
	bg := <-bgDone
	pace(ctx, time.Until(end.Add(p.cfg.Grace)))
	stopEvents()
	<-evDone
	warmTr.CloseIdleConnections()
	p.mu.Lock()
	p.res.Bg = bg
	p.mu.Unlock()
	return p.result()
}

func (p *Probe) result() ProbeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res
}

// Encode writes r as JSON.
func (r ProbeResult) Encode(w io.Writer) error { return json.NewEncoder(w).Encode(r) }
