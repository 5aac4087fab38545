//! The data set loaders, on small files the tests write themselves.

use std::path::Path;

use edgenas::data::{self, DataError};
use edgenas::network::Shape;

fn err(spec: &str) -> String {
    match data::load(spec, (1, 8, 8), 0) {
        Ok(_) => panic!("{spec} loaded"),
        Err(DataError { origin, message }) => format!("{origin}: {message}"),
    }
}

/// Writes an NPY version 1 file as NumPy does.
fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn digits_are_bundled_split_and_normalised() {
    let d = data::load("digits", (3, 32, 32), 0).unwrap();
    assert_eq!(
        d.shape,
        Shape::Image { c: 1, h: 8, w: 8 },
        "digits keep their own shape"
    );
    assert_eq!(d.classes(), 10);
    assert_eq!(d.train.len() + d.valid.len() + d.test.len(), 1797);
    assert!((d.valid.len() as f64 / 1797.0 - 0.15).abs() < 0.01);
    // Every class is in every split.
    for split in [&d.train, &d.valid, &d.test] {
        for class in 0..10 {
            assert!(split.labels.contains(&class));
        }
    }
    // Normalised with the training split's statistics: its mean is 0 and its spread 1.
    let mean = d.train.x.iter().map(|&v| v as f64).sum::<f64>() / d.train.x.len() as f64;
    let var = d
        .train
        .x
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / d.train.x.len() as f64;
    assert!(
        mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
        "{mean} {var}"
    );
    assert_eq!(d.normalisation.mean.len(), 1);
    assert!(
        (d.normalisation.mean[0] - 4.88).abs() < 0.1,
        "digit pixels are 0-16 and mostly dark"
    );
}

#[test]
fn image_folders_convert_to_the_space_input() {
    let dir = tempfile::tempdir().unwrap();
    for (class, colour) in [("cat", [200u8, 10, 10]), ("dog", [10u8, 10, 200])] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for i in 0..4 {
            let img = image::RgbImage::from_fn(12, 10, |x, _| {
                image::Rgb(if x as usize == i { [0, 0, 0] } else { colour })
            });
            img.save(dir.path().join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    std::fs::write(dir.path().join("cat").join(".DS_Store"), b"junk").unwrap();
    let spec = format!("image-folder:{}", dir.path().display());
    let d = data::load(&spec, (3, 16, 16), 1).unwrap();
    assert_eq!(d.shape, Shape::Image { c: 3, h: 16, w: 16 });
    assert_eq!(d.class_names, vec!["cat", "dog"]);
    assert_eq!(d.train.len() + d.valid.len() + d.test.len(), 8);
    let grey = data::load(&spec, (1, 8, 8), 1).unwrap();
    assert_eq!(grey.shape, Shape::Image { c: 1, h: 8, w: 8 });
    // A file that is not an image, an empty class, a missing folder.
    std::fs::write(dir.path().join("dog").join("notes.txt"), b"hello").unwrap();
    assert!(
        err(&spec).contains("notes.txt: not an image"),
        "{}",
        err(&spec)
    );
    std::fs::remove_file(dir.path().join("dog").join("notes.txt")).unwrap();
    std::fs::create_dir(dir.path().join("emu")).unwrap();
    assert!(
        err(&spec).contains("class `emu` is empty"),
        "{}",
        err(&spec)
    );
    assert!(err("image-folder:/no/such/folder").contains("cannot read the folder"));
    // A BMP whose header claims 10,000 × 10,000 pixels (a damaged file of a few bytes) is
    // refused by its size, before a 300 MB buffer is allocated for it.
    std::fs::remove_dir(dir.path().join("emu")).unwrap();
    let mut bmp = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(4, 4)
        .write_to(&mut bmp, image::ImageFormat::Bmp)
        .unwrap();
    let mut bmp = bmp.into_inner();
    bmp[18..22].copy_from_slice(&10_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&10_000i32.to_le_bytes());
    std::fs::write(dir.path().join("dog").join("huge.bmp"), &bmp).unwrap();
    let e = err(&spec);
    assert!(
        e.contains("huge.bmp: not an image") && e.contains("limit"),
        "{e}"
    );
}

#[test]
fn csv_files_give_features_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iris.csv");
    let mut text = String::from("species,length,width\n");
    for i in 0..30 {
        text += &format!("{},{}.5,{}\n", ["setosa", "virginica"][i % 2], i, i * 2);
    }
    std::fs::write(&path, &text).unwrap();
    let p = path.display();
    let d = data::load(&format!("csv:{p}#species"), (1, 1, 1), 0).unwrap();
    assert_eq!(d.shape, Shape::Vector(2));
    assert_eq!(d.class_names, vec!["setosa", "virginica"]);
    assert_eq!(d.train.len() + d.valid.len() + d.test.len(), 30);
    let by_index = data::load(&format!("csv:{p}#0"), (1, 1, 1), 0).unwrap();
    assert_eq!(by_index.class_names, d.class_names);
    // Without a column, the last one is the label, and `species` would be a feature. Lines
    // and columns count from 1; a column is named by its header.
    let e = err(&format!("csv:{p}"));
    assert!(
        e.contains("line 2, column 1 (`species`): `setosa` is not a number"),
        "{e}"
    );
    assert!(err(&format!("csv:{p}#colour")).contains("no column named `colour`"));
    assert!(err(&format!("csv:{p}#7")).contains("out of range"));
    std::fs::write(&path, "a,b,label\n1,2,x\n3,,y\n").unwrap();
    let e = err(&format!("csv:{p}"));
    assert!(e.contains("line 3, column 2 (`b`): missing value"), "{e}");
    std::fs::write(&path, "a,b,label\n1,2,x\n3,four,y\n").unwrap();
    let e = err(&format!("csv:{p}"));
    assert!(
        e.contains("line 3, column 2 (`b`): `four` is not a number"),
        "{e}"
    );
    std::fs::write(&path, "a,b,label\n1,2,x\n3,NaN,y\n").unwrap();
    let e = err(&format!("csv:{p}"));
    assert!(
        e.contains("line 3, column 2 (`b`): `NaN` is not a finite number"),
        "{e}"
    );
    std::fs::write(&path, "a,b,label\n1,2,x\n3,4\n").unwrap();
    assert!(err(&format!("csv:{p}")).contains("line 3 has 2 fields, expected 3"));
    std::fs::write(&path, "").unwrap();
    assert!(err(&format!("csv:{p}")).contains("empty"));
}

#[test]
fn csv_files_are_not_guessed_at_silently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv");
    let p = path.display();
    // A file of measurements: its last column is not a label, unless `#COLUMN` says so.
    let mut text = String::from("length,width,weight\n");
    for i in 0..24 {
        text += &format!("{i}.5,{}.25,{}.{}\n", i * 2, 10 + i, i % 7 + 1);
    }
    std::fs::write(&path, &text).unwrap();
    let e = err(&format!("csv:{p}"));
    assert!(
        e.contains("the last column, column 3 (`weight`), holds fractional numbers")
            && e.contains("csv:PATH#COLUMN"),
        "{e}"
    );
    assert_eq!(
        data::load(&format!("csv:{p}#weight"), (1, 1, 1), 0)
            .unwrap()
            .classes(),
        24
    );
    // Without a header, the first row is data: 20 rows, 20 samples (labels are words).
    let rows: String = (0..20)
        .map(|i| format!("{i}.5,{},{}\n", i * 3, ["cat", "dog"][i % 2]))
        .collect();
    std::fs::write(&path, &rows).unwrap();
    let d = data::load(&format!("csv:{p}"), (1, 1, 1), 0).unwrap();
    assert_eq!(d.train.len() + d.valid.len() + d.test.len(), 20);
    assert_eq!(d.class_names, vec!["cat", "dog"]);
    // Whole-number labels without a header: all 20 rows too.
    let rows: String = (0..20)
        .map(|i| format!("{i}.5,{},{}\n", i * 3, i % 2))
        .collect();
    std::fs::write(&path, &rows).unwrap();
    let d = data::load(&format!("csv:{p}"), (1, 1, 1), 0).unwrap();
    assert_eq!(d.train.len() + d.valid.len() + d.test.len(), 20);
    // A file separated by semicolons: the line it read is shown.
    std::fs::write(&path, "a;b;label\n1;2;x\n3;4;y\n").unwrap();
    let e = err(&format!("csv:{p}"));
    assert!(
        e.contains("separated by commas") && e.contains("`a;b;label`"),
        "{e}"
    );
}

#[test]
fn npy_arrays_give_images_or_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    let spec = format!("npy:{},{}", x.display(), y.display());
    let values: Vec<f32> = (0..20 * 2 * 3 * 3).map(|i| i as f32).collect();
    write_npy(&x, "<f4", &[20, 2, 3, 3], &f32_bytes(&values));
    let labels: Vec<i64> = (0..20).map(|i| i % 3).collect();
    write_npy(&y, "<i8", &[20], &i64_bytes(&labels));
    let d = data::load(&spec, (1, 8, 8), 0).unwrap();
    assert_eq!(d.shape, Shape::Image { c: 2, h: 3, w: 3 });
    assert_eq!(d.classes(), 3);
    write_npy(&x, "<f4", &[20, 18], &f32_bytes(&values));
    assert_eq!(
        data::load(&spec, (1, 8, 8), 0).unwrap().shape,
        Shape::Vector(18)
    );
    // Lengths that disagree, labels out of range, a missing class, a truncated file.
    write_npy(&y, "<i8", &[19], &i64_bytes(&labels[..19]));
    assert!(
        err(&spec).contains("does not match 20 samples"),
        "{}",
        err(&spec)
    );
    let mut bad = labels.clone();
    bad[4] = -1;
    write_npy(&y, "<i8", &[20], &i64_bytes(&bad));
    assert!(
        err(&spec).contains("label -1 of sample 4 is out of range"),
        "{}",
        err(&spec)
    );
    let gap: Vec<i64> = (0..20).map(|i| if i % 2 == 0 { 0 } else { 2 }).collect();
    write_npy(&y, "<i8", &[20], &i64_bytes(&gap));
    assert!(
        err(&spec).contains("class 1 (1) has no samples"),
        "{}",
        err(&spec)
    );
    write_npy(&y, "<i8", &[20], &i64_bytes(&labels));
    write_npy(&x, "<f4", &[20, 18], &f32_bytes(&values[..100]));
    assert!(err(&spec).contains("truncated"), "{}", err(&spec));
    std::fs::write(&x, b"not numpy").unwrap();
    assert!(err(&spec).contains("not a .npy file"));
    assert!(err("npy:only-one.npy").contains("expected npy:X.npy,Y.npy"));
}

#[test]
fn fewer_than_two_classes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.csv");
    std::fs::write(&path, "1,a\n2,a\n3,a\n").unwrap();
    assert!(err(&format!("csv:{}", path.display())).contains("needs at least 2 classes"));
}
