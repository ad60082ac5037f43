package geobench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// watch keeps the continent's /events page open, as an open page does, and
// records every value it is told with the time it arrived. opened gets nil
// once the stream answered, or the error.
func (p *Probe) watch(ctx context.Context, opened chan<- error) {
	tr := p.transport(nil)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.BaseURL+"/events", nil)
	if err != nil {
		opened <- err
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		opened <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		opened <- fmt.Errorf("GET /events answered %s", resp.Status)
		return
	}
	opened <- nil
	err = readEvents(resp.Body, time.Now, func(e Event) {
		p.mu.Lock()
		p.res.Events = append(p.res.Events, e)
		p.mu.Unlock()
	})
	if err != nil && ctx.Err() == nil {
		p.fail("events", err)
	}
}

// readEvents parses a Server-Sent Events stream and calls got for each
// value message (the default event type; "stale" and others are skipped),
// stamped with now() when its data line arrived.
func readEvents(r io.Reader, now func() time.Time, got func(Event)) error {
	sc := bufio.NewScanner(r)
	kind, data, at := "", "", time.Time{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if kind == "" && data != "" {
				v, err := strconv.ParseInt(data, 10, 64)
				if err != nil {
					return fmt.Errorf("event data %q is not a value", data)
				}
				got(Event{Value: v, AtNS: at.UnixNano()})
			}
			kind, data = "", ""
		case strings.HasPrefix(line, "event:"):
			kind = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data, at = strings.TrimSpace(strings.TrimPrefix(line, "data:")), now()
		}
	}
	return sc.Err()
}
