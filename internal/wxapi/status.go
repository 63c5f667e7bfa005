package wxapi

import (
	"encoding/json"
	"errors"
	"strconv"
)

var errNotObject = errors.New("reply is not a JSON object")

// Status extracts the top-level errcode and errmsg of a JSON reply without
// decoding the rest: it skips other values, so that a large sync_msg page is
// not decoded twice. A reply without errcode counts as success (media and
// some legacy endpoints omit it).
func Status(data []byte) (ErrCode, string, error) {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return 0, "", errNotObject
	}
	i++
	var code ErrCode
	var msg string
	for {
		i = skipWS(data, i)
		if i < len(data) && data[i] == '}' {
			return code, msg, nil
		}
		ks, ke, next, err := scanString(data, i)
		if err != nil {
			return 0, "", err
		}
		key := data[ks:ke]
		i = skipWS(data, next)
		if i >= len(data) || data[i] != ':' {
			return 0, "", errors.New("malformed JSON: expected ':'")
		}
		i = skipWS(data, i+1)
		end, err := skipValue(data, i)
		if err != nil {
			return 0, "", err
		}
		switch string(key) {
		case "errcode":
			n, err := strconv.ParseInt(string(data[i:end]), 10, 64)
			if err != nil {
				return 0, "", errors.New("malformed errcode")
			}
			code = ErrCode(n)
		case "errmsg":
			if err := json.Unmarshal(data[i:end], &msg); err != nil {
				return 0, "", errors.New("malformed errmsg")
			}
		}
		i = skipWS(data, end)
		if i >= len(data) {
			return 0, "", errors.New("malformed JSON: unexpected end")
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return code, msg, nil
		default:
			return 0, "", errors.New("malformed JSON: expected ',' or '}'")
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString returns the bounds of the string's contents starting at b[i]
// == '"' and the index after the closing quote.
func scanString(b []byte, i int) (start, end, next int, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, 0, errors.New("malformed JSON: expected string")
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return i + 1, j, j + 1, nil
		}
	}
	return 0, 0, 0, errors.New("malformed JSON: unterminated string")
}

// skipValue returns the index just after the JSON value starting at b[i].
// It checks nesting and strings, not the full grammar of scalars.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("malformed JSON: missing value")
	}
	switch b[i] {
	case '"':
		_, _, next, err := scanString(b, i)
		return next, err
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, _, next, err := scanString(b, j)
				if err != nil {
					return 0, err
				}
				j = next - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("malformed JSON: unterminated value")
	default:
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				break
			}
			j++
		}
		if j == i {
			return 0, errors.New("malformed JSON: empty value")
		}
		return j, nil
	}
}
