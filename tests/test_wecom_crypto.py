"""WeCom's callback encryption, checked against WeCom's own published example.

The vector is the one WeCom's callback documentation ("加解密方案说明", 举例说明) and the
Sample files of its WXBizMsgCrypt libraries use: token QDG6eK, corp id wx5823bf96d3bd56c7,
EncodingAESKey jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C, a URL check and a text message
from "mycreate". A round trip alone could not catch a mistake made the same way both ways
(the IV, the padding block, the length's byte order); this vector can.
"""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wecom.crypto import (
    BadSignature,
    CallbackCrypto,
    Undecryptable,
    WrongReceiver,
    aes_key,
    signature,
)
from bot.wecom.incoming import MessageKind, parse_message

TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
ENCODING_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

# The URL check: GET ...?msg_signature=…&timestamp=…&nonce=…&echostr=…
URL_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
URL_TIMESTAMP = "1409659589"
URL_NONCE = "263014780"
URL_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
URL_ECHO = "1616140317555161061"

# A message: POST ...?msg_signature=…&timestamp=…&nonce=… with this Encrypt.
MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
MSG_TIMESTAMP = "1409659813"
MSG_NONCE = "1372623149"
MSG_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCU"
    "pj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgp"
    "ue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCK"
    "Iw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o"
    "0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2p"
    "DBS8R07+qN+E7Q=="
)
MSG_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)


@pytest.fixture
def crypto() -> CallbackCrypto:
    return CallbackCrypto(token=TOKEN, encoding_aes_key=ENCODING_AES_KEY, receive_id=CORP_ID)


def sealed(padded: bytes) -> str:
    """Encrypt already padded bytes with the example's key, to build a damaged ciphertext."""
    key = aes_key(ENCODING_AES_KEY)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


# --- WeCom's published example -------------------------------------------------------------


def test_the_url_check_of_the_example_verifies_and_decrypts(crypto: CallbackCrypto) -> None:
    assert signature(TOKEN, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR) == URL_SIGNATURE
    assert crypto.open(URL_SIGNATURE, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR) == URL_ECHO


def test_the_message_of_the_example_verifies_and_decrypts(crypto: CallbackCrypto) -> None:
    assert crypto.sign(MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT) == MSG_SIGNATURE
    assert crypto.verify(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT)
    plain = crypto.decrypt(MSG_ENCRYPT)
    assert plain.message == MSG_PLAINTEXT
    assert plain.receive_id == CORP_ID


def test_the_message_of_the_example_parses(crypto: CallbackCrypto) -> None:
    message = parse_message(crypto.open(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT))
    assert message.kind is MessageKind.TEXT
    assert message.from_user == "mycreate"
    assert message.content == "hello"
    assert message.msg_id == "4561255354251345929"
    assert message.create_time == 1409659813
    assert message.agent_id == 218
    assert message.dedupe_key == "wecom:msg:4561255354251345929"


def test_sealing_the_example_again_gives_a_ciphertext_of_the_same_shape(
    crypto: CallbackCrypto,
) -> None:
    # The example's random prefix is its first 16 decrypted bytes: sealing the plaintext with
    # them must give WeCom's ciphertext to the byte (IV, byte order and padding all agree).
    key = aes_key(ENCODING_AES_KEY)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = base64.b64decode(MSG_ENCRYPT)
    prefix = (decryptor.update(raw) + decryptor.finalize())[:16]
    assert crypto.encrypt(MSG_PLAINTEXT, random_prefix=prefix) == MSG_ENCRYPT


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["", "a", "x" * 11, "x" * 12, "隐患：配电箱未接地" * 40])
def test_a_sealed_message_opens_to_itself(crypto: CallbackCrypto, message: str) -> None:
    encrypted = crypto.encrypt(message)
    assert len(base64.b64decode(encrypted)) % 32 == 0
    signed = crypto.sign("1700000000", "42", encrypted)
    assert crypto.open(signed, "1700000000", "42", encrypted) == message


def test_each_seal_is_different(crypto: CallbackCrypto) -> None:
    assert crypto.encrypt("hello") != crypto.encrypt("hello")


# --- refusals ------------------------------------------------------------------------------


def test_a_forged_signature_is_refused_before_decrypting(crypto: CallbackCrypto) -> None:
    assert not crypto.verify("0" * 40, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT)
    with pytest.raises(BadSignature):
        crypto.open("0" * 40, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT)
    with pytest.raises(BadSignature):  # the right signature, another moment
        crypto.open(MSG_SIGNATURE, "1409659814", MSG_NONCE, MSG_ENCRYPT)
    other = CallbackCrypto(token="another", encoding_aes_key=ENCODING_AES_KEY, receive_id=CORP_ID)
    with pytest.raises(BadSignature):  # signed with another token
        other.open(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT)


def test_another_corps_message_is_refused(crypto: CallbackCrypto) -> None:
    other = CallbackCrypto(token=TOKEN, encoding_aes_key=ENCODING_AES_KEY, receive_id="wwother")
    encrypted = other.encrypt("<xml/>")
    with pytest.raises(WrongReceiver):
        crypto.open(crypto.sign("1", "2", encrypted), "1", "2", encrypted)
    with pytest.raises(WrongReceiver):
        other.decrypt(MSG_ENCRYPT)


def test_a_tampered_ciphertext_is_refused(crypto: CallbackCrypto) -> None:
    raw = bytearray(base64.b64decode(MSG_ENCRYPT))
    raw[-17] ^= 0x80  # in CBC this flips the last byte of the plaintext: the padding
    tampered = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(BadSignature):  # the signature covers the ciphertext
        crypto.open(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, tampered)
    with pytest.raises(Undecryptable, match="padding"):
        crypto.decrypt(tampered)


def plain(length: int, tail: bytes) -> bytes:
    """Random bytes, a length, "abc" and the corp id, then `tail` where the padding goes."""
    return b"r" * 16 + struct.pack(">I", length) + b"abc" + CORP_ID.encode() + tail


@pytest.mark.parametrize(
    ("padded", "why"),
    [
        (plain(3, bytes(23)), "padding"),  # a pad of 0
        (plain(3, b"\x21" * 23), "padding"),  # a pad of 33: more than WeCom's block of 32
        (plain(3, b"\x03" * 22 + b"\x17"), "padding"),  # pad bytes that disagree
        (plain(999, b"\x17" * 23), "length"),  # a length past the end
        (b"r" * 14 + b"\x12" * 18, "too short"),
    ],
)
def test_bad_padding_and_bad_lengths_are_refused(
    crypto: CallbackCrypto, padded: bytes, why: str
) -> None:
    assert len(padded) % 16 == 0
    with pytest.raises(Undecryptable, match=why):
        crypto.decrypt(sealed(padded))


@pytest.mark.parametrize(
    "garbage", ["not base64!", "", "YWJj", base64.b64encode(bytes(17)).decode()]
)
def test_what_is_not_a_ciphertext_is_refused(crypto: CallbackCrypto, garbage: str) -> None:
    with pytest.raises(Undecryptable):
        crypto.decrypt(garbage)


@pytest.mark.parametrize(
    "key", ["", ENCODING_AES_KEY[:-1], ENCODING_AES_KEY + "A", ENCODING_AES_KEY[:-1] + "!"]
)
def test_an_encoding_aes_key_is_43_characters_of_base64(key: str) -> None:
    with pytest.raises(ValueError, match="43 characters"):
        aes_key(key)
    assert len(aes_key(ENCODING_AES_KEY)) == 32


def test_the_token_and_key_stay_out_of_the_repr(crypto: CallbackCrypto) -> None:
    assert TOKEN not in repr(crypto) and ENCODING_AES_KEY not in repr(crypto)
    assert CORP_ID in repr(crypto)
