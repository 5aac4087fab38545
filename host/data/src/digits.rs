//! The bundled digits: 1,797 handwritten digits of 8×8 pixels, values 0–16, ten classes
//! (the UCI optical recognition set that scikit-learn also ships, here from `smartcore`).

use super::Samples;
use edgenas_model::network::Shape;

/// Loads the digits.
pub fn load() -> Samples {
    let d = smartcore::dataset::digits::load_dataset();
    Samples {
        shape: Shape::Image { c: 1, h: 8, w: 8 },
        x: d.data,
        labels: d.target.iter().map(|&t| t as u32).collect(),
        class_names: (0..10).map(|i| i.to_string()).collect(),
    }
}
