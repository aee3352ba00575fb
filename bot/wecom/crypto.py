"""WeCom's callback encryption, the scheme its sample code calls WXBizMsgCrypt.

Every callback WeCom posts (and the URL check it makes when an administrator saves the
callback address) carries `msg_signature`, `timestamp` and `nonce` in the query and a
ciphertext (`Encrypt` in the XML body, `echostr` in the URL check):

- AESKey = base64decode(EncodingAESKey + "="): the 43 characters the console shows give 32 bytes;
- the ciphertext is base64 of AES-256-CBC with IV = AESKey[:16], over
  16 random bytes + the message's length (4 bytes, big-endian) + the message + the receive id
  (the corp id, for a self-built application), padded by PKCS#7 to a multiple of 32 bytes;
- msg_signature = SHA-1 hex of the sorted concatenation of token, timestamp, nonce, ciphertext.

The signature is always checked before anything is decrypted, so a stranger never learns
whether a forged ciphertext had good padding (no padding oracle).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# WeCom pads to 32 bytes, not to AES's block of 16: a ciphertext padded to 16 is not WeCom's.
PAD_BLOCK = 32
RANDOM_BYTES = 16
_LENGTH = struct.Struct(">I")
_ENCODING_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")


class CallbackCryptoError(ValueError):
    """A callback that cannot be WeCom's for this application; the message says why."""


class BadSignature(CallbackCryptoError):
    """The signature does not match: the sender does not know the token."""


class Undecryptable(CallbackCryptoError):
    """Not base64, not whole blocks, bad padding, a length that does not fit, not UTF-8."""


class WrongReceiver(CallbackCryptoError):
    """Sealed for another corp (or another suite) than this application's."""


@dataclass(frozen=True, slots=True)
class Plaintext:
    """A decrypted callback: the message (XML, or the URL check's echo) and whom it was for."""

    message: str
    receive_id: str


def aes_key(encoding_aes_key: str) -> bytes:
    """Return the 32-byte AES key of an EncodingAESKey, or raise ValueError saying what is wrong."""
    if not _ENCODING_AES_KEY.fullmatch(encoding_aes_key):
        raise ValueError("an EncodingAESKey is 43 characters of base64 (letters and digits)")
    return base64.b64decode(encoding_aes_key + "=")


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """Return WeCom's msg_signature of a ciphertext: SHA-1 of the four strings, sorted, joined."""
    joined = "".join(sorted((token, timestamp, nonce, encrypted)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


class CallbackCrypto:
    """Seal and open the callbacks of one application (its token, key and corp id)."""

    def __init__(self, *, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self._token = token
        self._key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def __repr__(self) -> str:
        # The token and the key are secrets: a repr lands in tracebacks and logs.
        return f"CallbackCrypto(receive_id={self.receive_id!r})"

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """Return the msg_signature WeCom would send with this ciphertext."""
        return signature(self._token, timestamp, nonce, encrypted)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        """Whether the signature is right (compared in constant time)."""
        expected = self.sign(timestamp, nonce, encrypted)
        return hmac.compare_digest(expected.encode("ascii"), msg_signature.lower().encode())

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Check the signature, decrypt, check the receiver; return the message."""
        if not self.verify(msg_signature, timestamp, nonce, encrypted):
            raise BadSignature("the signature does not match")
        return self.decrypt(encrypted).message

    def decrypt(self, encrypted: str) -> Plaintext:
        """Decrypt a ciphertext sealed for this application's receive id (verify it first)."""
        plain = decrypt(self._key, encrypted)
        if not hmac.compare_digest(plain.receive_id.encode(), self.receive_id.encode()):
            raise WrongReceiver("sealed for another receive id than this application's")
        return plain

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        """Seal a message for this application's receive id, as WeCom does (tests, fakes)."""
        return encrypt(self._key, message, self.receive_id, random_prefix=random_prefix)


def decrypt(key: bytes, encrypted: str) -> Plaintext:
    """Decrypt a base64 ciphertext with a 32-byte key, refusing anything malformed."""
    try:
        sealed = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Undecryptable("the ciphertext is not base64") from exc
    # Whole AES blocks; WeCom's own padding to 32 is checked below by the pad's value, as its
    # sample libraries do, rather than by refusing a sender that padded to 16.
    if not sealed or len(sealed) % 16:
        raise Undecryptable("the ciphertext is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= PAD_BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise Undecryptable("bad padding")
    body = padded[:-pad]
    head = RANDOM_BYTES + _LENGTH.size
    if len(body) < head:
        raise Undecryptable("too short for the random bytes and the length")
    (length,) = _LENGTH.unpack_from(body, RANDOM_BYTES)
    if head + length > len(body):
        raise Undecryptable("the length runs past the end")
    try:
        message = body[head : head + length].decode("utf-8")
        receive_id = body[head + length :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Undecryptable("not UTF-8") from exc
    return Plaintext(message=message, receive_id=receive_id)


def encrypt(
    key: bytes, message: str, receive_id: str, *, random_prefix: bytes | None = None
) -> str:
    """Seal a message for a receive id with a 32-byte key; return the base64 ciphertext."""
    prefix = os.urandom(RANDOM_BYTES) if random_prefix is None else random_prefix
    if len(prefix) != RANDOM_BYTES:
        raise ValueError(f"the random prefix is {RANDOM_BYTES} bytes")
    data = message.encode("utf-8")
    body = prefix + _LENGTH.pack(len(data)) + data + receive_id.encode("utf-8")
    pad = PAD_BLOCK - len(body) % PAD_BLOCK
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    sealed = encryptor.update(body + bytes([pad]) * pad) + encryptor.finalize()
    return base64.b64encode(sealed).decode("ascii")
