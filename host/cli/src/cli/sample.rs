//! `edgenas sample`: random candidates of a space with their costs.

use anyhow::Result;
use edgenas::board::load_board;
use edgenas::candidate::Candidate;
use edgenas::cost::DType;
use edgenas::rng::Rng;
use edgenas::space::load_space;
use serde_json::json;

use super::format::{Table, bytes, count};
use super::named;

/// Arguments of `edgenas sample`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The search space: a shipped name or a path to a `.toml` file.
    #[arg(long)]
    space: String,
    /// How many candidates to draw.
    #[arg(short = 'n', long = "count", default_value_t = 10, value_parser = super::numbers::count)]
    n: usize,
    /// Seed of the draw: the same seed gives the same candidates.
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    seed: u64,
    /// A board (shipped name or path): say which candidates fit it.
    #[arg(long)]
    board: Option<String>,
    /// Datum type that RAM, flash and the fit are computed for.
    #[arg(long, value_parser = named::<DType>(), default_value = "int8")]
    dtype: DType,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let space = load_space(&args.space)?;
    let board = args.board.as_deref().map(load_board).transpose()?;
    let dtype = args.dtype;
    let mut rng = Rng::new(args.seed);
    let mut rows = Vec::with_capacity(args.n);
    for _ in 0..args.n {
        let g = space.sample(&mut rng);
        let text = g.to_text();
        let c = Candidate::new(&space, g).map_err(|e| anyhow::anyhow!("decoding {text}: {e}"))?;
        let fits = board.as_ref().map(|b| c.fit(b, dtype).fits);
        rows.push((c, fits));
    }
    let fitting = rows.iter().filter(|(_, f)| *f == Some(true)).count();
    let share = fitting as f64 / args.n as f64;
    if args.json {
        let candidates: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, (c, fits))| {
                json!({
                    "index": i,
                    "hash": c.genotype.hash(),
                    "genotype": c.genotype.to_json(),
                    "params": c.costs.params,
                    "macs": c.costs.macs,
                    "peak_ram_bytes": c.costs.device(dtype).peak_ram_bytes,
                    "flash_bytes": c.flash_bytes(board.as_ref(), dtype),
                    "fits": fits,
                })
            })
            .collect();
        return super::print_json(&json!({
            "space": space.name, "seed": args.seed, "n": args.n, "dtype": dtype.name(),
            "board": board.as_ref().map(|b| b.name.clone()),
            "fits_count": board.as_ref().map(|_| fitting),
            "fits_share": board.as_ref().map(|_| share),
            "candidates": candidates,
        }));
    }
    let mut t = Table::new(&[
        ">#",
        "hash",
        ">params",
        ">MACs",
        ">peak RAM",
        ">flash",
        "fits",
        "genotype",
    ]);
    for (i, (c, fits)) in rows.iter().enumerate() {
        t.row(vec![
            i.to_string(),
            c.genotype.hash(),
            count(c.costs.params),
            count(c.costs.macs),
            bytes(c.costs.device(dtype).peak_ram_bytes as u64),
            bytes(c.flash_bytes(board.as_ref(), dtype)),
            fits.map_or("-".into(), |f| if f { "yes".into() } else { "no".into() }),
            c.genotype.to_text(),
        ]);
    }
    print!("{}", t.render());
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let summary = |name: &str, v: Vec<u64>, f: fn(u64) -> String| {
        let (lo, mid, hi) = median(v);
        println!("{name:<9} min {}  median {}  max {}", f(lo), f(mid), f(hi));
    };
    println!();
    summary(
        "params",
        rows.iter().map(|(c, _)| c.costs.params).collect(),
        count,
    );
    summary(
        "MACs",
        rows.iter().map(|(c, _)| c.costs.macs).collect(),
        count,
    );
    summary(
        "peak RAM",
        rows.iter()
            .map(|(c, _)| c.costs.device(dtype).peak_ram_bytes as u64)
            .collect(),
        bytes,
    );
    summary(
        "flash",
        rows.iter()
            .map(|(c, _)| c.flash_bytes(board.as_ref(), dtype))
            .collect(),
        bytes,
    );
    if let Some(b) = &board {
        println!(
            "fits {}: {fitting} of {} ({:.1} %, {})",
            b.name,
            args.n,
            100.0 * share,
            dtype.name()
        );
    }
    Ok(())
}
