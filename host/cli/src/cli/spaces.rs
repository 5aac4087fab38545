//! `edgenas spaces`: list or describe search spaces.

use anyhow::Result;
use edgenas::front_end::FrontEndKind;
use edgenas::network::blocks::{BLOCKS, ParamKind};
use edgenas::space::{InputFeatures, SHIPPED_SPACES, SearchSpace, Slot, load_space};
use serde_json::json;

use super::format::Table;

/// Arguments of `edgenas spaces`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spaces to describe in full: shipped names or paths to `.toml` files. Without any, list
    /// the shipped spaces.
    spaces: Vec<String>,
    /// List the block types a space file can use, with their parameters and defaults.
    #[arg(long, conflicts_with = "spaces")]
    blocks: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.blocks {
        return block_types(args.json);
    }
    if args.spaces.is_empty() {
        let spaces = SHIPPED_SPACES
            .iter()
            .map(|(name, _)| load_space(name))
            .collect::<Result<Vec<_>, _>>()?;
        return list(&spaces, args.json);
    }
    let spaces = args
        .spaces
        .iter()
        .map(|s| load_space(s))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        return super::print_json(&json!(spaces.iter().map(describe_json).collect::<Vec<_>>()));
    }
    for space in &spaces {
        print!("{}", describe_text(space));
    }
    Ok(())
}

fn size(space: &SearchSpace) -> String {
    space
        .cardinality()
        .map_or("more than can be counted".into(), |n| format!("{n:.3e}"))
}

fn list(spaces: &[SearchSpace], as_json: bool) -> Result<()> {
    if as_json {
        let rows: Vec<_> = spaces
            .iter()
            .map(|s| {
                json!({
                    "name": s.name, "description": s.description, "choices": s.choices.len(),
                    "blocks": s.blocks.len(), "size": s.cardinality(),
                })
            })
            .collect();
        return super::print_json(&json!(rows));
    }
    let mut t = Table::new(&["name", ">choices", ">size", "description"]);
    for s in spaces {
        t.row(vec![
            s.name.clone(),
            s.choices.len().to_string(),
            size(s),
            s.description.clone(),
        ]);
    }
    print!("{}", t.render());
    println!("\n`edgenas spaces NAME` describes one; any space file can be given by path.");
    Ok(())
}

fn describe_text(space: &SearchSpace) -> String {
    let mut out = format!(
        "{} ({})\n{}\nsize: {} genotypes\n",
        space.name,
        space.source,
        space.description,
        size(space)
    );
    if let InputFeatures::Audio(f) = &space.input.features {
        let kind = match f.kind {
            FrontEndKind::LogMel => "log-mel",
            FrontEndKind::Mfcc => "MFCC",
        };
        out += &format!(
            "front end: {kind} of clips at {} Hz (settings: the front_end.* choices, or fixed; \
             docs/keyword-spotting.md)\n",
            f.sample_rate
        );
    }
    out += "\nchoices:\n";
    let mut t = Table::new(&["choice", "values", "exists when"]);
    for c in &space.choices {
        let when = if c.condition.terms.is_empty() {
            "always".into()
        } else {
            c.condition.to_string()
        };
        t.row(vec![c.name.clone(), c.domain.describe(), when]);
    }
    out.push_str(&t.render());
    out.push_str("\nblocks:\n");
    let mut t = Table::new(&["block", "type", "repeat", "parameters"]);
    for b in &space.blocks {
        let params: Vec<String> = b
            .params
            .iter()
            .map(|(k, slot)| match slot {
                Slot::Shared(p) => format!("{k}={}", param_text(p)),
                Slot::PerRepeat(_) => format!("{k}=per repeat"),
            })
            .collect();
        let mut kind = b.kind.name.to_string();
        if !b.condition.terms.is_empty() {
            kind.push_str(&format!(" (when {})", b.condition));
        }
        t.row(vec![
            b.name.clone(),
            kind,
            param_text(&b.repeat),
            params.join(" "),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    out
}

fn param_text(p: &edgenas::space::Param) -> String {
    match p {
        edgenas::space::Param::Fixed(v) => v.to_string(),
        edgenas::space::Param::Choice(c) => format!("${c}"),
    }
}

fn describe_json(space: &SearchSpace) -> serde_json::Value {
    json!({
        "name": space.name,
        "description": space.description,
        "source": space.source,
        "size": space.cardinality(),
        "choices": space.choices.iter().map(|c| json!({
            "name": c.name,
            "values": c.domain.values().map(|v| v.to_json()).collect::<Vec<_>>(),
            "when": (!c.condition.terms.is_empty()).then(|| c.condition.to_string()),
        })).collect::<Vec<_>>(),
        "blocks": space.blocks.iter().map(|b| json!({
            "name": b.name, "type": b.kind.name, "repeat": param_text(&b.repeat),
            "when": (!b.condition.terms.is_empty()).then(|| b.condition.to_string()),
        })).collect::<Vec<_>>(),
    })
}

fn kind_text(kind: &ParamKind) -> String {
    match kind {
        ParamKind::Int { min } => format!("integer >= {min}"),
        ParamKind::Channels => "channels (x width multiplier)".into(),
        ParamKind::Float { min, max } => format!("number > {min}, ≤ {max}"),
        ParamKind::Bool => "true/false".into(),
        ParamKind::Word(words) => words.join("|"),
    }
}

fn block_types(as_json: bool) -> Result<()> {
    if as_json {
        let rows: Vec<_> = BLOCKS
            .iter()
            .map(|b| {
                json!({
                    "type": b.name, "doc": b.doc,
                    "params": b.params.iter().map(|p| json!({
                        "name": p.name, "kind": kind_text(&p.kind), "default": p.default, "doc": p.doc,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return super::print_json(&json!(rows));
    }
    for b in BLOCKS {
        println!("{}: {}", b.name, b.doc);
        let mut t = Table::new(&["  parameter", "values", "default", "meaning"]);
        for p in b.params {
            t.row(vec![
                format!("  {}", p.name),
                kind_text(&p.kind),
                p.default.unwrap_or("required").into(),
                p.doc.into(),
            ]);
        }
        println!("{}", t.render());
    }
    println!("Every block also takes `name` (required), `type` (required), `when` and `repeat`.");
    Ok(())
}
