package wxapi

import (
	"errors"
	"net/url"
	"regexp"
)

// sensitiveParams are query parameters whose values never reach a log line
// or an error text.
var sensitiveParams = [...]string{"access_token", "corpsecret", "secret", "suite_access_token", "provider_access_token", "component_access_token", "authorizer_access_token"}

// Redact returns u as a string with every sensitive query value replaced by
// "REDACTED".
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	q := u.Query()
	changed := false
	for _, p := range sensitiveParams {
		if q.Has(p) {
			q.Set(p, "REDACTED")
			changed = true
		}
	}
	if !changed {
		return u.String()
	}
	c := *u
	c.RawQuery = q.Encode()
	return c.String()
}

var sensitiveRE = regexp.MustCompile(`((?:access_token|corpsecret|secret|suite_access_token|provider_access_token|component_access_token|authorizer_access_token)=)[^&\s"']*`)

// RedactString replaces sensitive query values in free text (error messages
// that embed URLs).
func RedactString(s string) string {
	return sensitiveRE.ReplaceAllString(s, "${1}REDACTED")
}

// redactURLError rewrites the URL inside a *url.Error so that the error text
// carries no token.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		if u, perr := url.Parse(ue.URL); perr == nil {
			c.URL = Redact(u)
		} else {
			c.URL = RedactString(ue.URL)
		}
		return &c
	}
	return err
}
