// Package wxcrypto implements the WXBizMsgCrypt primitives used by WeCom
// (企业微信) and Official Account callbacks in 安全模式 (secure mode): the
// callback signature, the AES-256-CBC message envelope, PKCS#7 padding with a
// 32-byte block, and the small XML envelopes that carry the ciphertext.
//
// # Algorithm
//
// The 43-character EncodingAESKey is the standard base64 encoding of a
// 32-byte AES-256 key with its trailing "=" removed. The CBC initialisation
// vector is the first 16 bytes of that key.
//
// A message msg addressed to receiveID (the CorpID for internal apps, the
// SuiteID for suite callbacks, the AppID for Official Accounts) is encrypted
// as
//
//	plaintext = random(16) || uint32_be(len(msg)) || msg || receiveID
//	Encrypt   = base64(AES-256-CBC(key, iv, PKCS7_32(plaintext)))
//
// where PKCS7_32 pads to a multiple of 32 bytes (a 32-byte-aligned input gets
// a full block of 32 bytes of value 0x20). The callback signature is
//
//	msg_signature = hex(sha1(concat(sort([token, timestamp, nonce, Encrypt]))))
//
// with a byte-wise lexicographic sort and lower-case hex.
//
// Decryption reverses these steps and rejects, without panicking, anything
// that is not well formed: bad base64, a ciphertext that is not a non-zero
// multiple of the AES block size, inconsistent padding, or a length field
// that points past the end of the plaintext. Callers should verify the
// signature (see [VerifySignature]) before decrypting, so that an attacker
// without the token cannot use the distinct decryption errors as an oracle.
//
// # Errors
//
// Failures are reported with the sentinel errors of this package (for
// example [ErrBadSignature], [ErrPadding], [ErrReceiverMismatch]), wrapped
// with %w and some context. Every decryption failure also matches
// [ErrDecrypt]. [CodeOf] maps an error to the [ErrorCode] that the official
// WXBizMsgCrypt libraries would have returned (-40001 … -40011). Error
// messages never contain keys, tokens, signatures or plaintext.
//
// SHA-1 is mandated by the platform, so this package cannot be used when
// the Go runtime enforces FIPS 140-only mode (GODEBUG=fips140=only).
package wxcrypto
