//! Client (b): what a careful hand-written serde_json layer on raw redis-rs does, with the same
//! compression algorithms at the same levels (zstd with a reused context).

use std::io::{Read, Write};

use kvdb::Compression;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// serde_json plus optional compression; no header.
pub(crate) struct JsonCodec {
    compression: Compression,
    zc: Option<zstd::bulk::Compressor<'static>>,
    zd: Option<zstd::bulk::Decompressor<'static>>,
}

impl JsonCodec {
    pub(crate) fn new(compression: Compression) -> Self {
        JsonCodec {
            compression,
            zc: None,
            zd: None,
        }
    }

    pub(crate) fn encode<T: Serialize>(&mut self, value: &T) -> Vec<u8> {
        let json = serde_json::to_vec(value).expect("json");
        match self.compression {
            Compression::Zstd => {
                let c = self
                    .zc
                    .get_or_insert_with(|| zstd::bulk::Compressor::new(3).expect("zstd"));
                c.compress(&json).expect("zstd")
            }
            Compression::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(&json).expect("lz4");
                e.finish().expect("lz4")
            }
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                e.write_all(&json).expect("gzip");
                e.finish().expect("gzip")
            }
            Compression::Zlib => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
                e.write_all(&json).expect("zlib");
                e.finish().expect("zlib")
            }
            _ => json,
        }
    }

    pub(crate) fn decode<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> T {
        let mut out = Vec::new();
        let json: &[u8] = match self.compression {
            Compression::Zstd => {
                let n = zstd::zstd_safe::get_frame_content_size(bytes)
                    .ok()
                    .flatten()
                    .unwrap_or(1 << 20);
                let d = self
                    .zd
                    .get_or_insert_with(|| zstd::bulk::Decompressor::new().expect("zstd"));
                out = d.decompress(bytes, n as usize).expect("zstd");
                &out
            }
            Compression::Lz4 => {
                lz4_flex::frame::FrameDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .expect("lz4");
                &out
            }
            Compression::Gzip => {
                flate2::read::GzDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .expect("gzip");
                &out
            }
            Compression::Zlib => {
                flate2::read::ZlibDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .expect("zlib");
                &out
            }
            _ => bytes,
        };
        serde_json::from_slice(json).expect("json")
    }
}
