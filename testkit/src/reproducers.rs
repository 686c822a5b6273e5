//! Saved fuzz reproducers: every `<target>-<name>.bin` of a directory, run
//! through the check of its fuzz target, with every failure collected
//! before the test fails (one broken input must not hide the others).

use std::path::Path;

/// Runs each `*.bin` file of `dir` (in name order) through
/// `check(target, bytes)`, where `target` is the part of the file name
/// before the first `-`; a panic in `check` is a failure. Panics with the
/// list of failures, if any. Returns how many files ran. A missing
/// directory runs none (a crate may have no reproducer yet).
pub fn run_saved(dir: &Path, check: impl Fn(&str, &[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut failed = Vec::new();
    let mut ran = 0;
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        ran += 1;
        let Some((target, _)) = stem.split_once('-') else {
            failed.push(format!("{name}: reproducer names are <target>-<name>.bin"));
            continue;
        };
        let data = std::fs::read(&path).unwrap();
        // a check keeps no state from one input to the next, so nothing a
        // panic interrupts is looked at again
        let run = std::panic::AssertUnwindSafe(|| check(target, &data));
        if let Err(e) = std::panic::catch_unwind(run) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{name}: {msg}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {ran} reproducers fail:\n{}",
        failed.len(),
        failed.join("\n")
    );
    ran
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("testkit-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for (name, data) in files {
            std::fs::write(d.join(name), data).unwrap();
        }
        d
    }

    #[test]
    fn runs_every_bin_file_with_its_target() {
        let d = dir(
            "ok",
            &[("a-1.bin", b"x"), ("b-2.bin", b"yy"), ("README", b"")],
        );
        let seen = std::sync::Mutex::new(Vec::new());
        let ran = run_saved(&d, |t, data| {
            seen.lock().unwrap().push((t.to_owned(), data.len()))
        });
        assert_eq!(ran, 2);
        assert_eq!(*seen.lock().unwrap(), [("a".into(), 1), ("b".into(), 2)]);
        assert_eq!(run_saved(&d.join("missing"), |_, _| panic!()), 0);
    }

    #[test]
    fn reports_every_failure_and_bad_name() {
        let d = dir(
            "bad",
            &[("a-1.bin", b"x"), ("a-2.bin", b"boom"), ("noname.bin", b"")],
        );
        let r = std::panic::catch_unwind(|| {
            run_saved(&d, |_, data| assert_ne!(data, b"boom", "exploded"));
        });
        let e = r.unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        assert!(msg.contains("2 of 3 reproducers fail"), "{msg}");
        assert!(msg.contains("a-2.bin") && msg.contains("exploded"), "{msg}");
        assert!(msg.contains("noname.bin: reproducer names"), "{msg}");
    }
}
