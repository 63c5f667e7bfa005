package kf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
)

// Operation and path of sync_msg (doc 94670).
const (
	opSyncMsg   = "kf/sync_msg"
	pathSyncMsg = "/cgi-bin/kf/sync_msg"
)

// Documented limits of sync_msg requests (shared/api-surface.md §2.1, §7).
const (
	syncMaxCursorBytes   = 64
	syncMaxTokenBytes    = 128
	syncMaxLimit         = 1000
	syncMaxOpenKfIDBytes = 64
)

// ErrRepeatedCursor is wrapped into the error an iterator yields when the
// platform sends it back to a position it already visited, so that
// following it would loop forever: SyncAll when has_more=1 comes with a
// next_cursor already used (or with none, which would restart from the
// earliest message), the knowledge-base iterators on a repeated cursor,
// and Accounts.All when an offset returns the previous page again.
var ErrRepeatedCursor = errors.New("the platform repeated a paging position")

// VoiceFormat is the encoding of received voice messages.
type VoiceFormat uint32

// Voice formats.
const (
	VoiceFormatAMR  VoiceFormat = 0 // default
	VoiceFormatSILK VoiceFormat = 1
)

// String returns the format's name.
func (f VoiceFormat) String() string {
	switch f {
	case VoiceFormatAMR:
		return "amr"
	case VoiceFormatSILK:
		return "silk"
	}
	return "VoiceFormat(" + strconv.FormatUint(uint64(f), 10) + ")"
}

// SyncMsgRequest is the request of MessageService.Sync and SyncAll (doc
// 94670).
type SyncMsgRequest struct {
	// Cursor is the NextCursor of the previous page; empty starts from the
	// earliest message of the last 3 days. At most 64 bytes.
	Cursor string `json:"cursor,omitempty"`
	// Token is the Token of the kf_msg_or_event callback (valid 10 minutes).
	// Without it the platform applies a strict frequency limit. At most 128
	// bytes.
	Token string `json:"token,omitempty"`
	// Limit is the page size, 1–1000; 0 means the default (1000). Pages may
	// hold fewer messages even when more follow.
	Limit uint32 `json:"limit,omitempty"`
	// VoiceFormat selects AMR (default) or SILK for voice messages.
	VoiceFormat VoiceFormat `json:"voice_format,omitempty"`
	// OpenKfID is the KF account to read. The current doc marks it
	// required (older docs read all accounts when it was empty); it is
	// required here.
	OpenKfID string `json:"open_kfid"`
}

// Validate checks the documented limits; Sync calls it before sending.
func (r *SyncMsgRequest) Validate() error {
	switch {
	case r.OpenKfID == "":
		return invalid(opSyncMsg, "open_kfid", "required")
	case len(r.OpenKfID) > syncMaxOpenKfIDBytes:
		return invalid(opSyncMsg, "open_kfid", "longer than %d bytes", syncMaxOpenKfIDBytes)
	case len(r.Cursor) > syncMaxCursorBytes:
		return invalid(opSyncMsg, "cursor", "longer than %d bytes", syncMaxCursorBytes)
	case len(r.Token) > syncMaxTokenBytes:
		return invalid(opSyncMsg, "token", "longer than %d bytes", syncMaxTokenBytes)
	case r.Limit > syncMaxLimit:
		return invalid(opSyncMsg, "limit", "%d is above %d", r.Limit, syncMaxLimit)
	case r.VoiceFormat != VoiceFormatAMR && r.VoiceFormat != VoiceFormatSILK:
		return invalid(opSyncMsg, "voice_format", "%d is not 0 (AMR) or 1 (SILK)", r.VoiceFormat)
	}
	return nil
}

// SyncMsgResponse is one page of sync_msg (doc 94670).
//
// Its UnmarshalJSON is a fast decoder: it copies the reply once and decodes
// every message in place, so that all the strings and Raw values of the page
// share that copy (see Message).
type SyncMsgResponse struct {
	// NextCursor is the cursor of the next page; persist it.
	NextCursor string `json:"next_cursor"`
	// HasMore reports whether more messages follow (has_more 1). An empty
	// MsgList does not mean the end.
	HasMore bool `json:"has_more"`
	// MsgList is the page's messages, oldest first.
	MsgList []Message `json:"msg_list"`
}

// UnmarshalJSON decodes a sync_msg reply (errcode and errmsg are ignored:
// the transport has already checked them). It never goes through
// map[string]any or reflection: about one allocation per message (the
// payload; an event and its payload share one), one per string that holds
// escapes, and three per page (two copies of data and the list).
func (r *SyncMsgResponse) UnmarshalJSON(data []byte) error {
	d := rxNewDecoder(data)
	sc := &d.sc
	var out SyncMsgResponse
	isObject := sc.Object() // false for null (no error) and non-objects (error)
	if isObject {
		for key, ok := sc.Key(); ok; key, ok = sc.Key() {
			switch key {
			case "next_cursor":
				out.NextCursor = sc.Str()
			case "has_more":
				out.HasMore = d.flag()
			case "msg_list":
				list, err := d.messages()
				if err != nil {
					return fmt.Errorf("kf: decode sync_msg: %w", err)
				}
				out.MsgList = list
			default:
				sc.Skip()
			}
		}
	}
	sc.End()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("kf: decode sync_msg: %w", err)
	}
	if isObject { // a null leaves r unchanged
		*r = out
	}
	return nil
}

// Compile-time checks.
var (
	_ json.Marshaler   = SyncMsgResponse{}
	_ json.Unmarshaler = (*SyncMsgResponse)(nil)
)

// MarshalJSON encodes the page as the platform does (has_more as 0/1; every
// decoded message as its raw JSON).
func (r SyncMsgResponse) MarshalJSON() ([]byte, error) {
	hasMore := 0
	if r.HasMore {
		hasMore = 1
	}
	list := r.MsgList
	if list == nil {
		list = []Message{}
	}
	return json.Marshal(struct {
		NextCursor string    `json:"next_cursor"`
		HasMore    int       `json:"has_more"`
		MsgList    []Message `json:"msg_list"`
	}{r.NextCursor, hasMore, list})
}

// Sync reads one page of messages and events (POST /cgi-bin/kf/sync_msg,
// doc 94670). The request is validated before sending. Sync is a read and
// is retried on transient failures.
func (s *MessageService) Sync(ctx context.Context, req *SyncMsgRequest) (*SyncMsgResponse, error) {
	if req == nil {
		return nil, invalid(opSyncMsg, "open_kfid", "required (nil request)")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	resp := new(SyncMsgResponse)
	if err := (*service)(s).post(ctx, opSyncMsg, pathSyncMsg, req, resp, true); err != nil {
		return nil, err
	}
	return resp, nil
}

// SyncAll iterates over every message from req.Cursor on, page after page
// (doc 94670). It works on a copy of req, follows next_cursor while has_more
// is 1 (an empty page does not stop it) and ends after the page with
// has_more 0. The first error (validation, transport, platform, context, or
// a repeated cursor wrapping ErrRepeatedCursor) is yielded once and ends the
// iteration.
//
// SyncAll does not tell the caller the final cursor; to resume later
// without re-reading, use Sync (or package kfsync, which persists cursors).
func (s *MessageService) SyncAll(ctx context.Context, req *SyncMsgRequest) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		var r SyncMsgRequest
		if req != nil {
			r = *req
		}
		used := map[string]bool{r.Cursor: true}
		for {
			if err := ctx.Err(); err != nil {
				yield(Message{}, fmt.Errorf("%s: %w", opSyncMsg, err))
				return
			}
			page, err := s.Sync(ctx, &r)
			if err != nil {
				yield(Message{}, err)
				return
			}
			for _, m := range page.MsgList {
				if !yield(m, nil) {
					return
				}
			}
			if !page.HasMore {
				return
			}
			if page.NextCursor == "" || used[page.NextCursor] {
				yield(Message{}, fmt.Errorf("%s: has_more=1 with next_cursor %q: %w", opSyncMsg, page.NextCursor, ErrRepeatedCursor))
				return
			}
			used[page.NextCursor] = true
			r.Cursor = page.NextCursor
		}
	}
}
