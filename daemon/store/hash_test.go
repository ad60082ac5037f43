package store

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheap keeps the unit tests fast; the format is the same as with the defaults.
var cheap = HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

func TestHashVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		password string
		params   HashParams
	}{
		{"ascii", "correct horse battery staple", cheap},
		{"unicode", "pässwörd-日本", cheap},
		{"owasp defaults", "hunter2hunter2", DefaultHashParams},
		{"more threads", "threads-and-time", HashParams{Time: 3, MemoryKiB: 128, Threads: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := hashPassword(tt.password, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(enc, tt.password) {
				t.Fatalf("hash %q contains the password", enc)
			}
			ok, err := verifyPassword(tt.password, enc)
			if err != nil || !ok {
				t.Fatalf("verifyPassword(right) = %v, %v; want true, nil", ok, err)
			}
			ok, err = verifyPassword(tt.password+"x", enc)
			if err != nil || ok {
				t.Fatalf("verifyPassword(wrong) = %v, %v; want false, nil", ok, err)
			}
			if needsRehash(enc, tt.params) {
				t.Errorf("needsRehash(%q, same params) = true", enc)
			}
		})
	}
}

func TestHashFormatAndSalt(t *testing.T) {
	a, _ := hashPassword("same", cheap)
	b, _ := hashPassword("same", cheap)
	if a == b {
		t.Fatalf("two hashes of one password are equal (%q): salt not random", a)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(a) {
		t.Fatalf("hash %q is not PHC argon2id with 16-byte salt and 32-byte key", a)
	}
	if !needsRehash(a, DefaultHashParams) {
		t.Errorf("needsRehash(%q, defaults) = false, want true", a)
	}
}

func TestVerifyRejectsTamperedAndGarbage(t *testing.T) {
	good, err := hashPassword("pw", cheap)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	key, _ := base64.RawStdEncoding.DecodeString(f[5])
	key[0] ^= 1
	flipped := strings.Join(append(f[:5:5], base64.RawStdEncoding.EncodeToString(key)), "$")

	tests := []struct {
		name    string
		encoded string
		wantErr bool // false: well-formed but must not verify
	}{
		{"flipped key bit", flipped, false},
		{"other salt", strings.Replace(good, f[4], base64.RawStdEncoding.EncodeToString([]byte("another-16-bytes")), 1), false},
		{"cheaper time", strings.Replace(good, "t=1", "t=2", 1), false},
		{"empty", "", true},
		{"garbage", "not a hash", true},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1), true},
		{"bcrypt", "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", true},
		{"wrong version", strings.Replace(good, "v=19", "v=16", 1), true},
		{"missing field", strings.Join(f[:5], "$"), true},
		{"extra field", good + "$x", true},
		{"params reordered", strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1), true},
		{"params trailing junk", strings.Replace(good, "p=1", "p=1x", 1), true},
		{"zero time", strings.Replace(good, "t=1", "t=0", 1), true},
		{"zero threads", strings.Replace(good, "p=1", "p=0", 1), true},
		{"huge memory", strings.Replace(good, "m=64", "m=4194304", 1), true},
		{"huge time", strings.Replace(good, "t=1", "t=100000", 1), true},
		{"bad salt base64", strings.Replace(good, f[4], "!!!!", 1), true},
		{"short key", strings.Replace(good, f[5], "AAAA", 1), true},
		{"padded base64", good + "=", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := verifyPassword("pw", tt.encoded)
			if ok {
				t.Fatalf("verifyPassword(pw, %q) = true, want false", tt.encoded)
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("verifyPassword(pw, %q) error = %v, want error: %v", tt.encoded, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errBadHash) {
				t.Fatalf("error %v does not wrap errBadHash", err)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		tok, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes, %v; want 32 bytes of base64url", tok, len(raw), err)
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
	}
}

func TestTokenHash(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		// sha256 test vectors (FIPS 180-2).
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenHash(tt.token); got != tt.want {
				t.Errorf("TokenHash(%q) = %s, want %s", tt.token, got, tt.want)
			}
		})
	}
}
