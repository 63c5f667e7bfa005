package sqlitestore

import "github.com/wxkf/kf/kfsync"

// SetAfterInserts installs a hook that runs inside Commit's transaction
// after the archive rows and marks were written; an error aborts the commit.
func SetAfterInserts(s *Store, fn func(c *kfsync.Commit) error) {
	s.mu.Lock()
	s.afterInserts = fn
	s.mu.Unlock()
}

// Queries whose plans the tests check.
var Queries = map[string]string{
	"seen": sqlSeen, "byCustomer": sqlByCustomer, "byTime": sqlByTime, "prune": sqlPrune,
}

// Migrations is the number of schema migrations.
var Migrations = len(migrations)
