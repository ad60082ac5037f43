package store

// Verifies is how many argon2 password checks s has run.
func (s *Store) Verifies() int64 { return s.verifies.Load() }
