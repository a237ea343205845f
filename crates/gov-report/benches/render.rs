//! Cost of the SOC2 PDF of a 1,000-step trace (target: under a second), against the debrief of
//! the same incident as the baseline measured in the same run.

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use gov_report::{render_executive_debrief_pdf, render_soc2_pdf};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    let debrief = fixture::debrief(&fixture::LATIN);
    let debrief_integrity = fixture::integrity(&debrief);
    group.bench_function("executive_debrief", |b| {
        b.iter(|| render_executive_debrief_pdf(black_box(&debrief), &debrief_integrity).expect("renders"))
    });
    for steps in [100, 1000] {
        let soc2 = fixture::soc2(steps, &fixture::LATIN);
        let integrity = fixture::integrity(&soc2);
        group.bench_function(format!("soc2_{steps}_steps"), |b| {
            b.iter(|| render_soc2_pdf(black_box(&soc2), &integrity).expect("renders"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
