//! How close the arena planner comes to the lower bound (the largest set of tensors live at
//! one moment), over random networks of every shipped space.
//!
//! Run: `cargo run --release --example planner_quality -- [SAMPLES]` (default 200).

use edgenas_model::cost::{DType, memory};
use edgenas_model::rng::Rng;
use edgenas_model::space::{SHIPPED_SPACES, load_space};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let samples: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    println!(
        "{:<18} {:>8} {:>12} {:>12} {:>13}",
        "space", "samples", "median ratio", "worst ratio", "at the bound"
    );
    for (name, _) in SHIPPED_SPACES {
        let space = load_space(name)?;
        let mut rng = Rng::new(1);
        let mut ratios = Vec::with_capacity(samples);
        for _ in 0..samples {
            let net = edgenas_model::network::decode(&space, &space.sample(&mut rng))?;
            let plan = memory::plan(&net, DType::Int8);
            ratios.push(plan.arena_bytes as f64 / plan.peak_live_bytes() as f64);
        }
        ratios.sort_by(f64::total_cmp);
        let exact = ratios.iter().filter(|&&r| r == 1.0).count();
        println!(
            "{name:<18} {samples:>8} {:>12.3} {:>12.3} {:>12.1}%",
            ratios[samples / 2],
            ratios[samples - 1],
            100.0 * exact as f64 / samples as f64
        );
    }
    Ok(())
}
