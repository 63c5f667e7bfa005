package callback

// dedupCache remembers recently delivered events for a limited time and
// up to a limited number of entries, so that the platform's retries of a
// callback are acknowledged without being delivered twice. It is not safe
// for concurrent use: the Handler guards it with its mutex.
//
// Entries are kept in a ring in insertion order; since insertion times
// never decrease (apart from clock steps, which only make entries expire
// late or early), the oldest entry is always at the head, and expiry and
// eviction both pop from there. A linear-probing hash table, at most half
// full, maps each key to its expiry; a key that expired and was added
// again keeps its newer expiry when its older ring entry is popped. (This
// is a few times faster than a Go map with deletions, on the request
// path.)
type dedupCache struct {
	ttl   int64 // nanoseconds
	slots []dedupEntry
	mask  uint64
	ring  []dedupEntry
	head  int // index of the oldest entry
	n     int // number of entries in the ring
}

// dedupEntry is a key and its expiry (Unix nanoseconds). In slots, key 0
// marks an empty slot.
type dedupEntry struct {
	key uint64
	exp int64
}

func newDedupCache(size int, ttlNanos int64) *dedupCache {
	n := 2
	for n < 2*size {
		n <<= 1
	}
	return &dedupCache{
		ttl:   ttlNanos,
		slots: make([]dedupEntry, n),
		mask:  uint64(n - 1),
		ring:  make([]dedupEntry, size),
	}
}

// fixKey maps the empty-slot marker to another key.
func fixKey(key uint64) uint64 {
	if key == 0 {
		return 1
	}
	return key
}

// find returns the slot holding key, or the empty slot where it would go.
func (c *dedupCache) find(key uint64) (uint64, bool) {
	for i := key & c.mask; ; i = (i + 1) & c.mask {
		switch c.slots[i].key {
		case key:
			return i, true
		case 0:
			return i, false
		}
	}
}

// seen reports whether key was added less than ttl before now.
func (c *dedupCache) seen(key uint64, now int64) bool {
	i, ok := c.find(fixKey(key))
	return ok && now < c.slots[i].exp
}

// add records key at time now, expiring old entries and evicting the
// oldest one if the cache is full.
func (c *dedupCache) add(key uint64, now int64) {
	key = fixKey(key)
	for c.n > 0 && (c.n == len(c.ring) || c.ring[c.head].exp <= now) {
		c.pop()
	}
	e := dedupEntry{key: key, exp: now + c.ttl}
	c.ring[(c.head+c.n)%len(c.ring)] = e
	c.n++
	i, _ := c.find(key)
	c.slots[i] = e
}

// pop removes the oldest ring entry, and its key unless it was re-added
// since.
func (c *dedupCache) pop() {
	e := c.ring[c.head]
	c.head = (c.head + 1) % len(c.ring)
	c.n--
	if i, ok := c.find(e.key); ok && c.slots[i].exp == e.exp {
		c.remove(i)
	}
}

// remove empties slot i, shifting back the entries of its probe run that
// would otherwise become unreachable.
func (c *dedupCache) remove(i uint64) {
	for {
		c.slots[i] = dedupEntry{}
		j := i
		for {
			j = (j + 1) & c.mask
			if c.slots[j].key == 0 {
				return
			}
			// The entry at j may stay if its home slot lies cyclically
			// in (i, j].
			home := c.slots[j].key & c.mask
			if i <= j {
				if i < home && home <= j {
					continue
				}
			} else if i < home || home <= j {
				continue
			}
			c.slots[i] = c.slots[j]
			i = j
			break
		}
	}
}

// len returns the number of live table entries (for tests).
func (c *dedupCache) len() int {
	n := 0
	for _, s := range c.slots {
		if s.key != 0 {
			n++
		}
	}
	return n
}
