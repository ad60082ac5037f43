package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestTooSoonError(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"under a second rounds up", 200 * time.Millisecond, "already pressed: next press allowed in 1s"},
		{"fraction rounds up", 1500 * time.Millisecond, "already pressed: next press allowed in 2s"},
		{"whole seconds stay", 3 * time.Hour, "already pressed: next press allowed in 3h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error = fmt.Errorf("increment: %w", &TooSoonError{RetryAfter: tt.after})
			var soon *TooSoonError
			if !errors.As(err, &soon) || soon.RetryAfter != tt.after {
				t.Fatalf("errors.As(%v) = %v, want RetryAfter %s", err, soon, tt.after)
			}
			if got := soon.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
