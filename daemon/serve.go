package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// timeouts of the HTTP servers. /events lifts the read and write ones for its own stream.
type timeouts struct{ readHeader, read, write, idle time.Duration }

// maxHeaderBytes caps a request's header, as nginx's large_client_header_buffers does.
const maxHeaderBytes = 8 << 10

var defaultTimeouts = timeouts{readHeader: 5 * time.Second, read: 10 * time.Second,
	write: 10 * time.Second, idle: 2 * time.Minute}

// Daemon holds counterd's listeners: open them first, so a bad address fails at
// once and tests can listen on 127.0.0.1:0 and ask Addr.
type Daemon struct {
	cfg        Config
	log        *slog.Logger
	ln         net.Listener
	redirectLn net.Listener // nil without --http-redirect-addr
	metricsLn  net.Listener // nil without --metrics-listen
	tls        *tls.Config  // nil without TLS
	timeouts   timeouts
}

// Listen opens the listeners cfg names and loads the TLS certificate.
func Listen(cfg Config, log *slog.Logger) (*Daemon, error) {
	d := &Daemon{cfg: cfg, log: log, timeouts: defaultTimeouts}
	if cfg.TLS() {
		certs, err := newCertReloader(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, err
		}
		d.tls = &tls.Config{GetCertificate: certs.getCertificate, MinVersion: tls.VersionTLS12}
	}
	// One count per address across the listeners: they share the file limit.
	conns := newAddrConns(cfg.MaxConnsPerIP, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	d.ln = guardListener(ln, conns, log)
	if cfg.HTTPRedirectAddr != "" {
		rln, err := net.Listen("tcp", cfg.HTTPRedirectAddr)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("listen for redirects: %w", err)
		}
		d.redirectLn = guardListener(rln, conns, log)
	}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("listen for metrics: %w", err)
		}
		d.metricsLn = guardListener(mln, conns, log)
	}
	return d, nil
}

// MetricsAddr is the /metrics listener's address, or nil.
func (d *Daemon) MetricsAddr() net.Addr {
	if d.metricsLn == nil {
		return nil
	}
	return d.metricsLn.Addr()
}

// Addr is the address the main listener took.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// RedirectAddr is the plain HTTP redirect listener's address, or nil.
func (d *Daemon) RedirectAddr() net.Addr {
	if d.redirectLn == nil {
		return nil
	}
	return d.redirectLn.Addr()
}

// URL is the address to browse to.
func (d *Daemon) URL() string {
	scheme := "http"
	if d.tls != nil {
		scheme = "https"
	}
	return scheme + "://" + browsable(d.ln.Addr()) + "/"
}

func browsable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Close releases listeners of a Daemon that will not Serve.
func (d *Daemon) Close() {
	for _, ln := range []net.Listener{d.ln, d.redirectLn, d.metricsLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Serve serves s until ctx ends, then drains: stop accepting, end event streams,
// let in-flight requests finish within --shutdown-timeout.
func (d *Daemon) Serve(ctx context.Context, s *Server) error {
	var shutdowns []func(context.Context) error
	errc := make(chan error, 3)
	if d.tls != nil {
		srv := d.httpServer(s)
		srv.TLSConfig = d.tls
		shutdowns = append(shutdowns, shutdownHTTP(srv))
		go func() { errc <- srv.ServeTLS(d.ln, "", "") }()
	} else {
		fs := d.fastServer(s)
		shutdowns = append(shutdowns, fs.ShutdownWithContext)
		go func() { errc <- fs.Serve(d.ln) }()
	}
	if d.redirectLn != nil {
		rs := d.httpServer(s.nodeHeader(redirectHandler(s, d.ln.Addr())))
		shutdowns = append(shutdowns, shutdownHTTP(rs))
		go func() { errc <- rs.Serve(d.redirectLn) }()
	}
	if d.metricsLn != nil {
		ms := d.httpServer(s.metricsRoutes())
		shutdowns = append(shutdowns, shutdownHTTP(ms))
		go func() { errc <- ms.Serve(d.metricsLn) }()
		d.log.Info("serving metrics", "url", "http://"+browsable(d.metricsLn.Addr())+"/metrics")
	}
	go s.watchFreshness(ctx)
	d.log.Info("serving", "url", d.URL())

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	}
	d.log.Info("shutting down", "timeout", d.cfg.ShutdownTimeout)
	s.hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	for _, shutdown := range shutdowns {
		if serr := shutdown(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("drain: %w", serr))
		}
	}
	return err
}

// shutdownHTTP drains srv, and closes what is left when the drain times out.
func shutdownHTTP(srv *http.Server) func(context.Context) error {
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if err != nil {
			srv.Close()
		}
		return err
	}
}

func (d *Daemon) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: d.timeouts.readHeader,
		ReadTimeout:       d.timeouts.read,
		WriteTimeout:      d.timeouts.write,
		IdleTimeout:       d.timeouts.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          serverLog(d.log),
	}
}

// nodeHeader names the node on answers that bypass the security headers
// (redirects to HTTPS carry no page, so only this one).
func (s *Server) nodeHeader(next http.Handler) http.Handler {
	node := s.headers[counterNodeHeader]
	if node == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()[counterNodeHeader] = node
		next.ServeHTTP(w, r)
	})
}

// redirectHandler sends plain HTTP to HTTPS, except the health endpoints that
// load balancers and monitors probe without TLS.
func redirectHandler(s *Server, tlsAddr net.Addr) http.Handler {
	_, port, _ := net.SplitHostPort(tlsAddr.String())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz":
			s.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "use https", http.StatusBadRequest)
			return
		}
		if port != "443" {
			host = net.JoinHostPort(host, port)
		} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
