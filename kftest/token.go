package kftest

import (
	"net/http"
	"time"

	"github.com/wxkf/kf"
)

// tokenTTL is the lifetime of an access_token.
const tokenTTL = 7200 * time.Second

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (s *Server) routesToken() {
	s.api(endpoint{path: "/cgi-bin/gettoken", methods: []string{http.MethodGet}, noToken: true, fn: s.getToken})
}

// getToken serves GET /cgi-bin/gettoken?corpid=&corpsecret=.
func (s *Server) getToken(c *call, st *State) (any, error) {
	q := c.r.URL.Query()
	corp, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case corp == "":
		return nil, apiErr(kf.ErrCodeCorpIDMissing, "corpid missing")
	case corp != st.corpID:
		return nil, apiErr(kf.ErrCodeInvalidCorpID, "invalid corpid")
	case secret == "":
		return nil, apiErr(kf.ErrCodeSecretMissing, "corpsecret missing")
	case !st.secrets[secret]:
		return nil, apiErr(kf.ErrCodeInvalidCredential, "invalid credential")
	}
	// Each fetch issues a new token; earlier ones stay valid until they
	// expire (WeCom behaviour; Official Accounts differ).
	tok := "kft_" + s.randID(40)
	st.tokens[tok] = c.now.Add(tokenTTL)
	for t, exp := range st.tokens { // keep the map small
		if c.now.After(exp.Add(time.Hour)) {
			delete(st.tokens, t)
		}
	}
	return tokenReply{AccessToken: tok, ExpiresIn: int(tokenTTL / time.Second)}, nil
}

// checkToken validates an access_token: missing 41001, unknown or revoked
// 40014, expired 42001.
func checkToken(st *State, tok string, now time.Time) error {
	if tok == "" {
		return apiErr(kf.ErrCodeAccessTokenMissing, "access_token missing")
	}
	exp, ok := st.tokens[tok]
	if !ok {
		return apiErr(kf.ErrCodeInvalidAccessToken, "invalid access_token")
	}
	if !now.Before(exp) {
		return apiErr(kf.ErrCodeAccessTokenExpired, "access_token expired")
	}
	return nil
}

// RevokeTokens makes every access_token issued so far invalid (40014), as
// when the platform invalidates tokens early.
func (s *Server) RevokeTokens() {
	_ = s.store.Update(func(st *State) error {
		clear(st.tokens)
		return nil
	})
}

// TokenCount returns how many access tokens have been issued and are
// still valid.
func (s *Server) TokenCount() int {
	n := 0
	now := s.clock.Now()
	_ = s.store.View(func(st *State) error {
		for _, exp := range st.tokens {
			if now.Before(exp) {
				n++
			}
		}
		return nil
	})
	return n
}
