package wxcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// encryptCBC encrypts buf in place with AES-256-CBC under k. len(buf) must
// be a multiple of aes.BlockSize (callers pad to 32 first).
func (k Key) encryptCBC(buf []byte) error {
	if k.s == nil {
		return ErrInvalidKey
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return fmt.Errorf("%w: plaintext length %d is not a non-zero multiple of %d", ErrEncrypt, len(buf), aes.BlockSize)
	}
	cipher.NewCBCEncrypter(k.s.block, k.s.iv()).CryptBlocks(buf, buf)
	return nil
}

// decryptCBC decrypts buf in place with AES-256-CBC under k, then removes
// and validates the PKCS#7 (block size 32) padding. It returns the unpadded
// prefix of buf.
func (k Key) decryptCBC(buf []byte) ([]byte, error) {
	if k.s == nil {
		return nil, ErrInvalidKey
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a non-zero multiple of %d", ErrCiphertext, len(buf), aes.BlockSize)
	}
	cipher.NewCBCDecrypter(k.s.block, k.s.iv()).CryptBlocks(buf, buf)
	return unpad(buf)
}
