package geobench

import (
	"testing"
	"time"
)

func TestCPUStall(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
		wantErr  bool
	}{
		{"kernel format", "some avg10=22.92 avg60=34.07 avg300=47.99 total=30449141115\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
			30449141115 * time.Microsecond, false},
		{"no some line", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 0, true},
		{"bad total", "some avg10=1.00 avg60=1.00 avg300=1.00 total=x\n", 0, true},
		{"empty", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CPUStall([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("CPUStall = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
