package wxcrypto

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestErrorCodeString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code ErrorCode
		want string
		num  int
	}{
		{CodeOK, "WXBizMsgCrypt_OK", 0},
		{CodeValidateSignature, "ValidateSignature_Error", -40001},
		{CodeParseXML, "ParseXml_Error", -40002},
		{CodeComputeSignature, "ComputeSignature_Error", -40003},
		{CodeIllegalAESKey, "IllegalAesKey", -40004},
		{CodeValidateReceiveID, "ValidateCorpid_Error", -40005},
		{CodeEncryptAES, "EncryptAES_Error", -40006},
		{CodeDecryptAES, "DecryptAES_Error", -40007},
		{CodeIllegalBuffer, "IllegalBuffer", -40008},
		{CodeEncodeBase64, "EncodeBase64_Error", -40009},
		{CodeDecodeBase64, "DecodeBase64_Error", -40010},
		{CodeGenReturnXML, "GenReturnXml_Error", -40011},
		{ErrorCode(-1), "ErrorCode(-1)", -1},
	} {
		if got := tc.code.String(); got != tc.want {
			t.Errorf("ErrorCode(%d).String() = %q, want %q", int(tc.code), got, tc.want)
		}
		if int(tc.code) != tc.num {
			t.Errorf("%s = %d, want %d", tc.want, int(tc.code), tc.num)
		}
	}
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		want   ErrorCode
		wantOK bool
	}{
		{nil, CodeOK, true},
		{ErrBadSignature, CodeValidateSignature, true},
		{ErrMalformedXML, CodeParseXML, true},
		{ErrInvalidKey, CodeIllegalAESKey, true},
		{ErrReceiverMismatch, CodeValidateReceiveID, true},
		{ErrEncrypt, CodeEncryptAES, true},
		{ErrDecrypt, CodeDecryptAES, true},
		{ErrCiphertext, CodeDecryptAES, true},
		{ErrPadding, CodeIllegalBuffer, true},
		{ErrBadLength, CodeIllegalBuffer, true},
		{ErrBase64, CodeDecodeBase64, true},
		{fmt.Errorf("callback: %w", fmt.Errorf("%w: detail", ErrPadding)), CodeIllegalBuffer, true},
		{io.EOF, 0, false},
	} {
		got, ok := CodeOf(tc.err)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("CodeOf(%v) = %v, %v; want %v, %v", tc.err, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestErrorHierarchy(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ErrBase64, ErrCiphertext, ErrPadding, ErrBadLength} {
		if !errors.Is(err, ErrDecrypt) {
			t.Errorf("%v does not match ErrDecrypt", err)
		}
	}
	for _, err := range []error{ErrInvalidKey, ErrBadSignature, ErrReceiverMismatch, ErrEncrypt, ErrMalformedXML} {
		if errors.Is(err, ErrDecrypt) {
			t.Errorf("%v matches ErrDecrypt", err)
		}
	}
	if errors.Is(ErrPadding, ErrBadLength) {
		t.Error("sentinels must be distinct")
	}
}
