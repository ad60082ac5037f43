package daemon

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strconv"
	"sync/atomic"
	"time"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.js
	pageScript string
	//go:embed page.css
	pageStyle string
)

// cspHash is the CSP source that allows exactly one inline element with this content.
func cspHash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// contentSecurityPolicy allows the page's own inline script and style and nothing else.
func contentSecurityPolicy() string {
	return "default-src 'none'; script-src " + cspHash(pageScript) + "; style-src " + cspHash(pageStyle) +
		"; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// rendered is a response body computed once and served to every visitor.
type rendered struct {
	value  int64
	stale  bool
	body   []byte
	length []string // Content-Length header value
}

// pages pre-renders the page and /getvalue body when the value (or its freshness) changes,
// so a GET costs one atomic load and one write.
type pages struct {
	tmpl         *template.Template
	authMode     string
	maxStaleness time.Duration
	page, plain  atomic.Pointer[rendered]
}

func newPages(authMode string, maxStaleness time.Duration) *pages {
	t := template.Must(template.New("page").Parse(pageHTML))
	return &pages{tmpl: t, authMode: authMode, maxStaleness: maxStaleness}
}

// html returns the page for value v confirmed at the given time.
func (p *pages) html(v int64, confirmed, now time.Time) *rendered {
	stale := now.Sub(confirmed) > p.maxStaleness
	if r := p.page.Load(); r != nil && r.value == v && r.stale == stale {
		return r
	}
	var buf bytes.Buffer
	err := p.tmpl.Execute(&buf, struct {
		Value      int64
		Stale      bool
		AuthMode   string
		PerRequest bool
		Script     template.JS
		Style      template.CSS
	}{v, stale, p.authMode, p.authMode == AuthPerRequest, template.JS(pageScript), template.CSS(pageStyle)})
	if err != nil {
		// The template is fixed and its data are numbers: this is a programming error.
		panic(fmt.Sprintf("render page: %v", err))
	}
	r := &rendered{value: v, stale: stale, body: buf.Bytes(), length: []string{strconv.Itoa(buf.Len())}}
	p.page.Store(r)
	return r
}

// text returns the /getvalue body for value v.
func (p *pages) text(v int64) *rendered {
	if r := p.plain.Load(); r != nil && r.value == v {
		return r
	}
	b := strconv.AppendInt(nil, v, 10)
	b = append(b, '\n')
	r := &rendered{value: v, body: b, length: []string{strconv.Itoa(len(b))}}
	p.plain.Store(r)
	return r
}
