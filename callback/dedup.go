package callback

// dedupCache remembers recently delivered events for a limited time and
// up to a limited number of entries, so that the platform's retries of a
// callback are acknowledged without being delivered twice. It is not safe
// for concurrent use: the Handler guards it with its mutex.
//
// Entries are kept in a ring in insertion order; since insertion times
// never decrease (apart from clock steps, which only make entries expire
// late or early), the oldest entry is always at the head, and expiry and
// eviction both pop from there. The map holds each key's expiry, so a key
// that expired and was inserted again is not dropped by the older ring
// entry.
type dedupCache struct {
	ttl  int64 // nanoseconds
	m    map[uint64]int64
	ring []dedupEntry
	head int // index of the oldest entry
	n    int // number of entries in the ring
}

type dedupEntry struct {
	key uint64
	exp int64 // Unix nanoseconds
}

func newDedupCache(size int, ttlNanos int64) *dedupCache {
	return &dedupCache{
		ttl:  ttlNanos,
		m:    make(map[uint64]int64, size),
		ring: make([]dedupEntry, size),
	}
}

// seen reports whether key was added less than ttl before now.
func (c *dedupCache) seen(key uint64, now int64) bool {
	exp, ok := c.m[key]
	return ok && now < exp
}

// add records key at time now, expiring old entries and evicting the
// oldest one if the cache is full.
func (c *dedupCache) add(key uint64, now int64) {
	for c.n > 0 && (c.n == len(c.ring) || c.ring[c.head].exp <= now) {
		c.pop()
	}
	e := dedupEntry{key: key, exp: now + c.ttl}
	c.ring[(c.head+c.n)%len(c.ring)] = e
	c.n++
	c.m[key] = e.exp
}

func (c *dedupCache) pop() {
	e := c.ring[c.head]
	if exp, ok := c.m[e.key]; ok && exp == e.exp {
		delete(c.m, e.key)
	}
	c.head = (c.head + 1) % len(c.ring)
	c.n--
}

// len returns the number of live map entries (for tests).
func (c *dedupCache) len() int { return len(c.m) }
