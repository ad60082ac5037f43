package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"counter/daemon/store"
)

// register creates a user and, with sessions, logs them in.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if err := s.throttle(r, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := newCredentials(r)
	if err == nil {
		err = s.store.Register(r.Context(), c.login, c.password)
	}
	if err == nil && s.cfg.AuthMode == AuthCookie {
		err = s.startSession(w, r, store.Account{ID: store.FoldLogin(c.login), Name: c.login})
	}
	if err != nil {
		s.fail(w, r, attempting("register", err))
		return
	}
	s.log.InfoContext(r.Context(), "registered", "login", c.login)
	s.done(w, r, http.StatusCreated, "registered "+c.login)
}

// login checks credentials and, with sessions, starts one.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	c, err := loginCredentials(r)
	if err == nil {
		err = s.throttle(r, c.login)
	}
	var acct store.Account
	if err == nil {
		acct, err = s.store.CheckPassword(r.Context(), c.login, c.password)
	}
	if err == nil && s.cfg.AuthMode == AuthCookie {
		err = s.startSession(w, r, acct)
	}
	if err != nil {
		s.fail(w, r, attempting("log in", err))
		return
	}
	s.done(w, r, http.StatusOK, "logged in as "+acct.Name)
}

// logout clears both cookies, whatever happens next: a browser whose user
// logged out must not stay logged in because Redis had a bad moment. It then
// ends the session on the master, or, when the master does not take it, has
// the store end it once the master answers (refused on this node meanwhile).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.setCookies(w, "", "", -1)
	msg := "logged out"
	if ck, err := r.Cookie(sessionCookie); err == nil && validToken(ck.Value) {
		err := s.store.DeleteSession(r.Context(), ck.Value)
		switch {
		case err == nil || errors.Is(err, errNoSession):
		case errors.Is(err, errSessionEndQueued):
			s.log.DebugContext(r.Context(), "logout queued", slog.Any("err", err))
			msg = "logged out in this browser; the database master did not answer, so the server ends the session as soon as it does"
		default:
			// Not a store.Store outcome (it queues every failure); the cookies are gone all the same.
			s.log.ErrorContext(r.Context(), "logout failed", slog.Any("err", err))
			msg = "logged out in this browser; the server could not end the session, it expires by itself"
		}
	}
	s.done(w, r, http.StatusOK, msg)
}

// inc adds one for the authenticated user. A press whose earlier answer was
// lost (503 outcome unknown) is answered like the original: 200 and the value
// it produced, marked with earlierPressHeader; the counter did not move again.
func (s *Server) inc(w http.ResponseWriter, r *http.Request) {
	var p store.Press
	var err error
	if s.cfg.AuthMode == AuthPerRequest {
		var c credentials
		c, err = requestCredentials(r)
		if err == nil {
			err = s.throttle(r, c.login)
		}
		var acct store.Account
		if err == nil {
			acct, err = s.store.CheckPassword(r.Context(), c.login, c.password)
		}
		if err == nil {
			p, err = s.store.IncrementLogin(r.Context(), acct.ID)
		}
	} else {
		ck, cerr := r.Cookie(sessionCookie)
		if cerr != nil || !validToken(ck.Value) {
			err = errNoSession
		} else {
			p, err = s.store.IncrementSession(r.Context(), ck.Value)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p.Earlier {
		w.Header().Set(earlierPressHeader, p.At.UTC().Format(time.RFC3339Nano))
	} else {
		s.metrics.increments.Inc()
	}
	s.done(w, r, http.StatusOK, strconv.FormatInt(p.Value, 10))
}

// earlierPressHeader marks an answer to /inc that reports the user's earlier
// press (its time, RFC 3339, the master's clock) rather than a new one.
const earlierPressHeader = "Counter-Earlier-Press"

// throttle counts a login attempt for the client address and, if given, the
// login: over the address or (login, address) limit it refuses; over the
// per-login limit it waits before answering, never refusing, so that strangers
// guessing a login cannot lock its owner out.
func (s *Server) throttle(r *http.Request, login string) error {
	addr := clientKey(r.RemoteAddr)
	if ok, wait := s.byAddr.allow(addr); !ok {
		return &throttledError{wait}
	}
	if login == "" {
		return nil
	}
	// Folded as stored, so ALICE and alice share their limits; "\x00" cannot
	// occur in either part.
	login = store.FoldLogin(login)
	if ok, wait := s.byPair.allow(login + "\x00" + addr); !ok {
		return &throttledError{wait}
	}
	if d := loginDelay(s.byLogin.add(login)); d > 0 {
		if err := s.pause(r.Context(), d); err != nil {
			return fmt.Errorf("login delay: %w", err)
		}
	}
	return nil
}

// loginDelay is the wait for an attempt on a login that `before` other
// attempts on it, from anywhere, preceded in the window.
func loginDelay(before int) time.Duration {
	over := before - attemptsPerLogin + 1
	if over <= 0 {
		return 0
	}
	return min(time.Duration(over)*loginDelayStep, maxLoginDelay)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// clientKey is what the per-address throttle counts: the IPv4 address, or the
// IPv6 /64, since one IPv6 client usually holds a whole /64.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// startSession starts a session for acct and shows its name as registered.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, acct store.Account) error {
	token, err := s.store.NewSession(r.Context(), acct.ID)
	if err != nil {
		return err
	}
	s.setCookies(w, token, acct.Name, int(s.cfg.SessionTTL/time.Second))
	return nil
}

// setCookies sets (maxAge > 0) or clears (maxAge < 0) the session and display cookies.
func (s *Server) setCookies(w http.ResponseWriter, token, login string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.TLS(), SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: displayCookie, Value: login, Path: "/", MaxAge: maxAge,
		Secure: s.cfg.TLS(), SameSite: http.SameSiteStrictMode})
}

// validToken bounds what a session cookie may hold before it reaches Redis.
func validToken(t string) bool {
	if len(t) == 0 || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// done answers a successful POST: the message for scripts, back to the page for plain forms.
func (s *Server) done(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if isFormNavigation(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	w.Header()["Content-Type"] = plainType
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}
