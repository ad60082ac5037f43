package daemon

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// badRequest is input we refuse, with the reason shown to the user.
type badRequest struct{ reason string }

func (e *badRequest) Error() string { return e.reason }

// Errors the handlers and middleware raise themselves.
var (
	errCrossOrigin    = errors.New("cross-origin request refused")
	errTooManyStreams = errors.New("too many open event streams")
	// errCatchingUp: no value read from Redis counts as current yet (counterd
	// just started, or its replica has not synced since its Redis restarted).
	errCatchingUp = errors.New("catching up")
)

// attemptError names what the user was doing when err happened, so that a
// 503 says what cannot be done right now ("cannot log in right now").
type attemptError struct {
	action string // completes "cannot ... right now"
	err    error
}

func (e *attemptError) Error() string { return e.action + ": " + e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// attempting wraps a non-nil err with the action the user attempted.
func attempting(action string, err error) error {
	if err == nil {
		return nil
	}
	return &attemptError{action: action, err: err}
}

// throttledError is a client that tried to log in too often.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string { return "too many login attempts" }

// Messages users see; one for unknown login and wrong password alike.
const (
	msgBadCredentials = "wrong login or password"
	msgNoSession      = "please log in first"
	msgDatabase       = "the database did not answer, please try again later"
	msgNotAProxy      = "CONNECT is not served: this is not a proxy"
	// A press whose script was refused by the master (an error reply): it did not run.
	msgMaster = "your press was not counted: the counter cannot be changed right now, its database master is unavailable; reading still works, please try again later"
	// A press sent to the master whose answer did not come back in time: it
	// may have counted. Never "not counted" (issue 13: users told that
	// retried and were refused for 24 hours).
	msgOutcomeUnknown = "no answer from the database master in time, so it is not known yet whether your press counted; press again in a moment to find out (a press never counts twice)"
)

// catchingUpRetryAfter is the Retry-After while a node catches up: a full
// sync of the counter's data takes about a second.
const catchingUpRetryAfter = time.Second

// outcomeRetryAfter is the Retry-After of an unknown press: a guess at how
// soon the master answers again; an earlier retry is harmless.
const outcomeRetryAfter = 3 * time.Second

// movingRetryAfter is the Retry-After of a write refused while the master
// moves (READONLY, NOREPLICAS): a switchover's write pause lasts about 5 s
// on a loaded lab, of which the press already waited up to its own time;
// a promoted master's replicas attach within a sentinel INFO period and a
// replica's acknowledgement (1 s each); a fenced master is failed over from
// in a few seconds.
const movingRetryAfter = 2 * time.Second

// masterRetryAfter is the Retry-After of a write the master did not take:
// known only when it refused for a reason a failover under way clears. A
// master that cannot be reached at all makes no such promise.
func masterRetryAfter(err error) time.Duration {
	if errors.Is(err, errMasterMoving) {
		return movingRetryAfter
	}
	return 0
}

// msgUnavailable is the 503 of an action other than a press while the master is unavailable.
func msgUnavailable(action string) string {
	return "cannot " + action + " right now: the database master is unreachable; reading still works, please try again later"
}

// statusOf maps an error to the HTTP status, the message shown and the Retry-After delay.
// It is the only place that knows which error means which status.
func statusOf(err error) (code int, msg string, retry time.Duration) {
	var (
		bad     *badRequest
		tooBig  *http.MaxBytesError
		soon    *tooSoonError
		throttl *throttledError
		attempt *attemptError
	)
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.reason, 0
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "request body too large", 0
	case errors.Is(err, errCrossOrigin):
		return http.StatusForbidden, "cross-origin request refused", 0
	case errors.Is(err, errTooManyStreams):
		return http.StatusServiceUnavailable, "too many open event streams, please try again later", 10 * time.Second
	case errors.Is(err, errCatchingUp):
		return http.StatusServiceUnavailable, "catching up: this node has no current value yet, please try again in a moment", catchingUpRetryAfter
	case errors.Is(err, errHubClosed):
		return http.StatusServiceUnavailable, "shutting down", 0
	case errors.Is(err, errExists):
		return http.StatusConflict, "this login is taken", 0
	case errors.Is(err, errBadCredentials):
		return http.StatusUnauthorized, msgBadCredentials, 0
	case errors.Is(err, errNoSession):
		return http.StatusUnauthorized, msgNoSession, 0
	case errors.As(err, &soon):
		return http.StatusTooManyRequests, "you can press the button once every 24 hours", soon.RetryAfter
	case errors.As(err, &throttl):
		return http.StatusTooManyRequests, "too many login attempts, please wait", throttl.retryAfter
	case errors.Is(err, errOutcomeUnknown):
		return http.StatusServiceUnavailable, msgOutcomeUnknown, outcomeRetryAfter
	case errors.Is(err, errMasterUnavailable) && errors.As(err, &attempt):
		return http.StatusServiceUnavailable, msgUnavailable(attempt.action), masterRetryAfter(err)
	case errors.Is(err, errMasterUnavailable):
		return http.StatusServiceUnavailable, msgMaster, masterRetryAfter(err)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, new(*net.OpError)):
		return http.StatusServiceUnavailable, msgDatabase, 0
	}
	return http.StatusInternalServerError, "internal error", 0
}

// fail answers a request with the status err maps to: plain text for scripts,
// a small page for a browser that posted a form without JavaScript.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg, retry := statusOf(err)
	switch {
	case code == http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "request failed", slog.String("route", r.Pattern), slog.Any("err", err))
	case code == http.StatusServiceUnavailable:
		// Outages are logged (once) by the store; per request is only for debugging.
		s.log.DebugContext(r.Context(), "request failed", slog.String("route", r.Pattern), slog.Any("err", err))
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retry.Seconds())), 10))
	}
	// Only to clients that used Basic: on a fetch of the page's form it would make
	// browsers pop up their own login dialog.
	if code == http.StatusUnauthorized && s.cfg.AuthMode == AuthPerRequest && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="counter", charset="UTF-8"`)
	}
	if isFormNavigation(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = errorPage.Execute(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// isFormNavigation tells a plain HTML form post (no JavaScript) from a fetch.
func isFormNavigation(r *http.Request) bool {
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Global counter</title></head>
<body><p>{{.}}</p><p><a href="/">Back to the counter</a></p></body></html>
`))
