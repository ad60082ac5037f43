package pki_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"counter/internal/testutil"
)

// TestMutualTLSHandshake runs real TLS over loopback with issued
// certificates: both sides verify each other, and a client without a
// certificate or with one from a foreign CA is refused.
func TestMutualTLSHandshake(t *testing.T) {
	ca, foreign := testutil.NewTLS(t).CA, testutil.NewTLS(t).CA
	server := testutil.IssuePair(t, ca, "master", "127.0.0.1")
	client := testutil.IssuePair(t, ca, "na", "198.51.100.20")
	stranger := testutil.IssuePair(t, foreign, "na", "198.51.100.20")

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{server}, ClientCAs: ca.Pool(),
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.WriteString(c, "hello")
			}()
		}
	}()

	tests := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{name: "cluster client", certs: []tls.Certificate{client}, ok: true},
		{name: "no client certificate"},
		{name: "foreign client certificate", certs: []tls.Certificate{stranger}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			d := tls.Dialer{Config: &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", Certificates: tt.certs}}
			c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
			if err == nil {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				// TLS 1.3 reports the server's verdict on the client
				// certificate at the first read.
				buf := make([]byte, 5)
				_, err = io.ReadFull(c, buf)
			}
			if (err == nil) != tt.ok {
				t.Errorf("handshake and read: err %v, want ok %v", err, tt.ok)
			}
			var nerr net.Error
			if err != nil && errors.As(err, &nerr) && nerr.Timeout() {
				t.Errorf("refused by timeout, want a TLS alert: %v", err)
			}
		})
	}
}
