//! The study target: a mutant is a study's stored settings and one trial row as another
//! version of edgenas, a hand edit or a damaged file could leave them, read back through the
//! study API as `edgenas search` does when it resumes (settings, trials, genotypes parsed by
//! the space, epochs trained, abandoned trials).
//!
//! A mutant is its fields separated by [`SEPARATOR`]: the settings' JSON text, then the
//! values of the trial row's columns after `id`, in the order of the study's schema. An empty
//! field stores NULL; any other is bound as text, so that SQLite's column affinity turns it
//! into a number where it reads as one and leaves it text where it does not (a text where a
//! number belongs is one of the damages tested).

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use edgenas_model::space::{SearchSpace, load_space};
use edgenas_study::{Settings, Storage, Trial, abandoned, epochs_trained, now, trial_columns};

/// Separates the fields of a mutant (ASCII unit separator).
pub const SEPARATOR: u8 = 0x1f;

/// The study of this process (one trial, id 1), a second connection that damages it, and the
/// space its genotypes are parsed with.
struct Study {
    storage: Box<dyn Storage>,
    damage: rusqlite::Connection,
    space: SearchSpace,
}

fn study() -> &'static Mutex<Study> {
    static STUDY: OnceLock<Mutex<Study>> = OnceLock::new();
    STUDY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("edgenas-fuzz-{}-study", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the scratch folder");
        let path: PathBuf = dir.join("study.db");
        let _ = std::fs::remove_file(&path);
        let storage = edgenas_study::open(&path.to_string_lossy(), true).expect("a new study");
        storage
            .set_settings(&Settings::example())
            .expect("settings");
        let space = load_space("mlp").expect("a shipped space");
        let genotype = space.sample(&mut edgenas_model::rng::Rng::new(1)).to_text();
        storage
            .insert(&Trial::pending(genotype, 7))
            .expect("a trial");
        let damage = rusqlite::Connection::open(&path).expect("a second connection");
        damage
            .busy_timeout(std::time::Duration::from_secs(1))
            .expect("a busy timeout");
        Mutex::new(Study {
            storage,
            damage,
            space,
        })
    })
}

/// Stores the mutant's fields, then reads the study back as a resumed search does.
pub fn run(bytes: &[u8]) {
    let study = study().lock().unwrap_or_else(|e| e.into_inner());
    let mut fields = bytes.split(|&b| b == SEPARATOR);
    let text = |f: &[u8]| (!f.is_empty()).then(|| String::from_utf8_lossy(f).into_owned());
    let settings = fields.next().and_then(text);
    let _ = study.damage.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('settings', ?1)",
        [settings],
    );
    for (column, field) in trial_columns().skip(1).zip(fields) {
        let _ = study.damage.execute(
            &format!("UPDATE trials SET {column} = ?1 WHERE id = 1"),
            [text(field)],
        );
    }
    let _ = study.storage.settings();
    if let Ok(trials) = study.storage.trials() {
        let _ = epochs_trained(&trials);
        for t in &trials {
            let _ = study.space.parse_genotype(&t.genotype);
            let _ = abandoned(t, now(), 60.0);
        }
    }
}

/// The settings and row of a study as edgenas writes them: a trial pending, and one finished
/// with every column set.
pub fn seeds() -> Vec<Vec<u8>> {
    let settings = serde_json::to_string(&Settings::example()).expect("settings serialise");
    let space = load_space("mlp").expect("a shipped space");
    let genotype = space.sample(&mut edgenas_model::rng::Rng::new(1)).to_text();
    let pending = [genotype.as_str(), "pending", "7"];
    let finished = [
        genotype.as_str(),
        "complete",
        "7",
        "1234",
        "56789",
        "2048",
        "8192",
        "1.25",
        "simulated",
        "0.91",
        "0.9",
        "12.5",
        "1764979200.5",
        "1764979201.5",
        "1764979214.0",
        "trials/1",
        "",
        "host-1:4242",
        "1764979214.0",
        r#"[{"epoch":1,"valid_accuracy":80.5,"seconds":4.0},{"epoch":2,"valid_accuracy":91.0,"seconds":8.1}]"#,
    ];
    let row = |values: &[&str]| {
        let mut out = settings.clone().into_bytes();
        for v in values {
            out.push(SEPARATOR);
            out.extend_from_slice(v.as_bytes());
        }
        out
    };
    vec![row(&pending), row(&finished)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_study::TrialState;

    #[test]
    fn a_seed_is_read_back_as_the_trial_it_describes() {
        run(&seeds()[1]);
        let study = study().lock().unwrap();
        let t = &study.storage.trials().unwrap()[0];
        assert_eq!(t.state, TrialState::Complete);
        assert_eq!((t.macs, t.valid_accuracy), (Some(56789), Some(0.91)));
        assert_eq!(t.curve.len(), 2);
        assert_eq!((t.curve[1].epoch, t.curve[1].valid_accuracy), (2, 91.0));
        assert!(study.space.parse_genotype(&t.genotype).is_ok());
        assert_eq!(study.storage.settings().unwrap(), Some(Settings::example()));
    }
}
