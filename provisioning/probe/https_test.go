package probe

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// TestValueFollowsRedirectToHTTPS: a provisioned counterd answers /getvalue
// on port 80 with a redirect to HTTPS; the probe follows it, verifying the
// certificate against the cluster CA it is given, and refuses one it is not.
func TestValueFollowsRedirectToHTTPS(t *testing.T) {
	ca := testutil.NewTLS(t)
	cert, err := tls.LoadX509KeyPair(ca.CertFile, ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, tlsPort, _ := net.SplitHostPort(tlsLn.Addr().String())
	value := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("42\n"))
	})}
	redirect := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1:"+tlsPort+r.URL.Path, http.StatusPermanentRedirect)
	})}
	go value.Serve(tlsLn)
	go redirect.Serve(plainLn)
	t.Cleanup(func() { value.Close(); redirect.Close() })

	_, port, _ := net.SplitHostPort(plainLn.Addr().String())
	p, _ := strconv.Atoi(port)
	n := inventory.Node{Name: "na", Address: "127.0.0.1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if f := New(nil, Options{HTTPPort: p, RootCAs: ca.Pool()}, time.Now).Value(ctx, n); f.Err != nil || f.V != 42 {
		t.Errorf("Value through the redirect = %d, %v; want 42", f.V, f.Err)
	}
	if f := New(nil, Options{HTTPPort: p}, time.Now).Value(ctx, n); f.Err == nil {
		t.Errorf("Value with the system roots only = %d, nil; want a certificate error", f.V)
	}
}
