// Package daemon is counterd: the counter page and API served from Redis.
//
// Reads come from the local Redis node (--redis), held in memory by
// counter/daemon/store; writes (register, sessions, increments) go to the
// master (--master). Routes are listed in routes.go:
//
//	GET  /          the page, pre-rendered per value (page.go): same bytes for all
//	GET  /getvalue  the value, digits and a newline
//	GET  /events    Server-Sent Events: the value on connect and on every change,
//	                event "stale" (1/0) when it passes --max-staleness and back
//	POST /register  login, password -> 201 (+ session cookie in cookie mode)
//	POST /          login, password -> 200 (+ session cookie), 303 for plain forms
//	POST /inc       +1 once per 24 h -> 200 value | 401 | 429 Retry-After | 503;
//	                a press whose answer was lost (503 outcome unknown) is
//	                answered by its retry: 200, its value, Counter-Earlier-Press
//	POST /logout    clears the cookies; ends the session now or when the master is back
//	GET  /healthz /readyz
//	GET  /metrics, on the --metrics-listen address only
//
// Two HTTP stacks serve one handler (fast.go): plain HTTP is fasthttp, which
// answers GET and HEAD of /, /getvalue and /healthz itself and hands event
// streams to the hub, and passes every other request through fasthttpadaptor
// to the net/http handler; TLS is net/http (HTTP/2). TestRoutes runs each case
// on both.
//
// Errors become HTTP statuses in one place, statusOf in errors.go. The page's
// script and style are inline and allowed by their sha256 in the CSP, so
// page.js and page.css must be served byte for byte as embedded.
//
// Event streams (events.go, stream.go): HTTP/1.1 connections are hijacked
// and written by one broadcaster, so an open page costs a socket and a parked
// reader goroutine, not a handler; HTTP/2 streams run a handler each.
//
// Run parses flags, $COUNTERD_* and the --config YAML file (config.go); Start
// runs the whole daemon on any address, which tests use with 127.0.0.1:0.
package daemon
