package wxcrypto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		inLen int
		want  []byte
	}{
		{0, bytes.Repeat([]byte{0x20}, 32)},
		{1, bytes.Repeat([]byte{0x1f}, 31)},
		{31, []byte{0x01}},
		{32, bytes.Repeat([]byte{0x20}, 32)},
		{33, bytes.Repeat([]byte{0x1f}, 31)},
		{63, []byte{0x01}},
		{64, bytes.Repeat([]byte{0x20}, 32)},
	} {
		in := bytes.Repeat([]byte{'a'}, tc.inLen)
		got := pad(bytes.Clone(in))
		if diff := cmp.Diff(append(in, tc.want...), got); diff != "" {
			t.Errorf("pad(len %d) mismatch (-want +got):\n%s", tc.inLen, diff)
		}
		back, err := unpad(got)
		if err != nil {
			t.Fatalf("unpad(pad(len %d)): %v", tc.inLen, err)
		}
		if !bytes.Equal(back, in) {
			t.Errorf("unpad(pad(len %d)) = len %d", tc.inLen, len(back))
		}
	}
}

func TestPadRoundTrip(t *testing.T) {
	t.Parallel()
	for n := range 200 {
		in := bytes.Repeat([]byte{byte(n)}, n)
		p := pad(bytes.Clone(in))
		if len(p)%32 != 0 || len(p) <= n || len(p) > n+32 {
			t.Fatalf("pad(len %d) has length %d", n, len(p))
		}
		back, err := unpad(p)
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("round trip of len %d: %v", n, err)
		}
	}
}

func TestUnpadInvalid(t *testing.T) {
	t.Parallel()
	block := func(fill byte, tail ...byte) []byte {
		b := bytes.Repeat([]byte{fill}, 32)
		copy(b[32-len(tail):], tail)
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"one byte", []byte{1}},
		{"16 bytes (AES block, not pad block)", bytes.Repeat([]byte{16}, 16)},
		{"31 bytes", bytes.Repeat([]byte{1}, 31)},
		{"33 bytes", bytes.Repeat([]byte{1}, 33)},
		{"pad value 0", block('a', 0)},
		{"pad value 33", block(33)},
		{"pad value 0xff", block(0xff)},
		{"inconsistent 2", block('a', 1, 2)},
		{"inconsistent 32", block(0x20, 0x1f, 0x20)},
		{"inconsistent first of 32", append([]byte{0x1f}, bytes.Repeat([]byte{0x20}, 31)...)},
		{"inconsistent middle", block('a', 5, 5, 4, 5, 5)},
		{"64 bytes pad 33", append(bytes.Repeat([]byte{33}, 32), block(33)...)},
	} {
		got, err := unpad(tc.in)
		if !errors.Is(err, ErrPadding) {
			t.Errorf("%s: unpad = (len %d, %v), want ErrPadding", tc.name, len(got), err)
		}
		if code, _ := CodeOf(err); code != CodeIllegalBuffer {
			t.Errorf("%s: CodeOf = %v", tc.name, code)
		}
	}
}

func TestUnpadValid(t *testing.T) {
	t.Parallel()
	for p := 1; p <= 32; p++ {
		in := bytes.Repeat([]byte{'z'}, 64)
		for i := 64 - p; i < 64; i++ {
			in[i] = byte(p)
		}
		got, err := unpad(in)
		if err != nil || len(got) != 64-p {
			t.Errorf("pad %d: unpad = (len %d, %v)", p, len(got), err)
		}
	}
}
