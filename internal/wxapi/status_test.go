package wxapi

import (
	"log/slog"
	"strings"
	"testing"
)

func newTextLogger(sb *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(sb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		code    ErrCode
		msg     string
		wantErr bool
	}{
		{`{"errcode":0,"errmsg":"ok"}`, 0, "ok", false},
		{` { "a" : [1,{"errcode":5}], "errcode" : 95018 , "errmsg":"send msg \"x\" hint: [1]"}`, 95018, `send msg "x" hint: [1]`, false},
		{`{"msg_list":[{"x":"}"}],"errcode":-1,"errmsg":"busy"}`, -1, "busy", false},
		{`{"access_token":"t"}`, 0, "", false},
		{`{}`, 0, "", false},
		{``, 0, "", true},
		{`[]`, 0, "", true},
		{`{"errcode":"x"}`, 0, "", true},
		{`{"errcode":1`, 0, "", true},
		{`{"a":"unterminated}`, 0, "", true},
		{`{"a" 1}`, 0, "", true},
	}
	for _, tt := range tests {
		code, msg, err := Status([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("Status(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if code != tt.code || msg != tt.msg {
			t.Errorf("Status(%q) = %d, %q; want %d, %q", tt.in, code, msg, tt.code, tt.msg)
		}
	}
}

func FuzzStatus(f *testing.F) {
	f.Add([]byte(`{"errcode":0,"errmsg":"ok","msg_list":[{"a":"b"}]}`))
	f.Add([]byte(`{"errcode":95018,"errmsg":"x"}`))
	f.Add([]byte(`{"a":[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = Status(data) // must not panic
	})
}

func TestErrCodeClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code                              ErrCode
		retry, rate, token, config, known bool
	}{
		{-1, true, false, false, false, true},
		{40014, false, false, true, false, true},
		{42001, false, false, true, false, true},
		{41001, false, false, true, false, true},
		{45009, false, true, false, false, true},
		{45033, false, true, false, false, true},
		{48002, false, false, false, true, true},
		{40013, false, false, false, true, true},
		{95018, false, false, false, false, true},
		{12345, false, false, false, false, false},
	}
	for _, tt := range tests {
		c := tt.code
		if c.Retryable() != tt.retry || c.RateLimited() != tt.rate || c.TokenProblem() != tt.token || c.ConfigProblem() != tt.config || c.Known() != tt.known {
			t.Errorf("%d: retry=%v rate=%v token=%v config=%v known=%v", c, c.Retryable(), c.RateLimited(), c.TokenProblem(), c.ConfigProblem(), c.Known())
		}
	}
	if got := ErrCode(95018).String(); got != "SessionStatusInvalid" {
		t.Errorf("String = %q", got)
	}
	if got := ErrCode(12345).String(); got != "ErrCode(12345)" {
		t.Errorf("String = %q", got)
	}
	if !strings.Contains(ErrCode(95018).Remedy(), "human servicer") {
		t.Errorf("Remedy(95018) = %q", ErrCode(95018).Remedy())
	}
	// No API transition leads from 2, 3 or 4 back to 0/1 (api-surface §4):
	// the remedy must not suggest one.
	if r := ErrCode(95018).Remedy(); strings.Contains(r, "move it back with") || !strings.Contains(r, "cannot move it back") {
		t.Errorf("Remedy(95018) = %q suggests an impossible state transition", r)
	}
	e := &APIError{Op: "kf/send_msg", Code: 95018, Msg: "send msg session status invalid, hint: [1]"}
	for _, want := range []string{"kf/send_msg", "95018", "SessionStatusInvalid", "hint: [1]", "remedy:"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("Error() = %q, missing %q", e.Error(), want)
		}
	}
}
