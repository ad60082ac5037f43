package daemon

import (
	"context"
	"log"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Caps on what a client can make counterd log. fasthttp quotes the whole
// request URI in its messages (up to maxHeaderBytes, twice per line), so one
// malformed request logged 16 KB before these caps.
const (
	maxLoggedText      = 256  // bytes of one client-supplied value (a URI, a method)
	maxServerLogLength = 1024 // bytes of one message of the HTTP servers' own logs
)

// capText returns s cut to at most max bytes on a rune boundary, marked with
// how much was cut.
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…[" + strconv.Itoa(len(s)-n) + " more bytes]"
}

// serverLog is the logger for the HTTP servers' own messages (net/http's
// ErrorLog, fasthttp's Logger): warnings on l, each capped.
func serverLog(l *slog.Logger) *log.Logger { return log.New(cappedWriter{l}, "", 0) }

type cappedWriter struct{ l *slog.Logger }

// clientFailures start the servers' messages about one client's failed
// connection (a malformed request, a failed TLS handshake): the client's
// doing, nothing for an operator to act on, and one line per hostile
// connection, so they are logged at debug as net/http's 400s are not at all.
var clientFailures = []string{"error when serving connection", "http: TLS handshake error"}

func (w cappedWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	// A handler's panic carries its stack in the message: the stack is ours,
	// not the client's, and needed whole.
	if !strings.HasPrefix(msg, "http: panic serving") {
		msg = capText(msg, maxServerLogLength)
	}
	level := slog.LevelWarn
	for _, prefix := range clientFailures {
		if strings.HasPrefix(msg, prefix) {
			level = slog.LevelDebug
		}
	}
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}
