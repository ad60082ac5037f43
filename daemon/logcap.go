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
// ErrorLog, fasthttp's Logger): warnings on log, each capped.
func serverLog(l *slog.Logger) *log.Logger { return log.New(cappedWriter{l}, "", 0) }

type cappedWriter struct{ l *slog.Logger }

func (w cappedWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	// A handler's panic carries its stack in the message: the stack is ours,
	// not the client's, and needed whole.
	if !strings.HasPrefix(msg, "http: panic serving") {
		msg = capText(msg, maxServerLogLength)
	}
	w.l.Log(context.Background(), slog.LevelWarn, msg)
	return len(p), nil
}
