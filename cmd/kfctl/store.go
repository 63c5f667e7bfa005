package main

import (
	"context"
	"strings"

	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kfsync/sqlitestore"
)

// openStore opens the kfsync store that a --store flag names and returns it
// with the function that closes it. Supported:
//
//	sqlite:PATH   an SQLite file (package kfsync/sqlitestore), created if
//	              missing: cursors, de-duplication and an archive of every
//	              message
//
// Other commands (serve) extend this switch with their stores.
func openStore(ctx context.Context, spec string) (kfsync.Store, func() error, error) {
	scheme, rest, _ := strings.Cut(spec, ":")
	switch scheme {
	case "sqlite":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, nil, usagef("--store %s: missing the file path (sqlite:PATH)", spec)
		}
		st, err := sqlitestore.Open(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}
	return nil, nil, usagef("--store %q: unsupported (want sqlite:PATH)", spec)
}
