package kftest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/wxkf/kf/kftest"
)

// BenchmarkEmulator measures the emulator's send_msg and sync_msg requests
// per second over loopback, and in the same run a bare net/http handler that
// decodes the same request JSON and encodes the same reply JSON (the floor
// an HTTP+JSON server cannot go below). Target: the emulator within 2x of
// the bare handler.
func BenchmarkEmulator(b *testing.B) {
	s := kftest.NewServer(b, kftest.WithSeed(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wkBench", Name: "Bench"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmBench", Nickname: "Bench"}},
	}), kftest.WithRandSeed(1))
	tok, err := s.Client().Tokens().Token(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	// A backlog for sync_msg: 1000 customer messages.
	for i := range 1000 {
		if _, err := s.CustomerSend("wkBench", "wmBench", kftest.CustomerText(strings.Repeat("你好 hello ", 1+i%5))); err != nil {
			b.Fatal(err)
		}
	}
	syncToken, err := s.SyncToken("wkBench")
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	post := func(b *testing.B, url string, body []byte) []byte {
		resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(out, []byte(`{"errcode":0,`)) {
			b.Fatalf("reply %d %.200s %v", resp.StatusCode, out, err)
		}
		return out
	}
	emuURL := s.URL() + "/cgi-bin/kf/"
	q := "?access_token=" + tok

	syncBody := []byte(`{"open_kfid":"wkBench","token":"` + syncToken + `","limit":100}`)
	syncReply := post(b, emuURL+"sync_msg"+q, syncBody)
	sendBody := func(i int, to string) []byte {
		return []byte(`{"touser":"` + to + `","open_kfid":"wkBench","msgid":"bench` + strconv.Itoa(i) + `","msgtype":"text","text":{"content":"echo: hello"}}`)
	}

	// The bare handler decodes the request into a struct like the
	// emulator's and encodes the same reply as a Go value.
	type syncReq struct {
		Cursor      string `json:"cursor"`
		Token       string `json:"token"`
		Limit       uint32 `json:"limit"`
		VoiceFormat uint32 `json:"voice_format"`
		OpenKfID    string `json:"open_kfid"`
	}
	type syncResp struct {
		ErrCode    int               `json:"errcode"`
		ErrMsg     string            `json:"errmsg"`
		NextCursor string            `json:"next_cursor"`
		HasMore    int               `json:"has_more"`
		MsgList    []json.RawMessage `json:"msg_list"`
	}
	var syncValue syncResp
	if err := json.Unmarshal(syncReply, &syncValue); err != nil || len(syncValue.MsgList) != 100 {
		b.Fatalf("sync reply: %v, %d messages", err, len(syncValue.MsgList))
	}
	type sendReq struct {
		ToUser   string          `json:"touser"`
		OpenKfID string          `json:"open_kfid"`
		MsgID    string          `json:"msgid"`
		MsgType  string          `json:"msgtype"`
		Text     json.RawMessage `json:"text"`
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var reply any
		switch r.URL.Path {
		case "/cgi-bin/kf/sync_msg":
			var req syncReq
			if err := json.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			reply = syncValue
		default:
			var req sendReq
			if err := json.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			reply = struct {
				ErrCode int    `json:"errcode"`
				ErrMsg  string `json:"errmsg"`
				MsgID   string `json:"msgid"`
			}{0, "ok", req.MsgID}
		}
		out, _ := json.Marshal(reply)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Write(out)
	}))
	b.Cleanup(bare.Close)
	bareURL := bare.URL + "/cgi-bin/kf/"

	reqPerSec := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("sync_msg/emulator", func(b *testing.B) {
		for b.Loop() {
			post(b, emuURL+"sync_msg"+q, syncBody)
		}
		reqPerSec(b)
	})
	b.Run("sync_msg/bare_net_http", func(b *testing.B) {
		for b.Loop() {
			post(b, bareURL+"sync_msg"+q, syncBody)
		}
		reqPerSec(b)
	})
	// send_msg: each customer message allows 5 replies, so a pool of
	// customers who wrote is refilled (outside the timing) every
	// 5 × pool sends.
	const pool = 2000
	refill := func(b *testing.B) {
		for c := range pool {
			id := "wmPool" + strconv.Itoa(c)
			if _, err := s.AddCustomer(kftest.SeedCustomer{ExternalUserID: id}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.CustomerSend("wkBench", id, kftest.CustomerText("again")); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := 0
	b.Run("send_msg/emulator", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if i%(5*pool) == 0 {
				b.StopTimer()
				refill(b)
				b.StartTimer()
			}
			n++
			post(b, emuURL+"send_msg"+q, sendBody(n, "wmPool"+strconv.Itoa(i%pool)))
		}
		reqPerSec(b)
	})
	b.Run("send_msg/bare_net_http", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			post(b, bareURL+"send_msg"+q, sendBody(i, "wmPool"+strconv.Itoa(i%pool)))
		}
		reqPerSec(b)
	})
}
