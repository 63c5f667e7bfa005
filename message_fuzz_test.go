package kf

import (
	"bytes"
	"encoding/json"
	"testing"
)

// rxFuzzCheckMessage checks the decode invariants of one decoded message: its
// MarshalJSON returns exactly its raw bytes, which are valid JSON, and the
// typed values re-encode without error or panic.
func rxFuzzCheckMessage(t *testing.T, m *Message) {
	t.Helper()
	out, err := m.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	if !bytes.Equal(out, m.Raw) {
		t.Fatalf("MarshalJSON = %q, want Raw %q", out, m.Raw)
	}
	if !json.Valid(out) {
		t.Fatalf("Raw is not valid JSON: %q", out)
	}
	if m.Payload == nil {
		t.Fatalf("nil Payload for %q", m.Raw)
	}
	typed := *m
	typed.Raw = nil
	if e, ok := typed.Payload.(*Event); ok {
		c := *e
		c.Raw = nil
		typed.Payload = &c
	}
	if _, err := json.Marshal(typed); err != nil {
		t.Fatalf("typed re-encoding of %q: %v", m.Raw, err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range rxMessageSamples {
		f.Add([]byte(s.json))
	}
	f.Add([]byte(`{"msgid":"u1","msgtype":"hologram","hologram":{"x":[1,{"y":null}],"s":"\u4e2d"}}`))
	f.Add([]byte(`{"msgtype":"event","event":{"event_type":"future","a":[true,false]}}`))
	f.Add([]byte(`{"text":{"content":"a\nb\"c\\"},"msgtype":"text"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := m.UnmarshalJSON(data); err != nil {
			return
		}
		if string(bytes.TrimSpace(data)) == "null" {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("decoded invalid JSON %q", data)
		}
		if !bytes.Equal(m.Raw, bytes.TrimSpace(data)) {
			t.Fatalf("Raw = %q, want the trimmed input %q", m.Raw, data)
		}
		rxFuzzCheckMessage(t, &m)
	})
}

func FuzzDecodeSyncMsgResponse(f *testing.F) {
	// Small seeds (one sample per page) keep the fuzzer's minimization fast.
	for _, s := range rxMessageSamples {
		f.Add([]byte(`{"errcode":0,"errmsg":"ok","next_cursor":"c","has_more":1,"msg_list":[` + s.json + `]}`))
	}
	f.Add(genSyncPage(2))
	f.Add([]byte(`{"next_cursor":"","has_more":0,"msg_list":[]}`))
	f.Add([]byte(`{"has_more":true,"msg_list":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r SyncMsgResponse
		if err := r.UnmarshalJSON(data); err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("decoded invalid JSON %q", data)
		}
		for i := range r.MsgList {
			rxFuzzCheckMessage(t, &r.MsgList[i])
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("Marshal(page): %v", err)
		}
	})
}
