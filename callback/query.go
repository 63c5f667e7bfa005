package callback

import (
	"fmt"
	"strings"
)

// params holds the callback query parameters the handler reads.
type params struct {
	msgSignature string // msg_signature: WeCom and OA safe mode
	signature    string // signature: OA plain mode (and OA URL check)
	timestamp    string
	nonce        string
	echostr      string
	encryptType  string // encrypt_type: "aes" in OA safe mode; informational
}

// Bits of params.seen.
const (
	seenMsgSignature = 1 << iota
	seenSignature
	seenTimestamp
	seenNonce
	seenEchostr
	seenEncryptType
)

// parseQuery parses the raw query string of a callback URL.
//
// It differs from url.ParseQuery on purpose: a '+' is kept as a literal
// '+' instead of becoming a space. The values read here (hex signatures,
// decimal timestamps, nonces and base64 echostr) never contain spaces, but
// base64 does contain '+', and a platform or proxy that leaves it unescaped
// would otherwise corrupt the echostr and fail its signature. Percent
// escapes (%2B, %2F, %3D …) are decoded as usual. Parameters this package
// does not read are skipped without being decoded. A parameter it reads
// must not be repeated (the first and the last occurrence could otherwise
// be checked by different layers).
//
// It does not allocate unless a value contains a percent escape.
func parseQuery(raw string) (params, error) {
	var (
		p    params
		seen int
	)
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.IndexByte(k, '%') >= 0 {
			dk, ok := unescapeQuery(k)
			if !ok {
				// An undecodable name cannot be one of ours.
				continue
			}
			k = dk
		}
		var (
			dst *string
			bit int
		)
		switch k {
		case "msg_signature":
			dst, bit = &p.msgSignature, seenMsgSignature
		case "signature":
			dst, bit = &p.signature, seenSignature
		case "timestamp":
			dst, bit = &p.timestamp, seenTimestamp
		case "nonce":
			dst, bit = &p.nonce, seenNonce
		case "echostr":
			dst, bit = &p.echostr, seenEchostr
		case "encrypt_type":
			dst, bit = &p.encryptType, seenEncryptType
		default:
			continue
		}
		if seen&bit != 0 {
			return params{}, fmt.Errorf("%w: %s is repeated", ErrMissingParams, k)
		}
		seen |= bit
		if strings.IndexByte(v, '%') >= 0 {
			dv, ok := unescapeQuery(v)
			if !ok {
				return params{}, fmt.Errorf("%w: %s is not validly percent-encoded", ErrMissingParams, k)
			}
			v = dv
		}
		*dst = v
	}
	// A proxy that decoded '+' as a space and re-encoded it (%20) would
	// still corrupt a base64 echostr; base64 has no spaces, so map them
	// back.
	if strings.IndexByte(p.echostr, ' ') >= 0 {
		p.echostr = strings.ReplaceAll(p.echostr, " ", "+")
	}
	return p, nil
}

// unescapeQuery decodes %XX escapes in s. Unlike url.QueryUnescape it
// leaves '+' alone. It reports false for a malformed escape.
func unescapeQuery(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
