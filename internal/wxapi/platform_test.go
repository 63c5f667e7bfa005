package wxapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

type option func(*ClientOptions) error

func TestClientOptionsSetters(t *testing.T) {
	t.Parallel()
	var o ClientOptions
	bad := []struct {
		err  error
		want string
	}{
		{o.SetHTTPClient(nil), "WithHTTPClient: nil client"},
		{o.SetBaseURL("/x"), "WithBaseURL: \"/x\" is not an absolute http(s) URL"},
		{o.SetBaseURL("ftp://h"), "not an absolute"},
		{o.SetBaseURL("http://h?a=1"), "must not carry a query or fragment"},
		{o.SetBaseURL("http://h#f"), "must not carry a query or fragment"},
		{o.SetBaseURL("http://[::1"), "WithBaseURL: "},
		{o.SetTokenSource(nil), "WithTokenSource: nil source"},
		{o.SetTokenCache(nil), "WithTokenCache: nil cache"},
		{o.SetRetryer(nil), "WithRetryer: nil retryer"},
		{o.SetRetry(0), "WithRetry: maxAttempts 0 out of range 1..20"},
		{o.SetRetry(21), "out of range"},
		{o.SetLogger(nil), "WithLogger: nil logger"},
		{o.SetClock(nil), "WithClock: nil clock"},
	}
	for _, b := range bad {
		if b.err == nil || !strings.Contains(b.err.Error(), b.want) {
			t.Errorf("err = %v, want %q", b.err, b.want)
		}
	}
	if o != (ClientOptions{}) {
		t.Errorf("failed setters changed the options: %+v", o)
	}
	for _, err := range []error{
		o.SetHTTPClient(&http.Client{}), o.SetBaseURL("https://h/base/"), o.SetTokenSource(StaticSource("t")),
		o.SetTokenCache(&MemoryTokenCache{}), o.SetRetryer(NewStandardRetryer(StandardRetryerConfig{})), o.SetRetry(20),
		o.SetLogger(slog.New(slog.DiscardHandler)), o.SetClock(fixedClock{}),
	} {
		if err != nil {
			t.Error(err)
		}
	}
	if o.BaseURL.String() != "https://h/base" || o.MaxAttempts != 20 || o.HTTPClient == nil || o.Tokens == nil ||
		o.Cache == nil || o.Retryer == nil || o.Logger == nil || o.Clock == nil {
		t.Errorf("options not all set: %+v", o)
	}
}

func setRetry(n int) option { return func(o *ClientOptions) error { return o.SetRetry(n) } }

func TestApplyOptions(t *testing.T) {
	t.Parallel()
	o, err := applyOptions("kf", []option{setRetry(2), setRetry(5)})
	if err != nil || o.MaxAttempts != 5 {
		t.Errorf("applyOptions = %+v, %v; want MaxAttempts 5", o, err)
	}
	_, err = applyOptions("mp", []option{setRetry(0), setRetry(5)})
	if err == nil || err.Error() != "mp: WithRetry: maxAttempts 0 out of range 1..20" {
		t.Errorf("err = %v", err)
	}
}

func testPlatform(defaultBase string) Platform {
	return Platform{
		Prefix: "xx", IDName: "thing id", DefaultBaseURL: defaultBase, UserAgent: "ua",
		CacheKeyPrefix: "xx", TokenOp: "xx/token", TokenPath: "/token",
		TokenQuery: func(id, secret string) url.Values {
			return url.Values{"id": {id}, "secret": {secret}}
		},
	}
}

func TestNewPlatformClientChecks(t *testing.T) {
	t.Parallel()
	p := testPlatform("https://example.com/")
	static := func(o *ClientOptions) error { return o.SetTokenSource(StaticSource("t")) }
	for _, tc := range []struct {
		id, secret string
		opts       []option
		want       string
	}{
		{"", "s", nil, "xx: NewClient: empty thing id"},
		{"i", "", nil, "xx: NewClient: empty secret (give a secret or WithTokenSource)"},
		{"", "", []option{setRetry(0)}, "xx: WithRetry: maxAttempts 0 out of range 1..20"},
	} {
		if _, _, err := NewPlatformClient(p, tc.id, tc.secret, tc.opts); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	api, ts, err := NewPlatformClient(p, "i", "", []option{static})
	if err != nil {
		t.Fatal(err)
	}
	if ts != StaticSource("t") || api.Tokens() != ts {
		t.Errorf("token source = %v, transport's %v; want the given one", ts, api.Tokens())
	}
	if api.BaseURL().String() != "https://example.com/" {
		t.Errorf("BaseURL = %v, want the default", api.BaseURL())
	}
	if api.retryer.MaxAttempts() != 3 {
		t.Errorf("default retryer attempts = %d", api.retryer.MaxAttempts())
	}
	api, _, err = NewPlatformClient(p, "i", "", []option{static, setRetry(7)})
	if err != nil || api.retryer.MaxAttempts() != 7 {
		t.Errorf("WithRetry(7): %v, %v", api, err)
	}
}

func TestNewPlatformClientTokenFetch(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/token" || q.Get("id") != "app" || q.Get("secret") != "sec" ||
			q.Has("access_token") || r.Header.Get("User-Agent") != "ua" {
			t.Errorf("unexpected token request %s %s %s", r.Method, r.URL, r.Header.Get("User-Agent"))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"TOK"}`) // no expires_in
	}))
	t.Cleanup(srv.Close)
	clk := fixedClock(time.Unix(1_700_000_000, 0))
	cache := &MemoryTokenCache{}
	opts := []option{
		func(o *ClientOptions) error { return o.SetBaseURL(srv.URL) },
		func(o *ClientOptions) error { return o.SetClock(clk) },
		func(o *ClientOptions) error { return o.SetTokenCache(cache) },
	}
	_, ts, err := NewPlatformClient(testPlatform(""), "app", "sec", opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token(t.Context())
	if err != nil || tok != "TOK" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	got, ok, _ := cache.Get(t.Context(), CacheKey("xx", "app", "sec"))
	if !ok || got.Value != "TOK" || !got.ExpiresAt.Equal(clk.Now().Add(DefaultTokenLifetime)) {
		t.Errorf("cached token = %+v, %v; want TOK expiring after the default lifetime", got, ok)
	}
}

func TestMarshalPayload(t *testing.T) {
	t.Parallel()
	if b, err := MarshalPayload(nil); b != nil || err != nil {
		t.Errorf("MarshalPayload(nil) = %s, %v", b, err)
	}
	b, err := MarshalPayload(&struct {
		Content string `json:"content"`
	}{"hi"})
	if err != nil || string(b) != `{"content":"hi"}` {
		t.Errorf("MarshalPayload = %s, %v", b, err)
	}
}
