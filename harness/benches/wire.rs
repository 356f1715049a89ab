//! Wire-layer throughput over a recorded QEMU 7.2 stream (greeting, replies, errors, events
//! and a 200 KiB query-qmp-schema reply), side by side with serde_json baselines:
//! - `framer`: our Framer vs `serde_json::StreamDeserializer<Value>` over the same stream;
//! - `parse`: framer + typed message classification vs `serde_json::from_slice::<Value>` on
//!   each message.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use qmpspec::message::ServerMessage;
use qmpspec::wire::Framer;
use serde_json::Value;

fn stream() -> Vec<u8> {
    let mut s = Vec::new();
    for name in ["system-x86_64", "storage-daemon"] {
        let path = format!(
            "{}/../corpus/qemu-7.2/{name}.out",
            env!("CARGO_MANIFEST_DIR")
        );
        s.extend(std::fs::read(path).expect("recorded corpus present"));
    }
    s
}

/// Reads as a socket would deliver them.
const READ: usize = 64 * 1024;

/// Frame `data` in socket-sized reads, summing `per_text` over every complete text.
fn frame_stream(data: &[u8], mut per_text: impl FnMut(&[u8]) -> usize) -> usize {
    let mut f = Framer::default();
    let mut n = 0usize;
    for chunk in data.chunks(READ) {
        f.push(chunk);
        while let Some(fr) = f.next_frame() {
            n += per_text(fr.unwrap().text);
        }
    }
    n
}

fn framer(c: &mut Criterion) {
    let data = stream();
    let mut g = c.benchmark_group("framer");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("qmpspec Framer", |b| {
        b.iter(|| black_box(frame_stream(&data, |text| text.len())))
    });
    g.bench_function("serde_json StreamDeserializer<Value>", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for v in serde_json::Deserializer::from_slice(&data).into_iter::<Value>() {
                n += v.unwrap().is_object() as usize;
            }
            black_box(n)
        })
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let data = stream();
    let messages: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| l.len() > 1)
        .collect();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("qmpspec framer + typed message", |b| {
        b.iter(|| {
            black_box(frame_stream(&data, |text| {
                let m = ServerMessage::classify(text).unwrap();
                matches!(m, ServerMessage::Reply(_)) as usize
            }))
        })
    });
    g.bench_function("serde_json from_slice<Value>", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &messages {
                let v: Value = serde_json::from_slice(m).unwrap();
                n += v.get("return").is_some() as usize;
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, framer, parse);
criterion_main!(benches);
