//! Compiles the shipped dialplans (dialplans/*.toml) and prompts (dialplans/prompts/zh/*.wav)
//! into the binary, so `hotline run` with no config has a working IVR wherever it is started
//! (O2: one machine runs everything with embedded defaults).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext) && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .join("../..")
        .canonicalize()
        .expect("repository root");
    let dialplans = root.join("dialplans");
    let prompts = dialplans.join("prompts/zh");
    println!("cargo:rerun-if-changed={}", dialplans.display());
    println!("cargo:rerun-if-changed={}", prompts.display());
    let mut out = String::new();
    out.push_str("/// `(source name, TOML)` of every shipped dialplan.\n");
    out.push_str("pub static DIALPLANS: &[(&str, &str)] = &[\n");
    for p in files(&dialplans, "toml") {
        println!("cargo:rerun-if-changed={}", p.display());
        let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
        let _ = writeln!(
            out,
            "    (\"<embedded {name}>\", include_str!({:?})),",
            p.display().to_string()
        );
    }
    out.push_str("];\n\n/// `(prompt name, WAV bytes)` of every shipped prompt.\n");
    out.push_str("pub static PROMPTS: &[(&str, &[u8])] = &[\n");
    for p in files(&prompts, "wav") {
        println!("cargo:rerun-if-changed={}", p.display());
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let _ = writeln!(
            out,
            "    ({stem:?}, include_bytes!({:?})),",
            p.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
}
