package dnsupdate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Key is a TSIG key as the server knows it.
type Key struct {
	Name      string // fully qualified
	Algorithm string // hmac-sha256 or hmac-sha512
	Secret    string // base64
}

// Server speaks to one authoritative primary over TCP. miekg/dns v1 is
// frozen, so it stays inside this file.
type Server struct {
	Addr    string // host:port
	Key     Key    // an empty Name sends unsigned messages (tests of refusal)
	Timeout time.Duration
}

// ErrPrerequisite is the server's NXRRSET/YXRRSET answer: the zone changed
// since it was read.
var ErrPrerequisite = errors.New("zone changed since it was read")

// RcodeError is an update the server refused, with its answer code.
type RcodeError struct{ Rcode int }

func (e *RcodeError) Error() string { return "server answered " + dns.RcodeToString[e.Rcode] }

func (s *Server) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

func (s *Server) algorithm() string {
	switch strings.ToLower(s.Key.Algorithm) {
	case "hmac-sha512":
		return dns.HmacSHA512
	default:
		return dns.HmacSHA256
	}
}

func (s *Server) sign(m *dns.Msg) {
	if s.Key.Name != "" {
		m.SetTsig(dns.Fqdn(s.Key.Name), s.algorithm(), 300, time.Now().Unix())
	}
}

func (s *Server) secrets() map[string]string {
	if s.Key.Name == "" {
		return nil
	}
	return map[string]string{dns.Fqdn(s.Key.Name): s.Key.Secret}
}

// dial opens a TCP connection that ends at the timeout, ctx's deadline or
// ctx's cancellation, whichever comes first. close releases both.
func (s *Server) dial(ctx context.Context) (conn *dns.Conn, deadline time.Time, close func(), err error) {
	deadline = time.Now().Add(s.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var nd net.Dialer
	c, err := nd.DialContext(dctx, "tcp", s.Addr)
	if err != nil {
		return nil, deadline, nil, err
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, deadline, nil, err
	}
	// A cancelled ctx ends a read that the deadline has not ended yet.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return &dns.Conn{Conn: c}, deadline, func() { stop(); c.Close() }, nil
}

// Read transfers the zone (AXFR), TSIG-signed.
func (s *Server) Read(ctx context.Context, zone string) (Zone, error) {
	z := Zone{Name: dns.Fqdn(strings.ToLower(zone))}
	conn, deadline, done, err := s.dial(ctx)
	if err != nil {
		return z, fmt.Errorf("axfr %s from %s: %w", zone, s.Addr, err)
	}
	defer done()
	m := new(dns.Msg)
	m.SetAxfr(z.Name)
	s.sign(m)
	tr := &dns.Transfer{Conn: conn, TsigSecret: s.secrets(), DialTimeout: s.timeout(),
		ReadTimeout: time.Until(deadline), WriteTimeout: time.Until(deadline)}
	env, err := tr.In(m, s.Addr)
	if err != nil {
		return z, fmt.Errorf("axfr %s from %s: %w", zone, s.Addr, err)
	}
	for e := range env {
		if e.Error != nil {
			return z, fmt.Errorf("axfr %s from %s: %w", zone, s.Addr, e.Error)
		}
		for _, rr := range e.RR {
			if soa, ok := rr.(*dns.SOA); ok {
				if z.SOA == "" {
					z.SOA, z.Serial = soa.String(), soa.Serial
				}
				continue
			}
			if r, ok := fromRR(rr); ok {
				z.Records = append(z.Records, r)
			}
		}
	}
	if z.SOA == "" {
		return z, fmt.Errorf("axfr %s from %s: no SOA in the answer", zone, s.Addr)
	}
	return z, nil
}

// Apply sends the plan as one update: the zone's SOA as prerequisite, every
// deletion, then every insertion.
func (s *Server) Apply(ctx context.Context, z Zone, p Plan) error {
	soa, err := dns.NewRR(z.SOA)
	if err != nil {
		return fmt.Errorf("update %s: bad SOA %q: %w", z.Name, z.SOA, err)
	}
	m := new(dns.Msg)
	m.SetUpdate(z.Name)
	m.Used([]dns.RR{soa})
	for _, c := range p.Changes {
		if c.DelSet {
			m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: c.Name, Rrtype: dns.StringToType[c.Type], Class: dns.ClassINET}}})
			continue
		}
		for _, r := range c.Del {
			rr, err := toRR(r)
			if err != nil {
				return err
			}
			m.Remove([]dns.RR{rr})
		}
	}
	for _, c := range p.Changes {
		for _, r := range c.Add {
			rr, err := toRR(r)
			if err != nil {
				return err
			}
			m.Insert([]dns.RR{rr})
		}
	}
	// One update per run: a zone whose changes do not fit one TCP message
	// (about 1,000 records) would need splitting, which this cluster's
	// handful of names never does.
	if n := m.Len(); n > dns.MaxMsgSize-512 {
		return fmt.Errorf("update %s: %d bytes do not fit one message", z.Name, n)
	}
	return s.exchange(ctx, m)
}

// exchange signs and sends one update message and reads the answer.
func (s *Server) exchange(ctx context.Context, m *dns.Msg) error {
	conn, _, done, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("update %s at %s: %w", m.Question[0].Name, s.Addr, err)
	}
	defer done()
	conn.TsigSecret = s.secrets()
	s.sign(m)
	if err := conn.WriteMsg(m); err != nil {
		return fmt.Errorf("update %s at %s: %w", m.Question[0].Name, s.Addr, err)
	}
	r, err := conn.ReadMsg()
	if err != nil {
		return fmt.Errorf("update %s at %s: %w", m.Question[0].Name, s.Addr, err)
	}
	if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
		// The server could not verify our signature (BADKEY, BADSIG, BADTIME).
		return fmt.Errorf("update %s at %s: %w (TSIG %s)", m.Question[0].Name, s.Addr, &RcodeError{Rcode: r.Rcode}, dns.RcodeToString[int(t.Error)])
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		if s.Key.Name != "" && r.IsTsig() == nil {
			// ReadMsg verified a signature if there was one; none at all is
			// an answer anyone on the path could have forged.
			return fmt.Errorf("update %s at %s: the server's answer is not signed", m.Question[0].Name, s.Addr)
		}
		return nil
	case dns.RcodeNXRrset, dns.RcodeYXRrset:
		return fmt.Errorf("update %s at %s: %w (%s)", m.Question[0].Name, s.Addr, ErrPrerequisite, dns.RcodeToString[r.Rcode])
	default:
		return fmt.Errorf("update %s at %s: %w", m.Question[0].Name, s.Addr, &RcodeError{Rcode: r.Rcode})
	}
}

// fromRR turns any record into its presentation form; names are lowercased
// to compare with the desired ones. Types counterctl does not write still
// count: they make a name foreign unless counterctl owns it.
func fromRR(rr dns.RR) (RR, bool) {
	h := rr.Header()
	data := strings.TrimPrefix(rr.String(), h.String())
	if h.Rrtype == dns.TypeCNAME {
		data = strings.ToLower(data)
	}
	return RR{Name: strings.ToLower(h.Name), TTL: h.Ttl, Type: dns.TypeToString[h.Rrtype], Data: data}, true
}

func toRR(r RR) (dns.RR, error) {
	rr, err := dns.NewRR(r.String())
	if err != nil {
		return nil, fmt.Errorf("record %q: %w", r, err)
	}
	return rr, nil
}
