package mp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRecordsList(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathRecordList, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testQuery(t, r, nil)
		// msgid 0 is sent as 1, the first id.
		testJSONBody(t, r, `{"starttime":987654321,"endtime":987654323,"msgid":1,"number":10000}`)
		writeJSON(w, `{"recordlist":[
			{"openid":"oDF3iY9WMaswOPWjCIp_f3Bnpljk","opercode":2002,"text":" 您好，客服test1为您服务。","time":1400563710,"worker":"test1@test"},
			{"openid":"oDF3iY9WMaswOPWjCIp_f3Bnpljk","opercode":2003,"text":"你好，有什么事情？","time":1400563731,"worker":"test1@test"},
			{"openid":"oDF3iY9WMaswOPWjCIp_f3Bnpljk","opercode":1000,"text":"[image]","time":1400563740,"worker":"test1@test"}],
			"number":3,"msgid":20165267}`)
	})
	req := &ListRecordsRequest{StartTime: 987654321, EndTime: 987654323, Number: 10000}
	got, err := c.Records.List(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if req.MsgID != 0 {
		t.Error("List modified the request")
	}
	want := &ListRecordsResponse{Number: 3, MsgID: 20165267, Records: []Record{
		{OpenID: "oDF3iY9WMaswOPWjCIp_f3Bnpljk", OperCode: OperCodeWorkerSent, Text: " 您好，客服test1为您服务。", Time: 1400563710, Worker: "test1@test"},
		{OpenID: "oDF3iY9WMaswOPWjCIp_f3Bnpljk", OperCode: OperCodeWorkerReceived, Text: "你好，有什么事情？", Time: 1400563731, Worker: "test1@test"},
		{OpenID: "oDF3iY9WMaswOPWjCIp_f3Bnpljk", OperCode: 1000, Text: "[image]", Time: 1400563740, Worker: "test1@test"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if s := fmt.Sprint(OperCodeWorkerSent, OperCodeWorkerReceived, OperCode(1000)); s != "WorkerSent WorkerReceived OperCode(1000)" {
		t.Errorf("OperCode strings = %q", s)
	}
}

func TestRecordsListErrors(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathRecordList, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, errcodeReply(ErrCodeInvalidQueryParams))
	})
	_, err := c.Records.List(t.Context(), &ListRecordsRequest{StartTime: 1, EndTime: 2, Number: 1})
	wantAPIError(t, err, opRecordList, ErrCodeInvalidQueryParams)
}

func TestRecordsValidation(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	testNoRequest(t, mux, pathRecordList)
	const day = 86400
	tests := []struct {
		name  string
		req   *ListRecordsRequest
		field string
	}{
		{"nil", nil, "request"},
		{"no start", &ListRecordsRequest{EndTime: 10, Number: 1}, "starttime"},
		{"end before start", &ListRecordsRequest{StartTime: 10, EndTime: 9, Number: 1}, "endtime"},
		{"span over 24 h", &ListRecordsRequest{StartTime: 10, EndTime: 10 + day + 1, Number: 1}, "endtime"},
		{"negative msgid", &ListRecordsRequest{StartTime: 10, EndTime: 11, MsgID: -1, Number: 1}, "msgid"},
		{"number 0", &ListRecordsRequest{StartTime: 10, EndTime: 11}, "number"},
		{"number 10001", &ListRecordsRequest{StartTime: 10, EndTime: 11, Number: 10001}, "number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Records.List(t.Context(), tc.req)
			wantInvalid(t, err, tc.field)
		})
	}
	if err := (&ListRecordsRequest{StartTime: 10, EndTime: 10 + day, Number: 10000}).Validate(); err != nil {
		t.Errorf("a span of exactly 24 h is refused: %v", err)
	}
}

// recordServer serves getmsglist over a fixed set of records whose msgids
// are their 1-based positions. A call returns the records with time in
// [starttime, endtime] and id ≥ msgid, at most number of them, and the msgid
// to continue from. It logs every request.
type recordServer struct {
	t       *testing.T
	records []Record
	mu      sync.Mutex
	reqs    []ListRecordsRequest
	// repeat, when set, answers the request's own msgid on full pages.
	repeat bool
}

func (s *recordServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req ListRecordsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.t.Errorf("decode: %v", err)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if err := req.Validate(); err != nil || req.MsgID < 1 {
		writeJSON(w, errcodeReply(ErrCodeInvalidQueryParams))
		return
	}
	out := ListRecordsResponse{Records: []Record{}, MsgID: req.MsgID}
	for i, rec := range s.records {
		id := int64(i + 1)
		if id < req.MsgID || rec.Time < req.StartTime || rec.Time > req.EndTime {
			continue
		}
		if len(out.Records) == req.Number {
			break
		}
		out.Records = append(out.Records, rec)
		out.MsgID = id + 1
	}
	out.Number = len(out.Records)
	if s.repeat {
		out.MsgID = req.MsgID
	}
	b, _ := json.Marshal(out)
	writeJSON(w, string(b))
}

func (s *recordServer) requests() []ListRecordsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ListRecordsRequest(nil), s.reqs...)
}

// TestRecordsAllSplitsAndPages: a 60 h range is read in three windows of at
// most 24 h (touching, not overlapping), each paged by msgid while pages
// come back full; every record is yielded once, in order.
func TestRecordsAllSplitsAndPages(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	start := time.Unix(1_700_000_000, 0)
	s0 := start.Unix()
	end := start.Add(60 * time.Hour)
	var recs []Record
	// 7 records in window 1 (two on its first and last second), 3 in
	// window 2 (one on its first second), 5 in window 3 (one on end).
	times := []int64{s0, s0 + 1, s0 + 2, s0 + 100, s0 + 200, s0 + 300, s0 + 86399,
		s0 + 86400, s0 + 90000, s0 + 100000,
		s0 + 172800, s0 + 180000, s0 + 190000, s0 + 200000, end.Unix()}
	for i, tm := range times {
		recs = append(recs, Record{OpenID: fmt.Sprintf("u%d", i), OperCode: OperCodeWorkerSent, Text: fmt.Sprint(i), Time: tm, Worker: "a@gh"})
	}
	// Outside the range: never read.
	recs = append(recs, Record{OpenID: "late", Time: end.Unix() + 1})
	srv := &recordServer{t: t, records: recs}
	mux.Handle(pathRecordList, srv)

	var got []Record
	for r, err := range c.Records.all(t.Context(), start, end, 3) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(recs[:len(times)], got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	w1, w2, w3 := [2]int64{s0, s0 + 86399}, [2]int64{s0 + 86400, s0 + 172799}, [2]int64{s0 + 172800, end.Unix()}
	want := []ListRecordsRequest{
		{w1[0], w1[1], 1, 3}, {w1[0], w1[1], 4, 3}, {w1[0], w1[1], 7, 3}, // 3, 3, 1 records
		{w2[0], w2[1], 1, 3}, {w2[0], w2[1], 11, 3}, // 3 (ids 8..10), then 0
		{w3[0], w3[1], 1, 3}, {w3[0], w3[1], 14, 3}, // 3 (ids 11..13), 2 (ids 14, 15)
	}
	if diff := cmp.Diff(want, srv.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	windows := map[[2]int64]bool{}
	for _, r := range srv.requests() {
		windows[[2]int64{r.StartTime, r.EndTime}] = true
		if r.EndTime-r.StartTime > 86400 {
			t.Errorf("window %d..%d is longer than 24 h", r.StartTime, r.EndTime)
		}
	}
	if len(windows) != 3 {
		t.Errorf("%d windows, want 3", len(windows))
	}
}

// TestRecordsAllDefaultPage: All asks for pages of 10000 and continues
// after a full one.
func TestRecordsAllDefaultPage(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	start := time.Unix(1_700_000_000, 0)
	recs := make([]Record, RecordsMaxNumber+5)
	for i := range recs {
		recs[i] = Record{OpenID: "u", OperCode: OperCodeWorkerReceived, Time: start.Unix() + int64(i%3600)}
	}
	srv := &recordServer{t: t, records: recs}
	mux.Handle(pathRecordList, srv)
	n := 0
	for _, err := range c.Records.All(t.Context(), start, start.Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(recs) {
		t.Errorf("got %d records, want %d", n, len(recs))
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[0].Number != RecordsMaxNumber || reqs[1].MsgID != RecordsMaxNumber+1 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestRecordsAllErrors(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_700_000_000, 0)
	t.Run("repeated msgid", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		recs := []Record{{Time: start.Unix()}, {Time: start.Unix()}, {Time: start.Unix()}}
		mux.Handle(pathRecordList, &recordServer{t: t, records: recs, repeat: true})
		var errs []error
		n := 0
		for _, err := range c.Records.all(t.Context(), start, start.Add(time.Minute), 2) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
		if len(errs) != 1 || !errors.Is(errs[0], ErrRepeatedCursor) {
			t.Errorf("errors = %v, want one ErrRepeatedCursor", errs)
		}
		if n != 2 {
			t.Errorf("%d records before the error, want 2", n)
		}
	})
	t.Run("platform error", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		mux.HandleFunc(pathRecordList, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, errcodeReply(ErrCodeAPIUnauthorized))
		})
		var errs []error
		for _, err := range c.Records.All(t.Context(), start, start.Add(time.Minute)) {
			errs = append(errs, err)
		}
		if len(errs) != 1 {
			t.Fatalf("yielded %d values, want 1", len(errs))
		}
		wantAPIError(t, errs[0], opRecordList, ErrCodeAPIUnauthorized)
	})
	t.Run("end before start", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testNoRequest(t, mux, pathRecordList)
		for _, err := range c.Records.All(t.Context(), start, start.Add(-time.Second)) {
			wantInvalid(t, err, "endtime")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testNoRequest(t, mux, pathRecordList)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, err := range c.Records.All(ctx, start, start.Add(time.Minute)) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		}
	})
	t.Run("break stops", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		recs := []Record{{Time: start.Unix()}, {Time: start.Unix()}, {Time: start.Unix()}}
		srv := &recordServer{t: t, records: recs}
		mux.Handle(pathRecordList, srv)
		for range c.Records.all(t.Context(), start, start.Add(50*time.Hour), 2) {
			break
		}
		if n := len(srv.requests()); n != 1 {
			t.Errorf("%d requests after break, want 1", n)
		}
	})
}

func TestRecordWindows(t *testing.T) {
	t.Parallel()
	const d = 86400
	tests := []struct {
		start, end int64
		want       []recordWindow
	}{
		{100, 100, []recordWindow{{100, 100}}},
		{100, 100 + d, []recordWindow{{100, 100 + d - 1}, {100 + d, 100 + d}}},
		{100, 100 + d - 1, []recordWindow{{100, 100 + d - 1}}},
		{0, 60 * 3600, []recordWindow{{0, d - 1}, {d, 2*d - 1}, {2 * d, 60 * 3600}}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, recordWindows(tc.start, tc.end), cmp.AllowUnexported(recordWindow{})); diff != "" {
			t.Errorf("recordWindows(%d, %d) (-want +got):\n%s", tc.start, tc.end, diff)
		}
	}
}
