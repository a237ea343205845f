//! Building and verifying bundles of the seed scenario with growing traces: `build_and_seal`
//! (records → evidence bundle → canonical JSON, hash and signature; target ≤ 200 ms for 10,000
//! steps), `verify` (the bytes → every check `gov verify` runs; target ≥ 100,000 steps/s), and
//! `canonical_hash` (parse + canonical hash alone) as the baseline both are measured against.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use gov_evidence::fixture::seed_scenario;
use gov_evidence::{SigningKey, bundle_hash, evidence_bundle, seal, soc2_bundle, verify_bundle};

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn benches(c: &mut Criterion) {
    let key = SigningKey::from_seed([7; 32]);
    let public = key.public_key();
    let mut group = c.benchmark_group("evidence");
    group.sample_size(20);
    for steps in SIZES {
        let (records, generation) = seed_scenario(steps);
        group.throughput(Throughput::Elements(steps as u64));
        group.bench_with_input(BenchmarkId::new("build_and_seal", steps), &records, |b, records| {
            b.iter(|| seal(&evidence_bundle(black_box(records), &generation), &key).bytes.len())
        });
        let sealed = seal(&soc2_bundle(evidence_bundle(&records, &generation)), &key).bytes;
        group.bench_with_input(BenchmarkId::new("verify", steps), &sealed, |b, bytes| {
            b.iter(|| verify_bundle(black_box(bytes), Some(&public)).map(|r| r.step_count))
        });
        group.bench_with_input(BenchmarkId::new("canonical_hash", steps), &sealed, |b, bytes| {
            b.iter(|| {
                let value: serde_json::Value = serde_json::from_slice(black_box(bytes)).unwrap_or_default();
                bundle_hash(&value)
            })
        });
    }
    group.finish();
}

criterion_group!(evidence, benches);
criterion_main!(evidence);
