package store_test

import (
	"testing"

	"golang.org/x/text/secure/precis"

	"counter/daemon/store"
)

// FoldLogin must be what PRECIS UsernameCaseMapped (RFC 8265: NFC, case fold)
// makes of every login counterd admits, [A-Za-z0-9._-].
func TestFoldLoginIsPRECISOnTheLoginCharacters(t *testing.T) {
	var all []byte
	for c := byte(0); c < 128; c++ {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' {
			all = append(all, c)
		}
	}
	for _, login := range append([]string{string(all), "Alice", "ALICE.Smith_2-x"}, splitBytes(all)...) {
		want, err := precis.UsernameCaseMapped.String(login)
		if err != nil {
			t.Fatalf("precis.UsernameCaseMapped(%q): %v", login, err)
		}
		if got := store.FoldLogin(login); got != want {
			t.Errorf("FoldLogin(%q) = %q, want %q (PRECIS)", login, got, want)
		}
	}
}

func splitBytes(b []byte) []string {
	out := make([]string, len(b))
	for i, c := range b {
		out[i] = string(c)
	}
	return out
}
