package wxcrypto

import (
	"errors"
	"strconv"
)

// cryptoError is the type of the package's sentinel errors. It carries the
// official library code and an optional parent sentinel, so that, for
// example, errors.Is(ErrPadding, ErrDecrypt) holds.
type cryptoError struct {
	msg    string
	code   ErrorCode
	parent error
}

func (e *cryptoError) Error() string { return e.msg }
func (e *cryptoError) Unwrap() error { return e.parent }

// ErrDecrypt is matched (via errors.Is) by every error that reports an
// undecryptable payload: ErrBase64, ErrCiphertext, ErrPadding and
// ErrBadLength.
var ErrDecrypt error = &cryptoError{msg: "wxcrypto: cannot decrypt message", code: CodeDecryptAES}

var (
	// ErrInvalidKey reports a malformed EncodingAESKey, or the use of a
	// zero Key.
	ErrInvalidKey error = &cryptoError{msg: "wxcrypto: invalid EncodingAESKey", code: CodeIllegalAESKey}

	// ErrBadSignature reports a msg_signature that does not match the
	// signature computed from the token, timestamp, nonce and ciphertext.
	ErrBadSignature error = &cryptoError{msg: "wxcrypto: signature mismatch", code: CodeValidateSignature}

	// ErrBase64 reports ciphertext that is not valid standard base64.
	ErrBase64 error = &cryptoError{msg: "wxcrypto: ciphertext is not valid base64", code: CodeDecodeBase64, parent: ErrDecrypt}

	// ErrCiphertext reports ciphertext whose length is not a non-zero
	// multiple of the AES block size.
	ErrCiphertext error = &cryptoError{msg: "wxcrypto: invalid ciphertext length", code: CodeDecryptAES, parent: ErrDecrypt}

	// ErrPadding reports decrypted data whose PKCS#7 (block size 32) padding
	// is invalid, which usually means a wrong key or tampered ciphertext.
	ErrPadding error = &cryptoError{msg: "wxcrypto: invalid PKCS#7 padding", code: CodeIllegalBuffer, parent: ErrDecrypt}

	// ErrBadLength reports a decrypted plaintext that is too short or whose
	// message length field points past its end.
	ErrBadLength error = &cryptoError{msg: "wxcrypto: invalid message length field", code: CodeIllegalBuffer, parent: ErrDecrypt}

	// ErrReceiverMismatch reports a decrypted receive ID (CorpID, SuiteID
	// or AppID) that differs from the expected one.
	ErrReceiverMismatch error = &cryptoError{msg: "wxcrypto: receive ID mismatch", code: CodeValidateReceiveID}

	// ErrEncrypt reports a failure to build a ciphertext: the randomness
	// source failed or the message is too long for the 32-bit length field.
	ErrEncrypt error = &cryptoError{msg: "wxcrypto: cannot encrypt message", code: CodeEncryptAES}

	// ErrMalformedXML reports an encrypted XML envelope that cannot be
	// parsed, lacks its Encrypt element or repeats an element.
	ErrMalformedXML error = &cryptoError{msg: "wxcrypto: malformed XML envelope", code: CodeParseXML}
)

// ErrorCode is an error code of the official WXBizMsgCrypt libraries. These
// codes are produced by the libraries, never by the WeCom servers.
type ErrorCode int

// Official WXBizMsgCrypt library error codes.
const (
	CodeOK                ErrorCode = 0      // WXBizMsgCrypt_OK
	CodeValidateSignature ErrorCode = -40001 // signature invalid
	CodeParseXML          ErrorCode = -40002 // XML/JSON parse failure
	CodeComputeSignature  ErrorCode = -40003 // SHA-1 computation failure
	CodeIllegalAESKey     ErrorCode = -40004 // illegal EncodingAESKey
	CodeValidateReceiveID ErrorCode = -40005 // receive ID (CorpID/AppID) mismatch
	CodeEncryptAES        ErrorCode = -40006 // AES encryption failure
	CodeDecryptAES        ErrorCode = -40007 // AES decryption failure
	CodeIllegalBuffer     ErrorCode = -40008 // illegal buffer after decryption
	CodeEncodeBase64      ErrorCode = -40009 // base64 encoding failure
	CodeDecodeBase64      ErrorCode = -40010 // base64 decoding failure
	CodeGenReturnXML      ErrorCode = -40011 // reply XML/JSON generation failure
)

var codeNames = map[ErrorCode]string{
	CodeOK:                "WXBizMsgCrypt_OK",
	CodeValidateSignature: "ValidateSignature_Error",
	CodeParseXML:          "ParseXml_Error",
	CodeComputeSignature:  "ComputeSignature_Error",
	CodeIllegalAESKey:     "IllegalAesKey",
	CodeValidateReceiveID: "ValidateCorpid_Error",
	CodeEncryptAES:        "EncryptAES_Error",
	CodeDecryptAES:        "DecryptAES_Error",
	CodeIllegalBuffer:     "IllegalBuffer",
	CodeEncodeBase64:      "EncodeBase64_Error",
	CodeDecodeBase64:      "DecodeBase64_Error",
	CodeGenReturnXML:      "GenReturnXml_Error",
}

// String returns the identifier the official libraries use for c, such as
// "ValidateSignature_Error", or "ErrorCode(n)" for an unknown code.
func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "ErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// CodeOf returns the official library code corresponding to err. It returns
// (CodeOK, true) for a nil error and (0, false) for an error that does not
// wrap one of this package's sentinel errors.
func CodeOf(err error) (ErrorCode, bool) {
	if err == nil {
		return CodeOK, true
	}
	var ce *cryptoError
	if errors.As(err, &ce) {
		return ce.code, true
	}
	return 0, false
}
