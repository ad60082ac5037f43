package store

// Verifies is how many argon2 password checks s has run.
func (s *Store) Verifies() int64 { return s.verifies.Load() }

// PromotionFirst is the replicas the store last heard the sentinels would
// promote first (ip:port); nil before any answer or without sentinels.
func (s *Store) PromotionFirst() []string {
	if s.sent == nil {
		return nil
	}
	if p := s.sent.first.Load(); p != nil {
		return p.addrs
	}
	return nil
}

// Polls is how many times s has read the local node's value and replication state.
func (s *Store) Polls() int64 { return s.polls.Load() }

// WaitConfirms waits until the presses answered so far are confirmed
// (confirmLater), for tests whose next step must see that.
func (s *Store) WaitConfirms() { s.confirms.Wait() }
