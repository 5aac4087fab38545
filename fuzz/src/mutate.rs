//! The mutations: byte-level for every format, token-level for text formats, drawn from
//! edgenas's own seeded generator so that a run repeats from its seed.

pub use edgenas_model::rng::Rng;

/// Bytes that break parsers: limits of integer types, separators, quotes, NUL.
const INTERESTING_BYTES: &[u8] = &[0, 1, 0x7F, 0x80, 0xFF, b'"', b'\'', b'\n', b',', b'#', b'['];

/// Text that breaks parsers of TOML, CSV, JSON and numbers.
pub const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "-0",
    "NaN",
    "inf",
    "18446744073709551616",
    "4294967296",
    "65536",
    "9999999999",
    "0x7fffffff",
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "\r\n",
    "#",
    ";",
    "\t",
    "\\u0000",
    "ü",
    "true",
    "[]",
    "\"\"",
];

/// One mutant of an input of `corpus`: one to four mutations stacked.
pub fn mutant(corpus: &[Vec<u8>], text: bool, rng: &mut Rng) -> Vec<u8> {
    let mut x = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        mutate(&mut x, corpus, text, rng);
    }
    x
}

fn mutate(x: &mut Vec<u8>, corpus: &[Vec<u8>], text: bool, rng: &mut Rng) {
    let kinds = if text { 9 } else { 7 };
    let at = |rng: &mut Rng, x: &Vec<u8>| rng.below(x.len() + 1);
    match rng.below(kinds) {
        // A bit flipped.
        0 if !x.is_empty() => {
            let i = rng.below(x.len());
            x[i] ^= 1 << rng.below(8);
        }
        // A byte set to an interesting value.
        1 if !x.is_empty() => {
            let i = rng.below(x.len());
            x[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        // A little-endian u32 or u16 overwritten with an edge value.
        2 if x.len() >= 4 => {
            let i = rng.below(x.len() - 3);
            let v: u32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX, 0xFFFF, 0x1_0000][rng.below(7)];
            x[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        // A run deleted.
        3 if !x.is_empty() => {
            let i = rng.below(x.len());
            let n = 1 + rng.below((x.len() - i).min(64));
            x.drain(i..i + n);
        }
        // A run duplicated.
        4 if !x.is_empty() => {
            let i = rng.below(x.len());
            let n = 1 + rng.below((x.len() - i).min(64));
            let run: Vec<u8> = x[i..i + n].to_vec();
            let j = at(rng, x);
            x.splice(j..j, run);
        }
        // Cut short.
        5 => {
            let n = at(rng, x);
            x.truncate(n);
        }
        // Spliced with another input: this one's head, the other's tail.
        6 => {
            let other = &corpus[rng.below(corpus.len())];
            let (i, j) = (at(rng, x), rng.below(other.len() + 1));
            x.truncate(i);
            x.extend_from_slice(&other[j..]);
        }
        // Text: a token inserted.
        7 => {
            let i = at(rng, x);
            let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
            x.splice(i..i, t.iter().copied());
        }
        // Text: a number replaced by a token.
        _ => {
            let digits: Vec<usize> = (0..x.len()).filter(|&i| x[i].is_ascii_digit()).collect();
            if let Some(&i) = digits.get(rng.below(digits.len().max(1))) {
                let mut end = i;
                while end < x.len() && (x[end].is_ascii_digit() || x[end] == b'_' || x[end] == b'.')
                {
                    end += 1;
                }
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                x.splice(i..end, t.iter().copied());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_seeded_and_differ_from_their_seed() {
        let corpus = vec![b"name = \"x\"\nvalue = 12\n".to_vec()];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| mutant(&corpus, true, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        assert!(run(3).iter().filter(|m| **m != corpus[0]).count() > 40);
    }
}
