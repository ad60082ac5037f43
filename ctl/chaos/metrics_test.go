package chaos

import (
	"strings"
	"testing"
	"time"

	"counter/ctl/lab/load"
)

var t0 = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func press(user, node string, sent, answered float64, status int, value int64, retry int) load.Record {
	return load.Record{Kind: "press", User: user, Node: node, Sent: at(sent), Answered: at(answered),
		Status: status, Value: value, HasValue: status == 200, Retry: retry}
}

func read(client, node string, sent float64, value int64) load.Record {
	return load.Record{Kind: "read", Client: client, Node: node, Sent: at(sent), Answered: at(sent), Status: 200, Value: value, HasValue: true}
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name string
		recs []load.Record
		w    Window
		want Result // compared: Recovered, Recovery, Acked, Unknown, Lost, Double, Backwards
	}{
		{
			name: "clean run",
			recs: []load.Record{press("a", "na", 1, 1.1, 200, 11, 0), press("b", "sa", 2, 2.1, 200, 12, 0),
				read("eu", "master", 1, 10), read("eu", "master", 2, 12)},
			w:    Window{Fault: at(1.5), Before: 10, Final: 12},
			want: Result{Recovered: true, Acked: 2},
		},
		{
			name: "unknown then earlier press: one count, recovery after the last failure",
			recs: []load.Record{press("a", "na", 1, 1.1, 200, 11, 0),
				press("b", "na", 2, 2.5, 503, 0, 3), press("b", "na", 5.5, 5.6, 200, 12, 0)},
			w:    Window{Fault: at(1.5), Before: 10, Final: 12},
			want: Result{Recovered: true, Recovery: 4100 * time.Millisecond, Acked: 2},
		},
		{
			name: "a value given twice is a lost press",
			recs: []load.Record{press("a", "na", 1, 1.1, 200, 11, 0), press("b", "sa", 3, 3.1, 200, 11, 0)},
			w:    Window{Fault: at(2), Before: 10, Final: 11},
			want: Result{Recovered: true, Acked: 2, Lost: 1},
		},
		{
			name: "growth beyond acked and unknown is a double",
			recs: []load.Record{press("a", "na", 1, 1.1, 200, 11, 0)},
			w:    Window{Fault: at(2), Before: 10, Final: 12},
			want: Result{Recovered: true, Acked: 1, Double: 1},
		},
		{
			name: "two values for one user is a double",
			recs: []load.Record{press("a", "na", 1, 1.1, 200, 11, 0), press("a", "na", 2, 2.1, 200, 12, 0)},
			w:    Window{Fault: at(5), Before: 10, Final: 12},
			want: Result{Recovered: true, Acked: 1, Double: 1},
		},
		{
			name: "failures to the end: never recovered; a reader going back",
			recs: []load.Record{press("a", "na", 3, 3.1, 0, 0, 0), read("na", "na", 1, 12), read("na", "na", 2, 3), read("eu", "na", 3, 4)},
			w:    Window{Fault: at(2), Repair: at(2.5), Before: 10, Final: 11},
			want: Result{Recovered: false, Unknown: 1, Backwards: 1},
		},
		{
			name: "recovery counts from the repair",
			recs: []load.Record{press("a", "na", 3, 3.1, 0, 0, 0), press("a", "na", 4, 4.2, 200, 11, 0)},
			w:    Window{Fault: at(2), Repair: at(3.5), Before: 10, Final: 11},
			want: Result{Recovered: true, Recovery: 700 * time.Millisecond, Acked: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Analyze(tt.name, tt.recs, tt.w)
			if got.Recovered != tt.want.Recovered || got.Recovery != tt.want.Recovery || got.Acked != tt.want.Acked ||
				got.Unknown != tt.want.Unknown || got.Lost != tt.want.Lost || got.Double != tt.want.Double || got.Backwards != tt.want.Backwards {
				t.Errorf("Analyze = %+v\nwant      %+v", got, tt.want)
			}
		})
	}
}

func TestRow(t *testing.T) {
	r := Analyze("4 kill na", []load.Record{press("a", "na", 3, 3.1, 0, 0, 0), press("a", "na", 4, 4.2, 200, 11, 0)},
		Window{Fault: at(2), Before: 10, Final: 11})
	want := "| 4 kill na | 2.2s | 1 of 1 users | 0 | 0 | 0 | press net ×1 |"
	if got := r.Row(); got != want {
		t.Errorf("Row() = %q, want %q", got, want)
	}
	r = Analyze("5 restart", []load.Record{press("a", "na", 3, 3.1, 0, 0, 0), press("a", "na", 4, 4.2, 200, 11, 0)},
		Window{Fault: at(2), Repair: at(3.5), Before: 10, Final: 11})
	want = "| 5 restart | 700ms after the repair (2.2s after the fault) | 1 of 1 users | 0 | 0 | 0 | press net ×1 |"
	if got := r.Row(); got != want {
		t.Errorf("Row() = %q, want %q", got, want)
	}
	if strings.Count(TableHeader, "|") != 2*8 {
		t.Errorf("TableHeader has %d bars, want 8 per line", strings.Count(TableHeader, "|"))
	}
}
