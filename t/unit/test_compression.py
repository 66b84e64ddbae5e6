"""kombu.compression: registry of compression methods, compress/decompress."""
from __future__ import annotations

import bz2
import lzma
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from kombu import compression
from kombu.compression import (
    compress,
    decompress,
    encoders,
    get_decoder,
    get_encoder,
    register,
)

METHODS = {
    'application/x-gzip': ('gzip', 'zlib'),
    'application/x-bz2': ('bzip2', 'bzip'),
    'application/x-lzma': ('lzma', 'xz'),
    'application/x-brotli': ('brotli',),
    'application/zstd': ('zstd', 'zstandard'),
}
ALIASES = [(alias, ct) for ct, aliases in METHODS.items() for alias in aliases]


@pytest.fixture
def scratch_method():
    """Register a test method; remove it afterwards."""
    saved = (dict(compression._encoders), dict(compression._decoders), dict(compression._aliases))
    register(lambda b: b'E' + b, lambda b: bytes(b)[1:], 'application/x-test', aliases=['tst'])
    yield 'application/x-test'
    for registry, before in zip((compression._encoders, compression._decoders,
                                 compression._aliases), saved):
        registry.clear()
        registry.update(before)


def test_encoders_lists_every_builtin_method():
    assert set(METHODS) <= set(encoders())


@pytest.mark.parametrize('alias,content_type', ALIASES)
def test_aliases_resolve_to_the_content_type(alias, content_type):
    assert compress(b'data', alias)[1] == content_type
    assert get_encoder(alias)[1] == content_type
    assert get_decoder(alias) is get_decoder(content_type)


@pytest.mark.parametrize('content_type', sorted(METHODS))
def test_content_type_names_its_own_method(content_type):
    body, returned = compress(b'hello' * 100, content_type)
    assert returned == content_type
    assert len(body) < 500
    assert decompress(body, content_type) == b'hello' * 100


@pytest.mark.parametrize('content_type,reference', [
    ('application/x-gzip', zlib.decompress),
    ('application/x-bz2', bz2.decompress),
    ('application/x-lzma', lzma.decompress),
    ('application/x-brotli', brotli.decompress),
    ('application/zstd', lambda b: zstandard.ZstdDecompressor().decompress(b)),
])
def test_output_is_the_standard_format(content_type, reference):
    assert reference(compress(b'payload', content_type)[0]) == b'payload'


def test_zlib_output_is_kombu_compatible():
    assert compress(b'abc', 'zlib') == (b"x\x9cKLJ\x06\x00\x02M\x01'", 'application/x-gzip')


def test_zstd_decompresses_streamed_frames_without_content_size():
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(b'streamed' * 10)
    assert decompress(frame, 'zstd') == b'streamed' * 10


def test_compress_encodes_str_as_utf8():
    body, _ = compress('å', 'gzip')
    assert zlib.decompress(body) == 'å'.encode()


@pytest.mark.parametrize('wrap', [bytes, bytearray, memoryview])
def test_decompress_accepts_buffers(wrap):
    assert decompress(wrap(zlib.compress(b'abc')), 'gzip') == b'abc'


@pytest.mark.parametrize('call', [
    lambda: get_encoder('nope'),
    lambda: get_decoder('nope'),
    lambda: compress(b'x', 'nope'),
    lambda: decompress(b'x', 'nope'),
])
def test_unknown_method_raises_key_error_naming_it(call):
    with pytest.raises(KeyError) as excinfo:
        call()
    message = str(excinfo.value)
    assert "'nope'" in message
    assert 'application/x-gzip' in message  # lists what is available


def test_corrupt_data_raises_the_library_error():
    with pytest.raises(zlib.error):
        decompress(b'not compressed', 'gzip')


def test_register_adds_a_method_with_aliases(scratch_method):
    assert scratch_method in encoders()
    assert compress(b'x', 'tst') == (b'Ex', scratch_method)
    assert decompress(b'Ex', scratch_method) == b'x'
    assert decompress(memoryview(b'Ex'), 'tst') == b'x'


def test_register_without_aliases_uses_the_content_type(scratch_method):
    register(bytes, bytes, 'application/x-plain')
    assert compress(b'x', 'application/x-plain') == (b'x', 'application/x-plain')


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=2048), content_type=st.sampled_from(sorted(METHODS)))
def test_round_trip(body, content_type):
    compressed, returned = compress(body, content_type)
    assert decompress(compressed, returned) == body


@settings(max_examples=30, deadline=None)
@given(body=st.text(max_size=256), alias=st.sampled_from([a for a, _ in ALIASES]))
def test_round_trip_of_text_by_alias(body, alias):
    compressed, content_type = compress(body, alias)
    assert decompress(compressed, alias) == body.encode()
    assert decompress(compressed, content_type) == body.encode()
