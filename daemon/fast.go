package daemon

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// The plain-HTTP listener is served by fasthttp. Reads outnumber writes by
// orders of magnitude, and on one core net/http's own per-request cost held
// GET / to 0.66× a static nginx (docs/bench.md); fasthttp reuses its request
// and response objects and does 1.1× on the same placement. So the read routes
// (GET and HEAD of /, /getvalue, /healthz) and the event stream's hand-over are
// served here natively, and every other request goes through fasthttpadaptor
// to the same net/http handler that TLS uses: one implementation of the forms,
// sessions, errors and middleware, which TestRoutes runs over both stacks.
// TLS stays on net/http for HTTP/2.
//
// Where the stacks differ, harmlessly for this API: fasthttp answers a request
// for "//getvalue" as "/getvalue" where net/http redirects to the clean path,
// and it accepts an HTTP/1.1 request without Host, which net/http refuses (400).

// fastRoutes are the routes fasthttp serves without net/http, and its refusals.
type fastRoutes struct {
	s                        *Server
	headers                  [][2][]byte // the security headers, ready to copy
	fallback                 fasthttp.RequestHandler
	log                      *slog.Logger // the listener's, for refusals
	page, value, health, evs *routeMetrics
}

func (s *Server) fastRoutes() *fastRoutes {
	fr := &fastRoutes{s: s, fallback: fasthttpadaptor.NewFastHTTPHandler(s.handler),
		page: s.metrics.forRoute("page"), value: s.metrics.forRoute("getvalue"),
		health: s.metrics.forRoute("healthz"), evs: s.metrics.forRoute("events")}
	for k, vs := range s.headers {
		for _, v := range vs {
			fr.headers = append(fr.headers, [2][]byte{[]byte(k), []byte(v)})
		}
	}
	return fr
}

func (fr *fastRoutes) serve(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		fr.adapt(ctx)
		return
	}
	start := time.Now()
	switch string(ctx.Path()) { // the compiler does not allocate for this conversion
	case "/":
		v, confirmed := fr.s.store.Value()
		if confirmed.IsZero() { // catching up: net/http answers the 503
			fr.adapt(ctx)
			return
		}
		fr.write(ctx, htmlType[0], fr.s.pages.html(v, confirmed, fr.s.now()).body)
		fr.page.observe(http.StatusOK, time.Since(start))
	case "/getvalue":
		v, confirmed := fr.s.store.Value()
		if confirmed.IsZero() {
			fr.adapt(ctx)
			return
		}
		fr.write(ctx, plainType[0], fr.s.pages.text(v).body)
		fr.value.observe(http.StatusOK, time.Since(start))
	case "/healthz":
		fr.write(ctx, plainType[0], healthzBody)
		fr.health.observe(http.StatusOK, time.Since(start))
	case "/events":
		// HEAD, and the refusal past the cap, are net/http's to answer.
		// A stream held while catching up waits in net/http's handler.
		if !ctx.IsGet() || fr.s.hub.Clients() >= fr.s.maxStreams || !fr.s.hasValue() {
			fr.adapt(ctx)
			return
		}
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(c net.Conn) {
			// The raw connection, not fasthttp's wrapper: the wrapper keeps the
			// request's read buffer alive for as long as the stream lasts. An
			// event stream client sends nothing after its request.
			if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
				c = u.UnsafeConn()
			}
			fr.s.attachStream(c)
		})
		fr.evs.observe(http.StatusOK, time.Since(start))
	default:
		fr.adapt(ctx)
	}
}

// adapt hands a request to the net/http handler. What the adaptor cannot
// convert to a net/http request it would answer 500, without the security
// headers, logging the whole URI twice: net/http refuses the same with 400.
func (fr *fastRoutes) adapt(ctx *fasthttp.RequestCtx) {
	if ctx.IsConnect() {
		// Before parsing: "CONNECT 127.0.0.1:80" does not parse, "CONNECT a.example:80" does.
		fr.badRequest(ctx, msgNotAProxy)
		return
	}
	if _, err := url.ParseRequestURI(string(ctx.RequestURI())); err != nil {
		fr.badRequest(ctx, "malformed request target")
		return
	}
	fr.fallback(ctx)
}

// badRequest refuses a request the handlers never see, logging (at debug) a bounded part of it.
func (fr *fastRoutes) badRequest(ctx *fasthttp.RequestCtx, msg string) {
	fr.log.Debug("bad request", "remote", ctx.RemoteAddr().String(),
		"method", capText(string(ctx.Method()), maxLoggedText),
		"target", capText(string(ctx.RequestURI()), maxLoggedText), "reason", msg)
	fr.answer(ctx, http.StatusBadRequest, msg)
}

// write answers 200 with a body that is never modified (pre-rendered), so it is not copied.
func (fr *fastRoutes) write(ctx *fasthttp.RequestCtx, contentType string, body []byte) {
	fr.setHeaders(ctx, contentType)
	ctx.Response.Header.SetCanonical(cacheControl, noCacheValue)
	ctx.Response.SetBodyRaw(body)
}

// setHeaders sets the security headers and the content type.
func (fr *fastRoutes) setHeaders(ctx *fasthttp.RequestCtx, contentType string) {
	h := &ctx.Response.Header
	for _, kv := range fr.headers {
		h.SetCanonical(kv[0], kv[1])
	}
	h.SetContentType(contentType)
}

var (
	cacheControl = []byte("Cache-Control")
	noCacheValue = []byte(noCache[0])
)

// refuse answers requests fasthttp refuses before any handler runs: a body
// over maxBody, a header over maxHeaderBytes, a read timeout, a malformed request.
func (fr *fastRoutes) refuse(ctx *fasthttp.RequestCtx, err error) {
	code, msg := http.StatusBadRequest, "malformed request"
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code, msg = http.StatusRequestEntityTooLarge, "request body too large"
	case errors.As(err, &small):
		code, msg = http.StatusRequestHeaderFieldsTooLarge, "request header too large"
	case errors.As(err, &netErr) && netErr.Timeout():
		code, msg = http.StatusRequestTimeout, "request timeout"
	}
	fr.answer(ctx, code, msg)
}

// answer sends code with msg as a plain-text body and the security headers.
func (fr *fastRoutes) answer(ctx *fasthttp.RequestCtx, code int, msg string) {
	fr.setHeaders(ctx, plainType[0])
	ctx.SetStatusCode(code)
	ctx.SetBodyString(msg + "\n")
}

// fastServer is the fasthttp server of the plain-HTTP listener, with the same
// limits as the net/http one.
func (d *Daemon) fastServer(s *Server) *fasthttp.Server {
	fr := s.fastRoutes()
	fr.log = d.log
	return &fasthttp.Server{
		Handler:                      fr.serve,
		ErrorHandler:                 fr.refuse,
		Logger:                       serverLog(d.log), // capped: fasthttp quotes request URIs
		ReadTimeout:                  d.timeouts.read,  // from the first byte of a request to its end
		WriteTimeout:                 d.timeouts.write,
		IdleTimeout:                  d.timeouts.idle,
		ReadBufferSize:               maxHeaderBytes, // also the largest request header
		MaxRequestBodySize:           maxBody,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		KeepHijackedConns:            true, // event streams belong to the hub, which closes them
		SecureErrorLogMessage:        true, // never log request contents
		DisablePreParseMultipartForm: true,
	}
}
