// Package load is the chaos suite's browser crowd: run inside one lab
// client namespace, it registers users through the nodes' HTTP as the page
// does, then has each press once at its moment, retrying an unknown outcome
// the way a user of the page does, while readers poll every node. Every
// request becomes one JSON line for the harness to judge.
package load

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
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

// Config is one client's share of a scenario's load.
type Config struct {
	Client string            `json:"client"` // label of the client (its continent), in every record
	Nodes  map[string]string `json:"nodes"`  // node name -> base URL (http:// or https://)
	CAFile string            `json:"ca_file,omitempty"`
	// Prefix makes the logins of one scenario fresh: a user presses once a day.
	Prefix   string   `json:"prefix"`
	Password string   `json:"password"`
	Users    int      `json:"users"`
	Register []string `json:"register"` // nodes to register on, round robin (the per-address throttle is per node)
	Press    []string `json:"press"`    // nodes to press on, round robin
	Read     []string `json:"read"`     // nodes a reader polls each
	// The presses are spread evenly over Duration from the start; unknown
	// outcomes are retried until Duration+Settle.
	Duration  time.Duration `json:"duration"`
	Settle    time.Duration `json:"settle"`
	ReadEvery time.Duration `json:"read_every"`
	Timeout   time.Duration `json:"timeout"` // per request
}

// Record is one request and its answer.
type Record struct {
	Kind     string    `json:"kind"` // register, login (after a lost register answer), press, read
	Client   string    `json:"client"`
	User     string    `json:"user,omitempty"`
	Node     string    `json:"node"`
	Attempt  int       `json:"attempt,omitempty"`
	Sent     time.Time `json:"sent"`
	Answered time.Time `json:"answered"`
	Status   int       `json:"status"` // 0: no HTTP answer (Err)
	Value    int64     `json:"value,omitempty"`
	HasValue bool      `json:"has_value,omitempty"`
	Earlier  string    `json:"earlier,omitempty"` // Counter-Earlier-Press
	Retry    int       `json:"retry_after,omitempty"`
	Body     string    `json:"body,omitempty"`
	Err      string    `json:"err,omitempty"`
	// Dial: no connection could be opened, so nothing was sent.
	Dial bool `json:"dial,omitempty"`
}

// Limits that keep a run bounded whatever the config says.
const (
	maxUsers    = 2000
	maxDuration = 10 * time.Minute
)

func (c *Config) validate() error {
	switch {
	case c.Users < 0 || c.Users > maxUsers:
		return fmt.Errorf("users %d: want 0 to %d", c.Users, maxUsers)
	case c.Duration <= 0 || c.Duration+c.Settle > maxDuration:
		return fmt.Errorf("duration %s + settle %s: want a positive total of at most %s", c.Duration, c.Settle, maxDuration)
	case c.Users > 0 && (len(c.Register) == 0 || len(c.Press) == 0):
		return errors.New("users need register and press nodes")
	case c.ReadEvery <= 0 && len(c.Read) > 0:
		return errors.New("read_every must be positive")
	case c.Timeout <= 0:
		return errors.New("timeout must be positive")
	}
	for _, n := range append(append(append([]string{}, c.Register...), c.Press...), c.Read...) {
		u, ok := c.Nodes[n]
		if !ok {
			return fmt.Errorf("node %q has no base URL", n)
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("node %s: base URL %q: want http:// or https://host", n, u)
		}
	}
	return nil
}

// Login is the login of user i of the config.
func (c *Config) Login(i int) string { return fmt.Sprintf("%s-%s-%d", c.Prefix, c.Client, i) }

// Run registers the users, says "registered" on ready, waits for a line on
// start, then runs the presses and reads, writing records to out. It
// returns when every press is answered and Duration has passed, or at
// Duration+Settle, or when ctx ends.
func Run(ctx context.Context, cfg Config, start io.Reader, ready io.Writer, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return fmt.Errorf("ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca file %s: no certificate", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	defer tr.CloseIdleConnections()
	w := &writer{enc: json.NewEncoder(out)}
	users := make([]*user, cfg.Users)
	for i := range users {
		jar, _ := cookiejar.New(nil)
		users[i] = &user{login: cfg.Login(i), jar: jar, c: &http.Client{Transport: tr, Jar: jar, Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	if err := register(ctx, cfg, users, w); err != nil {
		return err
	}
	fmt.Fprintf(ready, "registered %d\n", len(users))
	if _, err := bufio.NewReader(start).ReadString('\n'); err != nil {
		return fmt.Errorf("wait for the start line: %w", err)
	}
	t0 := time.Now()
	ctx, cancel := context.WithDeadline(ctx, t0.Add(cfg.Duration+cfg.Settle))
	defer cancel()
	readCtx, stopReads := context.WithDeadline(ctx, t0.Add(cfg.Duration))
	defer stopReads()
	var wg sync.WaitGroup
	reader := &http.Client{Transport: tr, Timeout: cfg.Timeout}
	for _, n := range cfg.Read {
		wg.Go(func() { readLoop(readCtx, cfg, reader, n, w) })
	}
	var presses sync.WaitGroup
	for i, u := range users {
		at := t0.Add(cfg.Duration * time.Duration(i) / time.Duration(max(1, len(users))))
		presses.Go(func() { press(ctx, cfg, u, pressOrder(cfg.Press, i), at, w) })
	}
	presses.Wait()
	wg.Wait()
	return w.err
}

type user struct {
	login string
	jar   http.CookieJar
	c     *http.Client
}

// writer serialises records from many goroutines.
type writer struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

func (w *writer) put(r Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(r); err != nil && w.err == nil {
		w.err = err
	}
}

// register signs every user up, 16 at a time: password hashing is the
// nodes' cost, and the harness starts the fault only after all are in.
func register(ctx context.Context, cfg Config, users []*user, w *writer) error {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for i, u := range users {
		node := cfg.Register[i%len(cfg.Register)]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			form := url.Values{"login": {u.login}, "password": {cfg.Password}}
			var last Record
			// A throttled or unavailable registration is tried again: the
			// scenario needs every user in before the fault.
			for attempt := 1; attempt <= 5; attempt++ {
				r := post(ctx, u.c, cfg.Nodes[node], "/register", form)
				r.Kind, r.Client, r.User, r.Node, r.Attempt = "register", cfg.Client, u.login, node, attempt
				w.put(r)
				last = r
				if r.Status == http.StatusConflict && attempt > 1 {
					// An earlier attempt that timed out did register the
					// user: log in, as the user told "taken" would.
					r = post(ctx, u.c, cfg.Nodes[node], "/", form)
					r.Kind, r.Client, r.User, r.Node, r.Attempt = "login", cfg.Client, u.login, node, attempt
					w.put(r)
					if r.Status == http.StatusOK {
						r.Status = http.StatusCreated
					}
					last = r
				}
				if r.Status == http.StatusCreated {
					// The session is the cluster's, not the node's: the
					// user presses on their continent's node with it, as
					// a browser does behind one front-door name.
					// Every node of the continent: the user's browser
					// may be sent to any of them (pressOrder).
					from, _ := url.Parse(cfg.Nodes[node])
					for _, n := range cfg.Press {
						to, _ := url.Parse(cfg.Nodes[n])
						u.jar.SetCookies(to, u.jar.Cookies(from))
					}
					return
				}
				if r.Status != http.StatusTooManyRequests && r.Status != http.StatusServiceUnavailable && r.Status != 0 {
					break
				}
				if sleep(ctx, time.Duration(max(1, r.Retry))*time.Second) != nil {
					break
				}
			}
			mu.Lock()
			failed = append(failed, fmt.Sprintf("%s on %s: %d %s%s", u.login, node, last.Status, last.Body, last.Err))
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d users could not register (e.g. %s)", len(failed), len(users), strings.Join(failed[:min(3, len(failed))], "; "))
	}
	return nil
}

// pressOrder is the order in which user i's browser tries the press nodes
// (its continent's): the user's own node first, the next ones when a node
// cannot be reached. That is a browser behind the continent's front-door
// name (`<continent>.<service>`, one address per healthy node): when it
// cannot connect to one address it connects to the next within the same
// request, and after a request that got no answer it may land on another.
// Users are spread over the nodes as before.
func pressOrder(nodes []string, i int) []string {
	k := i % len(nodes)
	return append(append([]string{}, nodes[k:]...), nodes[:k]...)
}

// press presses once at `at` and then, while the outcome is unknown (a 503
// with Retry-After, or no HTTP answer at all), again after the delay the
// server asked for, as the page tells its user to: a press never counts
// twice, so the retry either reports the earlier press or counts now.
// Nodes are tried in the order of pressOrder: one that cannot be connected
// to is recorded as a "connect" and the next one is tried at once, in the
// same attempt (nothing was sent); a retry after no HTTP answer goes to the
// next node; a 503 is retried on the node that answered it.
func press(ctx context.Context, cfg Config, u *user, nodes []string, at time.Time, w *writer) {
	if sleep(ctx, time.Until(at)) != nil {
		return
	}
	next := 0
	for attempt := 1; ; attempt++ {
		var r Record
		for tried := 1; ; tried++ {
			node := nodes[next%len(nodes)]
			r = post(ctx, u.c, cfg.Nodes[node], "/inc", nil)
			r.Kind, r.Client, r.User, r.Node, r.Attempt = "press", cfg.Client, u.login, node, attempt
			if !r.Dial || tried >= len(nodes) || ctx.Err() != nil {
				break
			}
			r.Kind = "connect"
			w.put(r)
			next++
		}
		if ctx.Err() != nil && r.Status == 0 {
			return // the run's end cut this attempt: not an answer
		}
		w.put(r)
		var wait time.Duration
		switch {
		case r.Status == http.StatusServiceUnavailable && r.Retry > 0:
			wait = time.Duration(r.Retry) * time.Second
		case r.Status == 0:
			wait = time.Second // "Network error, please try again."
			next++
		default:
			return // 200, 429, "not counted" or another definitive answer
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// readLoop polls one node's value, as the page's readers would see it.
func readLoop(ctx context.Context, cfg Config, c *http.Client, node string, w *writer) {
	tick := time.NewTicker(cfg.ReadEvery)
	defer tick.Stop()
	for {
		r := Record{Kind: "read", Client: cfg.Client, Node: node, Sent: time.Now()}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Nodes[node]+"/getvalue", nil)
		if err == nil {
			r = do(c, req, r)
		}
		if ctx.Err() != nil {
			return
		}
		w.put(r)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// post sends a form as the page's fetch does: same-origin, urlencoded.
func post(ctx context.Context, c *http.Client, base, path string, form url.Values) Record {
	r := Record{Sent: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Accept", "*/*")
	return do(c, req, r)
}

func do(c *http.Client, req *http.Request, r Record) Record {
	resp, err := c.Do(req)
	r.Answered = time.Now()
	if err != nil {
		r.Err = err.Error()
		var op *net.OpError
		r.Dial = errors.As(err, &op) && op.Op == "dial"
		return r
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	r.Answered = time.Now()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Status = resp.StatusCode
	body := strings.TrimSpace(string(b))
	if v, err := strconv.ParseInt(body, 10, 64); err == nil && resp.StatusCode == http.StatusOK {
		r.Value, r.HasValue = v, true
	} else if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		r.Body = body
	}
	r.Earlier = resp.Header.Get("Counter-Earlier-Press")
	r.Retry, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ReadRecords parses a file of records.
func ReadRecords(r io.Reader) ([]Record, error) {
	var rs []Record
	dec := json.NewDecoder(r)
	for {
		var rec Record
		if err := dec.Decode(&rec); errors.Is(err, io.EOF) {
			return rs, nil
		} else if err != nil {
			return rs, fmt.Errorf("record %d: %w", len(rs)+1, err)
		}
		rs = append(rs, rec)
	}
}
