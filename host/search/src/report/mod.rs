//! The study report: one self-contained HTML file (no network, no external script or font)
//! with the settings, the Pareto plots, the best-so-far curve, the trial table and the
//! finalists' layers.

mod svg;

use std::fmt::Write;

use crate::front::pareto_front;
use crate::search::Card;
use crate::strategy::pareto::fronts;
use edgenas_model::board::{Board, load_board};
use edgenas_model::candidate::{Candidate, CandidateError};
use edgenas_model::error::GenotypeError;
use edgenas_model::named::Named;
use edgenas_model::network::Shape;
use edgenas_model::space::SearchSpace;
use edgenas_study::{
    Settings, Storage, StudyError, Trial, TrialState, artefacts_dir, epochs_trained,
};

use svg::{Plot, range};

/// One layer of a finalist.
#[derive(Clone, Debug)]
pub struct LayerRow {
    /// The node's name.
    pub name: String,
    /// The op (`conv`, `dense`).
    pub op: String,
    /// The output shape.
    pub shape: String,
    /// Parameters.
    pub params: u64,
    /// Multiply-accumulates.
    pub macs: u64,
}

/// The layers of `genotype` in `space`, decoded for samples of `input` in `classes` classes:
/// the network the trial was built and trained as.
pub fn layer_rows(
    space: &SearchSpace,
    genotype: &str,
    input: Shape,
    classes: usize,
) -> Result<Vec<LayerRow>, LayerRowsError> {
    let g = space.parse_genotype(genotype)?;
    let c = Candidate::for_samples(space, g, "the study's data set", input, classes)?;
    Ok(c.network
        .nodes
        .iter()
        .zip(&c.costs.layers)
        .map(|(n, l)| LayerRow {
            name: n.name.clone(),
            op: n.layer.op().kind().to_string(),
            shape: n.shape.to_string(),
            params: l.params,
            macs: l.macs,
        })
        .collect())
}

/// Why a trial's layers cannot be listed ([`layer_rows`]).
#[derive(Debug, thiserror::Error)]
pub enum LayerRowsError {
    /// The genotype is not one of the space's.
    #[error(transparent)]
    Genotype(#[from] GenotypeError),
    /// The network does not take the study's samples.
    #[error(transparent)]
    Candidate(#[from] CandidateError),
}

/// A finalist: an exported trial.
#[derive(Clone, Debug)]
pub struct FinalistView {
    /// The trial.
    pub trial: i64,
    /// int8 ONNX test accuracy, percent, when known.
    pub int8_test_accuracy: Option<f64>,
    /// The shape of one sample it takes, when its card records it.
    pub input: Option<Shape>,
    /// The name of each output, when its card records them.
    pub classes: Vec<String>,
    /// Its layers, as built for its input (empty if the space or the card could not be read).
    pub layers: Vec<LayerRow>,
}

/// What a report shows.
pub struct ReportInput<'a> {
    /// The study's path.
    pub study: &'a str,
    /// Its settings, if a search ran in it.
    pub settings: Option<&'a Settings>,
    /// Every trial.
    pub trials: &'a [Trial],
    /// The exported trials.
    pub finalists: &'a [FinalistView],
    /// The study's board, when its file can be read: its RAM and flash are drawn where the
    /// study sets no limit of its own.
    pub board: Option<&'a Board>,
}

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td.g,th.g{text-align:left;font-family:monospace;font-size:12px}th{background:#eee;cursor:pointer}tr.infeasible td,tr.failed td,tr.pruned td{color:#888}.plots svg{margin:0 12px 12px 0}h2{margin-top:28px}div.wide{max-width:100%;overflow-x:auto}table.trials td{white-space:nowrap}td.long{max-width:24em;overflow:hidden;text-overflow:ellipsis}";

/// Sorting the trial table by a column on a click, numbers as numbers; the table reads
/// the same without it.
const SCRIPT: &str = "document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],r=Array.from(b.rows),up=th.dataset.up!=='1';th.dataset.up=up?'1':'0';r.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,p=parseFloat(a),q=parseFloat(c);var d=(isNaN(p)||isNaN(q))?a.localeCompare(c):p-q;return up?d:-d});r.forEach(function(e){b.appendChild(e)})})});";

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn kb(v: Option<u64>) -> Option<f64> {
    v.map(|b| b as f64 / 1024.0)
}

/// The accuracy-against-cost plot for one cost (`cost` of a trial, in the plot's unit): the
/// trained trials, the ones that no other beats in both accuracy and this cost highlighted
/// and connected, the rejected ones as grey marks on the axis, and the limit.
fn front_plot(
    title: &str,
    x_label: &str,
    trials: &[Trial],
    cost: impl Fn(&Trial) -> Option<f64>,
    limit: Option<(f64, String)>,
) -> String {
    let complete: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && cost(t).is_some())
        .collect();
    let rejected: Vec<(f64, String)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Infeasible)
        .filter_map(|t| {
            let reason = t.reason.as_deref().unwrap_or("");
            cost(t).map(|c| (c, format!("trial {}: {reason}", t.id)))
        })
        .collect();
    let xs = complete
        .iter()
        .filter_map(|t| cost(t))
        .chain(rejected.iter().map(|r| r.0))
        .chain(limit.as_ref().map(|l| l.0));
    let ys = complete.iter().filter_map(|t| t.valid_accuracy);
    let mut plot = Plot::new(
        title,
        x_label,
        "validation accuracy (%)",
        range(xs),
        range(ys),
    );
    let point = |t: &&Trial| {
        let accuracy = t.valid_accuracy.unwrap_or(0.0);
        let tip = format!("trial {}: {accuracy:.2} % ({})", t.id, t.genotype);
        (cost(t).unwrap_or(0.0), accuracy, tip)
    };
    let pairs: Vec<Vec<f64>> = complete
        .iter()
        .map(|t| vec![-t.valid_accuracy.unwrap_or(0.0), cost(t).unwrap_or(0.0)])
        .collect();
    let best: Vec<usize> = fronts(&pairs).into_iter().next().unwrap_or_default();
    let others: Vec<_> = (0..complete.len())
        .filter(|i| !best.contains(i))
        .map(|i| point(&complete[i]))
        .collect();
    let mut on_front: Vec<_> = best.iter().map(|&i| point(&complete[i])).collect();
    on_front.sort_by(|a, b| a.0.total_cmp(&b.0));
    if !rejected.is_empty() {
        plot.rug("rejected before training", "#bbbbbb", &rejected);
    }
    plot.dots("trained", "#5b8def", &others);
    let line: Vec<(f64, f64)> = on_front.iter().map(|p| (p.0, p.1)).collect();
    plot.line("", "#e67e22", &line);
    plot.dots("Pareto front", "#e67e22", &on_front);
    if let Some((x, label)) = limit {
        plot.limit(x, &label);
    }
    plot.render()
}

/// Every trial's learning curve (validation accuracy after each epoch): the Pareto front's
/// highlighted, pruned ones in grey, a trial's number and last accuracy at the end of its line.
fn curves_plot(trials: &[Trial], front: &[i64]) -> String {
    let curves: Vec<&Trial> = trials.iter().filter(|t| !t.curve.is_empty()).collect();
    let points = || curves.iter().flat_map(|t| &t.curve);
    let mut plot = Plot::new(
        "Learning curves",
        "epoch",
        "validation accuracy (%)",
        range(points().map(|p| p.epoch as f64)),
        range(points().map(|p| p.valid_accuracy)),
    );
    // Pruned, other, on the front: drawn in that order, the front on top.
    let group_of = |t: &Trial| match (t.state, front.contains(&t.id)) {
        (TrialState::Pruned, _) => 0,
        (_, false) => 1,
        (_, true) => 2,
    };
    for (g, name, colour) in [
        (0, "pruned", "#bbbbbb"),
        (1, "trial", "#9bb7e8"),
        (2, "Pareto front", "#e67e22"),
    ] {
        let group: Vec<&&Trial> = curves.iter().filter(|t| group_of(t) == g).collect();
        let mut ends = Vec::new();
        for t in &group {
            let line: Vec<(f64, f64)> = t
                .curve
                .iter()
                .map(|p| (p.epoch as f64, p.valid_accuracy))
                .collect();
            plot.line("", colour, &line);
            let last = t.curve[t.curve.len() - 1];
            ends.push((
                last.epoch as f64,
                last.valid_accuracy,
                format!(
                    "trial {} ({}): {:.2} % after epoch {}",
                    t.id,
                    t.state.name(),
                    last.valid_accuracy,
                    last.epoch
                ),
            ));
        }
        if !group.is_empty() {
            plot.dots(name, colour, &ends);
        }
    }
    plot.render()
}

/// The report as one HTML document.
pub fn html(input: &ReportInput) -> String {
    let trials = input.trials;
    let front = pareto_front(trials);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>edgenas study {}</title><style>{STYLE}</style></head><body>",
        escape(input.study)
    );
    let _ = write!(
        h,
        "<h1>edgenas study report</h1><p>Study <code>{}</code>, report by edgenas {}.</p>",
        escape(input.study),
        env!("CARGO_PKG_VERSION")
    );
    // Settings.
    h.push_str("<h2>Settings</h2>");
    match input.settings {
        None => h.push_str("<p>No search has run in this study.</p>"),
        Some(s) => {
            let l = &s.limits;
            let limit =
                |v: Option<f64>, unit: &str| v.map_or("none".into(), |v| format!("≤ {v} {unit}"));
            let rows = [
                ("space", s.space.clone()),
                ("board", s.board.clone()),
                ("data set", s.data.clone()),
                ("latency limit", limit(l.max_latency_ms, "ms")),
                ("RAM limit", limit(l.max_ram_kb, "KiB")),
                ("flash limit", limit(l.max_flash_kb, "KiB")),
                (
                    "MACs limit",
                    l.max_macs.map_or("none".into(), |m| format!("≤ {m}")),
                ),
                ("costs for", s.dtype.name().to_string()),
                ("epochs per trial", s.epochs.to_string()),
                ("fidelity", s.fidelity.describe(s.epochs)),
                (
                    "pre-screening",
                    s.prescreen.map_or("none".into(), |p| {
                        format!("{}: best of {} proposals", p.proxy.name(), p.candidates)
                    }),
                ),
                ("strategy", s.strategy.name().to_string()),
                ("seed", s.seed.to_string()),
                ("created by edgenas", s.edgenas_version.clone()),
            ];
            h.push_str("<table>");
            for (k, v) in rows {
                let _ = write!(
                    h,
                    "<tr><th class=\"g\">{k}</th><td class=\"g\">{}</td></tr>",
                    escape(&v)
                );
            }
            h.push_str("</table>");
        }
    }
    // Counts.
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    let _ = write!(
        h,
        "<p>{} trials: {} complete, {} infeasible (rejected before training), {} failed, {} pruned, {} running or pending, {} interrupted; {} epochs trained in all. The Pareto front has {} trial{}.</p>",
        trials.len(),
        count(TrialState::Complete),
        count(TrialState::Infeasible),
        count(TrialState::Failed),
        count(TrialState::Pruned),
        count(TrialState::Running) + count(TrialState::Pending),
        count(TrialState::Interrupted),
        epochs_trained(trials),
        front.len(),
        if front.len() == 1 { "" } else { "s" }
    );
    // Plots.
    h.push_str("<h2>Pareto front</h2><div class=\"plots\">");
    let limits = input.settings.map(|s| s.limits).unwrap_or_default();
    let lat_kind = trials
        .iter()
        .find_map(|t| t.latency_kind.clone())
        .unwrap_or_else(|| "latency".into());
    h.push_str(&front_plot(
        "Accuracy against latency",
        &format!("latency (ms, {lat_kind})"),
        trials,
        |t| t.latency_ms,
        limits.max_latency_ms.map(|l| (l, format!("limit {l} ms"))),
    ));
    // A memory's line: the study's limit, else the board's own size.
    let memory_line = |limit: Option<f64>, board_bytes: fn(&Board) -> Option<u64>| {
        limit.map(|l| (l, format!("limit {l} KiB"))).or_else(|| {
            let b = input.board?;
            let size = board_bytes(b)? as f64 / 1024.0;
            Some((size, format!("{} {size:.0} KiB", b.name)))
        })
    };
    h.push_str(&front_plot(
        "Accuracy against peak RAM",
        "peak RAM (KiB)",
        trials,
        |t| kb(t.ram_bytes),
        memory_line(limits.max_ram_kb, |b| b.memory.ram_bytes),
    ));
    h.push_str(&front_plot(
        "Accuracy against flash",
        "flash (KiB)",
        trials,
        |t| kb(t.flash_bytes),
        memory_line(limits.max_flash_kb, |b| b.memory.flash_bytes),
    ));
    h.push_str(&curves_plot(trials, &front));
    // Best so far.
    let mut best = f64::NEG_INFINITY;
    let curve: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| {
            let v = t
                .valid_accuracy
                .filter(|_| t.state == TrialState::Complete)?;
            best = best.max(v);
            Some((t.id as f64, best))
        })
        .collect();
    let mut plot = Plot::new(
        "Best validation accuracy so far",
        "trial",
        "validation accuracy (%)",
        range(curve.iter().map(|p| p.0)),
        range(curve.iter().map(|p| p.1)),
    );
    plot.line("best so far", "#27ae60", &curve);
    h.push_str(&plot.render());
    h.push_str("</div>");
    // Trials.
    h.push_str(
        "<h2>Trials</h2><p>Click a column to sort; point at a genotype or a reason to read it whole.</p><div class=\"wide\"><table class=\"sortable trials\"><thead><tr>",
    );
    for c in [
        "trial",
        "state",
        "valid %",
        "test %",
        "latency ms",
        "latency",
        "RAM KiB",
        "flash KiB",
        "MACs",
        "train s",
        "genotype",
        "reason",
    ] {
        let class = if matches!(c, "state" | "latency" | "genotype" | "reason") {
            " class=\"g\""
        } else {
            ""
        };
        let _ = write!(h, "<th{class}>{c}</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for t in trials {
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td class=\"g\">{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"g\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"g long\" title=\"{genotype}\">{genotype}</td><td class=\"g long\" title=\"{reason}\">{reason}</td></tr>",
            t.state.name(),
            t.id,
            t.state.name(),
            if front.contains(&t.id) {
                " (front)"
            } else {
                ""
            },
            opt(t.valid_accuracy, 2),
            opt(t.test_accuracy, 2),
            opt(t.latency_ms, 3),
            escape(t.latency_kind.as_deref().unwrap_or("–")),
            opt(kb(t.ram_bytes), 1),
            opt(kb(t.flash_bytes), 1),
            t.macs.map_or("–".into(), |m| m.to_string()),
            opt(t.train_seconds, 1),
            genotype = escape(&t.genotype),
            reason = escape(t.reason.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table></div>");
    // Finalists.
    h.push_str("<h2>Finalists</h2>");
    if input.finalists.is_empty() {
        h.push_str("<p>No trial was exported.</p>");
    }
    for f in input.finalists {
        let Some(t) = trials.iter().find(|t| t.id == f.trial) else {
            continue;
        };
        let _ = write!(
            h,
            "<h3>Trial {}</h3><p><code>{}</code><br/>Validation {} %, test {} % (f32 ONNX), {} % (int8 ONNX); artefacts in <code>{}</code>.</p>",
            t.id,
            escape(&t.genotype),
            opt(t.valid_accuracy, 2),
            opt(t.test_accuracy, 2),
            opt(f.int8_test_accuracy, 2),
            escape(t.artefacts.as_deref().unwrap_or("–"))
        );
        match (f.input, f.classes.as_slice()) {
            (Some(input), classes) if !classes.is_empty() => {
                let _ = write!(
                    h,
                    "<p>Input {input}; outputs ({}): {}.</p>",
                    classes.len(),
                    escape(&classes.join(", "))
                );
            }
            _ => h.push_str("<p>Its card does not record its input and classes (exported by an older edgenas): <code>edgenas export</code> it again to see its layers.</p>"),
        }
        if !f.layers.is_empty() {
            h.push_str("<table><thead><tr><th class=\"g\">layer</th><th class=\"g\">op</th><th class=\"g\">output</th><th>params</th><th>MACs</th></tr></thead><tbody>");
            for l in &f.layers {
                let _ = write!(
                    h,
                    "<tr><td class=\"g\">{}</td><td class=\"g\">{}</td><td class=\"g\">{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&l.name),
                    escape(&l.op),
                    escape(&l.shape),
                    l.params,
                    l.macs
                );
            }
            h.push_str("</tbody></table>");
        }
    }
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    h
}

/// The exported trials of the study in `storage` with their int8 accuracy, input and classes
/// (from their card) and layers (from the study's space, built for that input).
pub fn finalists(
    storage: &dyn Storage,
    trials: &[Trial],
    settings: Option<&Settings>,
) -> Vec<FinalistView> {
    let space = settings.and_then(|s| s.load_space().ok());
    trials
        .iter()
        .filter(|t| t.test_accuracy.is_some())
        .map(|t| {
            let card = artefacts_dir(storage, t).and_then(|d| Card::read(&d));
            let input = card.as_ref().and_then(|c| c.input);
            let classes = card.as_ref().map(|c| c.classes.clone()).unwrap_or_default();
            let layers = match (&space, input) {
                (Some(sp), Some(input)) if !classes.is_empty() => {
                    layer_rows(sp, &t.genotype, input, classes.len()).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            FinalistView {
                trial: t.id,
                int8_test_accuracy: card.map(|c| c.int8_test_accuracy),
                input,
                classes,
                layers,
            }
        })
        .collect()
}

/// The HTML report of the study in `storage`.
pub fn study_html(storage: &dyn Storage) -> Result<String, StudyError> {
    let settings = storage.settings()?;
    let trials = storage.trials()?;
    let finalists = finalists(storage, &trials, settings.as_ref());
    let study = storage.location();
    let board = settings
        .as_ref()
        .and_then(|s| load_board(s.board_source()).ok());
    Ok(html(&ReportInput {
        study: &study,
        settings: settings.as_ref(),
        trials: &trials,
        finalists: &finalists,
        board: board.as_ref(),
    }))
}
