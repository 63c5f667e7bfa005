package mp

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// Chat records (shared/api-surface.md §8.4; official page
// customer/message/api_getmsglist).

const (
	opRecordList   = "mp/msgrecord/getmsglist"
	pathRecordList = "/customservice/msgrecord/getmsglist"
)

// Documented limits of getmsglist.
const (
	// RecordsMaxNumber is the largest page getmsglist returns.
	RecordsMaxNumber = 10000
	// RecordsMaxSpan is the longest time span one getmsglist call covers.
	RecordsMaxSpan = 24 * time.Hour

	recordsMaxSpanSeconds = int64(RecordsMaxSpan / time.Second)
)

// OperCode says what a chat record is. Only two codes are documented; keep
// unknown values as they are.
type OperCode int

// Documented operation codes (others exist in legacy docs but are
// unconfirmed).
const (
	OperCodeWorkerSent     OperCode = 2002 // the worker sent a message to the user
	OperCodeWorkerReceived OperCode = 2003 // the worker received a message from the user
)

// String returns the name of a documented code, or "OperCode(N)".
func (c OperCode) String() string {
	switch c {
	case OperCodeWorkerSent:
		return "WorkerSent"
	case OperCodeWorkerReceived:
		return "WorkerReceived"
	}
	return "OperCode(" + strconv.Itoa(int(c)) + ")"
}

// Record is one chat record.
type Record struct {
	// OpenID is the user's openid.
	OpenID string `json:"openid"`
	// OperCode says who sent the message.
	OperCode OperCode `json:"opercode"`
	// Text is the message; media appear as "[image]", "[voice]", "[video]".
	Text string `json:"text"`
	// Time is when the message was sent, in unix seconds.
	Time int64 `json:"time"`
	// Worker is the worker's account, prefix@wechatid.
	Worker string `json:"worker"`
}

// ListRecordsRequest is the request of RecordService.List.
type ListRecordsRequest struct {
	// StartTime is the start of the span, in unix seconds (required).
	StartTime int64 `json:"starttime"`
	// EndTime is the end of the span, in unix seconds; at most 24 h after
	// StartTime (required).
	EndTime int64 `json:"endtime"`
	// MsgID is the id of the first record to return; ids start at 1. Zero
	// means 1. For the next page pass the msgid of the previous reply.
	MsgID int64 `json:"msgid"`
	// Number is the page size, 1..10000 (required).
	Number int `json:"number"`
}

// Validate checks r. List calls it before sending.
func (r *ListRecordsRequest) Validate() error {
	const op = opRecordList
	switch {
	case r == nil:
		return invalid(op, "request", "nil")
	case r.StartTime <= 0:
		return invalid(op, "starttime", "required (unix seconds)")
	case r.EndTime < r.StartTime:
		return invalid(op, "endtime", "%d is before starttime %d", r.EndTime, r.StartTime)
	case r.EndTime-r.StartTime > recordsMaxSpanSeconds:
		return invalid(op, "endtime", "span of %s is longer than 24 h (use Records.All to split it)",
			time.Duration(r.EndTime-r.StartTime)*time.Second)
	case r.MsgID < 0:
		return invalid(op, "msgid", "negative (%d)", r.MsgID)
	case r.Number < 1 || r.Number > RecordsMaxNumber:
		return invalid(op, "number", "%d out of range 1..%d", r.Number, RecordsMaxNumber)
	}
	return nil
}

// ListRecordsResponse is the reply of RecordService.List.
type ListRecordsResponse struct {
	// Records are the chat records, in ascending msgid order.
	Records []Record `json:"recordlist"`
	// Number is how many records the reply holds. When it equals the
	// requested number there may be more: ask again with MsgID.
	Number int `json:"number"`
	// MsgID is the msgid to pass to the next call.
	MsgID int64 `json:"msgid"`
}

// List returns one page of chat records of a span of at most 24 h (POST
// /customservice/msgrecord/getmsglist). A span the platform rejects anyway
// fails with ErrCodeInvalidQueryParams. req is not modified. All walks any
// span page by page.
func (s *RecordService) List(ctx context.Context, req *ListRecordsRequest) (*ListRecordsResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r := *req
	if r.MsgID == 0 {
		r.MsgID = 1
	}
	var out ListRecordsResponse
	if err := (*service)(s).post(ctx, opRecordList, pathRecordList, &r, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// recordWindow is one span of at most 24 h, both ends in unix seconds.
type recordWindow struct{ start, end int64 }

// recordWindows splits [start, end] into consecutive windows of at most
// 24 h that do not overlap: each window ends one second before the next one
// starts. A record on a boundary is thus read once, assuming the platform's
// endtime is inclusive; the docs do not say (were it exclusive, records in
// the last second of each full window would be missed).
func recordWindows(start, end int64) []recordWindow {
	var ws []recordWindow
	for from := start; ; {
		to := min(from+recordsMaxSpanSeconds-1, end)
		ws = append(ws, recordWindow{from, to})
		if to >= end {
			return ws
		}
		from = to + 1
	}
}

// All iterates over every chat record from start to end (unix-second
// precision, both ends included). It splits a span longer than 24 h into
// consecutive windows of at most 24 h, and within each window pages by msgid
// with pages of RecordsMaxNumber: while a reply holds as many records as
// asked for, it asks again with the returned msgid. The first error
// (validation, transport, platform, context, or a msgid that does not
// advance, wrapping ErrRepeatedCursor) is yielded once and ends the
// iteration.
func (s *RecordService) All(ctx context.Context, start, end time.Time) iter.Seq2[Record, error] {
	return s.all(ctx, start, end, RecordsMaxNumber)
}

// all is All with a page size, so that tests can page with small pages.
func (s *RecordService) all(ctx context.Context, start, end time.Time, number int) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if end.Before(start) {
			yield(Record{}, invalid(opRecordList, "endtime", "end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339)))
			return
		}
		for _, w := range recordWindows(start.Unix(), end.Unix()) {
			req := ListRecordsRequest{StartTime: w.start, EndTime: w.end, MsgID: 1, Number: number}
			for {
				if err := ctx.Err(); err != nil {
					yield(Record{}, fmt.Errorf("%s: %w", opRecordList, err))
					return
				}
				page, err := s.List(ctx, &req)
				if err != nil {
					yield(Record{}, err)
					return
				}
				for _, r := range page.Records {
					if !yield(r, nil) {
						return
					}
				}
				n := page.Number
				if n == 0 {
					n = len(page.Records)
				}
				if n < req.Number {
					break
				}
				if page.MsgID <= req.MsgID {
					yield(Record{}, fmt.Errorf("%s: full page at msgid %d answered msgid %d: %w", opRecordList, req.MsgID, page.MsgID, ErrRepeatedCursor))
					return
				}
				req.MsgID = page.MsgID
			}
		}
	}
}
