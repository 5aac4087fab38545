//! NAS-Bench-201 architecture strings.
//!
//! NB201 writes a cell as `|e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|`: node 1 takes edge 0 from
//! node 0; node 2 takes edges 1 and 2 from nodes 0 and 1; node 3 takes edges 3, 4 and 5 from
//! nodes 0, 1 and 2. A space whose choices `e0`…`e5` each pick an operation maps one-to-one
//! onto these strings (`search-spaces/nb201.toml`).

use super::{Genotype, GenotypeError, SearchSpace, Value};

/// The NB201 edge choices, in the order of the architecture string (and of the `e0`…`e5`
/// columns of NB201 tables).
pub const EDGES: [&str; 6] = ["e0", "e1", "e2", "e3", "e4", "e5"];
/// The node each edge leaves from, in the same order.
pub const EDGE_SOURCES: [usize; 6] = [0, 0, 1, 0, 1, 2];
/// The node each edge enters, in the same order.
pub const EDGE_TARGETS: [usize; 6] = [1, 2, 2, 3, 3, 3];

/// The NB201 architecture string of a genotype, if the genotype has the six edge choices.
pub fn arch_string(g: &Genotype) -> Option<String> {
    let ops: Vec<String> = EDGES
        .iter()
        .map(|e| g.get(e).map(Value::to_string))
        .collect::<Option<_>>()?;
    Some(format!(
        "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
        ops[0], ops[1], ops[2], ops[3], ops[4], ops[5]
    ))
}

/// Parses an NB201 architecture string into a genotype of `space`.
pub fn parse_arch(space: &SearchSpace, arch: &str) -> Result<Genotype, GenotypeError> {
    let err = |message: String| GenotypeError {
        space: space.name.clone(),
        message,
    };
    let nodes: Vec<&str> = arch.trim().split('+').collect();
    if nodes.len() != 3 {
        return Err(err(format!(
            "`{arch}` is not an NB201 architecture string: it needs three nodes joined by `+`"
        )));
    }
    let mut pairs = Vec::new();
    for (node, text) in nodes.iter().enumerate() {
        let edges: Vec<&str> = text.split('|').filter(|s| !s.is_empty()).collect();
        if edges.len() != node + 1 {
            return Err(err(format!(
                "node {} of `{arch}` has {} edges, expected {}",
                node + 1,
                edges.len(),
                node + 1
            )));
        }
        for (source, edge) in edges.iter().enumerate() {
            let (op, from) = edge
                .split_once('~')
                .ok_or_else(|| err(format!("edge `{edge}` is not `op~source`")))?;
            if from.parse::<usize>().ok() != Some(source) {
                return Err(err(format!("edge `{edge}` must come from node {source}")));
            }
            pairs.push((EDGES[pairs.len()].to_string(), Value::Str(op.to_string())));
        }
    }
    space.genotype_from_pairs(&pairs)
}
