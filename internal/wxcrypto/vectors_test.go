package wxcrypto

import (
	"encoding/base64"
	"strings"
	"testing"
)

// Official vector set (WeCom doc 90968 and the official WXBizMsgCrypt
// samples), api-surface §5.5.
const (
	officialToken     = "QDG6eK"
	officialKey       = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	officialAESKeyHex = "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760"
	officialCorpID    = "wx5823bf96d3bd56c7"

	getTimestamp = "1409659589"
	getNonce     = "263014780"
	getEchostr   = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	getSignature = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	getRandom    = "c41b64491c2468d0"
	getMsg       = "1616140317555161061"

	postTimestamp = "1409659813"
	postNonce     = "1372623149"
	postSignature = "477715d11cdb4164915debcba66cb864d751f3e6"
	postEncrypt   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
	postRandom    = "0960688932c47ef1"
	postMsg       = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n" +
		"<FromUserName><![CDATA[mycreate]]></FromUserName>\n" +
		"<CreateTime>1409659813</CreateTime>\n" +
		"<MsgType><![CDATA[text]]></MsgType>\n" +
		"<Content><![CDATA[hello]]></Content>\n" +
		"<MsgId>4561255354251345929</MsgId>\n" +
		"<AgentID>218</AgentID>\n" +
		"</xml>"
	postBody = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + postEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)

// go-workwx vectors (internal/lowlevel tests), api-surface §5.5.
const (
	gwKey        = "4Ma3YBrSBbX2aez8MJpXGBne5LSDwgGqHbhM9WPYIws"
	gwCiphertext = "6KmUQuPVu7UhjyVqRdbo5SfcRqaHvbUlKSHFvBV2ZuR6TIlKsygcfeSd1GDplg1C5KSKr6UPHCaC/nIX3ZNt9w=="
	gwMsg        = "94966531020182955848408"
	gwReceiveID  = "ww6a112864f8022910"
	gwRandom     = "5QMsYcwjR95t2vmC"
	gwToken      = "kjr2TKI8umCBfVF3wAHk8JiPwma5VBme"
	gwTimestamp  = "1583940690"
	gwNonce      = "VHh7ymSeb0jc4lSb"
	gwSignature  = "1ba3cb09c0d2c2b3ed6900d37f91a6efae6cb011"

	gw2Token     = "kz7Yx62CH8SaLN"
	gw2Key       = "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP"
	gw2Timestamp = "1583995625"
	gw2Nonce     = "1584392382"
	gw2Signature = "f265ae551b1932727204c3d707628d01376a6940"
	gw2Encrypt   = "EUCt7xMcNiyASzZj0Hjc5yDjFQrCum6AfQ3ntHiUzjGQ51xieKmbvtrZ40/EcB2W/W8yH0n4Lqx48gJl/T9HD/R309I0P/r5pIZucK3lyEn48FYMr4YdE0QdL2jIJ3xkcXUr6uzefzCxG6lMvwpAJaOyVCzN7sRRw47njfxy5EIqU6R9ZBhlTzfdnhhOhK/nTwzrZX3SoGlXFA9OBeZ6ru1NWpXFk76x9DUMe0lcxPPiUqK8ctnQcYXSGUHVqC6DfG7E7mab0OmruNN8cBZY5d3dYOBA4OgaH55Q0AJmUpdT8vNiXpXx+6TxT3TIjySXpDrHVyrsb772aYywgg/Nu4kUmGkALwFZlzhjNegR7wDwb9lr4ERXsSSS8JZ8lbBmaQ3F2Tq584xoPj5rIhXAF734ynm4no1g+SdHiNqR328="
	gw2Body      = "<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><Encrypt><![CDATA[" + gw2Encrypt + "]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
	gw2Msg       = "<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><FromUserName><![CDATA[foobar]]></FromUserName><CreateTime>1583995625</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x123]]></Content><MsgId>2018405441</MsgId><AgentID>1000002</AgentID></xml>"

	gw3Signature = "a44d1b7dc3dc4b02edd99dc32afa6a26be7c92f6"
	gw3ReceiveID = "wwf181555a13a31443"
	gw3Msg       = "<xml><ToUserName><![CDATA[wwf181555a13a31443]]></ToUserName><FromUserName><![CDATA[xen0n]]></FromUserName><CreateTime>1583995625</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x123]]></Content><MsgId>2018405441</MsgId><AgentID>1000002</AgentID></xml>"
	gw3Encrypt   = "fyVN9BUnH6xNl0/VCHTCg6XGxxvoFdyZ7VQbAbBcQ79dVccYvdIyJYZSMMhkPy8LPaoe+V27qjoQ553fXavmrPOgxzHrKKf3YIu63pB4/nN0LY4S+GzUFi/LLFj1TI1sOh0q2jT5u1nYz5G3HFNLd3DFUvJVLtZl8mVMwUOzBpzKZhhmCvIJLVlvym9tt+VYwG06MSbmnf9AzYFKhm1BIy+95Q824ilY6Wy8l+vkFqEdASl2k83jMXvlkVRSB3hmNptWTbq8ygDdLtkCyA4UEiZvfTskqqVkbYwLptRl/1F+DVL9SH/TWt2j3dCm4rzY5jQG+fA+2xh2Kk+OrVgafqtQCfhjq8C38A2IwCcg2BONKk8s5ijFxQoszmXvJQ3zLYbjzRWQ40xhryDyPNNse7/slKVW2QMBEUPNOxUcX9k="
)

// kfEvent is a typical kf_msg_or_event callback plaintext (§5.3).
const kfEvent = "<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><CreateTime>1700000000</CreateTime>" +
	"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>" +
	"<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>" +
	"<OpenKfId><![CDATA[wkxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx]]></OpenKfId></xml>"

func mustParseKey(tb testing.TB, s string) Key {
	tb.Helper()
	k, err := ParseKey(s)
	if err != nil {
		tb.Fatalf("ParseKey: %v", err)
	}
	return k
}

// rawDecrypt returns the full unpadded plaintext of b64, including the
// random prefix, using the package internals.
func rawDecrypt(tb testing.TB, k Key, b64 string) []byte {
	tb.Helper()
	buf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatalf("base64: %v", err)
	}
	p, err := k.decryptCBC(buf)
	if err != nil {
		tb.Fatalf("decryptCBC: %v", err)
	}
	return p
}

// rawEncrypt pads and encrypts plaintext as-is (no envelope).
func rawEncrypt(tb testing.TB, k Key, plaintext []byte, doPad bool) string {
	tb.Helper()
	buf := append([]byte(nil), plaintext...)
	if doPad {
		buf = pad(buf)
	}
	if err := k.encryptCBC(buf); err != nil {
		tb.Fatalf("encryptCBC: %v", err)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// assertNoSecrets fails if msg contains any of the secrets.
func assertNoSecrets(tb testing.TB, msg string, secrets ...string) {
	tb.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			tb.Errorf("error message %q leaks a secret", msg)
		}
	}
}
