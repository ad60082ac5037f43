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

// TestValueChecksTheServiceName: with the inventory's own certificate,
// which names the service and not each node's address, the probe checks
// it for the name it is given.
func TestValueChecksTheServiceName(t *testing.T) {
	ca := testutil.NewTLS(t).CA
	certPEM, keyPEM, err := ca.Issue("service", []string{"counter.test.example"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("7\n")) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := &http.Server{Handler: http.RedirectHandler("https://"+ln.Addr().String()+"/getvalue", http.StatusPermanentRedirect)}
	go redirect.Serve(plain)
	t.Cleanup(func() { redirect.Close() })

	port := plain.Addr().(*net.TCPAddr).Port
	n := inventory.Node{Name: "na", Address: "127.0.0.1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if f := New(nil, Options{HTTPPort: port, RootCAs: ca.Pool()}, time.Now).Value(ctx, n); f.Err == nil {
		t.Errorf("Value checking the address against a service certificate = %d, nil; want an error", f.V)
	}
	if f := New(nil, Options{HTTPPort: port, RootCAs: ca.Pool(), ServerName: "counter.test.example"}, time.Now).Value(ctx, n); f.Err != nil || f.V != 7 {
		t.Errorf("Value checking the service name = %d, %v; want 7", f.V, f.Err)
	}
}
