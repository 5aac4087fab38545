//! Reading a space file: TOML → [`SearchSpace`], with errors that name the file, line and key.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::{
    BlockSpec, Choice, Condition, Domain, FileError, FrontEndSpec, InputFeatures, InputSpec, Param,
    SearchSpace, Slot, Value,
};
use crate::front_end::{FrontEndKind, LogFloor, SAMPLE_RATES};
use crate::named::Named;
use crate::network::blocks::{self, ParamDef, ParamKind};

type Entries = IndexMap<String, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    name: String,
    #[serde(default)]
    description: String,
    width_multiplier: Option<Spanned<toml::Value>>,
    input: Spanned<Entries>,
    front_end: Option<Spanned<Entries>>,
    #[serde(default)]
    choices: Entries,
    blocks: Vec<Spanned<Entries>>,
}

/// Keys of a choice table.
const CHOICE_KEYS: [&str; 7] = ["values", "min", "max", "step", "when", "name", "per_repeat"];
/// Keys every block has besides its type's parameters.
const BLOCK_KEYS: [&str; 4] = ["name", "type", "when", "repeat"];

/// The most repetitions of one block a space may ask for.
const MAX_REPEAT: i64 = 64;

/// The most values a `min`/`max`/`step` range may have.
const MAX_RANGE_VALUES: i64 = 10_000;

/// Parses and validates the text of a space file. `file` names it in errors.
pub fn parse_space(text: &str, file: &str) -> Result<SearchSpace, FileError> {
    let raw: RawSpace = toml::from_str(text).map_err(|e| FileError::file(file, e.to_string()))?;
    let mut p = Parser {
        text,
        file,
        choices: Vec::new(),
        used: HashSet::new(),
    };
    if raw.name.trim().is_empty() {
        return Err(FileError::file(file, "`name` must not be empty"));
    }
    let width_multiplier = match &raw.width_multiplier {
        None => None,
        Some(v) => Some(p.param(
            "width_multiplier",
            v,
            // MobileNet's multipliers are 0.35 to 1.4; a bound keeps channel counts finite.
            &ParamKind::Float { min: 0.0, max: 4.0 },
            &Condition::default(),
            "width_multiplier",
        )?),
    };
    for (name, value) in &raw.choices {
        let key = format!("choices.{name}");
        let table = p.table(&key, value)?;
        if table.contains_key("per_repeat") || table.contains_key("name") {
            return Err(p.err(
                value,
                &key,
                "a shared choice takes `values` or `min`/`max`/`step`, and `when`",
            ));
        }
        p.choice(name, &key, value, None, &Condition::default())?;
    }
    let input = p.input(&raw.input, raw.front_end.as_ref())?;
    let mut names = HashSet::new();
    let mut blocks_out = Vec::new();
    for (i, block) in raw.blocks.iter().enumerate() {
        let spec = p.block(i, block)?;
        if !names.insert(spec.name.clone()) {
            return Err(p.err(
                block,
                &format!("blocks[{i}].name"),
                format!("two blocks are named `{}`", spec.name),
            ));
        }
        blocks_out.push(spec);
    }
    if blocks_out.is_empty() {
        return Err(FileError::file(
            file,
            "the space needs at least one `[[blocks]]` entry",
        ));
    }
    for name in raw.choices.keys() {
        if !p.used.contains(name) {
            return Err(FileError {
                file: file.into(),
                line: Some(p.line(&raw.choices[name])),
                key: Some(format!("choices.{name}")),
                message: "this choice is declared but no parameter or condition uses it".into(),
            });
        }
    }
    let space = SearchSpace {
        name: raw.name,
        description: raw.description,
        source: file.to_string(),
        input,
        width_multiplier,
        choices: p.choices,
        blocks: blocks_out,
    };
    let first = space.first_genotype();
    crate::network::decode(&space, &first).map_err(|e| {
        FileError::file(
            file,
            format!("the genotype of first values ({first}) does not decode: {e}"),
        )
    })?;
    Ok(space)
}

struct Parser<'a> {
    text: &'a str,
    file: &'a str,
    choices: Vec<Choice>,
    /// Names of shared choices read by a parameter or a condition.
    used: HashSet<String>,
}

impl Parser<'_> {
    fn line<T>(&self, s: &Spanned<T>) -> usize {
        self.text[..s.span().start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn err<T>(&self, at: &Spanned<T>, key: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: self.file.to_string(),
            line: Some(self.line(at)),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    fn table<'v>(
        &self,
        key: &str,
        v: &'v Spanned<toml::Value>,
    ) -> Result<&'v toml::Table, FileError> {
        v.get_ref().as_table().ok_or_else(|| {
            self.err(
                v,
                key,
                "expected a choice table such as `{ values = [3, 5] }` or `{ min = 1, max = 4 }`",
            )
        })
    }

    fn condition<T>(
        &mut self,
        text: &str,
        at: &Spanned<T>,
        key: &str,
    ) -> Result<Condition, FileError> {
        let cond = Condition::parse(text).map_err(|e| self.err(at, key, e.to_string()))?;
        for name in cond.choices() {
            if !self.choices.iter().any(|c| c.name == name) {
                return Err(self.err(
                    at,
                    key,
                    format!("the condition refers to choice `{name}`, which does not exist (or is declared after it)"),
                ));
            }
            self.used.insert(name.to_string());
        }
        Ok(cond)
    }

    /// Adds a choice from a choice table; `kind` (when known) checks its values.
    fn choice(
        &mut self,
        name: &str,
        key: &str,
        v: &Spanned<toml::Value>,
        kind: Option<&ParamKind>,
        outer: &Condition,
    ) -> Result<(), FileError> {
        let table = self.table(key, v)?;
        if let Some(bad) = table.keys().find(|k| !CHOICE_KEYS.contains(&k.as_str())) {
            return Err(self.err(
                v,
                key,
                format!(
                    "unknown key `{bad}` in a choice; expected {}",
                    CHOICE_KEYS.join(", ")
                ),
            ));
        }
        if self.choices.iter().any(|c| c.name == name) {
            return Err(self.err(v, key, format!("a choice named `{name}` already exists")));
        }
        let domain = self.domain(table, v, key)?;
        if let Some(kind) = kind {
            for value in domain.values() {
                kind.check(&value)
                    .map_err(|m| self.err(v, key, m.to_string()))?;
            }
        }
        let mut condition = outer.clone();
        if let Some(when) = table.get("when") {
            let text = when.as_str().ok_or_else(|| {
                self.err(
                    v,
                    &format!("{key}.when"),
                    "expected a string such as \"s1.depth >= 2\"",
                )
            })?;
            condition = condition.and(&self.condition(text, v, &format!("{key}.when"))?);
        }
        self.choices.push(Choice {
            name: name.to_string(),
            domain,
            condition,
        });
        Ok(())
    }

    fn domain(
        &self,
        table: &toml::Table,
        at: &Spanned<toml::Value>,
        key: &str,
    ) -> Result<Domain, FileError> {
        let range = ["min", "max", "step"]
            .iter()
            .any(|k| table.contains_key(*k));
        match (table.get("values"), range) {
            (Some(_), true) => Err(self.err(
                at,
                key,
                "a choice has either `values` or `min`/`max`/`step`, not both",
            )),
            (None, false) => Err(self.err(
                at,
                key,
                "a choice needs `values = [...]` or `min`/`max` (and optionally `step`)",
            )),
            (Some(values), false) => {
                let list = values.as_array().ok_or_else(|| {
                    self.err(at, &format!("{key}.values"), "expected an array of values")
                })?;
                if list.is_empty() {
                    return Err(self.err(
                        at,
                        &format!("{key}.values"),
                        "a choice needs at least one value",
                    ));
                }
                let mut out: Vec<Value> = Vec::new();
                for item in list {
                    let v = Value::from_toml(item).ok_or_else(|| {
                        self.err(
                            at,
                            &format!("{key}.values"),
                            format!("`{item}` is not a number, string or boolean"),
                        )
                    })?;
                    if out.iter().any(|o| o.same_as(&v)) {
                        return Err(self.err(
                            at,
                            &format!("{key}.values"),
                            format!("value {v} appears twice"),
                        ));
                    }
                    out.push(v);
                }
                Ok(Domain::Values(out))
            }
            (None, true) => {
                let int = |k: &str, default: Option<i64>| -> Result<i64, FileError> {
                    match table.get(k) {
                        Some(toml::Value::Integer(i)) => Ok(*i),
                        Some(other) => Err(self.err(
                            at,
                            &format!("{key}.{k}"),
                            format!("expected an integer, found `{other}`"),
                        )),
                        None => {
                            default.ok_or_else(|| self.err(at, key, format!("a range needs `{k}`")))
                        }
                    }
                };
                let (min, max, step) =
                    (int("min", None)?, int("max", None)?, int("step", Some(1))?);
                if step < 1 {
                    return Err(self.err(
                        at,
                        &format!("{key}.step"),
                        format!("step must be at least 1, found {step}"),
                    ));
                }
                if max < min {
                    return Err(self.err(at, key, format!("max ({max}) is below min ({min})")));
                }
                // Each value is checked and searched over: a typo's billion would never finish.
                let count = (max as i128 - min as i128) / step as i128 + 1;
                if count > MAX_RANGE_VALUES as i128 {
                    return Err(self.err(
                        at,
                        key,
                        format!(
                            "a range of at most {MAX_RANGE_VALUES} values, not {count} \
                             ({min} to {max} by {step})"
                        ),
                    ));
                }
                Ok(Domain::Range { min, max, step })
            }
        }
    }

    /// A parameter: a literal, a `"$choice"` reference or an inline choice table named `name`.
    fn param(
        &mut self,
        key: &str,
        v: &Spanned<toml::Value>,
        kind: &ParamKind,
        outer: &Condition,
        name: &str,
    ) -> Result<Param, FileError> {
        match v.get_ref() {
            toml::Value::String(s) if s.starts_with('$') => {
                let target = &s[1..];
                let choice = self
                    .choices
                    .iter()
                    .find(|c| c.name == target)
                    .ok_or_else(|| {
                        self.err(
                            v,
                            key,
                            format!(
                                "refers to choice `{target}`, which is not declared in [choices]"
                            ),
                        )
                    })?;
                for value in choice.domain.values() {
                    kind.check(&value)
                        .map_err(|m| self.err(v, key, format!("choice `{target}`: {m}")))?;
                }
                self.used.insert(target.to_string());
                Ok(Param::Choice(target.to_string()))
            }
            toml::Value::Table(t) => {
                if t.contains_key("per_repeat") {
                    return Err(self.err(
                        v,
                        key,
                        "`per_repeat` is for block parameters of repeated blocks",
                    ));
                }
                let name = match t.get("name") {
                    None => name.to_string(),
                    Some(toml::Value::String(n)) => n.clone(),
                    Some(_) => {
                        return Err(self.err(v, &format!("{key}.name"), "expected a string"));
                    }
                };
                self.choice(&name, key, v, Some(kind), outer)?;
                Ok(Param::Choice(name))
            }
            other => {
                let value = Value::from_toml(other).ok_or_else(|| {
                    self.err(
                        v,
                        key,
                        "expected a value, a \"$choice\" reference, or a choice table",
                    )
                })?;
                kind.check(&value)
                    .map_err(|m| self.err(v, key, m.to_string()))?;
                Ok(Param::Fixed(value))
            }
        }
    }

    fn input(
        &mut self,
        raw: &Spanned<Entries>,
        front_end: Option<&Spanned<Entries>>,
    ) -> Result<InputSpec, FileError> {
        const KEYS: [&str; 5] = ["channels", "resolution", "height", "width", "classes"];
        let entries = raw.get_ref();
        if let Some(bad) = entries.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(self.err(
                &entries[bad],
                &format!("input.{bad}"),
                format!("unknown key; expected {}", KEYS.join(", ")),
            ));
        }
        let positive = ParamKind::Int { min: 1 };
        let none = Condition::default();
        let get = |p: &mut Self, k: &str| -> Result<Option<Param>, FileError> {
            entries
                .get(k)
                .map(|v| p.param(&format!("input.{k}"), v, &positive, &none, k))
                .transpose()
        };
        let missing = |p: &Self, k: &str| p.err(raw, "input", format!("`{k}` is required"));
        let classes = get(self, "classes")?.ok_or_else(|| missing(self, "classes"))?;
        if let Some(front_end) = front_end {
            if let Some(k) = entries.keys().find(|k| *k != "classes") {
                return Err(self.err(
                    &entries[k],
                    &format!("input.{k}"),
                    "a space with a [front_end] reads its features: [input] gives only `classes`",
                ));
            }
            let features = InputFeatures::Audio(self.front_end(front_end)?);
            return Ok(InputSpec { features, classes });
        }
        let channels = get(self, "channels")?;
        let resolution = get(self, "resolution")?;
        let height = get(self, "height")?;
        let width = get(self, "width")?;
        let (height, width) = match (resolution, height, width) {
            (Some(r), None, None) => (r.clone(), r),
            (None, Some(h), Some(w)) => (h, w),
            _ => {
                return Err(self.err(
                    raw,
                    "input",
                    "give either `resolution` (square) or both `height` and `width`",
                ));
            }
        };
        let features = InputFeatures::Image {
            channels: channels.ok_or_else(|| missing(self, "channels"))?,
            height,
            width,
        };
        Ok(InputSpec { features, classes })
    }

    /// The `[front_end]` table: `type`, `sample_rate` and `log_floor` literal, the rest
    /// literals or choices (named `front_end.KEY`).
    fn front_end(&mut self, raw: &Spanned<Entries>) -> Result<FrontEndSpec, FileError> {
        const KEYS: [&str; 8] = [
            "type",
            "sample_rate",
            "log_floor",
            "clip_ms",
            "frame_ms",
            "stride_ms",
            "mel_bands",
            "coefficients",
        ];
        let entries = raw.get_ref();
        if let Some(bad) = entries.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(self.err(
                &entries[bad],
                &format!("front_end.{bad}"),
                format!("unknown key; expected {}", KEYS.join(", ")),
            ));
        }
        let kind = self.word(entries, "type", FrontEndKind::Mfcc)?;
        let log_floor = self.word(entries, "log_floor", LogFloor::Peak)?;
        let sample_rate = match entries.get("sample_rate") {
            None => 16000,
            Some(v) => v
                .get_ref()
                .as_integer()
                .filter(|r| SAMPLE_RATES.contains(&(*r as u32)))
                .map(|r| r as u32)
                .ok_or_else(|| {
                    self.err(v, "front_end.sample_rate", "expected 8000 or 16000 (Hz)")
                })?,
        };
        if kind == FrontEndKind::LogMel
            && let Some(v) = entries.get("coefficients")
        {
            return Err(self.err(
                v,
                "front_end.coefficients",
                "a log_mel front end has one feature a mel band: `coefficients` is for mfcc",
            ));
        }
        let positive = ParamKind::Int { min: 1 };
        let none = Condition::default();
        let get = |p: &mut Self, k: &str, default: i64| -> Result<Param, FileError> {
            match entries.get(k) {
                None => Ok(Param::Fixed(Value::Int(default))),
                Some(v) => p.param(
                    &format!("front_end.{k}"),
                    v,
                    &positive,
                    &none,
                    &format!("front_end.{k}"),
                ),
            }
        };
        Ok(FrontEndSpec {
            kind,
            sample_rate,
            clip_ms: get(self, "clip_ms", 1000)?,
            frame_ms: get(self, "frame_ms", 40)?,
            stride_ms: get(self, "stride_ms", 20)?,
            mel_bands: get(self, "mel_bands", 40)?,
            coefficients: get(self, "coefficients", 10)?,
            log_floor,
        })
    }

    /// The literal word of `[front_end]`'s `key`, one of `T`'s names; `default` when the key
    /// is absent.
    fn word<T: Named>(&self, entries: &Entries, key: &str, default: T) -> Result<T, FileError> {
        match entries.get(key) {
            None => Ok(default),
            Some(v) => v.get_ref().as_str().and_then(T::from_name).ok_or_else(|| {
                let names: Vec<&str> = T::ALL.iter().map(|t| t.name()).collect();
                self.err(
                    v,
                    &format!("front_end.{key}"),
                    format!("expected one of {}", names.join(", ")),
                )
            }),
        }
    }

    fn block(&mut self, index: usize, raw: &Spanned<Entries>) -> Result<BlockSpec, FileError> {
        let entries = raw.get_ref();
        let at = format!("blocks[{index}]");
        let string = |p: &Self, k: &str| -> Result<Option<String>, FileError> {
            match entries.get(k) {
                None => Ok(None),
                Some(v) => v
                    .get_ref()
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| p.err(v, &format!("{at}.{k}"), "expected a string")),
            }
        };
        let name =
            string(self, "name")?.ok_or_else(|| self.err(raw, &at, "a block needs a `name`"))?;
        if name.is_empty() || name.contains(['.', ',', '=', ' ', '$']) {
            return Err(self.err(
                raw,
                &format!("{at}.name"),
                "a block name is a non-empty word without `.`, `,`, `=`, `$` or spaces",
            ));
        }
        let type_name = string(self, "type")?.ok_or_else(|| {
            self.err(
                raw,
                &at,
                format!("block `{name}` needs a `type`; one of {}", blocks::names()),
            )
        })?;
        let kind = blocks::find(&type_name).ok_or_else(|| {
            self.err(
                &entries["type"],
                &format!("{at}.type"),
                format!(
                    "unknown block type `{type_name}`; expected one of {}",
                    blocks::names()
                ),
            )
        })?;
        for key in entries.keys() {
            if !BLOCK_KEYS.contains(&key.as_str()) && !kind.params.iter().any(|d| d.name == key) {
                let mut expected: Vec<&str> = BLOCK_KEYS.to_vec();
                expected.extend(kind.params.iter().map(|d| d.name));
                return Err(self.err(
                    &entries[key],
                    &format!("{name}.{key}"),
                    format!(
                        "unknown parameter for block type `{type_name}`; expected one of {}",
                        expected.join(", ")
                    ),
                ));
            }
        }
        let condition = match entries.get("when") {
            None => Condition::default(),
            Some(v) => {
                let text = v
                    .get_ref()
                    .as_str()
                    .ok_or_else(|| self.err(v, &format!("{name}.when"), "expected a string"))?;
                self.condition(text, v, &format!("{name}.when"))?
            }
        };
        let repeat = match entries.get("repeat") {
            None => Param::Fixed(Value::Int(1)),
            Some(v) => self.param(
                &format!("{name}.repeat"),
                v,
                &ParamKind::Int { min: 0 },
                &condition,
                &format!("{name}.depth"),
            )?,
        };
        let (min_repeat, max_repeat) = match &repeat {
            Param::Fixed(Value::Int(n)) => (*n, *n),
            Param::Fixed(_) => unreachable!("checked as an integer"),
            Param::Choice(c) => {
                let d = &self.choices.iter().find(|x| &x.name == c).unwrap().domain;
                (d.min_int().unwrap(), d.max_int().unwrap())
            }
        };
        // Every repetition is a block of the space: a typo's billion would never finish.
        if max_repeat > MAX_REPEAT
            && let Some(v) = entries.get("repeat")
        {
            return Err(self.err(
                v,
                &format!("{name}.repeat"),
                format!("at most {MAX_REPEAT} repetitions of a block, not {max_repeat}"),
            ));
        }
        // Repetition `i` (1-based) exists when the block does and the repeat count reaches i.
        let exists = |i: i64| -> Condition {
            match &repeat {
                Param::Choice(c) if i > min_repeat => {
                    condition.and(&Condition::parse(&format!("{c} >= {i}")).unwrap())
                }
                _ => condition.clone(),
            }
        };
        let mut params = Vec::new();
        for def in kind.params {
            let key = format!("{name}.{}", def.name);
            let slot = match entries.get(def.name) {
                None => Slot::Shared(self.default(def, raw, &key)?),
                Some(v) => match v.get_ref().as_table().and_then(|t| t.get("per_repeat")) {
                    Some(toml::Value::Boolean(true)) => {
                        if v.get_ref().as_table().unwrap().contains_key("name") {
                            return Err(self.err(
                                v,
                                &key,
                                "a per-repeat choice is named BLOCK.bI.KEY; it takes no `name`",
                            ));
                        }
                        let mut each = Vec::new();
                        for i in 1..=max_repeat {
                            let choice = format!("{name}.b{i}.{}", def.name);
                            self.choice(&choice, &key, v, Some(&def.kind), &exists(i))?;
                            each.push(Param::Choice(choice));
                        }
                        Slot::PerRepeat(each)
                    }
                    Some(toml::Value::Boolean(false)) | None => {
                        Slot::Shared(self.param(&key, v, &def.kind, &exists(1), &key)?)
                    }
                    Some(_) => {
                        return Err(self.err(
                            v,
                            &format!("{key}.per_repeat"),
                            "expected true or false",
                        ));
                    }
                },
            };
            params.push((def.name, slot));
        }
        Ok(BlockSpec {
            name,
            kind,
            condition,
            repeat,
            params,
            line: self.line(raw),
        })
    }

    fn default<T>(&self, def: &ParamDef, at: &Spanned<T>, key: &str) -> Result<Param, FileError> {
        def.default
            .map(|d| Param::Fixed(Value::parse_text(d)))
            .ok_or_else(|| {
                self.err(
                    at,
                    key,
                    format!("this block type needs `{}` ({})", def.name, def.doc),
                )
            })
    }
}
